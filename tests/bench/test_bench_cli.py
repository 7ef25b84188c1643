"""`pyrec benchmark` end to end (Pop on real ML-100K: trains instantly) and its skip/error paths."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from pyrec.cli import app

runner = CliRunner()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present; the cuda skip path does not apply")
def test_cuda_without_gpu_prints_skip():
    res = runner.invoke(app, ["benchmark", "--backend", "cuda"])
    assert res.exit_code == 0
    assert "SKIPPED" in res.output and "cuda" in res.output


def test_unknown_backend_is_a_clear_error():
    res = runner.invoke(app, ["benchmark", "--backend", "tpu"])
    assert res.exit_code == 2 and "'backend'" in res.output and "fpga-sim" in res.output


def test_benchmark_pop_on_ml100k(ml100k_dir, tmp_path):
    out = tmp_path / "bench"
    res = runner.invoke(app, ["benchmark", "--model", "pop", "--backend", "cpu", "--data-dir", str(ml100k_dir.parent),
                              "--requests", "30", "--warmup", "3", "--repeats", "1", "--batch-sizes", "1,256",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "latency_p99_ms" in res.output and "peak_rss_mib" in res.output
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    frame = pd.read_csv(out.with_suffix(".csv"))
    assert len(frame) == len(rows)
    metrics = set(frame["metric"])
    assert {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "throughput_users_s", "peak_rss_mib",
            "ndcg@10"} <= metrics
    assert (frame["config"] == "pop@cpu").all() and not frame["simulated"].any()
    assert set(frame.loc[frame.metric == "throughput_users_s", "batch_size"]) == {1, 256}


@pytest.mark.realdata
def test_benchmark_mf_times_float_and_int8_index_and_scores_int8(ml100k_dir, tmp_path):
    out = tmp_path / "bench-mf"
    res = runner.invoke(app, ["benchmark", "--model", "mf", "--epochs", "2", "--data-dir", str(ml100k_dir.parent),
                              "--requests", "30", "--warmup", "3", "--repeats", "1", "--batch-sizes", "64",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out.with_suffix(".csv"))
    val = frame.set_index(["strategy", "metric"])["value"]
    # per-row INT8 tables: 1 byte per entry + one float32 scale per row, vs 4 bytes per entry (d = 64)
    ratio = val["embedding-index-int8", "index_size_mib"] / val["embedding-index", "index_size_mib"]
    assert ratio == pytest.approx((64 + 4) / (4 * 64), rel=1e-6)
    assert ("embedding-index-int8", "latency_ratio_vs_recommend") in val.index
    assert abs(val["embedding-index-int8", "ndcg@10"] - val["model.recommend", "ndcg@10"]) < 0.01


@pytest.mark.realdata
def test_benchmark_checkpoint_keeps_its_strategy_and_refuses_another_split(ml100k_dir, tmp_path):
    data = ["--data-dir", str(ml100k_dir.parent)]
    common = ["--no-progress", "--threads", "1", *data]
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    assert runner.invoke(app, ["train", "-m", "mf", "--epochs", "2", "-o", str(teacher), *common]).exit_code == 0
    res = runner.invoke(app, ["train", "-m", "mf", "--epochs", "1", "--set", "embedding_size=8",
                              "--distill-from", str(teacher), "-o", str(student), *common])
    assert res.exit_code == 0, res.output
    out = tmp_path / "bench"
    fast = ["--requests", "20", "--warmup", "2", "--repeats", "1", "--batch-sizes", "64"]
    res = runner.invoke(app, ["benchmark", "--checkpoint", str(student), *fast, *data, "--out", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out.with_suffix(".csv"))
    assert set(frame.config) == {"mf+distillation@cpu"} and set(frame.optimization) == {"distillation"}
    assert set(frame.min_rating) == {3.0}  # the protocol pyrec train used
    ndcg = frame.loc[(frame.strategy == "model.recommend") & (frame.metric == "ndcg@10"), "value"].item()
    trained = pd.read_parquet(student / "metrics.parquet").set_index("metric")["value"]["ndcg@10"]
    assert ndcg == pytest.approx(trained, abs=1e-9)  # same split, same test users
    res = runner.invoke(app, ["benchmark", "--checkpoint", str(student), "--seed", "1", *fast, *data])
    assert res.exit_code == 2 and "pairs differ" in res.output


@pytest.mark.realdata
@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed not installed")
def test_benchmark_hybrid_on_deepspeed_trains_through_the_evaluate_trainer(ml100k_dir, monkeypatch):
    """`pyrec benchmark --model hybrid --backend deepspeed` and `pyrec evaluate` fit through the same
    function (pyrec.pipeline.fit_model: the model's own trainer, early stopping included), with
    DeepSpeed as the backend of that trainer, never a second training loop."""
    from pyrec import pipeline
    from pyrec.experiment import _steps

    calls = []
    real = pipeline.fit_model

    def spy(model, split, **kw):
        calls.append((type(model).__name__, type(kw.get("backend")).__name__))
        return real(model, split, **kw)

    monkeypatch.setattr(pipeline, "fit_model", spy)
    res = runner.invoke(app, ["benchmark", "--model", "hybrid", "--backend", "deepspeed", "--epochs", "1",
                              "--data-dir", str(ml100k_dir.parent), "--requests", "5", "--warmup", "1",
                              "--repeats", "1", "--batch-sizes", "64", "--eval-users", "50"])
    assert res.exit_code == 0, res.output
    assert calls == [("HybridRecommender", "DeepSpeedBackend")]
    # the evaluate runner's training step (experiment._steps._fit) goes through the same function
    class _Probe:  # records what its fit receives; fit_model hands it the split and the backend
        name = "probe"

        def fit(self, split, options=None):
            calls.append(("probe.fit", type(options.backend).__name__))

    _steps._fit(_Probe(), None, "deepspeed", {"zero_stage": 0})
    assert calls[1:] == [("_Probe", "DeepSpeedBackend"), ("probe.fit", "DeepSpeedBackend")]
