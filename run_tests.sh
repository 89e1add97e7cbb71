#!/usr/bin/env bash
# Set up (virtual environment, packages, LaTeX) and run the test suite: ./run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
scripts/install_latex.sh || echo "warning: no LaTeX; the PDF tests will be skipped" >&2
.venv/bin/ruff check src tests
exec .venv/bin/pytest -q "$@"
