"""`pyrec report` renders analysis/report.Rmd from a small real results folder (see conftest.py)."""

from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest

from pyrec.report import render_report

pytestmark = [pytest.mark.r, pytest.mark.realdata]


@pytest.fixture(scope="module")
def report(tiny_results, rscript_or_skip, tmp_path_factory) -> str:
    out = render_report(tiny_results, out=tmp_path_factory.mktemp("html") / "report.html")
    assert out.name == "report.html" and out.stat().st_size > 50_000
    return out.read_text(encoding="utf-8")


def _text(html: str) -> str:
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_sections_present(report):
    text = _text(report)
    for title in ("Design and protocol", "Hardware and software", "Results", "The study’s questions",
                  "Answers", "Over splits: seed as a block",
                  "Over users: mixed model, bootstrap and paired tests",
                  "Power: what “no difference shown” could have detected",
                  "What each optimization and backend costs",
                  "Quality vs latency", "Training time per configuration",
                  "Per-user paired differences", "The study’s figures beside pyrec’s",
                  "What this report contains"):
        assert title in text, title


def test_design_names_protocol_seeds_and_r_version(report, tiny_results, rscript_or_skip):
    text = _text(report)
    r_version = subprocess.run([rscript_or_skip, "-e", "cat(R.version.string)"], capture_output=True,
                               text=True, check=True).stdout.strip()
    assert r_version and r_version in text
    assert "ml-100k" in text and "full-ranking (ranked against all items" in text
    seeds = sorted(pd.read_csv(tiny_results / "runs.csv")["seed"].unique())
    assert "Seeds (replicates) " + ", ".join(map(str, seeds)) in text
    for pkg in ("rmarkdown", "ggplot2", "car", "emmeans", "effectsize", "torch"):
        assert f" {pkg} " in text, pkg


def test_results_table_has_each_configuration_with_mean_sd_and_ci(report, tiny_results):
    text = _text(report)
    assert "ndcg@10 mean ± sd" in text and "95% CI" in text
    runs = pd.read_csv(tiny_results / "runs.csv")
    ndcg = runs[runs["metric"] == "ndcg@10"].groupby("config")["value"]
    for config, mean in ndcg.mean().items():
        # the mean printed with 4 significant digits, as R's formatC(digits = 4, "g") does
        assert config in text
        assert f"{mean:.4g}"[:5] in text, (config, mean)


def test_statistics_tables_are_computed_not_errors(report):
    text = _text(report)
    body = text.split("The study’s questions", 2)[2].split("Figures")[0]
    assert "could not be computed" not in body
    for header in ("Planned contrasts of ndcg@10: the answers", "verdict", "seed_p_adj",
                   "user_p_adj", "Seed as a block vs seeds as replicates", "shapiro_p",
                   "user-cluster bootstrap", "rank_biserial", "seed_mde", "user_mde"):
        assert header in text, header
    # metric and configuration names stay text, never mailto links
    assert "mailto:" not in report


def test_figures_are_embedded_images(report):
    imgs = re.findall(r'<img[^>]+src="data:image/png;base64,', report)
    assert len(imgs) == 4  # contrasts, quality-latency, training time, per-user differences


def test_report_pyrec_stats_and_r_give_identical_tables(tiny_results, rscript_or_skip, tmp_path):
    """One orchestration: the report, `pyrec stats` (rpy2) and pyrec_stats() in R print the same
    tables for the same folder."""
    import os
    import sys

    from pyrec.stats import run_all

    render_report(tiny_results, out=tmp_path / "r.html", tables_dir=tmp_path / "report")
    py = run_all(tiny_results, "ndcg@10", save=False)
    r_dir = tmp_path / "r"
    script = ("source(file.path(Sys.getenv('PYREC_R_SCRIPTS'), 'pyrec.R')); "
              f"t <- pyrec_stats('{tiny_results}', 'ndcg@10'); "
              f"dir.create('{r_dir}'); for (n in names(t)) write.csv(as.data.frame(unclass(t[[n]])), "
              f"file.path('{r_dir}', paste0(n, '.csv')), row.names = FALSE)")
    from pyrec.stats import r_scripts_dir

    env = {**os.environ, "RETICULATE_PYTHON": sys.executable, "PYREC_R_SCRIPTS": str(r_scripts_dir())}
    proc = subprocess.run([rscript_or_skip, "-e", script], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = sorted(p.stem for p in (tmp_path / "report").glob("*.csv"))
    assert names == sorted(py) == sorted(p.stem for p in r_dir.glob("*.csv"))
    assert {"contrasts", "seed_level", "user_level", "bootstrap", "paired", "power"} <= set(names)
    for name in names:
        rep = pd.read_csv(tmp_path / "report" / f"{name}.csv")
        rr = pd.read_csv(r_dir / f"{name}.csv")
        pyt = py[name].reset_index(drop=True)
        for other in (rr, pyt):
            assert list(other.columns) == list(rep.columns), name
            for col in rep.columns:
                a, b = rep[col], other[col]
                # lme4's REML optimum can move slightly between processes on identical data (a
                # flat surface); everything else is the same arithmetic
                lmer = name == "user_level" or col.startswith(("user_", "var_"))
                if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                    pd.testing.assert_series_equal(a.astype(float), b.astype(float),
                                                   rtol=5e-3 if lmer else 1e-10, check_names=False)
                else:
                    assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), (name, col)


