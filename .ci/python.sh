#!/usr/bin/env bash
# The Python package (python/, issue 15): builds and installs it into `.venv-python` with
# `pip install ./python` (maturin from PyPI, release build of the PyO3 extension), checks the
# extension crate's formatting and clippy (it is its own workspace, excluded from the root one),
# runs the pytest suite and the recording-speed benchmark against prometheus_client (a table;
# figures are informative, not a gate: the machine is shared). About 4-5 min on 2 cores, most
# of it the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=".venv-python"
# Debian splits `venv` (ensurepip) into python3-venv: install it when the module is missing
# (as .ci/install-python-otlp.sh does).
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends python3-venv
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" pytest prometheus_client numpy

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/python"
# The documented install command (builds the extension with maturin in release mode).
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python

# The extension crate is its own workspace: format and lint it here.
(cd python && cargo fmt --check)
(cd python && PYO3_PYTHON="$PWD/../$PY" cargo clippy --all-targets -- -D warnings)

# From the tests directory, so that `import tachymeter` is the installed package.
(cd python/tests && "../../$VENV/bin/pytest" -q -p no:cacheprovider)

"$PY" python/bench/bench.py --quick
