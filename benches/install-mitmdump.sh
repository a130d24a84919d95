#!/usr/bin/env bash
# Installs mitmproxy (PyPI) into benches/tools/ for the tap benchmark's
# outside reference; prints the mitmdump path. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/tools/.venv-mitm"
if [ ! -x "$venv/bin/mitmdump" ]; then
  mkdir -p "$here/tools"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check mitmproxy >&2
fi
echo "$venv/bin/mitmdump"
