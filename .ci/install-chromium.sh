#!/usr/bin/env bash
# Installs the Debian `chromium` package used by the HTML report rendering test
# (crates/tachymeter-report/tests/report.rs, `chromium_renders_the_report`: headless screenshot,
# DOM dump, console log) and the live dashboard's browser test
# (crates/tachymeter-cli/tests/dashboard.rs, `dashboard_in_chromium`: DevTools protocol).
# Idempotent: does nothing when `chromium` is already on PATH.
# Non-interactive; needs root (or sudo) and the Debian archive. The tests skip with a notice
# when chromium is absent, so running the tests without this script is fine locally; with `CI`
# set the dashboard test fails instead.
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
