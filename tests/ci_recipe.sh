#!/usr/bin/env bash
# The CI recipe from the README, verbatim between the markers; tests/ci_recipe.rs runs it.
set -euo pipefail
AMPTAP=${AMPTAP:-amptap}
PORT=${PORT:-8787}
# --- recipe ---
"$AMPTAP" serve --offline --plan assets/dify-plan.toml --listen 127.0.0.1:$PORT --record capture.jsonl --quiet &
TAP=$!
until curl -sf http://127.0.0.1:$PORT/_amptap/summary >/dev/null; do sleep 0.2; done
AMPTAP_URL=http://127.0.0.1:$PORT node tests/clients/node/ci-example.js
kill -INT $TAP && wait $TAP
"$AMPTAP" check --plan assets/dify-plan.toml capture.jsonl --format junit --out report.xml
# --- end ---
