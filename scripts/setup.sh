#!/usr/bin/env bash
# Creates .venv and installs oip into it (with the test tools when called with --test).
# Safe to run again: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian splits venv out of python3; install it when we may.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      rm -rf .venv && "$PY" -m venv .venv
    else
      echo "python3 -m venv failed: install python3-venv (Debian) and run again" >&2; exit 1
    fi
  fi
fi
# Letters (oip.core.pdf) are typeset in Debian's Noto CJK fonts; install them when we may.
if [ ! -d /usr/share/fonts/opentype/noto ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null
fi
extra=""
[ "${1:-}" = "--test" ] && extra="[test,spark]"
stamp=".venv/.installed${extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
  touch "$stamp"
fi
