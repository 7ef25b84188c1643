"""Agreement with independent implementations on random cases.

* scikit-learn's ``ndcg_score`` (linear gains, IDCG from all true relevance); it averages over
  tied scores, so scores here are continuous (no ties) and the two rankings coincide.
* A slow per-user Python loop written from the textbook definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import ndcg_score

from pyrec.metrics import compute_metrics, topk_stable


def slow_metrics(rec: list[int], rel: dict[int, float], k: int) -> dict[str, float]:
    """Textbook definitions, one user, plain Python."""
    relevant = {i for i, g in rel.items() if g > 0}
    seen, gains = set(), []
    for item in rec[:k]:
        g = rel.get(item, 0.0) if item >= 0 and item not in seen else 0.0
        seen.add(item)
        gains.append(g)
    hits = [1.0 if g > 0 else 0.0 for g in gains]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    first = next((i + 1 for i, h in enumerate(hits) if h), None)
    ap, n_hit = 0.0, 0
    for i, h in enumerate(hits):
        if h:
            n_hit += 1
            ap += n_hit / (i + 1)
    return {
        "ndcg": dcg / idcg,
        "recall": sum(hits) / len(relevant),
        "precision": sum(hits) / k,
        "hit": float(sum(hits) > 0),
        "mrr": 1.0 / first if first else 0.0,
        "map": ap / min(k, len(relevant)),
    }


@pytest.mark.parametrize("seed", range(5))
def test_ndcg_matches_sklearn_without_ties(seed):
    rng = np.random.default_rng(seed)
    n_users, n_items = 40, 60
    scores = rng.random((n_users, n_items)).astype(np.float32)
    truth = rng.integers(0, 4, (n_users, n_items)) * (rng.random((n_users, n_items)) < 0.15)
    truth[truth.sum(1) == 0, 0] = 1  # sklearn needs a relevant item per row to compare
    for k in (1, 5, 10, 60):
        recs = topk_stable(torch.from_numpy(scores), k)
        ours = compute_metrics(recs, truth.astype(np.float32), metrics=["ndcg"], ks=(k,))
        theirs = [ndcg_score(truth[i : i + 1], scores[i : i + 1], k=k) for i in range(n_users)]
        np.testing.assert_allclose(ours[f"ndcg@{k}"].numpy(), theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_all_metrics_match_slow_loop(seed):
    rng = np.random.default_rng(100 + seed)
    n_users, n_items, width = 30, 25, 12
    recs = rng.integers(-1, n_items, (n_users, width))  # repeats and -1 padding included
    recs[0] = -1  # an empty list
    rels = []
    for u in range(n_users):
        items = rng.choice(n_items, rng.integers(1, 10), replace=False)
        rels.append({int(i): float(rng.integers(1, 4)) for i in items})
    for k in (1, 3, 10, 12, 20):
        got = compute_metrics(recs, rels, ks=(k,))
        for u in range(n_users):
            want = slow_metrics(recs[u].tolist(), rels[u], k)
            for name, value in want.items():
                assert float(got[f"{name}@{k}"][u]) == pytest.approx(value, abs=1e-12), (u, name, k)
