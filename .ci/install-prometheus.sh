#!/usr/bin/env bash
# Installs the Debian `prometheus` package (which ships `prometheus` and `promtool`) used by the
# exporter interoperability tests in crates/tachymeter-export. Idempotent: does nothing when
# `promtool` is already on PATH. Non-interactive; needs root (or sudo) and the Debian archive.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    echo "install-prometheus: already installed ($(command -v promtool))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends prometheus
echo "install-prometheus: installed $(command -v promtool)"
