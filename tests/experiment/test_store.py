"""Results folder: atomic commits, resume vs refuse, --force, failure records."""

from __future__ import annotations

import pandas as pd
import pytest

from pyrec.diagnostics import ConfigError
from pyrec.experiment import ResultsFolder
from pyrec.experiment._store import PER_USER_COLUMNS, RUN_COLUMNS


def _rows(run_id: str, value: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    row = {"run_id": run_id, "dataset": "ml-100k", "split": "ratio-0.8:0.1:0.1", "protocol": "full-ranking",
           "seed": 0, "architecture": "gnn", "model": "lightgcn", "optimization": "none", "backend": "cpu",
           "config": "lightgcn@cpu", "simulated": False, "metric": "ndcg@10", "value": value, "unit": "score"}
    pu = pd.DataFrame([{"run_id": run_id, "protocol": "full-ranking", "config": "lightgcn@cpu", "seed": 0, "architecture": "gnn",
                        "optimization": "none", "backend": "cpu", "user": 3, "metric": "ndcg", "k": 10,
                        "value": value}])
    return pd.DataFrame([row]), pu


def test_commit_assemble_and_failures(tmp_path):
    folder = ResultsFolder.open(tmp_path / "r", "name = 'a'\n", {"a": 1})
    assert not folder.resumed and not folder.is_done("r1")
    folder.write_run("r1", *_rows("r1", 0.25))
    folder.record_failure("r2", "hybrid@cpu", 1, "RuntimeError: boom", "Traceback ...")
    table = folder.assemble(["r1", "r2", "r3"])
    assert folder.is_done("r1") and not folder.is_done("r2")
    assert list(table.columns) == RUN_COLUMNS and table["value"].tolist() == [0.25]
    assert pd.read_parquet(tmp_path / "r" / "runs.parquet").equals(table)
    assert list(pd.read_csv(tmp_path / "r" / "runs.csv").columns) == RUN_COLUMNS
    assert list(pd.read_parquet(tmp_path / "r" / "per_user.parquet").columns) == PER_USER_COLUMNS
    failed = pd.read_csv(tmp_path / "r" / "failed.csv")
    assert failed.to_dict("records") == [{"run_id": "r2", "config": "hybrid@cpu", "seed": 1, "error": "RuntimeError: boom"}]
    assert (tmp_path / "r" / "logs" / "r2.log").read_text() == "Traceback ..."
    folder.write_run("r2", *_rows("r2", 0.3))  # a retried run that now succeeds clears its failure
    folder.assemble(["r1", "r2"])
    assert pd.read_csv(tmp_path / "r" / "failed.csv").empty
    assert not list((tmp_path / "r").glob(".*tmp*"))  # no temporary files left


def test_same_config_resumes_other_config_refused_force_wipes(tmp_path):
    toml = 'name = "a"\n[[configurations]]\narchitecture = "gnn"\n'
    import tomllib

    from pyrec.experiment import validate_config

    fp = validate_config(tomllib.loads(toml)).fingerprint_dict()
    folder = ResultsFolder.open(tmp_path / "r", toml, fp)
    folder.write_run("r1", *_rows("r1", 0.25))
    again = ResultsFolder.open(tmp_path / "r", toml, fp)
    assert again.resumed and again.is_done("r1")

    more_seeds = validate_config({**tomllib.loads(toml), "seeds": [0, 1, 2, 3]}).fingerprint_dict()
    assert ResultsFolder.open(tmp_path / "r", toml, more_seeds).resumed  # seeds added: resume
    other = validate_config({**tomllib.loads(toml), "min_rating": 4}).fingerprint_dict()
    with pytest.raises(ConfigError, match=r"different experiment config:\n  min_rating: 3.0 -> 4.0"):
        ResultsFolder.open(tmp_path / "r", toml, other)
    assert (tmp_path / "r" / "parts" / "r1.runs.parquet").is_file()  # refused: nothing touched

    wiped = ResultsFolder.open(tmp_path / "r", toml, other, force=True)
    assert not wiped.resumed and not wiped.is_done("r1")


def test_foreign_folder_never_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    for force in (False, True):
        with pytest.raises(ConfigError, match="not a pyrec results folder"):
            ResultsFolder.open(tmp_path / "mine", "", {}, force=force)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    (tmp_path / "empty").mkdir()
    assert ResultsFolder.open(tmp_path / "empty", "", {}).path.is_dir()
