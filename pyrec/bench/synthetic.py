"""Generated interaction graphs for growth benchmarks: MovieLens-like shapes, Zipf item popularity.

Shapes (:func:`scaled_shape`): for ``n`` interactions, ``n_users ≈ n / 165`` and
``n_items ≈ n / 270`` (ML-1M: 1,000,209 ratings, 6,040 users, 3,706 items), so 10⁶ interactions
look like ML-1M and 10⁷ like a denser ML-20M (60,606 users x 37,037 items; ML-20M has 138,493 x
26,744 for 2·10⁷). Users are clamped to ``[20, n / min_per_user]`` and items to
``[20, 10⁶]``; items are raised where needed so that the mean user takes at most half of
``max_user_frac`` of the catalogue (tiny graphs only).

Method (:func:`zipf_interactions`), all draws from one ``numpy.random.default_rng(seed)``:

1. Items get Zipf popularity ``p(rank r) ∝ r^-zipf_a`` (r = 1..n_items); ranks are assigned to item
   indices by a random permutation, so popularity is not tied to the index order.
2. Users get ``min_per_user`` interactions each plus a share of the rest proportional to a
   lognormal(0, 1) activity weight (a long-tailed activity, like MovieLens), capped at
   ``max_user_frac * n_items``; the remainder after flooring and capping goes to random uncapped
   users, so the total is exactly ``n_interactions``.
3. Each user's items are drawn from the Zipf distribution without replacement: rounds of draws
   with replacement for all users still short of their count, keeping distinct (user, item) pairs
   (a user's first draws win), for up to 30 rounds; any user still short (rare: very heavy users)
   is filled with uniformly chosen unseen items.

The result is an :class:`~pyrec.data.InteractionData` with distinct (user, item) pairs, every user
with at least ``min_per_user`` interactions, ratings NaN, timestamps the row order, ids
``"u<index>"`` / ``"i<index>"`` and item texts ``"item <index>"``.
"""

from __future__ import annotations

import numpy as np

from pyrec.data._types import InteractionData

__all__ = ["scaled_shape", "zipf_interactions"]

USERS_PER_INTERACTION = 1 / 165  # ML-1M: 6,040 users / 1,000,209 interactions
ITEMS_PER_INTERACTION = 1 / 270  # ML-1M: 3,706 items / 1,000,209 interactions


