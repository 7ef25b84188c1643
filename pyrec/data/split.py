"""Train/validation/test splits (seeded, reproducible, vectorised numpy) and :func:`check_split`.

Protocols:

- ``"ratio"`` — per-user random ratio split, the RecBole protocol (``split: {RS: [0.8,0.1,0.1]}``,
  ``order: RO``, ``group_by: user``; ``recbole/data/dataset/dataset.py`` ``_calcu_split_ids``).
  Each user's interactions are shuffled with ``numpy.random.default_rng(seed)``; with ``n`` of
  them, valid gets ``floor(r_valid * n)`` and test ``floor(r_test * n)``, train the rest; then, as
  in RecBole, test and then valid each get one interaction taken from train when
  ``0 < r * n < 1`` and train still has more than one. Users with fewer than
  ``min_interactions`` (3) interactions stay in train only.
- ``"loo"`` — leave-one-out by time: per user, the latest interaction is test, the second
  latest valid (ties in time broken by file order, the later row counting as later). Users with
  fewer than ``min_interactions`` (3) interactions stay in train only. ``min_interactions`` below
  3 is refused (a :class:`~pyrec.diagnostics.ConfigError`): users with 1-2 interactions would
  have no training row, and a model cannot score a user it never saw.
- ``"temporal"`` — one global cut-off for everyone: with timestamps sorted, ``t1`` is the value at
  position ``floor(r_train * n)`` and ``t2`` at ``floor((r_train + r_valid) * n)``; train is
  ``t < t1``, valid ``t1 <= t < t2``, test ``t >= t2``. Every test interaction is at or after
  every train interaction, whoever the users. Ties at a cut-off go to the later part, so sizes
  can differ from the ratios; users whose whole history falls after ``t1`` have no training
  data (counted in ``info["test_users_without_train"]``). When no time is before ``t1`` (e.g.
  all timestamps are equal) the train part would be empty: that is a
  :class:`~pyrec.diagnostics.DataError` (ties are not broken by file order, which is no time).
- ``"released"`` — the UniSRec release's own leave-one-out split (last item test,
  second-to-last valid), for datasets loaded by :func:`pyrec.data.unisrec.load_unisrec`.

Every protocol first refuses data with repeated (user, item) pairs (load with ``dedup=True``),
so no pair can land in two parts; :func:`check_split` proves it for a given split.
"""

from __future__ import annotations

import warnings

import numpy as np

from pyrec.data._types import InteractionData, Split
from pyrec.diagnostics import DataError, DataWarning, param_error

__all__ = ["split_data", "check_split", "PROTOCOLS"]

PROTOCOLS = ("ratio", "loo", "temporal", "released")
TRAIN, VALID, TEST = 0, 1, 2


def _check_ratios(ratios) -> tuple[float, float, float]:
    try:
        r = tuple(float(x) for x in ratios)
    except (TypeError, ValueError):
        r = ()
    if len(r) != 3 or any(not np.isfinite(x) or x < 0 for x in r) or r[0] <= 0:
        raise param_error(
            "ratios", "split_data", "three finite non-negative numbers with train > 0", ratios
        )
    total = sum(r)
    if abs(total - 1.0) > 1e-9:
        r = tuple(x / total for x in r)
    return r  # type: ignore[return-value]


def _rank_in_user(users: np.ndarray, order: np.ndarray, n_users: int) -> np.ndarray:
    """0-based rank of each row within its user, following ``order`` (a permutation of rows
    already grouped by user)."""
    counts = np.bincount(users, minlength=n_users)
    start = np.cumsum(counts) - counts
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - start[users[order]]
    return rank


def _ratio(data: InteractionData, r, rng, min_n: int):
    n_u = np.bincount(data.users, minlength=data.n_users)
    cnt_v = np.floor(r[1] * n_u).astype(np.int64)
    cnt_t = np.floor(r[2] * n_u).astype(np.int64)
    cnt_tr = n_u - cnt_v - cnt_t
    for cnt, ratio in ((cnt_t, r[2]), (cnt_v, r[1])):  # RecBole: last part first
        bump = (cnt_tr > 1) & (ratio * n_u > 0) & (ratio * n_u < 1)
        cnt += bump
        cnt_tr -= bump
    small = n_u < min_n
    cnt_tr[small], cnt_v[small], cnt_t[small] = n_u[small], 0, 0
    order = np.lexsort((rng.random(len(data)), data.users))
    rank = _rank_in_user(data.users, order, data.n_users)
    u = data.users
    part = np.where(rank < cnt_tr[u], TRAIN, np.where(rank < cnt_tr[u] + cnt_v[u], VALID, TEST))
    return part, {"users_train_only": int((small & (n_u > 0)).sum())}


