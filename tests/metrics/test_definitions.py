"""Every metric definition against a hand computation (arithmetic spelled out)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError, DataError, DataWarning
from pyrec.metrics import (
    compute_metrics,
    dcg_at_k,
    hit_rate_at_k,
    map_at_k,
    mean_over_users,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

L2 = math.log2


def one(t: torch.Tensor) -> float:
    assert t.shape == (1,)
    return float(t[0])


# ---- NDCG -----------------------------------------------------------------------------------

def test_graded_ndcg_issue_example():
    # held-out grades 3,2,3,0,1,2,3,2 on items 0..7; the model's top 6 = items 0..5
    grades = {i: g for i, g in enumerate([3, 2, 3, 0, 1, 2, 3, 2])}
    dcg = 3 / L2(2) + 2 / L2(3) + 3 / L2(4) + 0 / L2(5) + 1 / L2(6) + 2 / L2(7)
    idcg = 3 / L2(2) + 3 / L2(3) + 3 / L2(4) + 2 / L2(5) + 2 / L2(6) + 2 / L2(7)
    assert dcg == pytest.approx(6.8611, abs=1e-4)
    assert idcg == pytest.approx(8.7403, abs=1e-4)
    recs = [[0, 1, 2, 3, 4, 5]]
    assert one(dcg_at_k(recs, [grades], 6)) == pytest.approx(dcg, rel=1e-12)
    assert one(ndcg_at_k(recs, [grades], 6)) == pytest.approx(dcg / idcg, rel=1e-12)
    assert one(ndcg_at_k(recs, [grades], 6)) == pytest.approx(0.7850, abs=1e-4)


def test_binary_ndcg_idcg_uses_all_relevant_items():
    # relevant {2, 7, 9}; list [2, 5, 7]: DCG@3 = 1/1 + 1/log2(4) = 1.5
    # IDCG@3 from all three relevant: 1 + 1/log2(3) + 1/log2(4) = 2.1309
    got = one(ndcg_at_k([[2, 5, 7]], [[2, 7, 9]], 3))
    assert got == pytest.approx(1.5 / (1 + 1 / L2(3) + 0.5), rel=1e-12)
    # one relevant item retrieved at rank 1 -> but IDCG still counts the other two
    assert one(ndcg_at_k([[9]], [[2, 7, 9]], 3)) == pytest.approx(1 / (1 + 1 / L2(3) + 0.5))


def test_ndcg_perfect_and_zero():
    assert one(ndcg_at_k([[4, 1]], [[1, 4]], 2)) == pytest.approx(1.0)
    assert one(ndcg_at_k([[0, 2]], [[1, 4]], 2)) == 0.0


# ---- Recall / Precision / HitRate ------------------------------------------------------------

def test_recall_precision_hit():
    # relevant {1, 3, 5, 8}; top 5 = [1, 2, 3, 4, 0]: hits = 2
    recs, rel = [[1, 2, 3, 4, 0]], [[1, 3, 5, 8]]
    assert one(recall_at_k(recs, rel, 5)) == pytest.approx(2 / 4)
    assert one(precision_at_k(recs, rel, 5)) == pytest.approx(2 / 5)
    assert one(hit_rate_at_k(recs, rel, 5)) == 1.0
    # at k=2 only item 1 counts: recall 1/4, precision 1/2
    assert one(recall_at_k(recs, rel, 2)) == pytest.approx(1 / 4)
    assert one(precision_at_k(recs, rel, 2)) == pytest.approx(1 / 2)
    assert one(hit_rate_at_k([[0, 2]], rel, 2)) == 0.0


def test_grades_are_binarized_for_set_metrics():
    # grade-0 item 3 is not relevant; relevant = {0 (g=5), 1 (g=1)}
    rel = [{0: 5.0, 1: 1.0, 3: 0.0}]
    assert one(recall_at_k([[3, 1]], rel, 2)) == pytest.approx(1 / 2)


def test_precision_divides_by_k_for_short_lists():
    # list of 2 items (padded with -1) at k=5: 1 hit / 5
    assert one(precision_at_k([[7, -1, -1, -1, -1]], [[7]], 5)) == pytest.approx(1 / 5)
    assert one(precision_at_k([[7]], [[7]], 5)) == pytest.approx(1 / 5)


# ---- MRR / MAP -------------------------------------------------------------------------------

def test_mrr():
    rel = [[4, 6]]
    assert one(mrr_at_k([[4, 0, 6]], rel, 3)) == 1.0  # perfect: first item relevant
    assert one(mrr_at_k([[0, 1, 6]], rel, 3)) == pytest.approx(1 / 3)  # first hit at rank 3
    assert one(mrr_at_k([[0, 1, 6]], rel, 2)) == 0.0  # no hit in top 2


def test_map_perfect_top3_with_8_relevant_is_one():
    # AP@3 = (1/1 + 2/2 + 3/3) / min(3, 8) = 3/3 = 1.0 (not 3/8)
    assert one(map_at_k([[0, 1, 2]], [list(range(8))], 3)) == 1.0


def test_map_partial():
    # relevant {1, 3}; list [1, 0, 3, 2]: hits at ranks 1, 3
    # AP@4 = (1/1 + 2/3) / min(4, 2) = 0.8333
    assert one(map_at_k([[1, 0, 3, 2]], [[1, 3]], 4)) == pytest.approx((1 + 2 / 3) / 2)
    # AP@2 = (1/1) / min(2, 2) = 0.5
    assert one(map_at_k([[1, 0, 3, 2]], [[1, 3]], 2)) == pytest.approx(0.5)


# ---- edge cases ------------------------------------------------------------------------------

def test_duplicates_count_once():
    # list repeats the single relevant item: hits = 1, not 3
    recs, rel = [[5, 5, 5]], [[5]]
    vals = compute_metrics(recs, rel, ks=(3,))
    assert float(vals["recall@3"][0]) == 1.0  # never 3.0
    assert float(vals["precision@3"][0]) == pytest.approx(1 / 3)
    assert float(vals["ndcg@3"][0]) == 1.0
    assert float(vals["map@3"][0]) == 1.0
    # relevant {5, 6}; [5, 5, 6]: the second 5 counts 0, so 6 is a hit at rank 3
    # DCG = 1 + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3)
    v = compute_metrics([[5, 5, 6]], [[5, 6]], ks=(3,))
    assert float(v["recall@3"][0]) == 1.0
    assert float(v["ndcg@3"][0]) == pytest.approx(1.5 / (1 + 1 / L2(3)))


def test_empty_list_scores_zero():
    for recs in ([[]], [[-1, -1, -1]], np.zeros((1, 0), dtype=np.int64)):
        vals = compute_metrics(recs, [[2, 3]], ks=(3,))
        assert all(float(v[0]) == 0.0 for v in vals.values()), vals


def test_user_without_relevant_items_is_nan_then_excluded():
    # user 0: relevant {1}, hit at rank 1 (recall 1); user 1: no relevant item
    vals = compute_metrics([[1, 0], [1, 0]], [[1], []], metrics=["recall"], ks=(2,))
    r = vals["recall@2"]
    assert float(r[0]) == 1.0 and math.isnan(float(r[1]))
    with pytest.warns(DataWarning, match="1 user"):
        mean, n_eval, n_skip = mean_over_users(r, what="recall@2")
    assert (mean, n_eval, n_skip) == (1.0, 1, 1)  # mean over user 0 only, not 0.5 or NaN


def test_mean_with_no_defined_user_raises():
    with pytest.raises(DataError, match="undefined"):
        mean_over_users([float("nan")])


def test_mean_without_skips_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mean_over_users([0.5, 1.0]) == (0.75, 2, 0)


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(ConfigError, match="'k' parameter of ndcg_at_k"):
        ndcg_at_k([[0]], [[0]], 0)
    with pytest.raises(DataError, match=">= 0"):
        ndcg_at_k([[0]], torch.tensor([[-1.0, 1.0]]), 1)
    with pytest.raises(ConfigError, match="'recs'"):
        recall_at_k(torch.tensor([[0.5]]), [[0]], 1)
    with pytest.raises(ConfigError, match="'relevance'"):
        recall_at_k([[0], [1]], [[0]], 1)
