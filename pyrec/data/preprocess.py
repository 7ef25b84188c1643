"""Preprocessing: implicit feedback by rating threshold, de-duplication, k-core filtering.

All three are vectorised numpy and record what they did in ``InteractionData.meta``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pyrec.data._types import InteractionData
from pyrec.diagnostics import DataError, param_error

__all__ = ["binarize", "dedup", "kcore_filter", "compact", "count_duplicates"]


def _pair_keys(data: InteractionData) -> np.ndarray:
    """int64 [n] key ``user * n_items + item`` of every row."""
    return data.users.astype(np.int64) * max(1, data.n_items) + data.items.astype(np.int64)


def count_duplicates(data: InteractionData) -> int:
    """Number of rows that repeat an earlier (user, item) pair (0 when all pairs are distinct)."""
    return len(data) - len(np.unique(_pair_keys(data)))


def binarize(data: InteractionData, min_rating: float) -> InteractionData:
    """Implicit feedback: keep interactions with ``rating >= min_rating``.

    The index space (users, items and their texts) is unchanged, so items that lose all their
    interactions stay in the catalogue; ratings keep their original values. A threshold of 4 on
    a 1-5 scale is the common choice (as RecBole's ``threshold: {rating: 4}`` option).

    Args:
        data: interactions with explicit ratings.
        min_rating: threshold (inclusive), a finite float.

    Returns:
        InteractionData with ``meta["min_rating"]`` and ``meta["below_threshold_dropped"]``.

    Raises:
        ConfigError: ``min_rating`` is not a finite number.
        DataError: the dataset has no ratings (all NaN), e.g. the UniSRec release.
    """
    try:
        thr = float(min_rating)
    except (TypeError, ValueError):
        raise param_error("min_rating", "binarize", "a finite number", min_rating) from None
    if not np.isfinite(thr):
        raise param_error("min_rating", "binarize", "a finite number", min_rating)
    if len(data) and np.isnan(data.ratings).all():
        raise DataError(
            f"dataset {data.name!r} has no ratings, so min_rating={min_rating!r} cannot be "
            "applied; leave min_rating unset (every interaction is already implicit feedback)."
        )
    keep = data.ratings >= thr
    return data.subset(keep, min_rating=thr, below_threshold_dropped=int((~keep).sum()))


def dedup(data: InteractionData) -> InteractionData:
    """Drop repeated (user, item) pairs, keeping the latest (largest timestamp; on a tie, the
    row that comes last in the file). The remaining rows keep their original order.

    Returns:
        InteractionData with ``meta["duplicates_dropped"]`` (int, 0 when none).
    """
    n = len(data)
    if n == 0:
        return data.subset(np.zeros(0, bool), duplicates_dropped=0)
    key = _pair_keys(data)
    order = np.lexsort((np.arange(n), data.timestamps, key))
    last = np.ones(n, dtype=bool)
    last[:-1] = key[order][1:] != key[order][:-1]
    keep = np.zeros(n, dtype=bool)
    keep[order[last]] = True
    return data.subset(keep, duplicates_dropped=int(n - keep.sum()))


def compact(data: InteractionData, **meta) -> InteractionData:
    """Re-index to the users and items that still have interactions (contiguous, 0-based,
    original relative order kept); item texts follow their items."""
    u_used = np.zeros(data.n_users, dtype=bool)
    u_used[data.users] = True
    i_used = np.zeros(data.n_items, dtype=bool)
    i_used[data.items] = True
    u_new = np.cumsum(u_used) - 1
    i_new = np.cumsum(i_used) - 1
    keep_items = np.flatnonzero(i_used)
    return replace(
        data,
        users=u_new[data.users].astype(np.int64),
        items=i_new[data.items].astype(np.int64),
        user_ids=data.user_ids[u_used],
        item_ids=data.item_ids[i_used],
        item_text=[data.item_text[i] for i in keep_items],
        meta={**data.meta, **meta},
    )


def kcore_filter(data: InteractionData, k: int) -> InteractionData:
    """Iterative k-core: repeatedly drop users and items with fewer than ``k`` interactions until
    every remaining user and item has at least ``k`` (the standard "k-core" filter, e.g.
    He & McAuley, *VBPR*, AAAI 2016; RecBole's ``user_inter_num_interval``). Indices are then
    compacted (:func:`compact`).

    Args:
        data: interactions (deduplicate first if repeated pairs should count once).
        k: an int >= 1.

    Returns:
        InteractionData with ``meta`` keys ``kcore``, ``kcore_removed_interactions``,
        ``kcore_removed_users``, ``kcore_removed_items``, ``kcore_iterations``.

    Raises:
        ConfigError: ``k`` is not an int >= 1.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise param_error("k", "kcore_filter", "an int in [1, inf)", k)
    keep = np.ones(len(data), dtype=bool)
    it = 0
    while True:
        it += 1
        uc = np.bincount(data.users[keep], minlength=data.n_users)
        ic = np.bincount(data.items[keep], minlength=data.n_items)
        drop = keep & ((uc[data.users] < k) | (ic[data.items] < k))
        if not drop.any():
            break
        keep &= ~drop
    sub = data.subset(keep)
    out = compact(
        sub,
        kcore=int(k),
        kcore_removed_interactions=int((~keep).sum()),
        kcore_iterations=it,
    )
    out.meta["kcore_removed_users"] = data.n_users - out.n_users
    out.meta["kcore_removed_items"] = data.n_items - out.n_items
    return out
