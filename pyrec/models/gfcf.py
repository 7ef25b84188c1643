"""GF-CF: a training-free linear graph filter (Shen et al., CIKM 2021), α and k tuned on validation."""

from __future__ import annotations

import time
from itertools import product
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pyrec.diagnostics import ConfigError, DataError
from pyrec.models._bpr import check_split
from pyrec.models._io import load_seen, read_meta, save_seen, saved_files, write_meta
from pyrec.models.base import Recommender
from pyrec.train.config import build_config

__all__ = ["GFCFConfig", "GFCFRecommender", "normalized_interactions"]


def _as_list(v) -> list:
    return list(v) if isinstance(v, list) else [v]


class GFCFConfig(BaseModel):
    """Hyperparameters of :class:`GFCFRecommender`.

    ``alpha`` and ``k`` each take a number or a list; with more than one combination every
    ``(k, alpha)`` pair is scored on ``split.valid`` (full-ranking NDCG@10, training items masked)
    and the best kept (ties: the smaller k, then the smaller alpha). The reference settings of the
    paper (alpha 0.3, k 256) are in the default grid.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    alpha: float | list[float] = Field(default_factory=lambda: [0.1, 0.3, 1.0])
    """weight α >= 0 of the ideal low-pass term (the paper uses 0.3)."""
    k: int | list[int] = Field(default_factory=lambda: [32, 64, 128, 256])
    """number of leading singular vectors of the normalized matrix in the ideal low-pass term
    (the paper uses 256); each must be < min(n_users, n_items)."""
    ideal: bool = True
    """add the ideal low-pass term; False: the linear filter alone (``alpha`` and ``k`` unused,
    no SVD)."""
    svd_solver: Literal["propack", "arpack"] = "propack"
    """``scipy.sparse.linalg.svds`` solver (PROPACK is several times faster than ARPACK at k=256)."""
    seed: int = Field(0, ge=0)
    """seeds the SVD's start vector (``svds(random_state=seed)``); the filter is otherwise
    deterministic, and the subspace it spans does not depend on the start vector."""

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v):
        values = _as_list(v)
        if not values or any(not np.isfinite(x) or x < 0 for x in values):
            raise ValueError(f"alpha must be a number >= 0 or a non-empty list of them, got {v!r}")
        return v

    @field_validator("k")
    @classmethod
    def _k(cls, v):
        values = _as_list(v)
        if not values or any(x < 1 for x in values):
            raise ValueError(f"k must be an int >= 1 or a non-empty list of them, got {v!r}")
        return v

    def candidates(self) -> list[tuple[int, float]]:
        """The ``(k, alpha)`` pairs to score, in tie-breaking order (``[(0, 0.0)]`` without the
        ideal term)."""
        if not self.ideal:
            return [(0, 0.0)]
        return list(product(sorted(set(_as_list(self.k))), sorted(set(float(a) for a in _as_list(self.alpha)))))


def normalized_interactions(seen) -> tuple[sp.csr_matrix, np.ndarray]:
    r"""GF-CF's normalized interaction matrix :math:`\tilde R = D_U^{-1/2} R D_I^{-1/2}`.

    Args:
        seen: ``(n_users, n_items)`` sparse training matrix; binarized here (any stored value -> 1).

    Returns:
        ``(R̃ float64 CSR (n_users, n_items), d_items float64 (n_items,))``: the item degrees
        :math:`D_I` (training users per item). Users or items without interactions get a zero
        row/column (their :math:`d^{-1/2}` is taken as 0, as in the reference implementation).
    """
    r = sp.csr_matrix(seen, dtype=np.float64, copy=True)
    r.data[:] = 1.0
    du = np.asarray(r.sum(axis=1)).ravel()
    di = np.asarray(r.sum(axis=0)).ravel()
    inv_u = np.where(du > 0, 1.0 / np.sqrt(np.maximum(du, 1.0)), 0.0)
    inv_i = np.where(di > 0, 1.0 / np.sqrt(np.maximum(di, 1.0)), 0.0)
    return (sp.diags(inv_u) @ r @ sp.diags(inv_i)).tocsr(), di


def _top_singular(matrix, k: int, solver: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sigma (k,), vt (k, n))`` of the ``k`` largest singular triplets, by decreasing sigma.

    ``scipy.sparse.linalg.svds(matrix, k, solver=solver, random_state=seed)``; a SciPy whose
    PROPACK is switched off (1.8-1.11 without ``SCIPY_USE_PROPACK=1``) falls back to ARPACK, which
    spans the same subspace, more slowly.
    """
    from scipy.sparse.linalg import svds

    try:
        _, sigma, vt = svds(matrix, k=k, solver=solver, random_state=seed)
    except ValueError as exc:
        if solver != "propack" or "propack" not in str(exc).lower():
            raise
        _, sigma, vt = svds(matrix, k=k, solver="arpack", random_state=seed)
    order = np.argsort(-sigma, kind="stable")
    return sigma[order], vt[order]


