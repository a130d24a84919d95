#!/usr/bin/env bash
# Installs the official Amplitude SDKs the tests drive, inside this folder:
# Node's from the committed lock file, Python's into a venv. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

cd "$here/node"
if [ ! -d node_modules/@amplitude/analytics-node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

cd "$here/python"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import amplitude" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
