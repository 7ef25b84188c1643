"""`pyrec train`, `pyrec evaluate` and `pyrec benchmark` load and split data through the same two
functions (pyrec.pipeline.load_data / make_split), so one rule decides the rating threshold and
which protocols use the split ratios (issue #15: they had diverged; `train --split temporal`
ignored the ratios)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pyrec import pipeline
from pyrec.cli import app

pytestmark = [pytest.mark.realdata, pytest.mark.filterwarnings("ignore::pyrec.diagnostics.DataWarning")]


@pytest.fixture
def spy(monkeypatch):
    calls = []
    load, split = pipeline.load_data, pipeline.make_split

    def load_spy(dataset, data_dir=None, **kw):
        calls.append(("load", kw.get("min_rating", "default")))
        return load(dataset, data_dir, **kw)

    def split_spy(data, protocol="ratio", **kw):
        calls.append(("split", protocol, tuple(kw.get("ratios", ()))))
        return split(data, protocol, **kw)

    monkeypatch.setattr(pipeline, "load_data", load_spy)
    monkeypatch.setattr(pipeline, "make_split", split_spy)
    return calls


def test_train_evaluate_and_benchmark_share_load_and_split(ml100k_dir, tmp_path, spy):
    data_dir = str(ml100k_dir.parent)
    res = pipeline.train_and_evaluate("pop", "ml-100k", split="temporal", ratios=(0.6, 0.2, 0.2),
                                      data_dir=data_dir, progress=False)
    n = res.info["n_train"] + res.info["n_valid"] + res.info["n_test"]
    assert abs(res.info["n_train"] / n - 0.6) < 0.01  # the ratios reach the temporal split
    assert spy == [("load", 3.0), ("split", "temporal", (0.6, 0.2, 0.2))]

    spy.clear()
    from pyrec.experiment import run_experiment

    cfg = {"name": "t", "dataset": "ml-100k", "data_dir": data_dir, "seeds": [0],
           "split": {"protocol": "ratio"},
           "bench": {"latency_requests": 5, "warmup": 1, "throughput_repeats": 1, "cold_start_repeats": 1},
           "configurations": [{"architecture": "baseline", "model": "pop"}]}
    run_experiment(cfg, out=tmp_path / "res", stats=False, progress=False)
    assert spy == [("load", 3.0), ("split", "ratio", (0.8, 0.1, 0.1))]

    spy.clear()
    out = CliRunner().invoke(app, ["benchmark", "--model", "pop", "--data-dir", data_dir, "--requests", "5",
                                   "--warmup", "1", "--repeats", "1", "--batch-sizes", "8", "--eval-users", "20"])
    assert out.exit_code == 0, out.output
    assert spy == [("load", "default"), ("split", "ratio", ())]
