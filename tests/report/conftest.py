"""A small REAL results folder for the report tests: `pyrec evaluate` on MovieLens-100K.

Popularity and MF-BPR (one epoch, embedding 16) x two seeds, full ranking: two seeds for the
seed-level model, one planned contrast (MF vs popularity). Built once per session.
Set PYREC_REPORT_TEST_RESULTS to an existing `pyrec evaluate` folder (e.g. one with fpga-sim
runs, which take minutes each) to test the report on it instead; the tests read what to expect
from the folder itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import require_dataset

TINY_CONFIG = {
    "name": "report-test",
    "dataset": "ml-100k",
    "min_rating": 3,
    "seeds": [0, 1],
    "protocols": ["full-ranking"],
    "ks": [10],
    "metrics": ["ndcg", "recall", "hit", "mrr", "map"],
    "split": {"protocol": "ratio", "ratios": [0.8, 0.1, 0.1]},
    "bench": {"latency_requests": 30, "warmup": 5, "throughput_repeats": 1},
    "configurations": [
        {"architecture": "baseline", "model": "pop", "backend": "cpu"},
        {"architecture": "baseline", "model": "mf", "backend": "cpu"},
    ],
    "models": {"mf": {"epochs": 1, "embedding_size": 16}},
    # pop and mf are both "baseline": the study's default contrasts do not apply, so the plan
    # declares one (and a cheap bootstrap)
    "analysis": {"bootstrap": 300, "contrasts": [
        {"question": "Q1", "config": "mf@cpu", "baseline": "pop@cpu", "test": "superiority"}]},
}


@pytest.fixture(scope="session")
def tiny_results(tmp_path_factory) -> Path:
    """Path of a finished real results folder (skips without ML-100K; fails if runs failed)."""
    given = os.environ.get("PYREC_REPORT_TEST_RESULTS")
    if given:
        return Path(given)
    require_dataset("ml-100k")
    from pyrec.experiment import run_experiment

    out = tmp_path_factory.mktemp("report") / "results"
    res = run_experiment(TINY_CONFIG, out=out, stats=False, progress=False)
    if len(res.failed):
        pytest.fail(f"the report's test runs failed:\n{res.failed.to_string()}")
    return out


@pytest.fixture(scope="session")
def rscript_or_skip() -> str:
    """The Rscript executable, or skip when R is not installed."""
    exe = shutil.which("Rscript")
    if exe is None:
        pytest.skip("R (Rscript) is not installed")
    return exe
