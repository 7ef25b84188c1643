"""Several metrics at several cutoffs from one hit matrix, and their means over users.

Per-user values come first (one float per user); aggregation is a separate step
(:func:`mean_over_users`) that excludes users whose metrics are undefined (no relevant item),
counts them and warns with :class:`~pyrec.diagnostics.DataWarning`. A mean is therefore never
NaN and never inflated by users with nothing to find.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from pyrec.diagnostics import DataError, DataWarning
from pyrec.metrics._names import METRIC_FAMILIES, MetricSpec, expand_metrics
from pyrec.metrics._relevance import HitMatrix, hit_matrix
from pyrec.metrics.ndcg import _ndcg
from pyrec.metrics.rank_metrics import _map, _mrr
from pyrec.metrics.recall_precision import _hit_rate, _precision, _recall

__all__ = ["KERNELS", "compute_metrics", "metrics_from_hits", "mean_over_users"]

#: family name -> kernel(HitMatrix, k) -> float64 [B] (NaN where undefined)
KERNELS: dict[str, Callable[[HitMatrix, int], torch.Tensor]] = {
    "ndcg": _ndcg,
    "recall": _recall,
    "precision": _precision,
    "hit": _hit_rate,
    "mrr": _mrr,
    "map": _map,
}


def metrics_from_hits(hm: HitMatrix, specs: list[MetricSpec]) -> dict[MetricSpec, torch.Tensor]:
    """Evaluate every spec on one :class:`HitMatrix`; values float64 [B], NaN where undefined."""
    return {s: KERNELS[s.name](hm, s.k) for s in specs}


def compute_metrics(
    recs, relevance, metrics=METRIC_FAMILIES, ks=(10,)
) -> dict[str, torch.Tensor]:
    """Per-user values of several metrics at several cutoffs, sharing one hit matrix.

    Args:
        recs: int [B, L] item indices best first (-1 pads), or a ragged list of lists.
        relevance: held-out items (dense [B, n_items], sparse, item lists or ``{item: grade}``).
        metrics: names such as ``"ndcg"`` (crossed with ``ks``) or ``"recall@20"``.
        ks: cutoffs for names without ``@k``.

    Returns:
        ``{"ndcg@10": float64 [B], ...}``; NaN for users with no relevant item.

    Raises:
        ConfigError: unknown metric name or bad k. DataError: NaN/negative relevance.
    """
    specs = expand_metrics(metrics, ks, "compute_metrics")
    hm = hit_matrix(recs, relevance, max(s.k for s in specs))
    return {str(s): v for s, v in metrics_from_hits(hm, specs).items()}


def mean_over_users(values, *, what: str = "metrics") -> tuple[float, int, int]:
    """Mean of per-user values over users where the metric is defined.

    Args:
        values: float [B] per-user values; NaN marks a user with no relevant item.
        what: named in the warning (e.g. ``"ndcg@10 on split.test"``).

    Returns:
        ``(mean, n_users_evaluated, n_users_skipped)``.

    Warns:
        DataWarning: when users were skipped.

    Raises:
        DataError: when no user has a relevant item (the mean is undefined).
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    ok = ~torch.isnan(v)
    n_eval, n_skip = int(ok.sum()), int((~ok).sum())
    if n_eval == 0:
        raise DataError(f"{what}: no user has a relevant item, so the mean is undefined")
    if n_skip:
        warnings.warn(
            f"{what}: {n_skip} user(s) with no relevant item excluded from the mean "
            f"({n_eval} evaluated)",
            DataWarning,
            stacklevel=2,
        )
    return float(v[ok].mean()), n_eval, n_skip
