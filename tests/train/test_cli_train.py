"""`pyrec train` end to end on the real MovieLens-100K (pop and a 1-epoch MF), and its errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from pyrec.cli import app

runner = CliRunner()


@pytest.mark.realdata
def test_train_pop_writes_run_folder(ml100k_dir, tmp_path):
    out = tmp_path / "pop"
    res = runner.invoke(
        app,
        [
            "train",
            "--model",
            "pop",
            "--dataset",
            "ml-100k",
            "--out",
            str(out),
            "--data-dir",
            str(ml100k_dir.parent),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "NDCG@10" in res.output and "Recall@10" in res.output and "training time" in res.output
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert set(metrics.columns) >= {
        "run_id",
        "dataset",
        "split",
        "seed",
        "model",
        "metric",
        "value",
        "unit",
    }
    ndcg = metrics.loc[metrics.metric == "ndcg@10", "value"].item()
    assert 0.05 < ndcg < 0.25  # popularity on ML-100K (ratings >= 3, 8:1:1) is ~0.12
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["min_rating"] == 3.0 and cfg["split"].startswith("ratio")
    assert (out / "model" / "model.json").is_file() and (out / "per_user.parquet").is_file()


@pytest.mark.realdata
def test_train_mf_one_epoch_saves_history_and_checkpoint(ml100k_dir, tmp_path):
    out = tmp_path / "mf"
    res = runner.invoke(
        app,
        [
            "train",
            "-m",
            "mf",
            "--epochs",
            "1",
            "--out",
            str(out),
            "--no-progress",
            "--data-dir",
            str(ml100k_dir.parent),
            "--set",
            "embedding_size=16",
            "--threads",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out / "checkpoint" / "last.pt").is_file()
    assert len(pd.read_csv(out / "history.csv")) == 1
    assert json.loads((out / "config.json").read_text())["config"]["embedding_size"] == 16


def test_train_rejects_unknown_model_and_bad_set(tmp_path):
    res = runner.invoke(app, ["train", "--model", "svd", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "'--model'" in res.output
    res = runner.invoke(app, ["train", "--model", "mf", "--set", "oops", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "key=value" in res.output


def _train(args, data_dir):
    return runner.invoke(app, ["train", "--no-progress", "--threads", "1",
                               "--data-dir", str(data_dir), *args])


@pytest.mark.realdata
def test_train_distill_from_teacher_records_strategy_and_refuses_other_split(ml100k_dir, tmp_path):
    teacher = tmp_path / "teacher"
    res = _train(["-m", "mf", "--epochs", "3", "--set", "embedding_size=32", "-o", str(teacher)],
                 ml100k_dir.parent)
    assert res.exit_code == 0, res.output
    student = tmp_path / "student"
    res = _train(["-m", "mf", "--epochs", "2", "--set", "embedding_size=8", "-o", str(student),
                  "--distill-from", str(teacher), "--distill-set", "top_k=20,temperature=2"],
                 ml100k_dir.parent)
    assert res.exit_code == 0, res.output
    assert "distillation" in res.output and "teacher NDCG@10" in res.output
    rows = pd.read_parquet(student / "metrics.parquet")
    assert set(rows.optimization) == {"distillation"}
    assert rows.run_id.iloc[0].startswith("mf+distillation-ml-100k")
    got = dict(zip(rows.metric, rows.value))
    teacher_rows = pd.read_parquet(teacher / "metrics.parquet")
    assert got["teacher_ndcg@10"] == pytest.approx(
        teacher_rows.loc[teacher_rows.metric == "ndcg@10", "value"].item(), abs=1e-12)
    assert set(pd.read_parquet(teacher / "metrics.parquet").optimization) == {"none"}
    cfg = json.loads((student / "config.json").read_text())
    assert cfg["strategies"]["distill"] == {"top_k": 20, "temperature": 2}
    assert cfg["config"]["embedding_size"] == 8
    # a teacher trained on another split knows this split's test items: refused, nothing written
    other = tmp_path / "other"
    res = _train(["-m", "mf", "--epochs", "1", "--seed", "1", "-o", str(other),
                  "--distill-from", str(teacher)], ml100k_dir.parent)
    assert res.exit_code == 2 and "pairs differ" in res.output
    assert not other.exists()


@pytest.mark.realdata
def test_train_quantize_int8_reports_layers_and_sizes(ml100k_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYREC_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "llm-int8"
    res = _train(["-m", "llm", "--epochs", "1", "--quantize", "int8", "-o", str(out)],
                 ml100k_dir.parent)
    assert res.exit_code == 0, res.output
    rows = pd.read_parquet(out / "metrics.parquet")
    got = dict(zip(rows.metric, rows.value))
    assert set(rows.optimization) == {"quantization"}
    assert got["quantized_linear_layers"] == got["linear_layers"] == 37  # MiniLM-L6: 6 x 6 + pooler
    assert got["encoder_size_mib"] < 0.8 * got["encoder_size_fp32_mib"]
    assert json.loads((out / "config.json").read_text())["config"]["inference_quantization"] == "int8"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "mf", "--quantize", "int8"], "'--quantize' option acts on a text encoder"),
        (["-m", "lightgcn", "--lora", "r=8"], "'--lora' option acts on a text encoder"),
        (["-m", "llm", "--lora", "r=8,alpha"], "key=value"),
        (["-m", "llm", "--quantize", "int4"], "'--quantize' option must be one of"),
        (["-m", "mf", "--distill-set", "top_k=5"], "without a teacher"),
        (["-m", "llm", "--lora", "rank=8"], "rank"),
    ],
)
def test_train_strategy_errors_are_named_before_any_work(args, message, tmp_path):
    res = _train([*args, "-o", str(tmp_path / "run")], tmp_path)
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "run").exists()


@pytest.mark.realdata
def test_train_init_from_continues_a_run_and_checks_its_split(ml100k_dir, tmp_path):
    base = tmp_path / "base"
    assert _train(["-m", "mf", "--epochs", "3", "-o", str(base)], ml100k_dir.parent).exit_code == 0
    more = tmp_path / "more"
    # a near-zero learning rate: the continued run scores like the run it started from
    res = _train(["-m", "mf", "--epochs", "1", "--lr", "1e-12", "--init-from", str(base), "-o", str(more)],
                 ml100k_dir.parent)
    assert res.exit_code == 0, res.output
    ndcg = {p: pd.read_parquet(p / "metrics.parquet").set_index("metric")["value"]["ndcg@10"] for p in (base, more)}
    assert ndcg[more] == pytest.approx(ndcg[base], abs=1e-4)
    assert json.loads((more / "config.json").read_text())["init_from"] == str(base)
    res = _train(["-m", "mf", "--epochs", "1", "--seed", "2", "--init-from", str(base)], ml100k_dir.parent)
    assert res.exit_code == 2 and "--init-from" in res.output and "pairs differ" in res.output
    res = _train(["-m", "pop", "--init-from", str(base)], ml100k_dir.parent)
    assert res.exit_code == 2 and "'init_from'" in res.output


@pytest.mark.realdata
def test_train_protects_earlier_runs_and_its_sources(ml100k_dir, tmp_path):
    run = tmp_path / "run"
    assert _train(["-m", "pop", "-o", str(run)], ml100k_dir.parent).exit_code == 0
    before = (run / "metrics.csv").read_text()
    res = _train(["-m", "mf", "--epochs", "1", "-o", str(run)], ml100k_dir.parent)
    assert res.exit_code == 2 and "finished run" in res.output and "--force" in res.output
    assert (run / "metrics.csv").read_text() == before  # untouched
    res = _train(["-m", "mf", "--epochs", "1", "--distill-from", str(run), "-o", str(run), "--force"],
                 ml100k_dir.parent)
    assert res.exit_code == 2 and "is inside the --distill-from folder" in res.output
    res = _train(["-m", "mf", "--epochs", "1", "--init-from", str(run), "-o", str(run / "model")],
                 ml100k_dir.parent)
    assert res.exit_code == 2 and "is inside the --init-from folder" in res.output
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text("{}")  # e.g. a model folder: not a run
    res = _train(["-m", "mf", "-o", str(tmp_path / "other"), "--force"], ml100k_dir.parent)
    assert res.exit_code == 2 and "not a pyrec run" in res.output
    (tmp_path / "file").write_text("x")
    res = _train(["-m", "mf", "-o", str(tmp_path / "file")], ml100k_dir.parent)
    assert res.exit_code == 2 and "is a file" in res.output
    res = _train(["-m", "mf", "--epochs", "1", "-o", str(run), "--force"], ml100k_dir.parent)
    assert res.exit_code == 0, res.output
    assert json.loads((run / "config.json").read_text())["model"] == "mf"
    res = _train(["-m", "pop", "-o", str(run), "--force"], ml100k_dir.parent)
    assert res.exit_code == 0, res.output  # nothing of the mf run stays beside the pop run
    assert not (run / "history.csv").exists() and not (run / "model" / "history.json").exists()
    assert _train(["-m", "mf", "--epochs", "1", "-o", str(run), "--force"], ml100k_dir.parent).exit_code == 0
    # another model's checkpoint: one clear line, not a traceback
    res = _train(["-m", "lightgcn", "--epochs", "1", "-o", str(run), "--resume"], ml100k_dir.parent)
    assert res.exit_code == 2 and "Cannot resume from" in res.output and "Traceback" not in res.output
