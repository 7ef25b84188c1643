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
    assert res.exit_code == 1 and "'--model'" in res.output
    res = runner.invoke(app, ["train", "--model", "mf", "--set", "oops", "--out", str(tmp_path)])
    assert res.exit_code == 1 and "key=value" in res.output
