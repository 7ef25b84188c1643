"""Real data: MovieLens-100K, read with numpy and split here (seeded, per user, 80/10/10)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from metrics_helpers import seeded_split

from pyrec.metrics import evaluate_full_ranking, evaluate_sampled

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ml100k_split(ml100k_dir):
    raw = np.loadtxt(ml100k_dir / "u.data", dtype=np.int64)
    users, items = raw[:, 0] - 1, raw[:, 1] - 1  # ids are 1-based and contiguous
    assert users.max() + 1 == 943 and items.max() + 1 == 1682
    return seeded_split(users, items, raw[:, 2].astype(np.float32), 943, 1682, seed=0)


def popularity(split):
    counts = np.bincount(split.train.items, minlength=split.n_items).astype(np.float32)
    table = torch.from_numpy(counts)
    return lambda users: table.expand(len(users), -1).clone()


def naive_reference(split, scores: np.ndarray, k: int) -> dict[str, float]:
    """Per-user numpy loop: mask train+valid, stable argsort, recall/ndcg/precision."""
    seen, test = {}, {}
    for u, i in zip(split.train.users, split.train.items):
        seen.setdefault(int(u), set()).add(int(i))
    for u, i in zip(split.valid.users, split.valid.items):
        seen.setdefault(int(u), set()).add(int(i))
    for u, i in zip(split.test.users, split.test.items):
        test.setdefault(int(u), set()).add(int(i))
    out = {"recall": [], "ndcg": [], "precision": []}
    for u, rel in test.items():
        s = scores.copy()
        s[list(seen.get(u, ()))] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        hits = [1.0 if i in rel else 0.0 for i in top]
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(rel))))
        out["recall"].append(sum(hits) / len(rel))
        out["precision"].append(sum(hits) / k)
        out["ndcg"].append(sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / idcg)
    return {m: float(np.mean(v)) for m, v in out.items()}


def test_full_ranking_matches_naive_loop_and_is_fast(ml100k_split):
    fn = popularity(ml100k_split)
    evaluate_full_ranking(fn, ml100k_split, ks=(10,))  # warm-up
    t = time.perf_counter()
    res = evaluate_full_ranking(fn, ml100k_split, ks=(10, 20), model_name="pop")
    elapsed = time.perf_counter() - t
    assert res.n_users == 943 and res.n_skipped == 0
    ref = naive_reference(ml100k_split, fn(np.zeros(1, np.int64))[0].numpy(), 10)
    for m, v in ref.items():
        assert res.summary[f"{m}@10"] == pytest.approx(v, abs=1e-12), m
    # popularity on ML-100K lands in the usual band of published full-ranking figures
    assert 0.05 < res.summary["ndcg@10"] < 0.3
    assert elapsed < 3.0, f"943 x 1682 full ranking took {elapsed:.2f} s"  # ~0.1 s unloaded
    assert len(res.per_user) == 943 * 6 * 2


def test_sampled_is_higher_than_full_ranking(ml100k_split):
    fn = popularity(ml100k_split)
    full = evaluate_full_ranking(fn, ml100k_split, ks=(10,), metrics=["ndcg"])
    samp = evaluate_sampled(fn, ml100k_split, n_negatives=100, seed=0, ks=(10,), metrics=["ndcg"])
    assert samp.protocol == "sampled-100" and full.protocol == "full-ranking"
    assert samp.summary["ndcg@10"] > 2 * full.summary["ndcg@10"]