def scaled_shape(n_interactions: int, min_per_user: int = 5, max_user_frac: float = 0.25) -> tuple[int, int]:
    """``(n_users, n_items)`` for ``n_interactions`` at ML-1M's users and items per interaction,
    clamped as in the module docstring (items raised where the mean user would need more than
    ``max_user_frac`` of the catalogue)."""
    n = int(n_interactions)
    n_users = int(np.clip(round(n * USERS_PER_INTERACTION), 20, max(20, n // min_per_user)))
    n_items = int(np.clip(round(n * ITEMS_PER_INTERACTION), 20, 1_000_000))
    n_items = max(n_items, int(np.ceil(2 * n / (n_users * max_user_frac))))
    return n_users, n_items


def _user_counts(rng, n: int, n_users: int, n_items: int, min_per_user: int, cap: int) -> np.ndarray:
    extra = n - min_per_user * n_users
    w = rng.lognormal(0.0, 1.0, n_users)
    counts = min_per_user + np.floor(extra * w / w.sum()).astype(np.int64)
    counts = np.minimum(counts, cap)
    while (left := n - int(counts.sum())) > 0:
        open_ = np.flatnonzero(counts < cap)
        add = np.bincount(rng.choice(open_, size=left), minlength=n_users)
        counts = np.minimum(counts + add, cap)
    return counts


def zipf_interactions(
    n_interactions: int,
    *,
    n_users: int | None = None,
    n_items: int | None = None,
    zipf_a: float = 1.0,
    min_per_user: int = 5,
    max_user_frac: float = 0.25,
    seed: int = 0,
    name: str | None = None,
) -> InteractionData:
    """A generated interaction graph of exactly ``n_interactions`` distinct (user, item) pairs.

    Args:
        n_interactions: number of rows ``n``.
        n_users, n_items: index space; default :func:`scaled_shape` (``n / 165``, ``n / 270``).
        zipf_a: Zipf exponent of item popularity (1 ≈ MovieLens's head; 0 is uniform).
        min_per_user: every user gets at least this many interactions.
        max_user_frac: no user gets more than this fraction of the catalogue.
        seed: seed of the one ``numpy.random.default_rng`` all draws come from.
        name: dataset name (default ``"zipf-<n>"``).

    Returns:
        InteractionData with users/items int64 [n], ratings NaN float32 [n], timestamps
        ``arange(n)``, ``meta`` holding the generator's parameters.

    Raises:
        ValueError: the shape cannot hold ``n`` pairs with the per-user floor and cap.
    """
    n = int(n_interactions)
    du, di = scaled_shape(n, min_per_user, max_user_frac)
    n_users = du if n_users is None else int(n_users)
    n_items = di if n_items is None else int(n_items)
    cap = max(min_per_user, int(max_user_frac * n_items))
    if min_per_user > n_items or not (min_per_user * n_users <= n <= cap * n_users):
        raise ValueError(
            f"zipf_interactions: {n} interactions do not fit {n_users} users x {n_items} items with "
            f"{min_per_user} to {cap} items per user."
        )
    rng = np.random.default_rng(seed)
    p = np.arange(1, n_items + 1, dtype=np.float64) ** -float(zipf_a)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    rank_to_item = rng.permutation(n_items).astype(np.int64)
    counts = _user_counts(rng, n, n_users, n_items, min_per_user, cap)

    done: list[np.ndarray] = []  # keys (user * n_items + item) of users that have their count
    pending = np.empty(0, dtype=np.int64)  # sorted distinct keys of users still short
    have = np.zeros(n_users, dtype=np.int64)
    for rnd in range(30):
        need = counts - have
        short = np.flatnonzero(need > 0)
        if not len(short):
            break
        # draw more than needed (duplicates get dropped; more so for heavy users and late rounds),
        # then keep a user's first new draws up to its deficit
        draw = need[short] + (need[short] >> max(0, 2 - rnd)) + 2
        users = np.repeat(short, draw)
        items = rank_to_item[np.searchsorted(cdf, rng.random(len(users)), side="right")]
        new = users * n_items + items
        new_u, first = np.unique(new, return_index=True)
        if len(pending):
            at = np.minimum(np.searchsorted(pending, new_u), len(pending) - 1)
            fresh = pending[at] != new_u
            new_u, first = new_u[fresh], first[fresh]
        new_u = new_u[np.argsort(first, kind="stable")]  # back to draw order
        u_of = new_u // n_items
        order = np.argsort(u_of, kind="stable")  # rank of each new pair within its user
        u_sorted = u_of[order]
        pos = np.empty(len(new_u), dtype=np.int64)
        pos[order] = np.arange(len(new_u)) - np.searchsorted(u_sorted, u_sorted, side="left")
        keep = new_u[pos < need[u_of]]
        have += np.bincount(keep // n_items, minlength=n_users)
        merged = np.union1d(pending, keep)
        finished = have[merged // n_items] >= counts[merged // n_items]
        done.append(merged[finished])
        pending = merged[~finished]
    short = np.flatnonzero(counts > have)
    for u in short:  # exact fill for the few users the rounds left short
        seen = pending[(pending >= u * n_items) & (pending < (u + 1) * n_items)] - u * n_items
        unseen = np.setdiff1d(np.arange(n_items), seen, assume_unique=True)
        done.append(u * n_items + rng.choice(unseen, counts[u] - have[u], replace=False))
    done.append(pending[np.isin(pending // n_items, short)])
    keys = np.concatenate(done)
    keys = keys[rng.permutation(len(keys))]
    users, items = keys // n_items, keys % n_items
    return InteractionData(
        name=name or f"zipf-{n}",
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        ratings=np.full(n, np.nan, np.float32),
        timestamps=np.arange(n, dtype=np.int64),
        user_ids=np.array([f"u{u}" for u in range(n_users)], dtype=object),
        item_ids=np.array([f"i{i}" for i in range(n_items)], dtype=object),
        item_text=[f"item {i}" for i in range(n_items)],
        meta={"generator": "pyrec.bench.synthetic.zipf_interactions", "zipf_a": float(zipf_a),
              "min_per_user": min_per_user, "max_user_frac": max_user_frac, "seed": seed,
              "users_filled_exactly": int(len(short))},
    )
