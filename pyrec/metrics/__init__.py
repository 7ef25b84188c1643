"""Exact ranking metrics and the full-ranking / sampled-negative evaluation protocols.

Tie rule everywhere: higher score first, equal scores by lower item index (:func:`topk_stable`).
Per-user values come first (NaN where a user has no relevant item); means exclude and count those
users. Names are strings parsed by :func:`parse_metric` (``"ndcg@10"``). Submodules import torch,
so names are loaded on first use and ``import pyrec.metrics`` stays cheap.
"""

from __future__ import annotations

from pyrec._lazy import attach

_LAZY = {
    "topk_stable": "pyrec.metrics.topk",
    "check_scores": "pyrec.metrics.topk",
    "METRIC_FAMILIES": "pyrec.metrics._names",
    "MetricSpec": "pyrec.metrics._names",
    "parse_metric": "pyrec.metrics._names",
    "expand_metrics": "pyrec.metrics._names",
    "HitMatrix": "pyrec.metrics._relevance",
    "hit_matrix": "pyrec.metrics._relevance",
    "ndcg_at_k": "pyrec.metrics.ndcg",
    "dcg_at_k": "pyrec.metrics.ndcg",
    "recall_at_k": "pyrec.metrics.recall_precision",
    "precision_at_k": "pyrec.metrics.recall_precision",
    "hit_rate_at_k": "pyrec.metrics.recall_precision",
    "mrr_at_k": "pyrec.metrics.rank_metrics",
    "map_at_k": "pyrec.metrics.rank_metrics",
    "compute_metrics": "pyrec.metrics.compute",
    "mean_over_users": "pyrec.metrics.compute",
    "EvalResult": "pyrec.metrics.result",
    "evaluate_full_ranking": "pyrec.metrics.full_ranking",
    "evaluate_sampled": "pyrec.metrics.sampled",
    "sample_eval_negatives": "pyrec.metrics.sampled",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
