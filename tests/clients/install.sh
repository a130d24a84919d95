#!/usr/bin/env bash
# Installs the official Amplitude SDKs the tests drive, inside this folder:
# Node's from the committed lock file, Python's into a venv. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

cd "$here/node"
if [ ! -d node_modules/@amplitude/analytics-node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# The browser SDK: a plain npm install fails here, so take the UMD bundle from
# the package; playwright-core drives Debian's chromium (it downloads no browser).
cd "$here/browser"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f amplitude-min.umd.js ]; then
  tarball=$(npm pack @amplitude/analytics-browser@2.48.1 --silent --loglevel=error)
  tar xzf "$tarball" package/lib/scripts/amplitude-min.umd.js
  mv package/lib/scripts/amplitude-min.umd.js .
  rm -rf package "$tarball"
fi

cd "$here/python"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import amplitude" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
