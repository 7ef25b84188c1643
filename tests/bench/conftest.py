"""A tiny dot-product Recommender for harness tests (a real model, hand-made embeddings)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from pyrec.models.base import Recommender


class TinyDot(Recommender):
    """score(u, i) = <user_emb_[u], item_emb_[i]>; seen_ a random CSR (seeded)."""

    name = "tinydot"

    def __init__(self, n_users=30, n_items=50, dim=8, seed=0, integer=False):
        self.shape = (n_users, n_items, dim)
        self.seed = seed
        self.integer = integer

    def fit(self, split=None, **kwargs):
        n_users, n_items, dim = self.shape
        g = torch.Generator().manual_seed(self.seed)
        u, v = torch.randn(n_users, dim, generator=g), torch.randn(n_items, dim, generator=g)
        if self.integer:  # small integers -> many exactly tied scores
            u, v = torch.round(u).clamp(-1, 1), torch.round(v).clamp(-1, 1)
        self.user_emb_, self.item_emb_ = u, v
        self.n_users_, self.n_items_ = n_users, n_items
        seen = sp.random(n_users, n_items, density=0.1, format="csr", random_state=self.seed, dtype=np.float32)
        seen.data[:] = 1.0
        self.seen_ = seen
        return self

    def score(self, users):
        self.check_is_fitted()
        return self.user_emb_[torch.as_tensor(np.asarray(users, dtype=np.int64))] @ self.item_emb_.T


@pytest.fixture
def tiny():
    return TinyDot().fit()


@pytest.fixture
def tiny_cls():
    """The TinyDot class (for tests that build variants)."""
    return TinyDot
