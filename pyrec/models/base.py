"""The one interface every pyrec recommender implements (scikit-learn style).

``fit(split) -> self``; ``score(users) -> float32 [len(users), n_items]``; ``recommend(users, k)``
with seen (training) items excluded; ``save(dir)`` / ``load(dir)``. Learned state ends in ``_``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pyrec.diagnostics import NotFittedError, param_error

__all__ = ["FitOptions", "Recommender"]


@dataclass(frozen=True)
class FitOptions:
    """How one fit runs, the same object for every model (what varies per run, not per model).

    The model's config holds its hyperparameters; these are the run's circumstances. A model
    lists the options it can use in :attr:`Recommender.fit_options`; giving it another one is a
    :class:`~pyrec.diagnostics.ConfigError` (``pop`` has nothing to train on DeepSpeed).

    Attributes:
        progress: show progress (a bar on a terminal, lines otherwise); every model accepts it.
        backend: a :class:`~pyrec.backends.Backend` that drives backward/step (e.g. DeepSpeed);
            None: plain Adam on the model's device.
        init_state: warm start, ``Recommender.warm_start_state()`` of a fitted model of the same
            architecture and sizes.
        checkpoint_dir: resumable training checkpoints go here (``last.pt``).
        resume: continue from ``checkpoint_dir/last.pt`` when present.
        callback: ``callback(trainer, record)`` after each epoch (:class:`pyrec.train.Trainer`).
        wrap_module: ``wrap_module(module) -> nn.Module`` trained in place of the model's module
            (e.g. :class:`pyrec.optim.distill.DistillModule` adding a distillation loss).
    """

    progress: bool = True
    backend: Any = None
    init_state: dict | None = None
    checkpoint_dir: str | Path | None = None
    resume: bool = False
    callback: Callable | None = None
    wrap_module: Callable | None = None

    #: options every model accepts (they change how a fit is shown or resumed, not what it does)
    ALWAYS = frozenset({"progress", "resume"})

    def given(self) -> list[str]:
        """Names of the options set to something other than their default."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]

    @classmethod
    def build(cls, options: FitOptions | None, kwargs: dict, where: str) -> FitOptions:
        """``options`` with keyword overrides (``fit(split, progress=False)`` spells the same).

        Raises:
            ConfigError: a keyword that is not a FitOptions field (names it and ``where``).
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise param_error(unknown[0], where, f"a fit option, one of {sorted(known)}", kwargs[unknown[0]])
        return replace(options or cls(), **kwargs)


class Recommender(ABC):
    """Base class of every recommender.

    Subclasses store their config in ``__init__`` and do all work (graph building, weight
    loading, device moves) in :meth:`fit`. After ``fit`` they set ``n_users_``, ``n_items_`` and
    ``seen_`` (``scipy.sparse.csr_matrix`` [n_users, n_items], the training interactions).
    """

    #: short model name used in result rows, e.g. "lightgcn"
    name: str = "recommender"
    #: "gnn", "llm", "hybrid" or "baseline": the study's architecture factor level
    architecture: str = "baseline"
    #: the :class:`FitOptions` this model can use besides ``progress``/``resume``
    fit_options: frozenset[str] = frozenset()

    @abstractmethod
    def fit(self, split, options: FitOptions | None = None, **kwargs) -> "Recommender":
        """Train on ``split.train`` (early stopping may read ``split.valid``); returns self.

        Args:
            split: a :class:`~pyrec.data.Split`.
            options: a :class:`FitOptions`; ``kwargs`` override its fields.
        """

    @classmethod
    def supports(cls, option: str) -> bool:
        """True when this model can use fit option ``option`` (a :class:`FitOptions` field)."""
        return option in FitOptions.ALWAYS or option in cls.fit_options

    def _fit_options(self, options: FitOptions | None, kwargs: dict) -> FitOptions:
        """The options of this fit, merged and checked against :attr:`fit_options`.

        Raises:
            ConfigError: an unknown option, or one this model cannot use (names both).
        """
        from pyrec.diagnostics import ConfigError

        where = f"{type(self).__name__}.fit"
        opts = FitOptions.build(options, kwargs, where)
        unusable = [o for o in opts.given() if not self.supports(o)]
        if unusable:
            raise ConfigError(f"{where}: {getattr(self, 'name', type(self).__name__)} cannot use fit "
                              f"option(s) {unusable}; it uses {sorted(FitOptions.ALWAYS | self.fit_options)}.")
        return opts

    @abstractmethod
    def score(self, users) -> "Any":
        """Scores of all items for the given users.

        Args:
            users: int [B] user indices in ``[0, n_users_)``.

        Returns:
            torch.Tensor float32 [B, n_items]: higher is better. Seen items are NOT masked here.
        """

    def _scores_of_known(self, users, compute):
        """The :meth:`score` contract for ``users``: rows ``compute(known)`` for users in
        ``[0, n_users_)`` and NaN rows for the others.

        Args:
            users: int [B] user indices.
            compute: ``compute(known: int64 ndarray [k]) -> torch.Tensor float32 [k, n_items]``.

        Returns:
            torch.Tensor float32 [B, n_items] (``compute``'s result itself when every user is known,
            the serving case: no NaN table is built).
        """
        import torch

        users = np.asarray(users, dtype=np.int64).reshape(-1)
        known = (users >= 0) & (users < self.n_users_)
        if known.all():
            return compute(users)
        out = torch.full((len(users), self.n_items_), float("nan"), dtype=torch.float32)
        if known.any():
            out[torch.from_numpy(known)] = compute(users[known])
        return out

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
            NotFittedError: before fit/load. ConfigError: bad ``k``, or a user index outside
                ``[0, n_users_)``.
        """
        import torch

        from pyrec.metrics import topk_stable

        self.check_is_fitted()
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n_items_:
            raise param_error("k", f"{type(self).__name__}.recommend", f"an int in [1, {self.n_items_}]", k)
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        n_users = getattr(self, "n_users_", None)
        if n_users is not None and len(users) and (users.min() < 0 or users.max() >= n_users):
            bad = users[(users < 0) | (users >= n_users)]
            raise param_error("users", f"{type(self).__name__}.recommend",
                              f"user indices in [0, {n_users}) (the split's users; unknown users "
                              f"have no history to rank for)", f"{bad[:5].tolist()}")
        if len(users) == 1:  # one request (the serving case)
            return self._recommend_one(self._score_row(int(users[0])), int(users[0]), int(k), exclude_seen)
        with torch.no_grad():
            scores = self.score(users).float()
        if exclude_seen:
            rows, cols = self._seen_entries(users)
            scores[rows, cols] = -float("inf")
        top = topk_stable(scores, int(k))
        masked = torch.isneginf(torch.gather(scores, 1, top))  # fewer than k unmasked items
        if bool(masked.any()):
            top[masked] = -1
        return top

    def _score_row(self, user: int) -> np.ndarray:
        """Scores of every item for one known user: a float32 ndarray [n_items] that the caller
        may modify (the serving path). Default: row 0 of :meth:`score`; a model that keeps its
        final embeddings answers with one mat-vec (``BPRRecommender``)."""
        import torch

        with torch.no_grad():
            return self.score(np.array([user], dtype=np.int64)).float().cpu()[0].numpy()

    def _recommend_one(self, row: np.ndarray, user: int, k: int, exclude_seen: bool):
        """:meth:`recommend` of one request on its score row (float32 [n_items], modified in
        place): the same mask, checks and tie rule (:func:`pyrec.metrics.topk.topk_row`) in numpy,
        without torch's per-operation dispatch."""
        import torch

        from pyrec.metrics.topk import check_scores, topk_row

        if exclude_seen:
            _, indptr, indices = self._seen_csr_arrays()
            if 0 <= user < len(indptr) - 1:
                row[indices[indptr[user]:indptr[user + 1]]] = -np.inf
        top_score = row.max()
        if np.isnan(top_score) or top_score == np.inf:
            check_scores(torch.from_numpy(row[None]), model_name=getattr(self, "name", None),
                         users=np.array([user]))
        top = topk_row(row, k)
        top[np.isneginf(row[top])] = -1  # fewer than k unmasked items
        return torch.from_numpy(top).view(1, k)

    def _seen_csr_arrays(self):
        """``(seen_, indptr int64 ndarray [n_users + 1], indices int64 ndarray [nnz])`` of the
        training interactions, built once per ``seen_`` (the serving path reads them per request)."""
        cache = getattr(self, "_seen_csr", None)
        if cache is None or cache[0] is not self.seen_:
            csr = self.seen_.tocsr()
            cache = (self.seen_, np.asarray(csr.indptr, dtype=np.int64),
                     np.asarray(csr.indices, dtype=np.int64))
            self._seen_csr = cache
        return cache

    def _seen_entries(self, users: np.ndarray):
        """(row, item) index tensors of the training interactions of ``users`` (rows of the
        request), read from the CSR arrays of ``seen_`` without building a scipy matrix per
        request. Users outside ``[0, n_users_)`` have none. (One request: :meth:`_recommend_one`.)

        Args:
            users: int64 [B] user indices.

        Returns:
            (torch.LongTensor [nnz], torch.LongTensor [nnz]).
        """
        import torch

        _, indptr, indices = self._seen_csr_arrays()
        indices = torch.from_numpy(indices)
        known = (users >= 0) & (users < len(indptr) - 1)
        safe = np.where(known, users, 0)
        starts = indptr[safe]
        counts = np.where(known, indptr[safe + 1] - starts, 0)
        rows = np.repeat(np.arange(len(users)), counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return torch.from_numpy(rows), indices[torch.from_numpy(np.repeat(starts, counts) + offsets)]

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