def test_simulated_rows_are_marked(report, tiny_results):
    text = _text(report)
    runs = pd.read_csv(tiny_results / "runs.csv")
    simulated = sorted(runs.loc[runs["simulated"], "config"].unique())
    if simulated:
        for config in simulated:
            assert f"{config} (simulated)" in text
        assert f"{len(simulated)} configuration(s) ran on the simulated FPGA backend" in text
    else:
        assert "No simulated (fpga-sim) configurations in these results" in text
    measured = sorted(runs.loc[~runs["simulated"], "config"].unique())
    assert not any(f"{c} (simulated)" in text for c in measured)


def test_study_comparison_table(report, tiny_results):
    text = _text(report)
    for fig in ("0.75", "40–60 ms", "−66%", "+13.6%", "not stated (likely sampled negatives)"):
        assert fig in text, fig
    runs = pd.read_csv(tiny_results / "runs.csv")
    if "hybrid" not in set(runs["architecture"]):
        # no hybrid in this run: each figure says it was not measured rather than inventing one
        assert text.count("not measured in this run") >= 5
    assert "reproduced (hybrid has the higher mean)" not in text  # a mean alone is no evidence


def test_works_offline(report):
    assert not re.search(r'(?:src|href)="https?://', report)
    assert "mathjax" not in report.lower()


def test_two_protocols_are_reported_one_at_a_time(tiny_results, rscript_or_skip, tmp_path):
    """A folder with full-ranking and sampled-100 runs: the report covers one protocol and says so;
    nothing is pooled (the sampled values are 3x larger here, so pooling would show)."""
    import shutil

    folder = tmp_path / "two"
    shutil.copytree(tiny_results, folder, ignore=shutil.ignore_patterns("report*", "stats"))
    runs = pd.read_csv(folder / "runs.csv")
    sampled = runs.assign(protocol="sampled-100", run_id=runs["run_id"] + "-s100",
                          value=runs["value"] * 3)
    both = pd.concat([runs, sampled], ignore_index=True)
    both.to_csv(folder / "runs.csv", index=False)
    both.to_parquet(folder / "runs.parquet", index=False)
    full = _text(render_report(folder, out=tmp_path / "full.html").read_text(encoding="utf-8"))
    assert "this report covers full-ranking only" in full and "--protocol" in full
    ndcg = runs[runs["metric"] == "ndcg@10"].groupby("config")["value"].mean()
    for mean in ndcg:
        assert f"{mean:.4g}"[:5] in full
    # the design table lists the protocols of the runs it analysed: only full ranking
    assert "ranked against all items" in full and "(ranked against sampled negatives)" not in full
    samp = _text(render_report(folder, out=tmp_path / "s.html", protocol="sampled-100")
                 .read_text(encoding="utf-8"))
    assert "this report covers sampled-100 only" in samp
    assert "(ranked against sampled negatives)" in samp and "ranked against all items" not in samp


def test_the_planned_metric_is_the_default(tiny_results, rscript_or_skip, tmp_path, monkeypatch):
    """`pyrec report` analyses the experiment's planned metric (analysis.json), as `pyrec stats` does,
    unless --metric is given (a ks = [5] experiment was reported at the unmeasured ndcg@10)."""
    import json
    import shutil

    from pyrec.report import render as render_module

    folder = tmp_path / "plan"
    shutil.copytree(tiny_results, folder, ignore=shutil.ignore_patterns("report*", "stats"))
    plan = json.loads((folder / "analysis.json").read_text()) if (folder / "analysis.json").is_file() else {}
    (folder / "analysis.json").write_text(json.dumps({**plan, "metric": "recall@10"}))
    seen = []
    real = render_module.write_inputs
    monkeypatch.setattr(render_module, "write_inputs", lambda f, w, metric: seen.append(metric) or real(f, w, metric))
    render_report(folder, out=tmp_path / "r.html")
    render_report(folder, out=tmp_path / "n.html", metric="ndcg@10")
    assert seen == ["recall@10", "ndcg@10"]
