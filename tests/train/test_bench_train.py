"""benchmarks/bench_train.py: its measuring functions run on tiny data and report sane numbers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pyrec.testing import tiny_split

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_train", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_step_and_sampling_timers_on_tiny_data():
    bench = _bench()
    split = tiny_split()
    steps = bench.step_times(split, repeats=1, batch_size=16)
    for key in ("pyrec_spmm", "pyg_lgconv_csr", "pyg_lgconv_message_passing"):
        assert steps[key]["median_s"] > 0
    assert steps["pyg_lgconv_csr"]["speedup_of_pyrec"] > 0
    samp = bench.sampling_times(split, repeats=1)
    assert samp["rows_per_epoch"] == split.train.n_interactions and samp["speedup_of_pyrec"] > 0


def test_synthetic_graph_has_requested_size():
    split = _bench().synthetic_split(n_users=50, n_items=40, n_inter=500, seed=1)
    total = split.train.n_interactions + split.valid.n_interactions + split.test.n_interactions
    assert total == 500 and split.n_users == 50 and split.n_items == 40
