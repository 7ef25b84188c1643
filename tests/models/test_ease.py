"""EASERecommender: the shared contract, the closed form against an independent NumPy
computation, λ tuning on validation, and its NDCG@10 on real ML-100K."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from pyrec.diagnostics import ConfigError
from pyrec.models.ease import AUTO_L2, EASERecommender
from pyrec.testing import RecommenderTests, tiny_split


class TestEASE(RecommenderTests):
    model_class = EASERecommender
    config: ClassVar[dict] = {"l2": [1.0, 10.0]}


class TestEASEOneLambda(RecommenderTests):
    model_class = EASERecommender
    config: ClassVar[dict] = {"l2": 5.0, "dtype": "float32"}


def _ease_numpy(x: np.ndarray, lam: float) -> np.ndarray:
    """Steck (2019), eq. 8, written out: B = I - P diagMat(1 / diag(P)), P = (XᵀX + λI)⁻¹."""
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p @ np.diag(1.0 / np.diag(p))


def _ndcg10_numpy(scores: np.ndarray, train: np.ndarray, target: np.ndarray) -> float:
    """Mean NDCG@10 over users with a target item; train items excluded, ties to lower index."""
    values = []
    for u in np.flatnonzero(target.sum(1) > 0):
        s = np.where(train[u] > 0, -np.inf, scores[u])
        order = np.lexsort((np.arange(len(s)), -s))[:10]
        dcg = sum(1.0 / np.log2(r + 2) for r, i in enumerate(order) if target[u, i] > 0)
        idcg = sum(1.0 / np.log2(r + 2) for r in range(min(10, int(target[u].sum()))))
        values.append(dcg / idcg)
    return float(np.mean(values))


def test_closed_form_matches_numpy_inverse():
    split = tiny_split()
    x = split.train.csr().toarray().astype(np.float64)
    for lam in (0.5, 7.0, 300.0):
        model = EASERecommender(l2=lam).fit(split, progress=False)
        expected = _ease_numpy(x, lam)
        np.testing.assert_allclose(model.B_, expected, atol=1e-5, rtol=1e-5)
        np.testing.assert_array_equal(np.diag(model.B_), 0.0)
        users = np.arange(split.n_users)
        np.testing.assert_allclose(model.score(users).numpy(), x @ expected, atol=1e-5, rtol=1e-5)
        assert model.l2_ == lam and model.tuning_ is None


def test_float32_close_to_float64():
    split = tiny_split()
    b64 = EASERecommender(l2=3.0).fit(split).B_
    b32 = EASERecommender(l2=3.0, dtype="float32").fit(split).B_
    np.testing.assert_allclose(b32, b64, atol=1e-4)


def test_tuning_keeps_the_best_validation_candidate():
    split = tiny_split(n_users=40, n_items=36, n_groups=3, per_user=12, seed=0)
    x = split.train.csr().toarray().astype(np.float64)
    valid = split.valid.csr().toarray()
    candidates = [1.0, 10.0, 100.0, 1000.0, 1e5]
    expected = [_ndcg10_numpy(x @ _ease_numpy(x, lam), x, valid) for lam in candidates]
    assert len(set(np.round(expected, 6))) > 1, "the candidates must differ for the test to mean anything"
    model = EASERecommender(l2=candidates).fit(split, progress=False)
    np.testing.assert_allclose(model.tuning_["values"], expected, atol=1e-6)
    best = candidates[int(np.argmax(expected))]
    assert best not in (candidates[0], candidates[-1]), "an interior optimum checks the selection"
    assert model.l2_ == best == model.tuning_["best"]
    assert model.tuning_["candidates"] == candidates and model.tuning_["part"] == "valid"
    np.testing.assert_array_equal(model.B_, EASERecommender(l2=best).fit(split).B_)


def test_auto_is_the_documented_grid():
    model = EASERecommender(l2="auto").fit(tiny_split())
    assert model.tuning_["candidates"] == list(AUTO_L2)
    assert EASERecommender().config.candidates() == list(AUTO_L2)


@pytest.mark.parametrize("bad", [0, -1.0, [], [10.0, 0.0], "big", float("nan")])
def test_bad_l2_raises(bad):
    with pytest.raises(ConfigError, match="l2"):
        EASERecommender(l2=bad)


def test_too_many_items_refused_naming_the_limit():
    split = tiny_split()
    with pytest.raises(ConfigError, match=r"n_items=30.*max_items=20"):
        EASERecommender(l2=1.0, max_items=20).fit(split)
    EASERecommender(l2=1.0, max_items=30).fit(split)  # the limit is overridable


def test_tuning_needs_validation_interactions():
    split = tiny_split()
    no_valid = type(split)(train=split.train, valid=split.valid.subset(np.zeros(split.valid.n_interactions, bool)),
                           test=split.test, name=split.name, seed=split.seed)
    with pytest.raises(ConfigError, match="split.valid"):
        EASERecommender(l2=[1.0, 10.0]).fit(no_valid)
    EASERecommender(l2=10.0).fit(no_valid)


def test_registered_as_a_baseline():
    from pyrec.models import get_model
    from pyrec.models.registry import model_architecture

    assert isinstance(get_model("ease", l2=10.0), EASERecommender)
    assert model_architecture("ease") == "baseline"


@pytest.mark.realdata
def test_ml100k_ndcg_in_the_measured_band(ml100k_dir):
    """Default config (λ tuned on validation over AUTO_L2) on the default ML-100K protocol,
    seed 0: measured NDCG@10 0.2936 with λ = 300 (pyrec train -m ease)."""
    from pyrec.pipeline import train_and_evaluate

    run = train_and_evaluate("ease", "ml-100k", seed=0, data_dir=ml100k_dir.parent, progress=False)
    assert run.model.l2_ == 300.0
    assert run.summary["ndcg@10"] == pytest.approx(0.2936, abs=0.005)
