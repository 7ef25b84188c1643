#!/usr/bin/env bash
# The README's test command: set up (idempotent, quick when done), lint (ruff, the rules in
# pyproject.toml) and run the whole suite (Python tests, and the R testthat tests, which pytest
# runs through Rscript).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYREC_DATA_DIR=${PYREC_DATA_DIR:-$(cd .. && pwd)/shared/datasets}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -m ruff check --quiet . || { echo "ruff found problems (above); fix them or run 'ruff check --fix .'" >&2; exit 1; }
exec python3 -m pytest "$@"
