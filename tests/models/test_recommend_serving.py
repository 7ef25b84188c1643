"""The lean serving path of Recommender.recommend (seen items read from cached CSR arrays, topk
without the re-sort when nothing ties) gives exactly the lists of the reference rule: scores of
all items, training items masked, a full stable sort by (score desc, item index asc)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pyrec.models import get_model
from pyrec.testing import tiny_split


def _reference(scores: np.ndarray, seen: sp.csr_matrix, users, k: int) -> np.ndarray:
    out = np.full((len(users), k), -1)
    for r, u in enumerate(users):
        s = scores[r].astype(np.float64).copy()
        s[seen[u].indices] = -np.inf
        order = [i for i in np.lexsort((np.arange(len(s)), -s)) if np.isfinite(s[i])][:k]
        out[r, :len(order)] = order
    return out


@pytest.fixture(scope="module")
def fitted():
    split = tiny_split()
    return get_model("mf", embedding_size=8, epochs=2, seed=0).fit(split, progress=False), split


def test_single_and_batched_requests_match_the_reference(fitted):
    model, split = fitted
    seen = split.train.csr()
    users = np.arange(split.n_users)
    ref = _reference(model.score(users).numpy(), seen, users, 5)
    np.testing.assert_array_equal(model.recommend(users, k=5).numpy(), ref)
    for u in users:
        np.testing.assert_array_equal(model.recommend([u], k=5).numpy()[0], ref[u])
    shuffled = np.random.default_rng(0).permutation(users)[:7]
    np.testing.assert_array_equal(model.recommend(shuffled, k=5).numpy(), ref[shuffled])


def test_ties_and_short_lists_follow_the_rule(fitted, monkeypatch):
    model, split = fitted
    seen = split.train.csr()
    k = split.n_items - int(seen[0].nnz) + 2  # user 0 has 2 fewer unseen items than k
    tied = np.zeros((1, split.n_items), dtype=np.float32)  # every score equal: index order

    import torch

    monkeypatch.setattr(type(model), "score", lambda self, users: torch.from_numpy(np.repeat(tied, len(users), 0)))
    got = model.recommend([0], k=k).numpy()[0]
    np.testing.assert_array_equal(got, _reference(tied, seen, [0], k)[0])
    assert (got[-2:] == -1).all() and (got[:-2] >= 0).all()
