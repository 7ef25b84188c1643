"""Item popularity: every user gets the items with the most training interactions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from pyrec.diagnostics import DataError
from pyrec.models._bpr import check_split
from pyrec.models._io import load_seen, read_meta, save_seen, write_meta
from pyrec.models.base import Recommender
from pyrec.train.config import build_config

__all__ = ["PopConfig", "PopRecommender"]


class PopConfig(BaseModel):
    """Hyperparameters of :class:`PopRecommender` (none: popularity has nothing to tune)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    seed: int = Field(0, ge=0)
    """the run's seed, recorded like every model's; popularity is deterministic and ignores it."""


class PopRecommender(Recommender):
    r"""Most-popular baseline: :math:`\hat y_{ui} = |\{v : (v, i) \in \text{train}\}|` for every user.

    The non-personalised floor every recommender must beat (e.g. RecBole's ``Pop``). Ties fall to
    the lower item index (the evaluation's tie rule).

    Args:
        config: :class:`PopConfig` or a dict (empty).

    Attributes (after ``fit``/``load``):
        counts_: float32 ``(n_items,)`` training interactions per item; n_users_, n_items_, seen_.
    """

    name = "pop"
    architecture = "baseline"
    config_class = PopConfig

    def __init__(self, config=None, **kwargs) -> None:
        self.config = build_config(PopConfig, config, kwargs, type(self).__name__)
        self.n_users_ = self.n_items_ = self.seen_ = self.counts_ = None
        self.train_result_ = None

    def fit(self, split, options=None, **kwargs) -> PopRecommender:
        """Count each item's distinct training users; returns self.

        Args:
            split: a :class:`~pyrec.data.Split`.
            options: :class:`~pyrec.models.base.FitOptions`; only ``progress``/``resume`` apply
                (there is nothing to train on a backend or to warm-start).

        Raises:
            ConfigError: a fit option pop cannot use. DataError: an empty training part.
        """
        self._fit_options(options, kwargs)
        split = check_split(split, "PopRecommender.fit")
        if split.train.n_interactions == 0:
            raise DataError("PopRecommender.fit: split.train has no interactions.")
        self.n_users_, self.n_items_ = int(split.n_users), int(split.n_items)
        self.seen_ = split.train.csr()
        self.counts_ = np.asarray(self.seen_.sum(axis=0), dtype=np.float32).reshape(-1)
        return self

    def score(self, users) -> torch.Tensor:
        """Item counts for every user, float32 ``(B, n_items)``; NaN rows for unknown users."""
        self.check_is_fitted()
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        out = torch.from_numpy(self.counts_).unsqueeze(0).repeat(len(users), 1)
        out[torch.from_numpy((users < 0) | (users >= self.n_users_))] = float("nan")
        return out

    def save(self, path: str | Path) -> Path:
        """Write ``model.json``, ``seen.npz`` and ``counts.npy`` to folder ``path``; returns it."""
        self.check_is_fitted()
        path = write_meta(path, self)
        save_seen(path, self.seen_)
        np.save(path / "counts.npy", self.counts_)
        return path

    @classmethod
    def load(cls, path: str | Path) -> PopRecommender:
        """Read a model written by :meth:`save`."""
        meta = read_meta(path)
        model = cls(meta["config"])
        model.n_users_, model.n_items_ = int(meta["n_users"]), int(meta["n_items"])
        model.seen_ = load_seen(path)
        model.counts_ = np.load(Path(path) / "counts.npy").astype(np.float32)
        return model
