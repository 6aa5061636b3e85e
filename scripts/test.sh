#!/usr/bin/env bash
# Sets up and runs the whole test suite twice: on the embedded PostgreSQL server, then on the
# machine's PostgreSQL at 127.0.0.1:5432 (started if it is down). Installs what the browser tests
# need (Debian's chromium and CJK fonts, a Java runtime for Spark) when running as root. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v java >/dev/null || need+=(default-jre-headless)  # Apache Spark (local mode) for the national-scale test
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} (Debian packages) for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "warning: ${need[*]} missing and not root: browser tests will be skipped" >&2
  fi
fi

echo "== lint: ruff, and the floor plan's import contracts (.importlinter)"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/lint-imports --no-cache

echo "== tests on the embedded PostgreSQL server"
env -u OIP_DATABASE_URL -u OIP_TEST_DATABASE_URL .venv/bin/python -m pytest "$@"

url=${OIP_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "starting the machine's PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
echo "== tests on $url"
OIP_TEST_DATABASE_URL="$url" .venv/bin/python -m pytest "$@"
