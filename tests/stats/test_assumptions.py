"""Assumption checks through R, cross-checked with scipy / statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyrec.stats import assumptions

pytestmark = pytest.mark.r


def test_assumption_tests_match_scipy_and_statsmodels(rdata):
    import statsmodels.formula.api as smf
    from scipy import stats
    from statsmodels.stats.oneway import anova_oneway

    wb = rdata("warpbreaks")
    runs = pd.DataFrame({"architecture": wb["wool"].astype(str) + "+x",
                         "backend": wb["tension"].astype(str) + "-é",
                         "metric": "ndcg@10", "value": wb["breaks"]})
    res = assumptions(runs, "ndcg@10", ["architecture", "backend"]).set_index("test")
    resid = smf.ols("value ~ C(architecture) * C(backend)", runs).fit().resid
    sw = stats.shapiro(resid)
    groups = [g["value"].to_numpy() for _, g in runs.groupby(["architecture", "backend"])]
    lev = stats.levene(*groups, center="median")
    kw = stats.kruskal(*groups)
    welch = anova_oneway(groups, use_var="unequal")
    classic = stats.f_oneway(*groups)
    row = res.loc["Shapiro-Wilk (residuals)"]
    assert row["statistic"] == pytest.approx(sw.statistic, rel=1e-4)  # same algorithm (AS R94)
    assert row["p_value"] == pytest.approx(sw.pvalue, rel=1e-3)
    row = res.loc["Levene (Brown-Forsythe, median)"]
    assert row["statistic"] == pytest.approx(lev.statistic, rel=1e-10)
    assert row["p_value"] == pytest.approx(lev.pvalue, rel=1e-8)
    assert (row["df"], row["df_error"]) == (5, 48)
    assert bool(row["violated"]) is True
    row = res.loc["Welch ANOVA (cells)"]
    assert row["statistic"] == pytest.approx(welch.statistic, rel=1e-10)
    assert row["df_error"] == pytest.approx(welch.df[1], rel=1e-10)
    assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-8)
    row = res.loc["Kruskal-Wallis (cells)"]
    assert row["statistic"] == pytest.approx(kw.statistic, rel=1e-10)
    assert row["p_value"] == pytest.approx(kw.pvalue, rel=1e-8)
    row = res.loc["One-way ANOVA (cells, equal variances)"]
    assert row["statistic"] == pytest.approx(classic.statistic, rel=1e-10)
    assert any("Welch" in n for n in res.attrs["note"])


def test_real_ml100k_checks_and_one_run_cells(ml100k_runs):
    res = assumptions(ml100k_runs, "ndcg@10", ["architecture"])
    assert len(res) == 5 and res["p_value"].notna().all()
    one = ml100k_runs[~((ml100k_runs["architecture"] == "pop") & (ml100k_runs["seed"] > 0))]
    res = assumptions(one, "ndcg@10", ["architecture"]).set_index("test")
    assert np.isnan(res.loc["Welch ANOVA (cells)", "p_value"])
    assert "cell(s) 'pop' have 1 run" in res.loc["Welch ANOVA (cells)", "note"]