class GFCFRecommender(Recommender):
    r"""GF-CF, from `"How Powerful is Graph Convolution for Recommendation?"
    <https://arxiv.org/abs/2108.07567>`_ (Shen et al., CIKM 2021): a closed-form graph filter on
    the item-item graph, no training.

    With the binarized training matrix :math:`R` (``n_users x n_items``), degrees :math:`D_U,
    D_I`, :math:`\tilde R = D_U^{-1/2} R D_I^{-1/2}` (:func:`normalized_interactions`),
    :math:`\tilde P = \tilde R^\top \tilde R` and :math:`\bar V_k` the top-``k`` right singular
    vectors of :math:`\tilde R` (``n_items x k``), user :math:`u`'s scores are

    .. math::
        s_u = r_u \left(\tilde P + \alpha \, D_I^{-1/2} \bar V_k \bar V_k^\top D_I^{1/2}\right),

    a linear low-pass filter plus an ideal low-pass filter. Conventions follow the authors'
    reference code (``GF_CF`` in github.com/yshenaw/GF_CF): ``svds(R̃, 256)``, α = 0.3, zero
    :math:`d^{-1/2}` for users/items without interactions (their :math:`d^{1/2}` is 0 too here,
    so an item never seen in training scores 0 rather than NaN). Here ``alpha`` and ``k`` can be
    tuned on ``split.valid`` (see :class:`GFCFConfig`); one SVD at the largest ``k`` serves every
    candidate (the top-``k`` vectors are a prefix of the top-``k_max``).

    Nothing ``n_items x n_items`` is stored: :math:`r_u \tilde P` is computed as
    :math:`(r_u \tilde R^\top) \tilde R` on sparse matrices; the model holds :math:`\bar V_k`
    (``n_items x k`` float32) and recomputes :math:`\tilde R` from the training matrix on load.
    Fit time is the SVD (ML-100K, k = 256: ~1 s; amazon-scientific: ~5 s on 2 cores) plus one
    validation pass per candidate.

    Args:
        config: :class:`GFCFConfig` or a dict; keyword arguments override its fields.

    Attributes (after ``fit``/``load``):
        V_: float32 ``(n_items, k_)`` leading right singular vectors (columns by decreasing
            singular value; ``(n_items, 0)`` without the ideal term); sigma_: their singular values.
        k_, alpha_: the values used (tuned when given as lists).
        tuning_: dict ``metric, part, candidates ([k, alpha] pairs), values, best, svd_seconds``,
            or None when there was one candidate.
        n_users_, n_items_, seen_ (training CSR).
    """

    name = "gfcf"
    architecture = "baseline"
    config_class = GFCFConfig

    def __init__(self, config=None, **kwargs) -> None:
        self.config = build_config(GFCFConfig, config, kwargs, type(self).__name__)
        self.n_users_ = self.n_items_ = self.seen_ = None
        self.V_ = self.sigma_ = self.k_ = self.alpha_ = self.tuning_ = None
        self._norm = None
        self.train_result_ = None

    # ------------------------------------------------------------------------------------ fit
    def fit(self, split, options=None, **kwargs) -> GFCFRecommender:
        """Build the filter from ``split.train``; tune ``(k, alpha)`` on ``split.valid`` when
        several are given.

        Args:
            split: a :class:`~pyrec.data.Split`.
            options: :class:`~pyrec.models.base.FitOptions`; only ``progress``/``resume`` apply.

        Returns:
            self.

        Raises:
            ConfigError: a fit option GF-CF cannot use; no ``k`` < min(n_users, n_items) (a grid
                keeps the values below it); several
                candidates but no validation interactions. DataError: an empty training part.
        """
        self._fit_options(options, kwargs)
        split = check_split(split, "GFCFRecommender.fit")
        cfg = self.config
        if split.train.n_interactions == 0:
            raise DataError("GFCFRecommender.fit: split.train has no interactions.")
        limit = min(int(split.n_users), int(split.n_items))
        # a grid of k keeps the values this catalogue allows; a single k (or none fitting) is refused
        candidates = [(k, a) for k, a in cfg.candidates() if k < limit]
        if not candidates:
            raise ConfigError(f"The 'k' parameter of GFCFRecommender must be < min(n_users, n_items) = "
                              f"{limit} for this split. Got {cfg.k!r} instead.")
        k_max = max(k for k, _ in candidates)
        if len(candidates) > 1 and split.valid.n_interactions == 0:
            raise ConfigError(f"GFCFRecommender.fit: k={cfg.k!r}, alpha={cfg.alpha!r} are tuned on "
                              "split.valid, which has no interactions; give one value of each.")
        self.n_users_, self.n_items_ = int(split.n_users), int(split.n_items)
        self.seen_ = split.train.csr()
        self._norm = None
        t0 = time.perf_counter()
        if k_max > 0:  # in float64: float32 vectors of close singular values are off by ~1e-4
            sigma, vt = _top_singular(normalized_interactions(self.seen_)[0], k_max, cfg.svd_solver, cfg.seed)
            self.sigma_ = sigma.astype(np.float64)
            self.V_ = np.ascontiguousarray(vt.T, dtype=np.float32)
        else:
            self.sigma_, self.V_ = np.zeros(0), np.zeros((self.n_items_, 0), np.float32)
        svd_seconds = time.perf_counter() - t0
        if len(candidates) == 1:
            self.k_, self.alpha_ = candidates[0]
            self.tuning_ = None
        else:
            values = self._tune(candidates, split)
            best = int(np.argmax(values))  # first maximum: smaller k, then smaller alpha
            self.k_, self.alpha_ = candidates[best]
            self.tuning_ = {"metric": "ndcg@10", "part": "valid",
                            "candidates": [[int(k), float(a)] for k, a in candidates],
                            "values": values, "best": [int(self.k_), float(self.alpha_)],
                            "svd_seconds": svd_seconds}
        self.k_, self.alpha_ = int(self.k_), float(self.alpha_)
        self.V_ = np.ascontiguousarray(self.V_[:, : self.k_])
        self.sigma_ = self.sigma_[: self.k_]
        return self

    def _tune(self, candidates, split) -> list[float]:
        """Validation NDCG@10 of each ``(k, alpha)``; the linear part and the projection onto the
        singular vectors are computed once per user batch and reused by every candidate."""
        from pyrec.metrics import evaluate_full_ranking

        cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

        def parts(users: np.ndarray):
            key = users.tobytes()
            if key not in cache:
                cache[key] = self._parts(users, self.V_.shape[1])
            return cache[key]

        values = []
        for k, alpha in candidates:
            def score_fn(users, k=k, alpha=alpha):
                linear, proj = parts(np.asarray(users, dtype=np.int64))
                return torch.from_numpy(self._combine(linear, proj, k, alpha))

            res = evaluate_full_ranking(score_fn, split, part="valid", ks=(10,), metrics=("ndcg",),
                                        model_name=self.name)
            values.append(float(res.summary["ndcg@10"]))
        return values

    # ------------------------------------------------------------------------------------ score
    def _filter(self):
        """``(R̃ CSR, R̃ᵀ CSR, d_I^{-1/2}, d_I^{1/2})`` of the training matrix (float32, cached)."""
        if self._norm is None:
            norm, di = normalized_interactions(self.seen_)
            norm = norm.astype(np.float32)
            inv_sqrt = np.where(di > 0, 1.0 / np.sqrt(np.maximum(di, 1.0)), 0.0).astype(np.float32)
            self._norm = (norm, norm.T.tocsr(), inv_sqrt, np.sqrt(di).astype(np.float32))
        return self._norm

    def _parts(self, users: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(r_u R̃ᵀ R̃ (B, n_items), r_u D_I^{-1/2} V[:, :k] (B, k))``, float32."""
        norm, norm_t, inv_sqrt, _ = self._filter()
        r = self.seen_[users]
        linear = np.asarray(((r @ norm_t) @ norm).toarray(), dtype=np.float32)
        proj = np.asarray(r.multiply(inv_sqrt[None, :]).tocsr() @ self.V_[:, :k], dtype=np.float32)
        return linear, proj

    def _combine(self, linear: np.ndarray, proj: np.ndarray, k: int, alpha: float) -> np.ndarray:
        if k == 0 or alpha == 0.0:
            return linear
        sqrt_d = self._filter()[3]
        return linear + np.float32(alpha) * ((proj[:, :k] @ self.V_[:, :k].T) * sqrt_d[None, :])

    def score(self, users) -> torch.Tensor:
        """GF-CF scores, float32 ``(B, n_items)``; NaN rows for users outside ``[0, n_users_)``.

        Raises:
            NotFittedError: before fit/load.
        """
        self.check_is_fitted()

        def compute(known: np.ndarray) -> torch.Tensor:
            linear, proj = self._parts(known, self.k_)
            return torch.from_numpy(np.asarray(self._combine(linear, proj, self.k_, self.alpha_), dtype=np.float32))

        return self._scores_of_known(users, compute)

    # ------------------------------------------------------------------------------------ io
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_norm"] = None  # recomputed from seen_ on first use
        return state

    def save(self, path: str | Path) -> Path:
        """Write ``model.json`` (with ``k_``, ``alpha_``, ``tuning_``), ``seen.npz``, ``V.npy``
        and ``sigma.npy``; R̃ is recomputed from ``seen.npz`` on load."""
        self.check_is_fitted()
        path = write_meta(path, self, k_=self.k_, alpha_=self.alpha_, tuning_=self.tuning_)
        save_seen(path, self.seen_)
        np.save(path / "V.npy", self.V_)
        np.save(path / "sigma.npy", self.sigma_)
        return path

    @classmethod
    def load(cls, path: str | Path) -> GFCFRecommender:
        """Read a model written by :meth:`save`.

        Raises:
            DataError: a file of the folder is missing.
        """
        meta = read_meta(path)
        v_file, sigma_file = saved_files(path, "V.npy", "sigma.npy")
        model = cls(meta["config"])
        model.n_users_, model.n_items_ = int(meta["n_users"]), int(meta["n_items"])
        model.seen_ = load_seen(path)
        model.V_ = np.load(v_file).astype(np.float32, copy=False)
        model.sigma_ = np.load(sigma_file)
        model.k_, model.alpha_, model.tuning_ = int(meta["k_"]), float(meta["alpha_"]), meta.get("tuning_")
        return model
