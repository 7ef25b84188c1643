"""Uniform negative sampling that never returns a training positive of the row's user.

Vectorised rejection sampling: draw items uniformly for every row at once, look each
``user * n_items + item`` key up in the sorted array of positive keys with ``torch.searchsorted``,
and re-draw only the collisions. No Python loop over interactions; rows whose user has almost
every item as a positive fall back, after ``max_rounds`` rounds, to an exact draw from that user's
complement (a loop over those few users only).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pyrec.diagnostics import DataError, param_error

__all__ = ["NegativeSampler", "sample_negatives"]


class NegativeSampler:
    """Uniform negative items for (user, positive) rows, excluding each user's positives.

    Args:
        users (array-like of int): user index of each positive interaction, shape ``(n,)``.
        items (array-like of int): item index of each positive interaction, shape ``(n,)``.
        n_items (int): size of the item index space; negatives are drawn from ``[0, n_items)``.
        max_rounds (int, optional): rejection rounds before the exact fallback. (default: ``20``)

    Raises:
        DataError: a user has every item as a positive (no negative exists), naming the user;
            indices are negative or ``>= n_items``.
    """

    def __init__(self, users, items, n_items: int, *, max_rounds: int = 20) -> None:
        if not isinstance(n_items, (int, np.integer)) or n_items < 1:
            raise param_error("n_items", "NegativeSampler", "an int in [1, inf)", n_items)
        u = torch.as_tensor(np.asarray(users), dtype=torch.long).reshape(-1)
        i = torch.as_tensor(np.asarray(items), dtype=torch.long).reshape(-1)
        if u.shape != i.shape:
            raise DataError(
                f"NegativeSampler: users and items differ in length ({u.numel()} vs {i.numel()})."
            )
        if i.numel() and (int(i.min()) < 0 or int(i.max()) >= n_items or int(u.min()) < 0):
            raise DataError(
                f"NegativeSampler: item indices must lie in [0, {n_items}) and users be >= 0."
            )
        self.n_items = int(n_items)
        self.max_rounds = int(max_rounds)
        self.keys = torch.unique(u * self.n_items + i)  # sorted int64
        if self.keys.numel():
            per_user = torch.bincount(self.keys // self.n_items)
            full = torch.nonzero(per_user >= self.n_items).reshape(-1)
            if full.numel():
                raise DataError(
                    f"NegativeSampler: user {int(full[0])} has all {self.n_items} items as positives, "
                    "so no negative item exists for it; drop such users before training."
                )

    def is_positive(self, users: Tensor, items: Tensor) -> Tensor:
        """Bool tensor, same shape as ``items``: whether (user, item) is a training positive.

        ``users`` broadcasts against ``items`` (e.g. ``(B, 1)`` with ``(B, n_neg)``).
        """
        if self.keys.numel() == 0:
            return torch.zeros(items.shape, dtype=torch.bool)
        q = users * self.n_items + items
        idx = torch.searchsorted(self.keys, q).clamp_(max=self.keys.numel() - 1)
        return self.keys[idx] == q

    def item_popularity(self) -> Tensor:
        """float ``(n_items,)``: each item's share of the distinct training pairs (sums to 1)."""
        counts = torch.bincount(self.keys % self.n_items, minlength=self.n_items).float()
        return counts / counts.sum().clamp(min=1.0)

    def positive_mask(self, users: Tensor, items: Tensor) -> Tensor:
        """Bool ``(B, K)``: whether ``items[k]`` is a training positive of ``users[b]``.

        The grid of a batch's rows against negatives shared by the batch, without a ``B x K``
        search: the ``K`` items' user lists (an item-major index built once) are scattered into a
        ``(U, K)`` table of the batch's ``U`` distinct users, then gathered per row. Cost
        ``O(B K + U K + sum of the K items' degrees)``, vectorised; on ``users``' device.

        Args:
            users: int ``(B,)``. items: int ``(K,)`` in ``[0, n_items)``.
        """
        device = users.device
        ptr, item_users = self._item_index(device)
        uniq, inv = torch.unique(users, return_inverse=True)
        start, deg = ptr[items], ptr[items + 1] - ptr[items]
        col = torch.repeat_interleave(torch.arange(items.numel(), device=device), deg)
        first = torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
        owner = item_users[start[col] + torch.arange(col.numel(), device=device) - first]
        slot = torch.searchsorted(uniq, owner).clamp_(max=uniq.numel() - 1)
        hit = uniq[slot] == owner
        table = torch.zeros(uniq.numel(), items.numel(), dtype=torch.bool, device=device)
        table[slot[hit], col[hit]] = True
        return table[inv]

    def _item_index(self, device) -> tuple[Tensor, Tensor]:
        """``(ptr (n_items + 1,), users)``: users of item ``j`` are ``users[ptr[j]:ptr[j+1]]``."""
        cached = getattr(self, "_item_idx", None)
        if cached is None:
            items, users = self.keys % self.n_items, self.keys // self.n_items
            order = torch.argsort(items, stable=True)  # keys are user-major: users stay sorted
            ptr = torch.zeros(self.n_items + 1, dtype=torch.long)
            ptr[1:] = torch.cumsum(torch.bincount(items, minlength=self.n_items), 0)
            cached = (ptr, users[order])
        if cached[0].device != torch.device(device):
            cached = tuple(t.to(device) for t in cached)
        self._item_idx = cached
        return cached

    def sample(self, users, num: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """Draw negatives for each row.

        Args:
            users: int ``(B,)`` user of each row.
            num: negatives per row (an int >= 1).
            generator: the ``torch.Generator`` to draw from (reproducibility).

        Returns:
            LongTensor ``(B,)`` when ``num == 1``, else ``(B, num)``; never a positive of the row's user.
        """
        if not isinstance(num, (int, np.integer)) or num < 1:
            raise param_error("num", "NegativeSampler.sample", "an int in [1, inf)", num)
        u = torch.as_tensor(users, dtype=torch.long).reshape(-1, 1).expand(-1, int(num))
        neg = torch.randint(0, self.n_items, u.shape, generator=generator)
        bad = torch.nonzero(self.is_positive(u, neg).reshape(-1)).reshape(-1)
        flat_u, flat_neg = u.reshape(-1), neg.reshape(-1)
        rounds = 0
        while bad.numel() and rounds < self.max_rounds:
            redraw = torch.randint(0, self.n_items, (bad.numel(),), generator=generator)
            flat_neg[bad] = redraw
            still = self.is_positive(flat_u[bad], redraw)
            bad = bad[still]
            rounds += 1
        if bad.numel():
            self._exact_fill(flat_u, flat_neg, bad, generator)
        return neg.reshape(-1) if num == 1 else neg

    def _exact_fill(self, flat_u: Tensor, flat_neg: Tensor, bad: Tensor, generator) -> None:
        """Draw the remaining rows exactly from each (dense) user's complement."""
        for user in torch.unique(flat_u[bad]).tolist():
            rows = bad[flat_u[bad] == user]
            lo = torch.searchsorted(self.keys, torch.tensor(user * self.n_items))
            hi = torch.searchsorted(self.keys, torch.tensor((user + 1) * self.n_items))
            mask = torch.ones(self.n_items, dtype=torch.bool)
            mask[self.keys[lo:hi] - user * self.n_items] = False
            free = torch.nonzero(mask).reshape(-1)
            pick = torch.randint(0, free.numel(), (rows.numel(),), generator=generator)
            flat_neg[rows] = free[pick]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_items={self.n_items}, positives={self.keys.numel()})"


def sample_negatives(
    users, pos_users, pos_items, n_items: int, *, num: int = 1, generator=None
) -> Tensor:
    """One-shot form of :class:`NegativeSampler` (build the index, then sample).

    Args:
        users: int ``(B,)`` rows to draw for. pos_users / pos_items: int ``(n,)`` the positives.
        n_items: item index space size. num: negatives per row. generator: ``torch.Generator``.

    Returns:
        LongTensor ``(B,)`` or ``(B, num)``.
    """
    return NegativeSampler(pos_users, pos_items, n_items).sample(
        users, num=num, generator=generator
    )
