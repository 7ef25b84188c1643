"""Typed containers shared by every part of pyrec: interactions and named splits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["InteractionData", "Split"]


@dataclass(frozen=True)
class InteractionData:
    """User–item interactions with contiguous 0-based indices.

    All per-interaction arrays have the same length ``n`` (the number of interactions). Every part of
    a :class:`Split` shares one index space (``n_users``, ``n_items``, ``user_ids``, ``item_ids``,
    ``item_text``), so a user index means the same user in train, validation and test.

    Attributes:
        name: dataset name, e.g. ``"ml-100k"``.
        users: int64 [n], user index in ``[0, n_users)``.
        items: int64 [n], item index in ``[0, n_items)``.
        ratings: float32 [n], explicit rating, NaN where the dataset has none.
        timestamps: int64 [n], Unix seconds (or the position in a user's sequence where the
            dataset has only an order, e.g. the UniSRec release).
        user_ids: object [n_users], raw user id of each index.
        item_ids: object [n_items], raw item id of each index.
        item_text: list[str] of length n_items, the text a language model reads for each item
            ("" where a dataset has no text for an item).
        meta: free-form facts about provenance and preprocessing (e.g. duplicates dropped).
    """

    name: str
    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_text: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        """Number of users in the index space (not only those with interactions here)."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """Number of items in the index space."""
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        """Number of interaction rows."""
        return len(self.users)

    def __len__(self) -> int:
        return self.n_interactions

    @property
    def density(self) -> float:
        """Interactions / (n_users * n_items), in [0, 1]."""
        return self.n_interactions / max(1, self.n_users * self.n_items)

    def subset(self, mask: np.ndarray, **meta) -> "InteractionData":
        """Rows where ``mask`` (bool [n]) is true, in the same index space."""
        return replace(
            self,
            users=self.users[mask],
            items=self.items[mask],
            ratings=self.ratings[mask],
            timestamps=self.timestamps[mask],
            meta={**self.meta, **meta},
        )

    def csr(self):
        """Binary user–item matrix, ``scipy.sparse.csr_matrix`` float32 [n_users, n_items].

        Repeated (user, item) pairs are summed then clipped to 1.
        """
        import scipy.sparse as sp

        m = sp.csr_matrix(
            (np.ones(len(self.users), dtype=np.float32), (self.users, self.items)),
            shape=(self.n_users, self.n_items),
        )
        m.data[:] = 1.0
        return m

    def __repr__(self) -> str:
        return (
            f"InteractionData(name={self.name!r}, users={self.n_users}, items={self.n_items}, "
            f"interactions={self.n_interactions})"
        )


@dataclass(frozen=True)
class Split:
    """A named train/validation/test split of one dataset (one index space).

    Attributes:
        train: interactions a model may learn from.
        valid: held-out interactions for early stopping (never seen by training).
        test: held-out interactions for the final evaluation.
        name: the split protocol, e.g. ``"ratio-8:1:1"``, ``"loo"``, ``"temporal"``.
        seed: the seed that produced it (None for deterministic protocols).
        info: counts and rules applied (e.g. users kept in train only because they had too few
            interactions).
    """

    train: InteractionData
    valid: InteractionData
    test: InteractionData
    name: str
    seed: int | None = None
    info: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items
