"""Tiny hand-made interaction data with a learnable structure, for fast model tests."""

from __future__ import annotations

import numpy as np

from pyrec.data._types import InteractionData, Split

__all__ = ["movielens_subset", "tiny_split"]


def tiny_split(
    n_users: int = 24, n_items: int = 30, n_groups: int = 2, per_user: int = 10, seed: int = 0
) -> Split:
    """A small :class:`~pyrec.data.Split` where users in group g mostly like items of block g.

    Each user has ``per_user`` distinct items, 90% from its group's item block and the rest
    anywhere; per user, one item goes to valid, one to test, the rest to train (every user has
    train, valid and test items). A model that learns anything beats random on it.

    Returns:
        Split named ``"tiny-8:1:1"`` in one index space of ``n_users`` x ``n_items``.
    """
    rng = np.random.default_rng(seed)
    block = n_items // n_groups
    rows, parts = [], []
    for u in range(n_users):
        g = u % n_groups
        own = np.arange(g * block, (g + 1) * block)
        n_own = min(len(own), round(0.9 * per_user))
        items = list(rng.choice(own, n_own, replace=False))
        rest = np.setdiff1d(np.arange(n_items), items)
        items += list(rng.choice(rest, per_user - n_own, replace=False))
        items = rng.permutation(np.asarray(items, dtype=np.int64))
        rows += [(u, i) for i in items]
        parts += ["valid", "test"] + ["train"] * (len(items) - 2)
    users = np.array([r[0] for r in rows], dtype=np.int64)
    items = np.array([r[1] for r in rows], dtype=np.int64)
    parts = np.array(parts)
    full = InteractionData(
        name="tiny",
        users=users,
        items=items,
        ratings=np.full(len(users), np.nan, np.float32),
        timestamps=np.arange(len(users), dtype=np.int64),
        user_ids=np.array([f"u{u}" for u in range(n_users)], dtype=object),
        item_ids=np.array([f"i{i}" for i in range(n_items)], dtype=object),
        item_text=[f"item {i} of block {i // max(block, 1)}" for i in range(n_items)],
    )
    return Split(
        train=full.subset(parts == "train"),
        valid=full.subset(parts == "valid"),
        test=full.subset(parts == "test"),
        name="tiny-8:1:1",
        seed=seed,
    )


def movielens_subset(n_users: int = 100, n_items: int = 300, data_dir=None) -> Split:
    """Real MovieLens-100K (ratings >= 3) cut to its first ``n_users`` users and ``n_items`` items
    (re-indexed with :func:`pyrec.data.compact`), split per user 8:1:1 with seed 0: a small real
    dataset with item text for tests of the text models.

    Raises:
        DataError: the ML-100K files are not in ``data_dir`` / ``$PYREC_DATA_DIR``.
    """
    from pyrec.data import compact, load_dataset, split_data

    data = load_dataset("ml-100k", data_dir, min_rating=3)
    keep = (data.users < n_users) & (data.items < n_items)
    return split_data(compact(data.subset(keep)), "ratio", seed=0)
