r"""Normalized Discounted Cumulative Gain at k (binary and graded relevance).

Source: Järvelin & Kekäläinen, "Cumulated gain-based evaluation of IR techniques",
ACM TOIS 20(4), 2002; linear gain as in scikit-learn's ``ndcg_score`` and LensKit's ``NDCG``.

.. math::

    \mathrm{DCG@k} = \sum_{i=1}^{k} \frac{g_i}{\log_2(i + 1)}, \qquad
    \mathrm{NDCG@k} = \frac{\mathrm{DCG@k}}{\mathrm{IDCG@k}}

``g_i`` is the relevance value (grade; 1 for binary relevance) of the item at rank ``i``, 0 for a
non-relevant item, padding, or a repeat of an item already ranked higher. IDCG@k is the DCG of the
best possible ordering of ALL the user's relevant items (not only those retrieved), truncated at
``k``. Ranks come from :func:`pyrec.metrics.topk_stable` (ties: lower item index first). A user
with no relevant item gets NaN (undefined); an empty list gets 0.
"""

from __future__ import annotations

import torch

from pyrec.metrics._names import _check_k
from pyrec.metrics._relevance import HitMatrix, hit_matrix

__all__ = ["ndcg_at_k", "dcg_at_k"]


def _discount(n: int) -> torch.Tensor:
    """float64 [n]: 1 / log2(rank + 1) for ranks 1..n."""
    return 1.0 / torch.log2(torch.arange(2, n + 2, dtype=torch.float64))


def _dcg(gains: torch.Tensor, k: int) -> torch.Tensor:
    g = gains[:, :k]
    return (g * _discount(g.shape[1])).sum(dim=1)


def _ndcg(hm: HitMatrix, k: int) -> torch.Tensor:
    idcg = _dcg(hm.ideal, k)
    safe = torch.where(idcg > 0, idcg, torch.ones_like(idcg))
    return hm.undefined_to_nan(_dcg(hm.gains, k) / safe)


def dcg_at_k(recs, relevance, k: int) -> torch.Tensor:
    """Per-user DCG@k (unnormalized), float64 [B].

    Args:
        recs: int [B, L] item indices best first (-1 pads), or a ragged list of lists.
        relevance: held-out items with their grades (dense [B, n_items], sparse, list of item
            lists, or list of ``{item: grade}`` dicts); see :mod:`pyrec.metrics._relevance`.
        k: cutoff, an int in [1, inf).

    Raises:
        ConfigError: bad ``k``/``recs``/``relevance`` shapes. DataError: NaN/negative relevance.
    """
    k = _check_k(k, "dcg_at_k")
    return _dcg(hit_matrix(recs, relevance, k).gains, k)


def ndcg_at_k(recs, relevance, k: int) -> torch.Tensor:
    """Per-user NDCG@k, float64 [B] in [0, 1]; NaN for users with no relevant item.

    Binary NDCG when ``relevance`` is 0/1 (or item lists); graded NDCG when it holds grades.

    Example (graded, hand-computed): grades 3,2,3,0,1,2,3,2; top 6 = first six items;
    DCG@6 = 3/1 + 2/log2 3 + 3/2 + 0 + 1/log2 6 + 2/log2 7 = 6.8611; ideal top 6 = 3,3,3,2,2,2,
    IDCG@6 = 8.7403; NDCG@6 = 0.7850.

    Args:
        recs: int [B, L] item indices best first (-1 pads), or a ragged list of lists.
        relevance: see :func:`dcg_at_k`.
        k: cutoff, an int in [1, inf).

    Raises:
        ConfigError: bad ``k``/``recs``/``relevance``. DataError: NaN/negative relevance.
    """
    k = _check_k(k, "ndcg_at_k")
    return _ndcg(hit_matrix(recs, relevance, k), k)
