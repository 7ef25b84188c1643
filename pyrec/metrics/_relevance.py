"""The hit matrix every metric reads: relevance of each recommended item, rank by rank.

Conventions shared by all metric families (and written once, here):

* ``recs``: int [B, L] item indices, best first. ``-1`` pads a list shorter than ``L`` (an empty
  recommendation list is a row of ``-1`` or ``L = 0``). A ragged ``list`` of lists is padded.
* An item repeated within one list counts only at its FIRST rank; later copies have gain 0, so
  recall can never exceed 1.
* ``relevance``: the held-out items of each user with their relevance value (grade). Binary
  relevance is 1 for held-out items and 0 elsewhere. An item is *relevant* when its value is > 0.
  Accepted forms: dense float [B, n_items] (tensor or ndarray), ``scipy.sparse`` [B, n_items], a
  list of item-index sequences (binary), or a list of ``{item: grade}`` dicts (graded).
* A user with no relevant item gets NaN from every metric (it is undefined, not 0 or 1); the
  aggregation step excludes and counts such users and warns with ``DataWarning``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pyrec.diagnostics import DataError, param_error

__all__ = ["HitMatrix", "as_recs", "as_relevance", "hit_matrix"]


@dataclass(frozen=True)
class HitMatrix:
    """Per-rank relevance of recommendation lists (all float64, for exact sums).

    Attributes:
        gains: float64 [B, L], relevance value of the item at each rank (0 for non-relevant items,
            padding and repeats).
        hits: float64 [B, L], 1.0 where ``gains > 0``.
        n_relevant: float64 [B], number of relevant items of each user (all of them, not only
            those retrieved).
        ideal: float64 [B, K], the user's relevance values sorted descending (the best possible
            list), ``K = min(k_max, n_items)``.
    """

    gains: torch.Tensor
    hits: torch.Tensor
    n_relevant: torch.Tensor
    ideal: torch.Tensor

    @property
    def defined(self) -> torch.Tensor:
        """bool [B]: users with at least one relevant item (metrics are defined)."""
        return self.n_relevant > 0

    def undefined_to_nan(self, values: torch.Tensor) -> torch.Tensor:
        """Return ``values`` (float64 [B]) with NaN where the user has no relevant item."""
        return torch.where(self.defined, values, torch.full_like(values, float("nan")))


def as_recs(recs) -> torch.Tensor:
    """Recommendation lists as a LongTensor [B, L] (ragged lists padded with -1).

    Raises:
        ConfigError: not 2-D, not integer, or an index < -1.
    """
    if isinstance(recs, (list, tuple)) and any(not np.isscalar(r) for r in recs):
        width = max((len(r) for r in recs), default=0)
        out = np.full((len(recs), width), -1, dtype=np.int64)
        for i, r in enumerate(recs):
            out[i, : len(r)] = np.asarray(r, dtype=np.int64)
        recs = out
    t = torch.as_tensor(np.asarray(recs) if not isinstance(recs, torch.Tensor) else recs)
    if t.dim() != 2 or t.is_floating_point() or t.dtype == torch.bool:
        raise param_error("recs", "metrics", "an int array [B, L] of item indices", tuple(t.shape))
    t = t.long()
    if t.numel() and int(t.min()) < -1:
        raise param_error("recs", "metrics", "item indices >= 0 (or -1 for padding)", int(t.min()))
    return t


def as_relevance(relevance, n_rows: int, n_items: int | None = None) -> torch.Tensor:
    """Dense relevance float32 [n_rows, n_items] from any accepted form (see module docstring).

    Args:
        relevance: dense, sparse, list of item sequences, or list of ``{item: grade}`` dicts.
        n_rows: B, the number of users (rows of ``recs``).
        n_items: catalog size; inferred for list forms when None (largest index + 1).

    Raises:
        ConfigError: wrong number of rows. DataError: NaN or negative relevance values.
    """
    if isinstance(relevance, torch.Tensor):
        rel = relevance.detach().to(torch.float32)
    elif hasattr(relevance, "toarray"):  # scipy.sparse
        rel = torch.from_numpy(np.asarray(relevance.toarray(), dtype=np.float32))
    elif isinstance(relevance, np.ndarray) and relevance.ndim == 2:
        rel = torch.from_numpy(relevance.astype(np.float32, copy=False))
    else:
        rows = list(relevance)
        pairs = [
            (list(r.keys()), list(r.values())) if isinstance(r, dict) else (list(r), [1.0] * len(r))
            for r in rows
        ]
        if n_items is None:
            n_items = 1 + max((max(it) for it, _ in pairs if it), default=-1)
        rel = torch.zeros(len(rows), n_items, dtype=torch.float32)
        for i, (it, gr) in enumerate(pairs):
            if it:
                cols = torch.as_tensor(it, dtype=torch.long)
                rel[i, cols] = torch.as_tensor(gr, dtype=torch.float32)
    if rel.dim() != 2 or rel.shape[0] != n_rows:
        raise param_error("relevance", "metrics", f"{n_rows} rows (one per user)", tuple(rel.shape))
    if rel.numel() and (bool(torch.isnan(rel).any()) or float(rel.min()) < 0):
        raise DataError("relevance values must be finite and >= 0 (0 = not relevant)")
    return rel


def hit_matrix(recs, relevance, k_max: int | None = None) -> HitMatrix:
    """Build the :class:`HitMatrix` of ``recs`` against ``relevance``.

    Args:
        recs: int [B, L] item indices best first (-1 = padding), or a ragged list.
        relevance: any form accepted by :func:`as_relevance`.
        k_max: largest cutoff needed (trims ``recs`` and the ideal list); default ``L``.

    Returns:
        HitMatrix with ``L' = min(L, k_max)`` ranks.

    Raises:
        ConfigError / DataError: see :func:`as_recs`, :func:`as_relevance`; an item index outside
        the catalog.
    """
    recs = as_recs(recs)
    if not _is_matrix(relevance):
        relevance = list(relevance)
    hint = None if recs.numel() == 0 else int(recs.max()) + 1
    rel = as_relevance(relevance, recs.shape[0], _list_n_items(relevance, hint))
    return _build(recs, rel, k_max)


def _build(
    recs: torch.Tensor,
    rel: torch.Tensor,
    k_max: int | None,
    n_relevant: torch.Tensor | None = None,
    ideal: torch.Tensor | None = None,
) -> HitMatrix:
    """HitMatrix from validated LongTensor recs [B, L] and float32 rel [B, n_items].

    ``n_relevant`` (float64 [B]) and ``ideal`` (float64 [B, K]) may be passed when the caller
    already knows them (the protocols do, from CSR), saving two passes over ``rel``.
    """
    n_items = rel.shape[1]
    if k_max is None:
        k_max = max(recs.shape[1], 1)
    recs = recs[:, :k_max]
    if recs.numel() and int(recs.max()) >= n_items:
        raise param_error("recs", "metrics", f"item indices < n_items={n_items}", int(recs.max()))
    valid = recs >= 0
    gains = rel.gather(1, recs.clamp(min=0)).to(torch.float64) * valid
    if recs.shape[1] > 1:
        # repeats count once: stable sort keeps the earliest rank of each item first
        srt, pos = torch.sort(recs, dim=1, stable=True)
        dup_sorted = torch.zeros_like(srt, dtype=torch.bool)
        dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
        dup = torch.zeros_like(dup_sorted).scatter_(1, pos, dup_sorted)
        gains = gains.masked_fill(dup, 0.0)
    if ideal is None:
        ideal = torch.topk(rel, min(k_max, n_items), dim=1).values.to(torch.float64)
    if n_relevant is None:
        n_relevant = (rel > 0).sum(dim=1).to(torch.float64)
    return HitMatrix(
        gains=gains,
        hits=(gains > 0).to(torch.float64),
        n_relevant=n_relevant,
        ideal=ideal,
    )


def _is_matrix(relevance) -> bool:
    return isinstance(relevance, (torch.Tensor, np.ndarray)) or hasattr(relevance, "toarray")


def _list_n_items(relevance, hint: int | None) -> int | None:
    """For list forms, the catalog must cover both the lists and the relevant items."""
    if _is_matrix(relevance):
        return None
    top = -1
    for r in relevance:
        if len(r):
            top = max(top, max(r.keys()) if isinstance(r, dict) else max(r))
    return max(top + 1, hint or 0)
