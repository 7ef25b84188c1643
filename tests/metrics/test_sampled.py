"""evaluate_sampled: hand-computed ranks among sampled negatives, seeding, and its protocol name."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from metrics_helpers import make_split

from pyrec.diagnostics import DataError, DataWarning
from pyrec.metrics import evaluate_sampled, sample_eval_negatives


def desc(users):
    """Item i scores 10 - i for every user (item 0 best, no ties)."""
    return torch.tensor([[10.0 - i for i in range(6)]] * len(users))


def test_hand_computed_rank_among_all_negatives():
    # user 0: train {0}, test {3}; never-interacted = {1, 2, 4, 5}, and N = 4 takes them all.
    # candidates {3, 1, 2, 4, 5}; scores 10 - i -> items 1, 2 beat item 3 -> rank r = 3
    split = make_split([(0, 0)], [], [(0, 3)], 1, 6)
    res = evaluate_sampled(desc, split, n_negatives=4, ks=(2, 5))
    s = res.summary
    assert res.protocol == "sampled-4"
    assert s["ndcg@5"] == pytest.approx(1 / math.log2(3 + 1))  # 0.5
    assert s["hit@2"] == 0.0 and s["hit@5"] == 1.0 and s["recall@5"] == 1.0
    assert s["mrr@5"] == pytest.approx(1 / 3) and s["map@5"] == pytest.approx(1 / 3)
    assert s["precision@5"] == pytest.approx(1 / 5)
    assert res.info["comparable_with_full_ranking"] is False


def test_ties_use_the_index_rule():
    # constant scores: the positive (item 3) is beaten only by tied negatives of lower index
    # (items 1, 2) -> rank 3, exactly as topk_stable would order them
    split = make_split([(0, 0)], [], [(0, 3)], 1, 6)
    res = evaluate_sampled(lambda u: torch.zeros(len(u), 6), split, n_negatives=4, ks=(5,))
    assert res.summary["mrr@5"] == pytest.approx(1 / 3)


def test_user_value_is_mean_over_pairs():
    # user 0: train {5}, test {0, 4}; negatives = {1, 2, 3} (N = 3, all of them)
    # item 0 ranks 1 (ndcg 1); item 4 ranks 4 (1/log2 5); user value = mean of the two
    split = make_split([(0, 5)], [], [(0, 0), (0, 4)], 1, 6)
    res = evaluate_sampled(desc, split, n_negatives=3, ks=(4,), metrics=["ndcg", "hit"])
    assert res.summary["ndcg@4"] == pytest.approx((1 + 1 / math.log2(5)) / 2)
    assert res.summary["hit@4"] == 1.0
    assert res.info["n_pairs"] == 2


def test_negatives_are_never_interacted_and_seeded():
    rng = np.random.default_rng(0)
    n_users, n_items = 20, 300
    pairs = [(u, int(i)) for u in range(n_users) for i in rng.choice(n_items, 30, replace=False)]
    split = make_split(pairs[::3], pairs[1::3], pairs[2::3], n_users, n_items)
    users, items, negs = sample_eval_negatives(split, "test", 100, seed=7)
    seen = set(pairs)
    assert negs.shape == (len(users), 100)
    assert all(len(set(row)) == 100 for row in negs)  # without replacement
    assert not any((int(u), int(i)) in seen for u, row in zip(users, negs) for i in row)
    _, _, again = sample_eval_negatives(split, "test", 100, seed=7)
    _, _, other = sample_eval_negatives(split, "test", 100, seed=8)
    assert np.array_equal(negs, again) and not np.array_equal(negs, other)


def test_too_few_negatives_raise():
    split = make_split([(0, 0)], [], [(0, 3)], 1, 6)
    with pytest.raises(DataError, match="user 0 has only 4"):
        evaluate_sampled(desc, split, n_negatives=5)


def test_nan_scores_raise_naming_model():
    split = make_split([(0, 0)], [], [(0, 3)], 2, 6)
    with pytest.raises(DataError, match="nan-model.*user 0"):
        evaluate_sampled(lambda u: torch.full((len(u), 6), float("nan")), split,
                         n_negatives=2, model_name="nan-model")


def test_users_without_test_items_are_counted():
    split = make_split([(0, 0), (1, 1)], [], [(0, 3)], 2, 6)
    with pytest.warns(DataWarning, match="1 of 2 users"):
        res = evaluate_sampled(desc, split, n_negatives=2)
    assert res.n_users == 1 and res.n_skipped == 1
    assert set(res.per_user["user"]) == {0}
