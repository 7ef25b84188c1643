#!/usr/bin/env bash
# The README's test command: set up (idempotent, quick when done) and run the whole suite
# (Python tests, and the R testthat tests, which pytest runs through Rscript).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYREC_DATA_DIR=${PYREC_DATA_DIR:-$(cd .. && pwd)/shared/datasets}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python3 -m pytest "$@"
