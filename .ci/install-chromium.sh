#!/usr/bin/env bash
# Installs the Debian `chromium` package used by the HTML report rendering test
# (crates/tachymeter-report/tests/report.rs, `chromium_renders_the_report`: headless screenshot,
# DOM dump, console log). Idempotent: does nothing when `chromium` is already on PATH.
# Non-interactive; needs root (or sudo) and the Debian archive. The test skips with a notice
# when chromium is absent, so running the tests without this script is fine locally.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "install-chromium: already installed ($(command -v chromium))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
echo "install-chromium: installed $(command -v chromium)"
