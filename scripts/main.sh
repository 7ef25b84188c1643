#!/usr/bin/env bash
# The README's main command: install everything (scripts/setup.sh), then run the main job on the
# default dataset (MovieLens-100K): dataset facts, the study's experiment grid (`pyrec evaluate`),
# the R statistics (`pyrec stats`) and the RMarkdown report (`pyrec report`).
# Re-running resumes: finished runs are kept and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYREC_DATA_DIR=${PYREC_DATA_DIR:-$(cd .. && pwd)/shared/datasets}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
OUT=${PYREC_OUT:-results/ml-100k-default}
pyrec data info ml-100k --min-rating 3 --split ratio   # the data evaluate uses (ratings >= 3)
pyrec evaluate --config analysis/experiment.default.toml --out "$OUT" "$@"
pyrec stats "$OUT" --metric ndcg@10
pyrec report "$OUT" --format html
