r"""Set-based metrics at k: Recall@k, Precision@k and HitRate@k (binary relevance).

Source: standard IR definitions (Manning, Raghavan & Schütze, *Introduction to Information
Retrieval*, 2008, ch. 8); HitRate@k as in Deshpande & Karypis, ACM TOIS 22(1), 2004.

.. math::

    \mathrm{hits@k} = \sum_{i=1}^{k} \mathbb{1}[\text{item}_i \in R_u], \quad
    \mathrm{Recall@k} = \frac{\mathrm{hits@k}}{|R_u|}, \quad
    \mathrm{Precision@k} = \frac{\mathrm{hits@k}}{k}, \quad
    \mathrm{HitRate@k} = \mathbb{1}[\mathrm{hits@k} > 0]

``R_u`` = the user's relevant items (relevance > 0; grades are binarized). A repeated item counts
once, so Recall@k <= 1. Precision divides by ``k`` even when the list is shorter (a short or empty
list is penalized). Users with ``|R_u| = 0`` get NaN (undefined).
"""

from __future__ import annotations

import torch

from pyrec.metrics._names import _check_k
from pyrec.metrics._relevance import HitMatrix, hit_matrix

__all__ = ["recall_at_k", "precision_at_k", "hit_rate_at_k"]


def _hits(hm: HitMatrix, k: int) -> torch.Tensor:
    return hm.hits[:, :k].sum(dim=1)


def _recall(hm: HitMatrix, k: int) -> torch.Tensor:
    return hm.undefined_to_nan(_hits(hm, k) / hm.n_relevant.clamp(min=1))


def _precision(hm: HitMatrix, k: int) -> torch.Tensor:
    return hm.undefined_to_nan(_hits(hm, k) / k)


def _hit_rate(hm: HitMatrix, k: int) -> torch.Tensor:
    return hm.undefined_to_nan((_hits(hm, k) > 0).to(torch.float64))


def recall_at_k(recs, relevance, k: int) -> torch.Tensor:
    """Per-user Recall@k = hits in the top k / number of relevant items.

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
    k = _check_k(k, "recall_at_k")
    return _recall(hit_matrix(recs, relevance, k), k)


def precision_at_k(recs, relevance, k: int) -> torch.Tensor:
    """Per-user Precision@k = hits in the top k / k (k, not the list length).

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
    k = _check_k(k, "precision_at_k")
    return _precision(hit_matrix(recs, relevance, k), k)


def hit_rate_at_k(recs, relevance, k: int) -> torch.Tensor:
    """Per-user HitRate@k = 1.0 if any relevant item is in the top k, else 0.0.

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
    k = _check_k(k, "hit_rate_at_k")
    return _hit_rate(hit_matrix(recs, relevance, k), k)
