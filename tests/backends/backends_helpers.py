"""Data shared by the backend tests (imported as ``backends_helpers``, like ``metrics_helpers``)."""

from __future__ import annotations

import numpy as np


def block_split(n_users=30, n_items=40, per_user=8):
    """A tiny ratio split where user u picks ``per_user`` items from block ``u % 4`` of 10 items
    (seeded), so a model learns quickly; the data the DeepSpeed tests train on."""
    from pyrec.data import InteractionData, split_data

    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate([(u % 4) * 10 + rng.choice(10, per_user, replace=False) for u in range(n_users)])
    data = InteractionData("tiny", users.astype(np.int64), items.astype(np.int64),
                           np.full(len(users), np.nan, np.float32), np.arange(len(users), dtype=np.int64),
                           np.arange(n_users).astype(object), np.arange(n_items).astype(object), [""] * n_items)
    return split_data(data, "ratio", seed=0)
