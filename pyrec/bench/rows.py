"""Tidy result rows and noise-aware comparisons (medians, ratios to a same-process baseline)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ROW_COLUMNS", "to_rows", "ratio_to_baseline"]

#: columns every benchmark row has (extra context keys are kept as further columns)
ROW_COLUMNS = ("config", "backend", "strategy", "seed", "metric", "value", "unit", "simulated", "threads",
               "hardware", "method", "n")


def to_rows(values: dict[str, tuple[float, str]], *, config: str = "", backend: Any = None, strategy: str = "",
            seed: int | None = None, simulated: bool | None = None, method: str = "perf_counter",
            n: int | None = None, **extra: Any) -> list[dict]:
    """One tidy row per metric.

    Args:
        values: ``{metric: (value, unit)}``, e.g. ``{"latency_p99_ms": (0.03, "ms")}``.
        config: configuration label (e.g. ``"mf@cpu"``).
        backend: a :class:`~pyrec.backends.Backend` (its ``describe()`` fills backend, threads,
            hardware, simulated), a describe() dict, a name, or None (``cpu``, this process's threads).
        strategy: serving strategy, e.g. ``"model.recommend"`` or ``"embedding-index"``.
        seed: the run's seed. simulated: overrides the backend's flag (e.g. a simulated latency).
        method: how the value was obtained (``"perf_counter"``, ``"fpga-sim (analytical, ...)"``).
        n: number of observations behind the value. extra: further columns (dataset, model, batch_size).

    Returns:
        list of dicts with :data:`ROW_COLUMNS` (+ extras).
    """
    if backend is None or isinstance(backend, str):
        import torch

        from pyrec.backends.base import hardware_info

        info = {"backend": backend or "cpu", "threads": int(torch.get_num_threads()), "hardware": hardware_info(),
                "simulated": False}
    elif isinstance(backend, dict):
        info = backend
    else:
        info = backend.describe()
    sim = bool(info.get("simulated", False)) if simulated is None else bool(simulated)
    base = {"config": config, "backend": info.get("backend"), "strategy": strategy, "seed": seed,
            "simulated": sim, "threads": info.get("threads"), "hardware": info.get("hardware"), "method": method,
            "n": n, **extra}
    return [{**base, "metric": m, "value": float(v), "unit": u} for m, (v, u) in values.items()]


def ratio_to_baseline(values, baseline) -> dict[str, float]:
    """Median of ``values`` over median of ``baseline`` (both measured in the same process run).

    Returns:
        ``{"median": m, "baseline_median": b, "ratio": m / b}``.
    """
    m, b = float(np.median(values)), float(np.median(baseline))
    return {"median": m, "baseline_median": b, "ratio": m / b if b else float("nan")}