def _loo(data: InteractionData, min_n: int):
    n_u = np.bincount(data.users, minlength=data.n_users)
    order = np.lexsort((np.arange(len(data)), data.timestamps, data.users))
    rank = _rank_in_user(data.users, order, data.n_users)
    from_end = n_u[data.users] - 1 - rank
    eligible = n_u[data.users] >= min_n
    part = np.full(len(data), TRAIN, dtype=np.int64)
    part[eligible & (from_end == 0)] = TEST
    part[eligible & (from_end == 1)] = VALID
    small = (n_u > 0) & (n_u < min_n)
    return part, {"users_train_only": int(small.sum())}


def _temporal(data: InteractionData, r):
    n = len(data)
    ts = np.sort(data.timestamps)
    t1 = ts[min(n - 1, int(np.floor(r[0] * n)))]
    t2 = ts[min(n - 1, int(np.floor((r[0] + r[1]) * n)))] if r[2] > 0 else ts[-1] + 1
    part = np.where(data.timestamps < t1, TRAIN, np.where(data.timestamps < t2, VALID, TEST))
    if not (part == TRAIN).any():
        # ties are not broken by file order here: rows at one time cannot be "before" each other
        n_first = int((data.timestamps == ts[0]).sum())
        what = (f"all {n:,} interactions have the same timestamp {int(ts[0])}" if ts[0] == ts[-1]
                else f"{n_first:,} of the {n:,} interactions share the earliest timestamp "
                f"{int(ts[0])}, which is also the train cut-off (the value at position "
                f"floor({r[0]:g} * n))")
        raise DataError(
            f"dataset {data.name!r}: a temporal split would leave the train part empty: {what}, "
            "and train holds only times strictly before the cut-off. Use 'loo' or 'ratio', or "
            "data with distinct times."
        )
    has_train = np.bincount(data.users[part == TRAIN], minlength=data.n_users) > 0
    test_users = np.unique(data.users[part == TEST])
    if data.meta.get("timestamp_unit") == "position":
        warnings.warn(
            f"dataset {data.name!r} has sequence positions, not times; a global temporal cut-off "
            "on positions is not a point in time.",
            DataWarning,
            stacklevel=3,
        )
    return part, {
        "cutoff_valid": int(t1),
        "cutoff_test": int(t2),
        "test_users_without_train": int((~has_train[test_users]).sum()),
    }


def _released(data: InteractionData):
    rel = data.meta.get("released")
    if rel is None:
        raise DataError(
            f"dataset {data.name!r} has no released split; 'released' exists only for the "
            "UniSRec-format datasets (e.g. amazon-scientific). Use 'ratio', 'loo' or 'temporal'."
        )
    import pandas as pd

    idx = pd.Index(rel["user_ids"]).get_indexer(pd.Index(data.user_ids))
    if (idx < 0).any():
        raise DataError(
            f"dataset {data.name!r}: user {data.user_ids[idx < 0][0]!r} is not in the release."
        )
    seq_len = np.asarray(rel["seq_len"])[idx]
    length = seq_len[data.users]
    part = np.where(
        data.timestamps == length - 1, TEST, np.where(data.timestamps == length - 2, VALID, TRAIN)
    )
    present = np.bincount(data.users, minlength=data.n_users) > 0
    has_valid = np.bincount(data.users[part == VALID], minlength=data.n_users) > 0
    return part, {
        "rows_removed_by_preprocessing": int(seq_len[present].sum() - len(data)),
        "users_without_valid": int((present & ~has_valid).sum()),
    }


