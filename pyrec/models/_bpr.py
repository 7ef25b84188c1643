"""Base class wiring a trainable embedding ``nn.Module`` into the :class:`Recommender` interface.

Subclasses set ``name``, ``config_class`` (a :class:`~pyrec.train.TrainConfig` subclass) and
implement :meth:`BPRRecommender.build_module`; ``fit`` / ``score`` / ``save`` / ``load`` come from
here. See :mod:`pyrec.train` for the module contract (``embed_batch`` / ``bpr_forward``,
``embeddings``, ``scorer``) and :mod:`pyrec.train.objective` for the objectives (BPR, sampled
softmax) a config chooses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from pyrec.diagnostics import param_error
from pyrec.models._io import load_seen, read_meta, save_seen, write_meta
from pyrec.models.base import FitOptions, Recommender
from pyrec.train.config import TrainConfig, build_config

__all__ = [
    "BPRFromEmbeddings",
    "BPRRecommender",
    "PairScoresFromEmbeddings",
    "check_split",
    "dot_scores",
]


def check_split(split, owner: str):
    """Raise ConfigError unless ``split`` looks like a :class:`pyrec.data.Split`."""
    if not all(hasattr(split, a) for a in ("train", "valid", "test", "n_users", "n_items")):
        raise param_error(
            "split", owner, "a pyrec.data.Split (train/valid/test)", type(split).__name__
        )
    return split


def dot_scores(eu: torch.Tensor, ep: torch.Tensor, en: torch.Tensor):
    """Inner-product pair scores for BPR.

    Shapes: eu ``(B, d)``, ep ``(B, d)``, en ``(B, d)`` or ``(B, n_neg, d)`` ->
    ``(pos (B,), neg (B,) or (B, n_neg))``.
    """
    pos = (eu * ep).sum(-1)
    neg = (eu.unsqueeze(1) * en).sum(-1) if en.dim() == 3 else (eu * en).sum(-1)
    return pos, neg


class BPRFromEmbeddings:
    """``bpr_forward`` of a module that implements ``embed_batch`` (mixin).

    The module returns its batch's final embeddings (:class:`~pyrec.train.BatchEmbeddings`) and
    this scores them by inner products for BPR; the L2 terms, extra loss and logs pass through.
    The sampled-softmax objective (:mod:`pyrec.train.objective`) calls ``embed_batch`` itself, so a
    module writes its forward pass once for every objective.

    Shapes: users ``(B,)``, pos ``(B,)``, neg ``(B,)`` or ``(B, n_neg)`` -> pos_scores ``(B,)``,
    neg_scores of ``neg``'s shape.
    """

    def bpr_forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor):
        """:class:`~pyrec.train.BPROutput` of the batch (inner-product pair scores)."""
        from pyrec.train._protocol import BPROutput

        e = self.embed_batch(users, pos, neg)
        s_pos, s_neg = dot_scores(e.users, e.pos, e.neg)
        return BPROutput(s_pos, s_neg, e.reg_terms, e.extra_loss, e.logs)


class PairScoresFromEmbeddings:
    """``forward(users, items)``: pair scores of a module with ``get_embedding(items)`` (mixin).

    ``get_embedding(items)`` returns ``(users float [n_users, d], items float [n_items, d])``,
    re-encoding ``items`` while a text encoder trains; pair scores (distillation, cold pairs)
    are their inner products, float ``(B,)``.
    """

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores of (user, item) pairs, ``(B,)``."""
        ue, ie = self.get_embedding(items)
        return (ue[users] * ie[items]).sum(-1)

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Detached final ``(users (n_users, d), items (n_items, d))`` embeddings."""
        ue, ie = self.get_embedding()
        return ue.detach(), ie.detach()


class BPRRecommender(Recommender):
    """A recommender whose parameters live in a BPR-trained ``nn.Module`` (``module_``).

    Args:
        config: an instance of ``config_class`` or a dict; keyword arguments override its fields.

    Attributes (after ``fit``/``load``):
        module_: the trained module (eval mode); train_result_: :class:`~pyrec.train.TrainResult`
        (None after ``load``); n_users_, n_items_, seen_ (CSR [n_users, n_items] of train);
        user_emb_ / item_emb_: float32 ``(n_users, d)`` / ``(n_items, d)`` final embeddings, for
        modules with an ``embeddings()`` method; L2-normalised with ``similarity="cosine"``, so
        their inner products are the scores either way.

    Raises:
        ConfigError: unknown or out-of-range config fields (names the field and the value).
    """

    config_class: type[TrainConfig] = TrainConfig
    architecture: str = "gnn"
    fit_options = frozenset({"backend", "init_state", "checkpoint_dir", "callback", "wrap_module"})

    def __init__(self, config=None, **kwargs) -> None:
        self.config = build_config(self.config_class, config, kwargs, type(self).__name__)
        self.n_users_ = self.n_items_ = self.seen_ = None
        self.module_ = self.train_result_ = self._scorer = None
        self.user_emb_ = self.item_emb_ = None

    def build_module(self, n_users: int, n_items: int, seen, split=None) -> torch.nn.Module:
        """Create the untrained module (called by ``fit`` with the split and by ``load`` without)."""
        raise NotImplementedError

    def fit(self, split, options: FitOptions | None = None, **kwargs) -> BPRRecommender:
        """Train on ``split.train`` with early stopping on ``split.valid``; returns self.

        Args:
            split: :class:`pyrec.data.Split`.
            options: a :class:`~pyrec.models.base.FitOptions` (``progress``, ``backend``,
                ``init_state``, ``checkpoint_dir``/``resume``, ``callback``, ``wrap_module``);
                keyword arguments override its fields, e.g. ``fit(split, progress=False)``.

        Raises:
            ConfigError: an unknown fit option, or ``init_state`` that does not fit the module
                (names the keys).
        """
        from pyrec.train.seed import seed_everything
        from pyrec.train.trainer import Trainer

        split = check_split(split, f"{type(self).__name__}.fit")
        opts = self._fit_options(options, kwargs)
        seed_everything(self.config.seed)
        self.n_users_, self.n_items_ = int(split.n_users), int(split.n_items)
        self.seen_ = split.train.csr()
        self.module_ = self.build_module(self.n_users_, self.n_items_, self.seen_, split)
        if opts.init_state is not None:
            self._load_init_state(opts.init_state)
        trainer = Trainer(
            self.module_ if opts.wrap_module is None else opts.wrap_module(self.module_),
            split,
            self.config,
            checkpoint_dir=opts.checkpoint_dir,
            resume=opts.resume,
            progress=opts.progress,
            desc=self.name,
            callback=opts.callback,
            backend=opts.backend,
        )
        self.train_result_ = trainer.fit()
        self._cache_scorer()
        return self

    def warm_start_state(self) -> dict[str, torch.Tensor]:
        """A copy of the fitted weights another model can start from (``fit(init_state=...)``)."""
        self.check_is_fitted()
        return {k: v.detach().clone() for k, v in self.module_.state_dict().items()}

    def _load_init_state(self, state: dict, optional=lambda key: False) -> None:
        """Load ``state`` into the new module; keys for which ``optional(key)`` holds may be
        missing (they keep their fresh values)."""
        from pyrec.diagnostics import ConfigError

        try:
            missing, unexpected = self.module_.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatch
            raise ConfigError(f"{type(self).__name__}.fit: init_state does not fit this model: "
                              f"{str(exc).splitlines()[-1].strip()}") from None
        missing = [k for k in missing if not optional(k)]
        if missing or unexpected:
            raise ConfigError(f"{type(self).__name__}.fit: init_state does not fit this model; "
                              f"missing {missing[:5]}, unexpected {list(unexpected)[:5]}.")

    def _cache_scorer(self) -> None:
        """Cache the scorer and the final embeddings as the config's ``similarity`` scores them
        (cosine: L2-normalised rows, so ``user_emb_ @ item_emb_.T`` is what ``score`` returns)."""
        from pyrec.train.objective import final_embeddings, make_scorer

        similarity = getattr(self.config, "similarity", "dot")
        self.module_.eval()
        with torch.no_grad():
            self._scorer = make_scorer(self.module_, similarity)
            if callable(getattr(self.module_, "embeddings", None)):
                self.user_emb_, self.item_emb_ = (
                    e.cpu() for e in final_embeddings(self.module_, similarity)
                )
        self._rows = None
        if self.user_emb_ is not None:  # the serving path's mat-vec operands (views, no copy)
            self._rows = (self.user_emb_.float().contiguous().numpy(),
                          self.item_emb_.float().contiguous().numpy())

    def __getstate__(self) -> dict:  # the cached scorer is a closure: rebuild it after unpickling
        state = dict(self.__dict__)
        state["_scorer"] = state["_rows"] = None
        return state

    def _score_row(self, user: int) -> np.ndarray:
        """One user's scores, float32 [n_items]: ``item_emb_ @ user_emb_[user]`` (one mat-vec on
        the final embeddings, the quantity :meth:`score` returns) when the module has them and
        ``score`` is not overridden, else the generic row of :meth:`score`."""
        rows = getattr(self, "_rows", None)
        if rows is None or type(self).score is not BPRRecommender.score:  # a subclass's own score
            return super()._score_row(user)
        return rows[1] @ rows[0][user]

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.module_ is not None:
            self._cache_scorer()

    def score(self, users) -> torch.Tensor:
        """Scores of every item, float32 ``(B, n_items)`` on CPU; NaN rows for unknown users.

        Raises:
            NotFittedError: before ``fit``/``load``.
        """
        self.check_is_fitted()
        device = self._device()

        def compute(known: np.ndarray) -> torch.Tensor:
            with torch.no_grad():
                return self._scorer(torch.from_numpy(known).to(device)).float().cpu()

        return self._scores_of_known(users, compute)

    def _device(self) -> torch.device:
        """Device of the module's weights (cached after the first call)."""
        if getattr(self, "_device_cache", None) is None or self._device_cache[0] is not self.module_:
            self._device_cache = (self.module_, next(iter(self.module_.parameters())).device)
        return self._device_cache[1]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``model.json`` (config), ``seen.npz``, ``state.pt`` (module weights) and
        ``history.json`` (training curve) to folder ``path``; returns it."""
        self.check_is_fitted()
        path = write_meta(path, self)
        save_seen(path, self.seen_)
        torch.save(self.module_.state_dict(), Path(path) / "state.pt")
        if self.train_result_ is not None:
            (Path(path) / "history.json").write_text(
                json.dumps(self.train_result_.history, default=float)
            )
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> BPRRecommender:
        """Rebuild a model written by :meth:`save` (same scores as before saving).

        Raises:
            DataError: missing/invalid files in ``path``.
        """
        meta = read_meta(path)
        model = cls(meta["config"])
        model.n_users_, model.n_items_ = int(meta["n_users"]), int(meta["n_items"])
        model.seen_ = load_seen(path)
        model.module_ = model.build_module(model.n_users_, model.n_items_, model.seen_, None)
        state = torch.load(Path(path) / "state.pt", map_location="cpu", weights_only=True)
        model.module_.load_state_dict(state)
        model._cache_scorer()
        return model
