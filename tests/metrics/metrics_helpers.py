"""Helpers for the metric tests: Split objects built directly from the pyrec.data dataclasses."""

from __future__ import annotations

import numpy as np

from pyrec.data._types import InteractionData, Split


def interactions(pairs, n_users: int, n_items: int, ratings=None, name="toy") -> InteractionData:
    """InteractionData from (user, item) pairs, in the shared index space."""
    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n = len(arr)
    r = np.full(n, np.nan, np.float32) if ratings is None else np.asarray(ratings, np.float32)
    return InteractionData(
        name=name,
        users=arr[:, 0].copy(),
        items=arr[:, 1].copy(),
        ratings=r,
        timestamps=np.arange(n, dtype=np.int64),
        user_ids=np.arange(n_users).astype(object),
        item_ids=np.arange(n_items).astype(object),
        item_text=[""] * n_items,
    )


def make_split(train, valid, test, n_users: int, n_items: int, test_ratings=None) -> Split:
    """Split from three lists of (user, item) pairs."""
    return Split(
        train=interactions(train, n_users, n_items),
        valid=interactions(valid, n_users, n_items),
        test=interactions(test, n_users, n_items, test_ratings),
        name="toy",
        seed=None,
    )


def seeded_split(users, items, ratings, n_users, n_items, seed=0, fractions=(0.8, 0.1)):
    """A simple seeded per-user random 80/10/10 split (independent of pyrec.data)."""
    rng = np.random.default_rng(seed)
    parts = {"train": [], "valid": [], "test": []}
    order = np.argsort(users, kind="stable")
    bounds = np.flatnonzero(np.diff(users[order])) + 1
    for idx in np.split(order, bounds):
        idx = idx[rng.permutation(len(idx))]
        n_tr = int(round(fractions[0] * len(idx)))
        n_va = int(round(fractions[1] * len(idx)))
        parts["train"].append(idx[:n_tr])
        parts["valid"].append(idx[n_tr : n_tr + n_va])
        parts["test"].append(idx[n_tr + n_va :])
    out = {}
    for name, chunks in parts.items():
        sel = np.concatenate(chunks)
        out[name] = interactions(
            np.stack([users[sel], items[sel]], axis=1), n_users, n_items, ratings[sel], "ml-100k"
        )
    return Split(out["train"], out["valid"], out["test"], name="ratio-8:1:1", seed=seed)
