"""`pyrec stats RESULTS_DIR` and run_all on a results folder built from real ML-100K runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.r

PLAN = {"bootstrap": 200, "contrasts": [
    {"question": "Q1", "config": "item-knn+cos", "baseline": "pop@cpu", "test": "superiority"},
    {"question": "Q2", "config": "rand é", "baseline": "pop@cpu", "test": "equivalence",
     "margin": 0.01}]}


@pytest.fixture()
def results_dir(tmp_path, ml100k_runs, ml100k_per_user, r_ready):
    """A results folder in the `pyrec evaluate` layout (runs.parquet, per_user.parquet, plan)."""
    latency = ml100k_runs.assign(metric="latency_p50_ms", unit="ms",
                                 value=[3.1, 2.9, 3.3, 12.0, 11.5, 12.4, 0.5, 0.6, 0.4])
    pd.concat([ml100k_runs, latency]).to_parquet(tmp_path / "runs.parquet", index=False)
    ml100k_per_user.to_parquet(tmp_path / "per_user.parquet", index=False)
    (tmp_path / "analysis.json").write_text(json.dumps(PLAN), "utf-8")
    return tmp_path


def test_run_all_answers_the_planned_contrasts_and_saves_per_metric(results_dir):
    from pyrec.stats import run_all

    tables = run_all(results_dir, "ndcg@10")
    assert {"contrasts", "design", "seed_level", "blocking", "user_level", "bootstrap", "paired",
            "power", "costs"} <= set(tables)
    assert "skipped" not in tables, tables.get("skipped")
    answers = tables["contrasts"]
    assert answers[["question", "config", "baseline"]].values.tolist() == [
        ["Q1", "item-knn+cos", "pop@cpu"], ["Q2", "rand é", "pop@cpu"]]
    assert answers["verdict"].iloc[0] == "better, over splits and over users"
    assert answers["verdict"].iloc[1] == "not shown equivalent within ±0.01"
    out = results_dir / "stats" / "ndcg@10"
    for name in tables:
        assert (out / f"{name}.csv").is_file()
        doc = json.loads((out / f"{name}.json").read_text("utf-8"))
        assert len(doc["rows"]) == len(tables[name])
    back = pd.read_csv(out / "seed_level.csv")
    assert back["p_value"].iloc[0] == pytest.approx(tables["seed_level"]["p_value"].iloc[0])
    # another metric goes to its own folder and leaves the ndcg@10 tables alone
    before = (out / "contrasts.csv").read_bytes()
    lat = run_all(results_dir, "latency_p50_ms")
    assert (results_dir / "stats" / "latency_p50_ms" / "contrasts.csv").is_file()
    assert (out / "contrasts.csv").read_bytes() == before
    assert "user_level" not in lat  # no per-user latency: said in skipped/notes, not crashed


def test_cli_prints_tables_and_writes_them(results_dir):
    from pyrec.cli import app

    res = CliRunner().invoke(app, ["stats", str(results_dir), "--metric", "NDCG@10",
                                   "--p-adjust", "BH", "--target-mde", "0.002"])
    assert res.exit_code == 0, res.output
    assert "Planned contrasts of ndcg@10" in res.output
    assert "Benjamini-Hochberg" in res.output
    power = pd.read_csv(results_dir / "stats" / "ndcg@10" / "power.csv")
    assert (power["target_mde"] == 0.002).all() and power["seeds_needed"].notna().all()


def test_cli_factorial_is_refused_where_factors_do_not_identify_configurations(results_dir):
    from pyrec.cli import app

    res = CliRunner().invoke(app, ["stats", str(results_dir), "--metric", "latency_p50_ms",
                                   "--factors", "architecture,optimization,backend"])
    assert res.exit_code == 0, res.output
    assert "One-way ANOVA of latency_p50_ms" in res.output
    assert "factor(s) with one level dropped: optimization, backend" in res.output


def test_cli_errors_are_one_line(results_dir, tmp_path):
    from pyrec.cli import app

    res = CliRunner().invoke(app, ["stats", str(results_dir), "--metric", "recall@10"])
    assert res.exit_code == 2
    assert "metric 'recall@10' is not in" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["stats", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = CliRunner().invoke(app, ["stats", str(results_dir), "--factors", "architecture,nope"])
    assert res.exit_code == 2 and "factor(s) ['nope'] are not columns" in res.output
    res = CliRunner().invoke(app, ["stats", str(results_dir), "--p-adjust", "fdr"])
    assert res.exit_code == 2 and "--p-adjust must be" in res.output
