"""GFCFRecommender: the shared contract, the filter against a direct dense NumPy computation,
(k, alpha) tuning on validation, and its NDCG@10 on real ML-100K."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from pyrec.diagnostics import ConfigError
from pyrec.models.gfcf import GFCFRecommender
from pyrec.testing import RecommenderTests, tiny_split


class TestGFCF(RecommenderTests):
    model_class = GFCFRecommender
    config: ClassVar[dict] = {"k": [4, 8], "alpha": [0.3, 1.0]}


class TestGFCFLinearOnly(RecommenderTests):
    model_class = GFCFRecommender
    config: ClassVar[dict] = {"ideal": False}


def _gfcf_numpy(r: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Shen et al. (2021), written out densely: R̃ = D_U^-1/2 R D_I^-1/2, P̃ = R̃ᵀR̃, V_k from a
    full SVD; scores = R (P̃ + alpha D_I^-1/2 V_k V_kᵀ D_I^1/2)."""
    du, di = r.sum(1), r.sum(0)
    inv = lambda d: np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0.0)  # noqa: E731
    rn = inv(du)[:, None] * r * inv(di)[None, :]
    v = np.linalg.svd(rn, full_matrices=False)[2][:k].T
    ideal = np.diag(inv(di)) @ v @ v.T @ np.diag(np.sqrt(di))
    return r @ (rn.T @ rn + alpha * ideal)


def test_filter_matches_dense_numpy():
    split = tiny_split()
    r = split.train.csr().toarray().astype(np.float64)
    users = np.arange(split.n_users)
    for k, alpha in ((3, 0.3), (10, 1.0), (1, 0.0)):
        model = GFCFRecommender(k=k, alpha=alpha).fit(split, progress=False)
        np.testing.assert_allclose(model.score(users).numpy(), _gfcf_numpy(r, k, alpha), atol=1e-5)
        assert (model.k_, model.alpha_, model.tuning_) == (k, alpha, None)
    linear = GFCFRecommender(ideal=False).fit(split)
    np.testing.assert_allclose(linear.score(users).numpy(), _gfcf_numpy(r, 1, 0.0), atol=1e-5)
    assert linear.V_.shape == (split.n_items, 0)


def test_unseen_items_score_zero_not_nan():
    split = tiny_split()
    keep = split.train.items != 0  # item 0 never in training
    split = type(split)(train=split.train.subset(keep), valid=split.valid, test=split.test,
                        name=split.name, seed=split.seed)
    scores = GFCFRecommender(k=4, alpha=1.0).fit(split).score(np.arange(split.n_users)).numpy()
    assert np.isfinite(scores).all() and (scores[:, 0] == 0).all()


def test_tuning_keeps_the_best_validation_candidate():
    from pyrec.metrics import evaluate_full_ranking

    split = tiny_split(n_users=40, n_items=36, n_groups=3, per_user=12, seed=0)
    model = GFCFRecommender(k=[2, 6, 20], alpha=[0.0, 1.0, 10.0]).fit(split)
    cands = model.tuning_["candidates"]
    assert cands == [[k, a] for k in (2, 6, 20) for a in (0.0, 1.0, 10.0)]
    expected = []
    for k, a in cands:  # each candidate fitted alone, evaluated the same way
        one = GFCFRecommender(k=k, alpha=a).fit(split)
        expected.append(evaluate_full_ranking(one.score, split, part="valid", ks=(10,),
                                              metrics=("ndcg",)).summary["ndcg@10"])
    np.testing.assert_allclose(model.tuning_["values"], expected, atol=1e-6)
    assert len(set(np.round(expected, 6))) > 1
    best = cands[int(np.argmax(expected))]
    assert [model.k_, model.alpha_] == best == model.tuning_["best"]
    assert model.V_.shape == (split.n_items, best[0])
    users = np.arange(split.n_users)
    np.testing.assert_allclose(model.score(users).numpy(),
                               GFCFRecommender(k=best[0], alpha=best[1]).fit(split).score(users).numpy(),
                               atol=1e-5)


@pytest.mark.parametrize("bad", [{"k": 0}, {"k": []}, {"alpha": -0.1}, {"alpha": []}, {"svd_solver": "x"}])
def test_bad_config_raises(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        GFCFRecommender(**bad)


def test_k_must_be_below_the_matrix_rank_limit():
    split = tiny_split()  # 24 users x 30 items
    with pytest.raises(ConfigError, match=r"k.*24"):
        GFCFRecommender(k=24, alpha=0.3).fit(split)


def test_registered_as_a_baseline():
    from pyrec.models import get_model
    from pyrec.models.registry import model_architecture

    assert isinstance(get_model("gfcf", k=8), GFCFRecommender)
    assert model_architecture("gfcf") == "baseline"


@pytest.mark.realdata
def test_ml100k_ndcg_in_the_measured_band(ml100k_dir):
    """Default config ((k, alpha) tuned on validation) on the default ML-100K protocol, seed 0:
    measured NDCG@10 0.2819 with k = 64, alpha = 0.3 (pyrec train -m gfcf)."""
    from pyrec.pipeline import train_and_evaluate

    run = train_and_evaluate("gfcf", "ml-100k", seed=0, data_dir=ml100k_dir.parent, progress=False)
    assert (run.model.k_, run.model.alpha_) == (64, 0.3)
    assert run.summary["ndcg@10"] == pytest.approx(0.2819, abs=0.005)


def test_a_k_grid_keeps_the_values_a_small_catalogue_allows():
    """The default k grid [32, 64, 128, 256] on a 36-item catalogue tunes over k = 32 only (a
    fresh-clone user's 40-item data was refused outright); no fitting k is a named error."""
    from pyrec.diagnostics import ConfigError

    split = tiny_split(n_users=40, n_items=36, n_groups=3, per_user=12, seed=0)
    model = GFCFRecommender().fit(split)
    assert model.k_ == 32 and {k for k, _ in model.tuning_["candidates"]} == {32}
    with pytest.raises(ConfigError, match=r"must be < min\(n_users, n_items\) = 36"):
        GFCFRecommender(k=[64, 128]).fit(split)
