"""The one interface every pyrec recommender implements (scikit-learn style).

``fit(split) -> self``; ``score(users) -> float32 [len(users), n_items]``; ``recommend(users, k)``
with seen (training) items excluded; ``save(dir)`` / ``load(dir)``. Learned state ends in ``_``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from pyrec.diagnostics import NotFittedError, param_error

__all__ = ["Recommender", "fit_accepts"]


class Recommender(ABC):
    """Base class of every recommender.

    Subclasses store their config in ``__init__`` and do all work (graph building, weight
    loading, device moves) in :meth:`fit`. After ``fit`` they set ``n_users_``, ``n_items_`` and
    ``seen_`` (``scipy.sparse.csr_matrix`` [n_users, n_items], the training interactions).
    """

    #: short model name used in result rows, e.g. "lightgcn"
    name: str = "recommender"

    @abstractmethod
    def fit(self, split, **kwargs) -> "Recommender":
        """Train on ``split.train`` (early stopping may read ``split.valid``); returns self."""

    @abstractmethod
    def score(self, users) -> "Any":
        """Scores of all items for the given users.

        Args:
            users: int [B] user indices in ``[0, n_users_)``.

        Returns:
            torch.Tensor float32 [B, n_items]: higher is better. Seen items are NOT masked here.
        """

    def check_is_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` or ``load`` has run."""
        if getattr(self, "n_items_", None) is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first.")

    def recommend(self, users, k: int = 10, exclude_seen: bool = True):
        """Top-``k`` item indices per user, best first.

        Ties are broken by lower item index first (``torch.topk`` on scores made stable by the
        evaluation module's rule). Seen (training) items are excluded when ``exclude_seen``.

        Args:
            users: int [B] user indices.
            k: list length, an int in [1, n_items].
            exclude_seen: mask training interactions with ``-inf`` before ranking.

        Returns:
            torch.LongTensor [B, k]; where a user has fewer than ``k`` unseen items, the tail of
            the row is padded with ``-1`` (a masked item is never recommended).

        Raises:
            NotFittedError: before fit/load. ConfigError: bad ``k``.
        """
        import torch

        from pyrec.metrics import topk_stable

        self.check_is_fitted()
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n_items_:
            raise param_error("k", f"{type(self).__name__}.recommend", f"an int in [1, {self.n_items_}]", k)
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        with torch.no_grad():
            scores = self.score(users).float()
            if exclude_seen:
                seen = self.seen_[users].tocoo()
                scores[torch.from_numpy(seen.row).long(), torch.from_numpy(seen.col).long()] = -float("inf")
        top = topk_stable(scores, int(k))
        if exclude_seen:
            top[torch.isinf(torch.gather(scores, 1, top))] = -1
        return top

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable hyperparameters (what result rows and reports record)."""
        cfg = getattr(self, "config", None)
        return cfg.model_dump() if cfg is not None and hasattr(cfg, "model_dump") else {}

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to folder ``path``; returns it. Subclasses extend this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement save()")

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        """Read a model written by :meth:`save`."""
        raise NotImplementedError(f"{cls.__name__} does not implement load()")

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({cfg})"


def fit_accepts(cls: type, name: str) -> bool:
    """True when ``cls.fit`` takes keyword ``name``: explicitly, or through ``**kwargs`` passed on
    to a base class's ``fit`` that names it (``LLMRecommender.fit(split, **kwargs)`` ->
    ``BPRRecommender.fit(..., progress, backend, init_state)``)."""
    import inspect

    for klass in cls.__mro__:
        fit = vars(klass).get("fit")
        if fit is None:
            continue
        params = inspect.signature(fit).parameters
        if name in params:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return False
    return False
