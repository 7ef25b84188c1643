"""`pyrec stats RESULTS_DIR` and run_all on a results folder built from real ML-100K runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.r


@pytest.fixture()
def results_dir(tmp_path, ml100k_runs, ml100k_per_user, r_ready):
    """A results folder in the `pyrec evaluate` layout (runs.parquet, per_user.parquet)."""
    latency = ml100k_runs.assign(metric="latency_p50_ms", unit="ms",
                                 value=[3.1, 2.9, 3.3, 12.0, 11.5, 12.4, 0.5, 0.6, 0.4])
    pd.concat([ml100k_runs, latency]).to_parquet(tmp_path / "runs.parquet", index=False)
    ml100k_per_user.to_parquet(tmp_path / "per_user.parquet", index=False)
    return tmp_path


def test_run_all_returns_and_saves_every_table(results_dir):
    from pyrec.stats import run_all

    tables = run_all(results_dir, "ndcg@10")
    assert {"anova", "assumptions", "effect_sizes", "tukey", "emmeans", "paired"} <= set(tables)
    assert "skipped" not in tables, tables.get("skipped")
    assert tables["anova"]["term"].tolist() == ["architecture", "Residuals"]
    assert len(tables["tukey"]) == 3
    assert len(tables["paired"]) == 6 and tables["paired"]["dataset"].eq("ml-100k").all()
    for name in tables:
        assert (results_dir / "stats" / f"{name}.csv").is_file()
        doc = json.loads((results_dir / "stats" / f"{name}.json").read_text("utf-8"))
        assert len(doc["rows"]) == len(tables[name])
    doc = json.loads((results_dir / "stats" / "tukey.json").read_text("utf-8"))
    assert {"rand é", "pop@cpu", "item-knn+cos"} <= {r["group1"] for r in doc["rows"]} | {
        r["group2"] for r in doc["rows"]}
    back = pd.read_csv(results_dir / "stats" / "anova.csv")
    assert back["p_value"].iloc[0] == pytest.approx(tables["anova"]["p_value"].iloc[0])


def test_cli_prints_tables_and_writes_them(results_dir):
    from pyrec.cli import app

    res = CliRunner().invoke(app, ["stats", str(results_dir), "--metric", "latency_p50_ms",
                                   "--factors", "architecture,optimization,backend"])
    assert res.exit_code == 0, res.output
    assert "One-way ANOVA of latency_p50_ms" in res.output
    assert "Tukey HSD" in res.output and "Shapiro-Wilk" in res.output
    assert "factor(s) with one level dropped: optimization, backend" in res.output
    assert (results_dir / "stats" / "anova.json").is_file()


def test_cli_errors_are_one_line(results_dir, tmp_path):
    from pyrec.cli import app

    res = CliRunner().invoke(app, ["stats", str(results_dir), "--metric", "recall@10"])
    assert res.exit_code == 2
    assert "metric 'recall@10' is not in" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["stats", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.output
