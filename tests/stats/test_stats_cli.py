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


def _cost_runs(values: dict[str, list[float]], metric: str = "latency_p99_ms") -> pd.DataFrame:
    rows = []
    for cfg, vals in values.items():
        arch = cfg.split("@")[0]
        for seed, v in enumerate(vals):
            rows.append({"run_id": f"{cfg}-{seed}", "dataset": "d", "split": "s", "protocol": "full-ranking",
                         "seed": seed, "architecture": arch, "model": arch, "optimization": "none",
                         "backend": "cpu", "config": cfg, "simulated": False, "metric": metric,
                         "value": v, "unit": "ms"})
    return pd.DataFrame(rows)


def test_lower_is_better_metrics_and_margins_in_other_units(r_ready):
    """A latency that is lower is 'better'; the plan's NDCG margin is not applied to milliseconds."""
    from pyrec.stats import analysis

    runs = _cost_runs({"hybrid@cpu": [1.0, 1.1, 0.9], "gnn@cpu": [2.0, 2.2, 1.9]})
    con = [{"question": "Q1", "config": "hybrid@cpu", "baseline": "gnn@cpu", "test": "superiority"}]
    res = analysis(runs, None, {"metric": "latency_p99_ms", "contrasts": con})
    verdict = res["contrasts"]["verdict"].iloc[0]
    assert verdict.startswith("better over splits; the user-level analysis was not run"), verdict
    eq = [{"question": "Q2", "config": "hybrid@cpu", "baseline": "gnn@cpu", "test": "equivalence"}]
    res = analysis(runs, None, {"metric": "latency_p99_ms", "margin_metric": "ndcg@10", "contrasts": eq})
    assert res["contrasts"]["test"].iloc[0] == "superiority"
    assert any("no equivalence margin in the units of latency_p99_ms" in n
               for n in res["contrasts"].attrs["design_notes"])


def test_plan_defaults_and_bad_plans(results_dir):
    from pyrec.diagnostics import DataError
    from pyrec.stats import run_all

    no_test = {"contrasts": [{"question": "Q1", "config": "item-knn+cos", "baseline": "pop@cpu"}],
               "bootstrap": 100}
    (results_dir / "analysis.json").write_text(json.dumps(no_test), "utf-8")
    assert run_all(results_dir, save=False)["contrasts"]["test"].tolist() == ["superiority"]
    (results_dir / "analysis.json").write_text("[1, 2]", "utf-8")
    with pytest.raises(DataError, match="must be a JSON object"):
        run_all(results_dir, save=False)
    (results_dir / "analysis.json").write_text("{", "utf-8")
    with pytest.raises(DataError, match="not a readable analysis plan"):
        run_all(results_dir, save=False)


def test_a_config_missing_a_seed_is_said_and_the_answer_is_the_models_estimate(results_dir):
    from pyrec.stats import run_all

    runs = pd.read_parquet(results_dir / "runs.parquet")
    runs = runs[~((runs["config"] == "pop@cpu") & (runs["seed"] == 2))]
    runs.to_parquet(results_dir / "runs.parquet", index=False)
    tables = run_all(results_dir, save=False)
    notes = tables["contrasts"].attrs["design_notes"]
    assert any("pop@cpu lack(s) some of the 3 seeds (pop@cpu: 2)" in n for n in notes), notes
    answer = tables["contrasts"].iloc[0]
    assert answer["estimate"] == pytest.approx(tables["seed_level"]["estimate"].iloc[0], rel=1e-12)


def test_a_later_run_leaves_no_stale_tables(results_dir):
    from pyrec.stats import run_all

    run_all(results_dir, "latency_p50_ms", factors=["architecture"])
    out = results_dir / "stats" / "latency_p50_ms"
    assert (out / "anova.csv").is_file()
    run_all(results_dir, "latency_p50_ms")
    assert not (out / "anova.csv").exists() and not (out / "anova.json").exists()


def test_corrupt_or_incomplete_results_are_named(results_dir):
    from pyrec.cli import app

    (results_dir / "runs.parquet").write_bytes(b"not parquet")
    res = CliRunner().invoke(app, ["stats", str(results_dir)])
    assert res.exit_code == 2 and "runs.parquet cannot be read" in res.output
    assert "Traceback" not in res.output
    (results_dir / "runs.parquet").unlink()
    pd.DataFrame({"config": ["a"], "value": [1.0]}).to_csv(results_dir / "runs.csv", index=False)
    res = CliRunner().invoke(app, ["stats", str(results_dir)])
    assert res.exit_code == 2 and "has no column(s) ['metric', 'seed']" in res.output


def test_simulated_latency_is_not_compared_with_measured_latency(r_ready):
    from pyrec.stats import analysis

    runs = _cost_runs({"hybrid@cpu": [1.0, 1.1, 0.9], "hybrid@fpga": [0.01, 0.01, 0.01]})
    runs.loc[runs["config"] == "hybrid@fpga", "simulated"] = True
    con = [{"question": "Q3", "config": "hybrid@fpga", "baseline": "hybrid@cpu", "test": "superiority"}]
    verdict = analysis(runs, None, {"metric": "latency_p99_ms", "contrasts": con})["contrasts"]["verdict"]
    assert verdict.iloc[0].startswith("not comparable: the latency_p99_ms of hybrid@fpga is simulated")


def test_json_tables_keep_small_p_values(results_dir):
    from pyrec.stats import run_all

    tables = run_all(results_dir)
    p = tables["user_level"]["p_value"]
    assert 0 < p.min() < 1e-10  # item-kNN vs popularity over 943 users
    doc = json.loads((results_dir / "stats" / "ndcg@10" / "user_level.json").read_text("utf-8"))
    assert [r["p_value"] for r in doc["rows"]] == pytest.approx(list(p), rel=1e-12)


def test_report_refuses_a_plan_that_stats_refuses(results_dir):
    from pyrec.cli import app

    (results_dir / "analysis.json").write_text(json.dumps({"alpha": 2}), "utf-8")
    res = CliRunner().invoke(app, ["report", str(results_dir)])
    assert res.exit_code == 2 and "analysis.json" in res.output and "alpha" in res.output
    (results_dir / "analysis.json").write_text("{", "utf-8")
    res = CliRunner().invoke(app, ["report", str(results_dir)])
    assert res.exit_code == 2 and "not a readable analysis plan" in res.output
