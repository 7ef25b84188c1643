"""Tukey HSD and emmeans contrasts through R, cross-checked with statsmodels / scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _crosscheck import anova_statsmodels, tukey_statsmodels

from pyrec.stats import emmeans, tukey

pytestmark = pytest.mark.r
AWKWARD = {"L": "LightGCN-INT8", "M": "hybrid+lora", "H": "café gnn"}


def _oriented(d: pd.DataFrame) -> pd.DataFrame:
    """Rows with group1 < group2 (flipping estimate and CI), indexed by the pair."""
    d = d.copy()
    flip = d["group1"] > d["group2"]
    d.loc[flip, ["group1", "group2"]] = d.loc[flip, ["group2", "group1"]].to_numpy()
    swapped = d.loc[flip, ["estimate", "CI_high", "CI_low"]].to_numpy()
    d.loc[flip, ["estimate", "CI_low", "CI_high"]] = -swapped
    return d.set_index(["group1", "group2"]).sort_index()


def _check_tukey(r: pd.DataFrame, sm: pd.DataFrame) -> None:
    # both: estimate = mean(group1) - mean(group2); level order differs (appearance vs sorted)
    r, sm = _oriented(r), _oriented(sm)
    assert r.index.equals(sm.index)
    np.testing.assert_allclose(r["estimate"], sm["estimate"], rtol=1e-10)
    np.testing.assert_allclose(r["CI_low"], sm["CI_low"], rtol=1e-6)
    np.testing.assert_allclose(r["p_adj"], sm["p_adj"], rtol=1e-5, atol=1e-7)


def test_tukey_matches_statsmodels_and_keeps_level_names(rdata):
    wb = rdata("warpbreaks")
    runs = pd.DataFrame({"config": wb["tension"].astype(str).map(AWKWARD), "metric": "ndcg@10",
                         "value": wb["breaks"]})
    res = tukey(runs, "ndcg@10", "config")
    assert list(res.columns) == ["group1", "group2", "estimate", "CI_low", "CI_high", "p_adj"]
    assert set(res["group1"]) | set(res["group2"]) == set(AWKWARD.values())
    _check_tukey(res, tukey_statsmodels(runs, "config"))
    assert res.attrs["method"] == "Tukey HSD of ndcg@10 between levels of config"


def test_tukey_on_real_per_user_ndcg(ml100k_per_user):
    pu = ml100k_per_user
    res = tukey(pu, "ndcg@10", "config")  # per-user values as replicates (8472 rows)
    assert set(res["group1"]) | set(res["group2"]) == {"pop@cpu", "item-knn+cos", "rand é"}
    _check_tukey(res, tukey_statsmodels(pu, "config"))


def test_tukey_on_combined_factors(rdata):
    wb = rdata("warpbreaks")
    runs = pd.DataFrame({"architecture": wb["wool"].astype(str) + "-arch",
                         "backend": wb["tension"].astype(str).map(AWKWARD),
                         "metric": "ndcg@10", "value": wb["breaks"]})
    res = tukey(runs, "ndcg@10", ["architecture", "backend"])
    assert len(res) == 15
    cells = runs.assign(cell=runs["architecture"] + ":" + runs["backend"])
    assert set(res["group1"]) | set(res["group2"]) == set(cells["cell"])
    _check_tukey(res, tukey_statsmodels(cells, "cell"))


def test_emmeans_contrasts_match_hand_computed_tukey(rdata):
    from scipy import stats

    wb = rdata("warpbreaks")
    runs = pd.DataFrame({"architecture": wb["wool"].astype(str),
                         "backend": wb["tension"].astype(str).map(AWKWARD),
                         "metric": "ndcg@10", "value": wb["breaks"]})
    res = emmeans(runs, "ndcg@10", ["architecture", "backend"], specs="backend")
    sm = anova_statsmodels(runs, ["architecture", "backend"]).set_index("term")
    mse = sm.loc["Residuals", "sum_sq"] / sm.loc["Residuals", "df"]
    df = sm.loc["Residuals", "df"]
    means = runs.groupby("backend")["value"].mean()  # balanced: EMMs are the raw means
    n = runs.groupby("backend").size().iloc[0]
    se = np.sqrt(2 * mse / n)
    for row in res.itertuples():
        est = means[row.group1] - means[row.group2]
        assert row.estimate == pytest.approx(est, rel=1e-10)
        assert row.SE == pytest.approx(se, rel=1e-10)
        assert row.df == df
        p = stats.studentized_range.sf(abs(est / se) * np.sqrt(2), 3, df)
        assert row.p_adj == pytest.approx(p, rel=1e-4)
    assert set(res["group1"]) | set(res["group2"]) == set(AWKWARD.values())
    assert res.attrs["adjust"] == "tukey"


def test_emmeans_by_and_cells_keep_names(rdata):
    wb = rdata("warpbreaks")
    runs = pd.DataFrame({"architecture": wb["wool"].map({"A": "gnn+lora", "B": "hybrid-INT8"}),
                         "backend": wb["tension"].astype(str).map(AWKWARD),
                         "metric": "ndcg@10", "value": wb["breaks"]})
    by = emmeans(runs, "ndcg@10", ["architecture", "backend"], specs="backend", by="architecture")
    assert set(by["by"]) == {"architecture=gnn+lora", "architecture=hybrid-INT8"}
    assert len(by) == 6
    cells = emmeans(runs, "ndcg@10", ["architecture", "backend"],
                    specs=["architecture", "backend"])
    assert len(cells) == 15
    assert "hybrid-INT8:café gnn" in set(cells["group1"]) | set(cells["group2"])
    # a full cell-means model: the cell contrasts are the Tukey HSD of the cells
    t = tukey(runs, "ndcg@10", ["architecture", "backend"])
    np.testing.assert_allclose(np.sort(cells["p_adj"]), np.sort(t["p_adj"]), rtol=1e-4, atol=1e-6)
