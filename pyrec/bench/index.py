"""A serving index over precomputed user/item embeddings: single-user top-k in microseconds.

For dot-product recommenders (MF, LightGCN, the distilled student, and any model whose
``score(u) = E_u . E_i``) the whole model at serving time is two embedding tables. One request is a
mat-vec (``n_items x d``), masking the user's training items (CSR row), ``np.argpartition`` for
the k best, and an exact ordering of those candidates with pyrec's tie rule (higher score first;
equal scores by lower item index, as :func:`pyrec.metrics.topk_stable`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pyrec.diagnostics import ConfigError, param_error
from pyrec.metrics.topk import topk_row
from pyrec.models.embeddings import extract_embeddings, to_numpy

__all__ = ["EmbeddingIndex", "extract_embeddings"]

class EmbeddingIndex:
    """Top-k retrieval by inner product over precomputed embeddings, with seen-item exclusion.

    Args:
        user_emb: float [n_users, d].
        item_emb: float [n_items, d].
        seen: ``scipy.sparse.csr_matrix`` [n_users, n_items] of training interactions (excluded
            from recommendations), or None.
        dtype: ``float32`` (exact) or ``int8`` (symmetric per-row quantization of both tables,
            scale = max|row| / 127; scores are dequantized int32 dot products).

    Raises:
        ConfigError: shapes disagree or ``dtype`` is unknown.
    """

    name = "embedding-index"

    def __init__(self, user_emb, item_emb, seen=None, dtype: Literal["float32", "int8"] = "float32") -> None:
        u, v = to_numpy(user_emb), to_numpy(item_emb)
        if u.ndim != 2 or v.ndim != 2 or u.shape[1] != v.shape[1]:
            raise param_error("user_emb/item_emb", "EmbeddingIndex", "2-D arrays with the same width d",
                              f"shapes {u.shape} and {v.shape}")
        if dtype not in ("float32", "int8"):
            raise param_error("dtype", "EmbeddingIndex", "one of ['float32', 'int8']", dtype)
        if seen is not None and tuple(seen.shape) != (u.shape[0], v.shape[0]):
            raise param_error("seen", "EmbeddingIndex", f"a CSR matrix of shape {(u.shape[0], v.shape[0])}",
                              f"shape {tuple(seen.shape)}")
        self.dtype = dtype
        self.n_users_, self.n_items_ = u.shape[0], v.shape[0]
        if seen is not None:
            seen = seen.tocsr()
            self._indptr, self._indices = seen.indptr, seen.indices.astype(np.int64)
        else:
            self._indptr, self._indices = np.zeros(u.shape[0] + 1, np.int64), np.zeros(0, np.int64)
        self.seen_ = seen
        if dtype == "float32":
            self.user_emb, self.item_emb = u, v
        else:
            self.user_emb, self.user_scale = self._quantize(u)
            self.item_emb, self.item_scale = self._quantize(v)
            self._item_i32 = None

    @staticmethod
    def _quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row symmetric INT8 (:func:`pyrec.models.quantization.quantize_embeddings_int8`)."""
        import torch

        from pyrec.models.quantization import quantize_embeddings_int8

        q, scale = quantize_embeddings_int8(torch.from_numpy(np.ascontiguousarray(x, np.float32)))
        return q.numpy(), scale.numpy().astype(np.float32)

    @classmethod
    def from_model(cls, model, dtype: Literal["float32", "int8"] = "float32", check: bool = True) -> "EmbeddingIndex":
        """Build from a fitted dot-product Recommender (embeddings via :func:`extract_embeddings`, ``seen_``).

        Args:
            check: verify on 4 users that ``model.score`` equals the embeddings' inner products
                (atol 1e-4), so the index cannot silently change a model's rankings.

        Raises:
            ConfigError: no embeddings, or ``check`` fails.
        """
        u, v = extract_embeddings(model)
        if check:
            users = np.unique(np.linspace(0, u.shape[0] - 1, 4).astype(np.int64))
            got = model.score(users)
            got = got.detach().float().cpu().numpy() if hasattr(got, "detach") else np.asarray(got)
            if not np.allclose(got, u[users] @ v.T, rtol=1e-4, atol=1e-4):
                raise ConfigError(f"{type(model).__name__}.score is not the inner product of its embeddings; "
                                  "EmbeddingIndex would change its rankings (pass check=False to override).")
        return cls(u, v, getattr(model, "seen_", None), dtype=dtype)

    def _check_user(self, user) -> int:
        if not 0 <= int(user) < self.n_users_:
            raise param_error("user", "EmbeddingIndex", f"an int in [0, {self.n_users_})", user)
        return int(user)

    def _scores_one(self, user: int) -> np.ndarray:
        if self.dtype == "float32":
            return self.item_emb @ self.user_emb[user]
        acc = self.item_emb @ self.user_emb[user].astype(np.int32)  # int32 accumulation
        return acc.astype(np.float32) * (self.item_scale * self.user_scale[user])

    def topk_one(self, user: int, k: int = 10, exclude_seen: bool = True) -> np.ndarray:
        """Top-``k`` items of one user (the serving fast path).

        Returns:
            np.ndarray int64 [k], best first; ties by lower item index.

        Raises:
            ConfigError: bad ``user`` or ``k``.
        """
        user = self._check_user(user)
        if not 1 <= k <= self.n_items_:
            raise param_error("k", "EmbeddingIndex.topk_one", f"an int in [1, {self.n_items_}]", k)
        s = self._scores_one(user)
        if exclude_seen:
            s[self._indices[self._indptr[user]:self._indptr[user + 1]]] = -np.inf
        return topk_row(s, k)

    def score(self, users):
        """Scores of all items, torch.Tensor float32 [B, n_items] (seen items not masked)."""
        import torch

        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if self.dtype == "float32":
            out = self.user_emb[users] @ self.item_emb.T
        else:
            acc = self.user_emb[users].astype(np.int32) @ self.item_emb.T.astype(np.int32)
            out = acc.astype(np.float32) * self.user_scale[users, None] * self.item_scale[None, :]
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))

    def recommend(self, users, k: int = 10, exclude_seen: bool = True):
        """Top-``k`` per user, torch.LongTensor [B, k] (same contract as ``Recommender.recommend``)."""
        import torch

        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if len(users) == 1:
            return torch.from_numpy(self.topk_one(int(users[0]), k, exclude_seen)).view(1, -1)
        from pyrec.metrics import topk_stable

        s = self.score(users)
        if exclude_seen and self.seen_ is not None:
            sub = self.seen_[users].tocoo()
            s[torch.from_numpy(sub.row).long(), torch.from_numpy(sub.col).long()] = -float("inf")
        return topk_stable(s, int(k))

    def nbytes(self) -> int:
        """Bytes held by the two tables (and int8 scales)."""
        n = self.user_emb.nbytes + self.item_emb.nbytes
        if self.dtype == "int8":
            n += self.user_scale.nbytes + self.item_scale.nbytes
        return int(n)

    def __repr__(self) -> str:
        return f"EmbeddingIndex(n_users={self.n_users_}, n_items={self.n_items_}, d={self.item_emb.shape[1]}, dtype={self.dtype!r})"
