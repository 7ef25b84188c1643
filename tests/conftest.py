"""Shared pytest fixtures: where the real datasets are, and clean skips when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from pyrec.models.base import Recommender

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "datasets"

os.environ.setdefault("PYREC_DATA_DIR", str(DEFAULT_DATA_DIR))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def data_dir() -> Path:
    """The folder holding the real datasets ($PYREC_DATA_DIR, else ../shared/datasets)."""
    return Path(os.environ["PYREC_DATA_DIR"])


def require_dataset(folder: str) -> Path:
    """Return ``data_dir()/folder`` or skip the test with a reason naming where it looked."""
    path = data_dir() / folder
    if not path.is_dir():
        pytest.skip(f"real dataset {folder!r} not found at {path} (set PYREC_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    """Path of the real MovieLens-100K folder (skips when absent)."""
    return require_dataset("ml-100k")


@pytest.fixture(scope="session")
def scientific_dir() -> Path:
    """Path of the real amazon-scientific (UniSRec) folder (skips when absent)."""
    return require_dataset("amazon-scientific")


@pytest.fixture(scope="session")
def giftcards_dir() -> Path:
    """Path of the real amazon-gift_cards folder (skips when absent)."""
    return require_dataset("amazon-gift_cards")


# ---- a tiny dot-product Recommender for harness tests (backends, bench) ----------------------
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
