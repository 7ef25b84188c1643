"""Metric names as strings (``"ndcg@10"``, ``"recall@20"``), parsed in one place.

The CLI, experiment configs, result tables and R all name a metric as ``<family>@<k>``. Aliases
``hr``/``hitrate`` map to ``hit`` and ``ap`` to ``map``. Names are case-insensitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

from pyrec.diagnostics import param_error

__all__ = ["METRIC_FAMILIES", "MetricSpec", "parse_metric", "expand_metrics"]

#: canonical metric families, in the order results are reported
METRIC_FAMILIES: tuple[str, ...] = ("ndcg", "recall", "precision", "hit", "mrr", "map")

_ALIASES = {
    "ndcg": "ndcg",
    "recall": "recall",
    "precision": "precision",
    "prec": "precision",
    "hit": "hit",
    "hr": "hit",
    "hitrate": "hit",
    "hit_rate": "hit",
    "mrr": "mrr",
    "map": "map",
    "ap": "map",
}


@dataclass(frozen=True, order=True)
class MetricSpec:
    """One metric at one cutoff, e.g. ``MetricSpec("ndcg", 10)``; ``str()`` gives ``"ndcg@10"``."""

    name: str
    k: int

    def __str__(self) -> str:
        return f"{self.name}@{self.k}"


def _check_k(k, owner: str) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise param_error("k", owner, "an int in [1, inf)", k)
    return int(k)


def _family(name: str, owner: str) -> str:
    fam = _ALIASES.get(str(name).strip().lower())
    if fam is None:
        expected = f"one of {list(METRIC_FAMILIES)} (optionally '@k')"
        raise param_error("metric", owner, expected, name)
    return fam


def parse_metric(name: str, default_k: int | None = None) -> MetricSpec:
    """Parse ``"ndcg@10"`` (or ``"ndcg"`` with ``default_k``) into a :class:`MetricSpec`.

    Args:
        name: ``<family>@<k>``; family in :data:`METRIC_FAMILIES` or an alias (``hr``, ``hitrate``,
            ``ap``), case-insensitive; k an int >= 1.
        default_k: the cutoff used when ``name`` has no ``@k``.

    Returns:
        MetricSpec with the canonical family name.

    Raises:
        ConfigError: unknown family, missing k, or k not an int in [1, inf).
    """
    if not isinstance(name, str):
        raise param_error("metric", "parse_metric", "a string like 'ndcg@10'", name)
    base, sep, ks = name.partition("@")
    fam = _family(base, "parse_metric")
    if not sep:
        if default_k is None:
            raise param_error("metric", "parse_metric", "a string like 'ndcg@10' (with '@k')", name)
        return MetricSpec(fam, _check_k(default_k, "parse_metric"))
    try:
        k = int(ks.strip())
    except ValueError:
        raise param_error("k", f"metric {name!r}", "an int in [1, inf)", ks) from None
    return MetricSpec(fam, _check_k(k, f"metric {name!r}"))


def expand_metrics(metrics, ks, owner: str = "evaluate") -> list[MetricSpec]:
    """Cross metric families with cutoffs: names without ``@k`` get every k in ``ks``.

    Args:
        metrics: iterable of names (``"ndcg"`` or ``"ndcg@20"``), or one such string.
        ks: iterable of ints >= 1 (or one int).
        owner: the function named in errors.

    Returns:
        Sorted, de-duplicated list of :class:`MetricSpec` (family order of :data:`METRIC_FAMILIES`).

    Raises:
        ConfigError: bad name or k, or an empty selection.
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(ks, Integral):
        ks = [ks]
    ks = [_check_k(k, owner) for k in ks]
    out: set[MetricSpec] = set()
    for m in metrics:
        if isinstance(m, str) and "@" in m:
            out.add(parse_metric(m))
        else:
            fam = _family(m, owner)
            if not ks:
                raise param_error("ks", owner, "a non-empty sequence of ints in [1, inf)", ks)
            out.update(MetricSpec(fam, k) for k in ks)
    if not out:
        raise param_error("metrics", owner, "a non-empty sequence of metric names", metrics)
    return sorted(out, key=lambda s: (METRIC_FAMILIES.index(s.name), s.k))
