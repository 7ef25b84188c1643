"""Per-user paired tests and Friedman through R, cross-checked with scipy / statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _crosscheck import friedman_scipy, paired_scipy

from pyrec.diagnostics import RBridgeError
from pyrec.stats import friedman, friedman_posthoc, paired_tests

pytestmark = pytest.mark.r
CONFIGS = ["pop@cpu", "item-knn+cos", "rand é"]


def _matched(pu: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    wide = pu.pivot_table(index=["user", "seed"], columns="config", values="value")
    wide = wide[[a, b]].dropna().sort_index()
    return wide[a].to_numpy(), wide[b].to_numpy()


def test_paired_tests_match_scipy_on_real_ndcg(ml100k_per_user):
    from statsmodels.stats.multitest import multipletests

    pu = ml100k_per_user
    res = paired_tests(pu, "ndcg@10")
    assert len(res) == 6 and set(res["test"]) == {"paired t", "Wilcoxon signed-rank"}
    for (a, b), rows in res.groupby(["group1", "group2"], sort=False):
        x, y = _matched(pu, a, b)
        ref = paired_scipy(x, y)
        t, w = rows.iloc[0], rows.iloc[1]
        assert t["n"] == len(x) == 2824
        assert t["statistic"] == pytest.approx(ref["t"], rel=1e-10)
        assert t["df"] == ref["df"]
        assert t["p_value"] == pytest.approx(ref["p_t"], rel=1e-8, abs=1e-300)
        assert t["effect_size"] == pytest.approx(ref["d_z"], rel=1e-10)
        assert t["es_CI_low"] < t["effect_size"] < t["es_CI_high"]
        assert not ref["exact"]  # ties and zero differences: normal approximation in both
        assert w["statistic"] == pytest.approx(ref["V"], rel=1e-12)
        assert w["p_value"] == pytest.approx(ref["p_w"], rel=1e-6, abs=1e-300)
        assert "continuity correction" in w["note"]
    for test, rows in res.groupby("test"):
        holm = multipletests(rows["p_value"], method="holm")[1]
        np.testing.assert_allclose(rows["p_adj"], holm, rtol=1e-12)


def test_exact_wilcoxon_path_matches_scipy_exact(ml100k_per_user):
    pu = ml100k_per_user[ml100k_per_user["seed"] == 0]
    x, y = _matched(pu, "pop@cpu", "item-knn+cos")
    d = x - y
    keep = np.flatnonzero((d != 0) & ~pd.Series(np.abs(d)).duplicated().to_numpy())[:20]
    users = pu.pivot_table(index=["user", "seed"], columns="config",
                           values="value").dropna().index[keep].get_level_values("user")
    small = pu[pu["user"].isin(users)]
    res = paired_tests(small, "ndcg@10", pairs=[("pop@cpu", "item-knn+cos")])
    ref = paired_scipy(*_matched(small, "pop@cpu", "item-knn+cos"))
    assert ref["exact"]
    assert res["n"].iloc[0] == 20
    assert res["p_value"].iloc[1] == pytest.approx(ref["p_w"], rel=1e-10)
    assert "exact" in res["note"].iloc[1]
    assert (res["p_adj"] == res["p_value"]).all()  # one comparison: Holm changes nothing


def test_pairs_argument_and_errors(ml100k_per_user):
    pu = ml100k_per_user
    res = paired_tests(pu, "ndcg@10", pairs=[("rand é", "pop@cpu")], alternative="less")
    assert res["group1"].tolist() == ["rand é", "rand é"]
    assert (res["p_value"] < 1e-10).all()
    with pytest.raises(RBridgeError, match="config 'nope' has no rows for metric 'ndcg@10'"):
        paired_tests(pu, "ndcg@10", pairs=[("pop@cpu", "nope")])
    doubled = pd.concat([pu, pu])
    with pytest.raises(RBridgeError, match="duplicated \\(user, seed\\) rows"):
        paired_tests(doubled, "ndcg@10", pairs=[("pop@cpu", "rand é")])
    one = pu[(pu["user"] < 3) & (pu["seed"] == 0)]
    one = one[~((one["config"] == "rand é") & (one["user"] > 0))]
    with pytest.raises(RBridgeError, match="too few paired observations.*1 \\(user, seed\\)"):
        paired_tests(one, "ndcg@10", pairs=[("pop@cpu", "rand é")])


def test_friedman_over_users_matches_scipy(ml100k_per_user):
    pu = ml100k_per_user
    res = friedman(pu, "ndcg@10", group="config", block="user")
    mat = pu.groupby(["user", "config"])["value"].mean().unstack()[sorted(CONFIGS)]
    stat, p = friedman_scipy(mat.to_numpy())
    assert res["statistic"].iloc[0] == pytest.approx(stat, rel=1e-10)
    assert res["p_value"].iloc[0] == pytest.approx(p, rel=1e-6, abs=1e-300)
    assert res["n_blocks"].iloc[0] == len(mat) and res["n_groups"].iloc[0] == 3
    ph = friedman_posthoc(pu, "ndcg@10", group="config", block="user")
    assert len(ph) == 3 and (ph["p_adj"] >= ph["p_value"]).all()


def test_friedman_across_datasets(ml100k_runs):
    runs = pd.concat([ml100k_runs.assign(dataset=f"d{i}", value=ml100k_runs["value"] + off)
                      for i, off in enumerate([0.0, 0.01, -0.02, 0.03])], ignore_index=True)
    res = friedman(runs, "ndcg@10", group="config", block="dataset")
    assert res["n_blocks"].iloc[0] == 4
    # item-kNN > pop > random in every block: perfect agreement
    assert res["kendall_w"].iloc[0] == pytest.approx(1.0)
    assert res["statistic"].iloc[0] == pytest.approx(8.0)  # chi2 = N (k - 1) W = 4 * 2
    with pytest.raises(RBridgeError, match="too few complete blocks"):
        friedman(ml100k_runs, "ndcg@10")
