#!/usr/bin/env bash
# Sets everything up and runs the main job: the embedded database, migrations, the generated demo
# province and the web server on http://127.0.0.1:8000. Extra arguments go to `oip demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/oip demo "$@"