def split_data(
    data: InteractionData,
    protocol: str,
    *,
    ratios=(0.8, 0.1, 0.1),
    seed: int = 0,
    min_interactions: int = 3,
) -> Split:
    """Split interactions into train / valid / test sharing one index space.

    Args:
        data: interactions with distinct (user, item) pairs.
        protocol: ``"ratio"``, ``"loo"``, ``"temporal"`` or ``"released"`` (see the module
            docstring for each rule).
        ratios: (train, valid, test) fractions for ``ratio`` and ``temporal``; normalised when
            they do not sum to 1.
        seed: seed of ``numpy.random.default_rng`` (``ratio`` only; the others are deterministic
            and record ``seed=None``).
        min_interactions: users with fewer interactions stay in train only (``ratio``, ``loo``;
            at least 3 for ``loo``).

    Returns:
        Split with ``info`` = sizes (``n_train``, ``n_valid``, ``n_test``), the rule applied and
        counts such as ``users_train_only``.

    Raises:
        ConfigError: unknown protocol, bad ratios, seed or min_interactions (< 3 for ``loo``).
        DataError: repeated (user, item) pairs, empty data, ``released`` on a dataset
            without a released split, or a ``temporal`` split whose train part would be empty.
    """
    if protocol not in PROTOCOLS:
        raise param_error("protocol", "split_data", f"one of {list(PROTOCOLS)}", protocol)
    if (
        isinstance(min_interactions, bool)
        or not isinstance(min_interactions, (int, np.integer))
        or min_interactions < 1
    ):
        raise param_error("min_interactions", "split_data", "an int in [1, inf)", min_interactions)
    if protocol == "loo" and min_interactions < 3:
        # a user's latest row is test and the second latest valid: with 1-2 rows none is left
        # for train, and a user with no training row cannot be scored
        raise param_error(
            "min_interactions", "split_data(protocol='loo')",
            "an int in [3, inf): leave-one-out puts each user's latest interaction in test and "
            "the second latest in valid, so a user needs 3 to keep one in train (users with "
            "fewer stay in train only, counted in info['users_train_only'])",
            min_interactions,
        )
    r = _check_ratios(ratios)
    if len(data) == 0:
        raise DataError(f"dataset {data.name!r} has no interactions to split.")
    from pyrec.data.preprocess import count_duplicates

    dups = count_duplicates(data)
    if dups:
        raise DataError(
            f"dataset {data.name!r} has {dups} repeated (user, item) row(s); a split could put one "
            "pair in two parts. Load with dedup=True or call pyrec.data.dedup(data) first."
        )
    used_seed = None
    if protocol == "ratio":
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise param_error("seed", "split_data", "an int >= 0", seed)
        used_seed = int(seed)
        part, info = _ratio(data, r, np.random.default_rng(seed), min_interactions)
        name = "ratio-" + ":".join(f"{x:g}" for x in r)
    elif protocol == "loo":
        part, info = _loo(data, min_interactions)
        name = "loo"
    elif protocol == "temporal":
        part, info = _temporal(data, r)
        name = "temporal-" + ":".join(f"{x:g}" for x in r)
    else:
        part, info = _released(data)
        name = "released"
    if protocol in ("ratio", "loo"):
        info["rule"] = f"users with < {min_interactions} interactions are kept in train only"
        info["min_interactions"] = int(min_interactions)
    parts = [
        data.subset(part == p, part=label) for p, label in enumerate(("train", "valid", "test"))
    ]
    info.update({"n_train": len(parts[0]), "n_valid": len(parts[1]), "n_test": len(parts[2])})
    return Split(*parts, name=name, seed=used_seed, info=info)


def check_split(split: Split) -> dict:
    """Prove a split is sound: one index space, indices in range, no (user, item) pair in two parts.

    Returns:
        dict with ``n_train``, ``n_valid``, ``n_test`` and ``n_pairs`` (distinct pairs overall).

    Raises:
        DataError: parts with different index spaces, an index out of ``[0, n_users)`` /
            ``[0, n_items)``, or a pair in two parts (names the raw ids and the parts).
    """
    parts = {"train": split.train, "valid": split.valid, "test": split.test}
    ref = split.train
    for label, d in parts.items():
        if d.n_users != ref.n_users or d.n_items != ref.n_items:
            raise DataError(
                f"split {split.name!r}: {label} has {d.n_users} users x {d.n_items} items, "
                f"train has {ref.n_users} x {ref.n_items}; all parts must share one index space."
            )
        if not (d.user_ids is ref.user_ids or np.array_equal(d.user_ids, ref.user_ids)) or not (
            d.item_ids is ref.item_ids or np.array_equal(d.item_ids, ref.item_ids)
        ):
            raise DataError(
                f"split {split.name!r}: {label} maps indices to different raw ids than train."
            )
        for what, idx, hi in (("user", d.users, d.n_users), ("item", d.items, d.n_items)):
            bad = (idx < 0) | (idx >= hi)
            if bad.any():
                raise DataError(
                    f"split {split.name!r}: {label} has {int(bad.sum())} {what} index(es) outside "
                    f"[0, {hi}), e.g. {int(idx[bad][0])}."
                )
    keys = [
        np.unique(d.users.astype(np.int64) * max(1, ref.n_items) + d.items) for d in parts.values()
    ]
    uniq, counts = np.unique(np.concatenate(keys), return_counts=True)
    if (counts > 1).any():
        key = int(uniq[counts > 1][0])
        u, i = divmod(key, max(1, ref.n_items))
        where = [lab for lab, k in zip(parts, keys) if np.isin(key, k)]
        raise DataError(
            f"split {split.name!r}: {int((counts > 1).sum())} (user, item) pair(s) are in more "
            f"than one part, e.g. user {ref.user_ids[u]!r}, item {ref.item_ids[i]!r} in {where}."
        )
    return {
        "n_train": len(split.train),
        "n_valid": len(split.valid),
        "n_test": len(split.test),
        "n_pairs": int(len(uniq)),
    }
