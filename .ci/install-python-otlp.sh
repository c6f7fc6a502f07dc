#!/usr/bin/env bash
# Creates `.venv-otlp` (a Python venv at the repository root) with the `opentelemetry-proto`
# package from PyPI, used by the OTLP exporter's interoperability tests
# (crates/tachymeter-otlp/tests/otlp.rs decodes the exported bodies with it). Idempotent: does
# nothing when the venv already imports the package. The tests skip with a notice when the venv
# is absent, so running them without this script is fine locally.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=".venv-otlp"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c \
    'import opentelemetry.proto.collector.metrics.v1.metrics_service_pb2' >/dev/null 2>&1; then
    echo "install-python-otlp: already installed ($VENV)"
    exit 0
fi

# Debian splits `venv` (ensurepip) into python3-venv: install it when the module is missing.
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends python3-venv
fi
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check opentelemetry-proto
"$VENV/bin/python" -c 'import opentelemetry.proto.collector.metrics.v1.metrics_service_pb2'
echo "install-python-otlp: installed opentelemetry-proto into $VENV"
