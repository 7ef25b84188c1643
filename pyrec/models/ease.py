"""EASE: a closed-form item-item linear model (Steck, WWW 2019), λ tuned on validation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pyrec.diagnostics import ConfigError, DataError
from pyrec.models._bpr import check_split
from pyrec.models._io import load_seen, read_meta, save_seen, saved_files, write_meta
from pyrec.models.base import Recommender
from pyrec.train.config import build_config

__all__ = ["AUTO_L2", "EASEConfig", "EASERecommender", "ease_weights"]

#: the λ grid of ``l2 = "auto"`` (and the default): half-decade steps around the values that win
#: on MovieLens-100K (≈300) and amazon-scientific (≈100); tuned on validation NDCG@10
AUTO_L2: tuple[float, ...] = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)


class EASEConfig(BaseModel):
    """Hyperparameters of :class:`EASERecommender`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    l2: float | list[float] | Literal["auto"] = Field(default_factory=lambda: list(AUTO_L2))
    """λ, the L2 penalty added to the Gram matrix's diagonal (> 0, in units of interactions). A
    list (or ``"auto"`` = :data:`AUTO_L2`) is tuned: each candidate is fitted on ``split.train``
    and the one with the best NDCG@10 on ``split.valid`` is kept (ties: the first listed)."""
    dtype: Literal["float64", "float32"] = "float64"
    """precision of the Gram matrix and its inverse (float32 halves memory and time)."""
    max_items: int = Field(20_000, ge=1)
    """refuse catalogs larger than this: the dense n_items x n_items matrices need about
    ``4 * n_items**2 * 8`` bytes at float64 (20,000 items: ~12 GiB). Raise it on a larger machine."""
    seed: int = Field(0, ge=0)
    """the run's seed, recorded like every model's; EASE is deterministic and ignores it."""

    @field_validator("l2")
    @classmethod
    def _positive(cls, v):
        values = [v] if isinstance(v, (int, float)) else ([] if v == "auto" else v)
        if isinstance(v, list) and not v:
            raise ValueError("l2 must be a number, a non-empty list of numbers or 'auto'")
        if any(not np.isfinite(x) or x <= 0 for x in values):
            raise ValueError(f"every l2 value must be a finite number > 0, got {v!r}")
        return v

    def candidates(self) -> list[float]:
        """The λ values to fit, in order (one when ``l2`` is a number)."""
        if self.l2 == "auto":
            return list(AUTO_L2)
        return [float(x) for x in (self.l2 if isinstance(self.l2, list) else [self.l2])]


def ease_weights(gram: torch.Tensor, l2: float) -> torch.Tensor:
    r"""EASE's item-item weights from a Gram matrix, Steck (WWW 2019), eq. 8.

    .. math::
        P = (X^\top X + \lambda I)^{-1}, \qquad B = I - P\,\mathrm{diagMat}(1 / \mathrm{diag}(P)),

    i.e. :math:`B_{ij} = -P_{ij} / P_{jj}` off the diagonal and :math:`B_{jj} = 0`.

    Args:
        gram: float ``(n_items, n_items)`` :math:`X^\top X` of the binary training matrix (not
            modified); its dtype is the precision of the inverse.
        l2: λ > 0.

    Returns:
        float32 ``(n_items, n_items)`` B; scores are ``X[u] @ B``.

    Raises:
        DataError: ``gram + l2 * I`` is not positive definite at this precision (try float64 or a
            larger λ).
    """
    a = gram.clone()
    a.diagonal().add_(float(l2))
    chol, info = torch.linalg.cholesky_ex(a)
    if int(info) != 0:
        raise DataError(f"EASE: X^T X + {l2:g} I is not positive definite at {gram.dtype} (Cholesky "
                        f"failed at column {int(info)}); use dtype='float64' or a larger l2.")
    del a
    p = torch.cholesky_inverse(chol)
    del chol
    b = p / (-p.diagonal()).unsqueeze(0)  # column j divided by -P_jj
    b.diagonal().zero_()
    return b.to(torch.float32).contiguous()  # LAPACK's inverse is column-major


