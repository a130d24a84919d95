#!/usr/bin/env bash
# Installs a Kafka-compatible broker for the Kafka tests (issue #14): tansu
# from crates.io with its in-memory store, built once into tests/brokers/bin
# (about ten minutes on two cores; a second run reuses it). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$here/bin/tansu" ]; then
  nice -n 10 cargo install --quiet --locked tansu@0.6.0 --features dynostore --root "$here"
fi
"$here/bin/tansu" --version >/dev/null
