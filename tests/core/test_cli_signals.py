"""`oip serve` on the embedded database, stopped the way systemd or `kill` stops it."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_stops_the_server_and_its_embedded_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OIP_DATABASE_URL", "OIP_TEST_DATABASE_URL")}
    env["OIP_VAR_DIR"] = str(tmp_path / "var")
    cli = [sys.executable, "-m", "oip.cli"]
    up = subprocess.run([*cli, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    pid_file = tmp_path / "var" / "pgdata" / "postmaster.pid"
    assert not pid_file.exists()  # the upgrade's own server stopped when it exited

    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.5)
        assert pid_file.exists()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if server.poll() is None:
            server.kill()
        left = pid_file.exists()
        if left:  # do not leave it running after a failure: fast shutdown of the postmaster
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
    assert not left, "the embedded PostgreSQL was left running"