class EASERecommender(Recommender):
    r"""EASE, from `"Embarrassingly Shallow Autoencoders for Sparse Data"
    <https://arxiv.org/abs/1905.03375>`_ (Steck, WWW 2019): a linear item-item model fitted in
    closed form on the binarized training matrix :math:`X` (``n_users x n_items``):

    .. math::
        \min_B \|X - XB\|_F^2 + \lambda \|B\|_F^2 \;\; \text{s.t.} \;\; \mathrm{diag}(B) = 0,
        \qquad \hat y_u = x_u B

    (:func:`ease_weights`). A strong simple baseline: it beats most neural recommenders on
    MovieLens-type data (Dacrema et al., RecSys 2019). With a list of λ it is tuned on
    ``split.valid`` with pyrec's full-ranking NDCG@10 (training items masked); the chosen model
    is fitted on ``split.train`` only, like every pyrec model, so validation never leaks into test.

    Time and memory: one ``n_items x n_items`` Cholesky inverse per λ, O(n_items³) (ML-100K, 1,682
    items: ~0.5 s; amazon-scientific, 4,385 items: ~2-8 s on 2 cores); peak memory about
    ``4 * n_items² * 8`` bytes at float64. Catalogs above ``max_items`` are refused.

    Args:
        config: :class:`EASEConfig` or a dict; keyword arguments override its fields.

    Attributes (after ``fit``/``load``):
        B_: numpy float32 ``(n_items, n_items)``, C-contiguous, zero diagonal.
        l2_: the λ used (the tuned one when ``l2`` is a list).
        tuning_: dict ``metric, part, candidates, values, fit_seconds, best`` (values = validation
            NDCG@10 per candidate), or None when ``l2`` is one number.
        n_users_, n_items_, seen_ (training CSR).
    """

    name = "ease"
    architecture = "baseline"
    config_class = EASEConfig

    def __init__(self, config=None, **kwargs) -> None:
        self.config = build_config(EASEConfig, config, kwargs, type(self).__name__)
        self.n_users_ = self.n_items_ = self.seen_ = self.B_ = None
        self.l2_ = self.tuning_ = None
        self.train_result_ = None

    # ------------------------------------------------------------------------------------ fit
    def fit(self, split, options=None, **kwargs) -> EASERecommender:
        """Fit B on ``split.train`` (binarized), tuning λ on ``split.valid`` when several are given.

        Args:
            split: a :class:`~pyrec.data.Split`.
            options: :class:`~pyrec.models.base.FitOptions`; only ``progress``/``resume`` apply.

        Returns:
            self.

        Raises:
            ConfigError: a fit option EASE cannot use; more than ``max_items`` items; several λ but
                no validation interactions. DataError: an empty training part, or a Gram matrix
                that is not positive definite at the chosen precision.
        """
        self._fit_options(options, kwargs)
        split = check_split(split, "EASERecommender.fit")
        cfg = self.config
        if split.train.n_interactions == 0:
            raise DataError("EASERecommender.fit: split.train has no interactions.")
        n_items = int(split.n_items)
        if n_items > cfg.max_items:
            gib = 4 * n_items**2 * (8 if cfg.dtype == "float64" else 4) / 2**30
            raise ConfigError(
                f"EASERecommender.fit: the split has n_items={n_items}, above the limit max_items="
                f"{cfg.max_items}: EASE inverts a dense n_items x n_items matrix (about {gib:.1f} GiB "
                f"at {cfg.dtype}). Set max_items={n_items} if this machine has the memory, or use a "
                "model without a dense item-item matrix (e.g. gfcf).")
        candidates = cfg.candidates()
        if len(candidates) > 1 and split.valid.n_interactions == 0:
            raise ConfigError(f"EASERecommender.fit: l2={cfg.l2!r} is tuned on split.valid, which has no "
                              "interactions; give one l2 value.")
        self.n_users_, self.n_items_ = int(split.n_users), n_items
        self.seen_ = split.train.csr()
        x = self.seen_.astype(np.float64)
        gram = torch.from_numpy((x.T @ x).toarray()).to(getattr(torch, cfg.dtype))
        if len(candidates) == 1:
            self.B_, self.l2_, self.tuning_ = ease_weights(gram, candidates[0]).numpy(), candidates[0], None
            return self
        best, values, seconds = None, [], []
        for lam in candidates:
            t0 = time.perf_counter()
            b = ease_weights(gram, lam).numpy()
            seconds.append(time.perf_counter() - t0)
            values.append(self._valid_ndcg(b, split))
            if best is None or values[-1] > values[best]:
                best, self.B_ = len(values) - 1, b
            del b
        self.l2_ = candidates[best]
        self.tuning_ = {"metric": "ndcg@10", "part": "valid", "candidates": candidates,
                        "values": values, "fit_seconds": seconds, "best": self.l2_}
        return self

    def _valid_ndcg(self, b: np.ndarray, split) -> float:
        """Full-ranking NDCG@10 of weights ``b`` on ``split.valid`` (training items masked)."""
        from pyrec.metrics import evaluate_full_ranking

        res = evaluate_full_ranking(lambda users: self._scores(users, b), split, part="valid",
                                    ks=(10,), metrics=("ndcg",), model_name=self.name)
        return float(res.summary["ndcg@10"])

    # ------------------------------------------------------------------------------------ score
    def _scores(self, users: np.ndarray, b: np.ndarray) -> torch.Tensor:
        # sparse x dense: O(nnz(X[users]) * n_items); B must be C-contiguous (row gathers)
        return torch.from_numpy(np.asarray(self.seen_[users] @ b, dtype=np.float32))

    def score(self, users) -> torch.Tensor:
        """``X[users] @ B``: float32 ``(B, n_items)``; NaN rows for users outside ``[0, n_users_)``.

        Raises:
            NotFittedError: before fit/load.
        """
        self.check_is_fitted()
        return self._scores_of_known(users, lambda known: self._scores(known, self.B_))

    # ------------------------------------------------------------------------------------ io
    def save(self, path: str | Path) -> Path:
        """Write ``model.json`` (with ``l2_`` and ``tuning_``), ``seen.npz`` and ``B.npy``."""
        self.check_is_fitted()
        path = write_meta(path, self, l2_=self.l2_, tuning_=self.tuning_)
        save_seen(path, self.seen_)
        np.save(path / "B.npy", self.B_)
        return path

    @classmethod
    def load(cls, path: str | Path) -> EASERecommender:
        """Read a model written by :meth:`save`.

        Raises:
            DataError: a file of the folder is missing.
        """
        meta = read_meta(path)
        (file,) = saved_files(path, "B.npy")
        model = cls(meta["config"])
        model.n_users_, model.n_items_ = int(meta["n_users"]), int(meta["n_items"])
        model.seen_ = load_seen(path)
        model.B_ = np.ascontiguousarray(np.load(file), dtype=np.float32)
        model.l2_, model.tuning_ = meta.get("l2_"), meta.get("tuning_")
        return model
