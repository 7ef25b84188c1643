r"""Rank-sensitive binary metrics at k: MRR@k and MAP@k.

Sources: Voorhees, "The TREC-8 Question Answering Track Report", 1999 (reciprocal rank);
Manning, Raghavan & Schütze, *Introduction to Information Retrieval*, 2008, §8.4 (average
precision); the ``min(k, |R_u|)`` normalization follows ``ml_metrics.apk`` / RecBole ``MAP``.

.. math::

    \mathrm{RR@k} = \max_{i \le k} \frac{\mathrm{rel}_i}{i}, \qquad
    \mathrm{AP@k} = \frac{1}{\min(k, |R_u|)} \sum_{i=1}^{k} \mathrm{rel}_i \cdot \mathrm{P@i}

``rel_i`` = 1 if the item at rank ``i`` is relevant (first occurrence only), ``P@i`` = hits in the
top ``i`` / ``i``. RR is 0 when no relevant item is in the top k. A perfect top 3 with 8 relevant
items has AP@3 = (1/1 + 2/2 + 3/3) / min(3, 8) = 1.0. MRR@k / MAP@k are the means of RR@k / AP@k
over users with at least one relevant item (others get NaN here and are excluded).
"""

from __future__ import annotations

import torch

from pyrec.metrics._names import _check_k
from pyrec.metrics._relevance import HitMatrix, hit_matrix

__all__ = ["mrr_at_k", "map_at_k"]


def _ranks(n: int) -> torch.Tensor:
    return torch.arange(1, n + 1, dtype=torch.float64)


def _mrr(hm: HitMatrix, k: int) -> torch.Tensor:
    h = hm.hits[:, :k]
    if h.shape[1] == 0:
        return hm.undefined_to_nan(torch.zeros(h.shape[0], dtype=torch.float64))
    return hm.undefined_to_nan((h / _ranks(h.shape[1])).max(dim=1).values)


def _map(hm: HitMatrix, k: int) -> torch.Tensor:
    h = hm.hits[:, :k]
    prec_at_i = h.cumsum(dim=1) / _ranks(h.shape[1])
    denom = torch.clamp(hm.n_relevant, min=1, max=k)
    return hm.undefined_to_nan((prec_at_i * h).sum(dim=1) / denom)


def mrr_at_k(recs, relevance, k: int) -> torch.Tensor:
    """Per-user reciprocal rank of the first relevant item in the top k (0 if none).

    Args:
        recs: int [B, L] item indices best first (-1 pads), or a ragged list of lists.
        relevance: held-out items (dense [B, n_items], sparse, list of item lists or
            ``{item: grade}`` dicts); relevant = value > 0.
        k: cutoff, an int in [1, inf).

    Returns:
        float64 [B] in [0, 1]; NaN for users with no relevant item.

    Raises:
        ConfigError: bad ``k``/``recs``/``relevance``. DataError: NaN/negative relevance.
    """
    k = _check_k(k, "mrr_at_k")
    return _mrr(hit_matrix(recs, relevance, k), k)


def map_at_k(recs, relevance, k: int) -> torch.Tensor:
    """Per-user average precision at k, divided by ``min(k, |relevant|)``.

    Args:
        recs: int [B, L] item indices best first (-1 pads), or a ragged list of lists.
        relevance: as in :func:`mrr_at_k`.
        k: cutoff, an int in [1, inf).

    Returns:
        float64 [B] in [0, 1]; NaN for users with no relevant item.

    Raises:
        ConfigError: bad ``k``/``recs``/``relevance``. DataError: NaN/negative relevance.
    """
    k = _check_k(k, "map_at_k")
    return _map(hit_matrix(recs, relevance, k), k)
