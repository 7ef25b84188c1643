"""ANOVA through R, cross-checked with statsmodels ``anova_lm`` on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _crosscheck import anova_statsmodels

from pyrec.diagnostics import DataError, RBridgeError
from pyrec.stats import anova, effect_sizes

pytestmark = pytest.mark.r
FACTORS = ["architecture", "optimization", "backend"]


def _as_runs(df: pd.DataFrame, response: str, mapping: dict[str, str]) -> pd.DataFrame:
    """An R dataset in runs.parquet shape: factor columns renamed, labels made awkward."""
    out = pd.DataFrame({new: df[old].astype(str).map(lambda v, n=new: f"{n[:4]}-{v}+x é")
                        for old, new in mapping.items()})
    out["seed"] = np.arange(len(df)) % 7
    out["metric"] = "ndcg@10"
    out["value"] = df[response].to_numpy(float)
    return out


def _compare(r: pd.DataFrame, sm: pd.DataFrame, rtol: float = 1e-9) -> None:
    r = r.set_index("term")
    sm = sm.set_index("term")
    assert set(r.index) == set(sm.index)
    for term in sm.index:
        assert r.loc[term, "df"] == sm.loc[term, "df"], term
        np.testing.assert_allclose(r.loc[term, "sum_sq"], sm.loc[term, "sum_sq"], rtol=rtol)
        if term != "Residuals":
            np.testing.assert_allclose(r.loc[term, "statistic"], sm.loc[term, "statistic"],
                                       rtol=rtol)
            np.testing.assert_allclose(r.loc[term, "p_value"], sm.loc[term, "p_value"], rtol=1e-7)


def test_npk_three_way_matches_statsmodels_type_1_2_3(rdata):
    runs = _as_runs(rdata("npk"), "yield", {"N": "architecture", "P": "optimization",
                                            "K": "backend"})
    for typ in (1, 2, 3):
        res = anova(runs, "ndcg@10", FACTORS, type=typ)
        assert list(res.columns[:5]) == ["term", "df", "sum_sq", "statistic", "p_value"]
        _compare(res, anova_statsmodels(runs, FACTORS, typ=typ))
    assert res.attrs["balanced"] is True
    assert res.attrs["ss_type"] == "Type III"


def test_warpbreaks_two_way_with_awkward_level_names(rdata):
    runs = _as_runs(rdata("warpbreaks"), "breaks", {"wool": "architecture",
                                                    "tension": "backend"})
    runs["optimization"] = "none"
    res = anova(runs, "ndcg@10", FACTORS)
    assert res.attrs["dropped_factors"] == "optimization"
    assert res["term"].tolist() == ["architecture", "backend", "architecture:backend", "Residuals"]
    _compare(res, anova_statsmodels(runs, ["architecture", "backend"]))
    np.testing.assert_allclose(res["p_value"][:3], [0.05821297596, 0.0006926209367, 0.02104419073],
                               rtol=1e-8)  # also printed by summary(aov()) in R


def test_unbalanced_toothgrowth_numeric_dose_is_a_factor(rdata):
    tg = rdata("ToothGrowth").drop(index=[0, 1, 2, 30, 31, 45]).reset_index(drop=True)
    runs = pd.DataFrame({"architecture": tg["supp"].astype(str), "backend": tg["dose"],
                         "metric": "ndcg@10", "value": tg["len"]})
    assert runs["backend"].dtype == float  # numeric on the pandas side ...
    res = anova(runs, factors=["architecture", "backend"])
    assert res.set_index("term").loc["backend", "df"] == 2  # ... a 3-level factor in R
    assert res.attrs["balanced"] is False
    assert "Type II sums of squares (car::Anova); design unbalanced" in res.attrs["note"][0]
    _compare(res, anova_statsmodels(runs, ["architecture", "backend"], typ=2))
    _compare(anova(runs, factors=["architecture", "backend"], type=3),
             anova_statsmodels(runs, ["architecture", "backend"], typ=3))


def test_empty_cell_is_handled_by_car_but_not_statsmodels(rdata):
    """Documented difference: with a skipped configuration statsmodels keeps 2 interaction df."""
    tg = rdata("ToothGrowth")
    tg = tg[~((tg["supp"] == "VC") & (tg["dose"] == 2.0))]
    runs = pd.DataFrame({"architecture": tg["supp"].astype(str), "backend": tg["dose"],
                         "metric": "ndcg@10", "value": tg["len"]})
    res = anova(runs, factors=["architecture", "backend"]).set_index("term")
    assert res.loc["architecture:backend", "df"] == 1  # (2-1)(3-1) - 1 empty cell
    assert res.loc["Residuals", "df"] == len(runs) - 5  # 5 filled cells
    assert res.attrs["empty_cells"] == 1
    # the main effects agree with a main-effects-only model: Type II tests them without the
    # interaction, and the interaction with one empty cell is the 1-df comparison of the models
    main = anova(runs, factors=["architecture", "backend"], interactions=False).set_index("term")
    sm_main = anova_statsmodels(runs, ["architecture", "backend"], interactions=False)
    np.testing.assert_allclose(main.loc[["architecture", "backend"], "sum_sq"],
                               sm_main.set_index("term").loc[["architecture", "backend"], "sum_sq"],
                               rtol=1e-9)
    np.testing.assert_allclose(res.loc[["architecture", "backend"], "sum_sq"],
                               main.loc[["architecture", "backend"], "sum_sq"], rtol=1e-9)
    with pytest.raises(RBridgeError, match="Type III sums of squares are not defined with 1 empty"):
        anova(runs, factors=["architecture", "backend"], type=3)


def test_effect_sizes_agree_with_statsmodels_sums_of_squares(rdata):
    runs = _as_runs(rdata("npk"), "yield", {"N": "architecture", "P": "optimization",
                                            "K": "backend"})
    res = anova(runs, "ndcg@10", FACTORS).set_index("term")
    sm = anova_statsmodels(runs, FACTORS).set_index("term")
    ss_res = sm.loc["Residuals", "sum_sq"]
    ms_res = ss_res / sm.loc["Residuals", "df"]
    terms = [t for t in sm.index if t != "Residuals"]
    ss, df = sm.loc[terms, "sum_sq"], sm.loc[terms, "df"]
    np.testing.assert_allclose(res.loc[terms, "eta2_partial"], ss / (ss + ss_res), rtol=1e-9)
    np.testing.assert_allclose(res.loc[terms, "eta2"], ss / sm["sum_sq"].sum(), rtol=1e-9)
    omega_p = ((ss - df * ms_res) / (ss + (len(runs) - df) * ms_res)).clip(lower=0)
    np.testing.assert_allclose(res.loc[terms, "omega2_partial"], omega_p, rtol=1e-9, atol=1e-12)
    long = effect_sizes(runs, "ndcg@10", FACTORS)
    assert set(long["effect"]) == {"eta2", "eta2_partial", "omega2", "omega2_partial"}
    wide = long.pivot(index="term", columns="effect", values="value")
    np.testing.assert_allclose(wide.loc[terms, "eta2_partial"], res.loc[terms, "eta2_partial"])
    assert (long["CI_low"] <= long["value"] + 1e-12).all()


def test_real_ml100k_one_way_anova_and_dropped_factors(ml100k_runs):
    res = anova(ml100k_runs, "ndcg@10", FACTORS)
    assert res["term"].tolist() == ["architecture", "Residuals"]
    assert res.attrs["dropped_factors"] == ["optimization", "backend"]
    _compare(res, anova_statsmodels(ml100k_runs, ["architecture"]))
    assert res["p_value"][0] < 1e-6  # popularity, item-kNN and random differ on real data


def test_seed_column_is_a_factor_never_a_regressor(ml100k_runs):
    res = anova(ml100k_runs, factors=["architecture", "seed"], interactions=False)
    assert res.set_index("term").loc["seed", "df"] == 2  # 3 seeds -> 2 df, not 1


def test_mixed_datasets_need_a_choice(ml100k_runs):
    two = pd.concat([ml100k_runs, ml100k_runs.assign(dataset="ml-1m")], ignore_index=True)
    with pytest.raises(DataError, match="span 2 values of 'dataset'.*add 'dataset' to the factors"):
        anova(two)
    res = anova(two, factors=["architecture", "dataset"])
    assert "dataset" in res["term"].tolist()
    with pytest.raises(DataError, match="metric 'recall@10' is not in the results"):
        anova(ml100k_runs, metric="recall@10")
    with pytest.raises(RBridgeError, match="too few replicates for metric 'ndcg@10'"):
        anova(ml100k_runs[ml100k_runs["seed"] == 0])
