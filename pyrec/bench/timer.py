"""The timing protocol every pyrec measurement uses (after PyG ``torch_geometric/profile/benchmark.py``):
``warmup`` untimed calls first, device synchronization before and after every timed call, and
``time.perf_counter``. Unlike PyG it returns the per-call times instead of printing a table.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from pyrec.diagnostics import param_error

__all__ = ["time_calls", "check_count", "percentiles"]


def check_count(value: Any, name: str, owner: str, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, else ConfigError (a ValueError) naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise param_error(name, owner, f"an int in [{minimum}, inf)", value)
    return int(value)


def time_calls(fn: Callable[[Any], Any], inputs: Sequence[Any], warmup: int = 0,
               sync: Callable[[], None] | None = None) -> np.ndarray:
    """Call ``fn(x)`` for every ``x`` in ``inputs`` and return each call's wall time.

    The first ``warmup`` inputs are called untimed (they are part of ``inputs``).

    Args:
        fn: the call to time.
        inputs: arguments, one per call (length > ``warmup``).
        warmup: untimed leading calls.
        sync: device synchronization (e.g. ``torch.cuda.synchronize``) run before and after each
            timed call; None on CPU.

    Returns:
        np.ndarray float64 [len(inputs) - warmup], milliseconds.
    """
    sync = sync or (lambda: None)
    for x in inputs[:warmup]:
        fn(x)
    sync()
    out = np.empty(len(inputs) - warmup, dtype=np.float64)
    clock = time.perf_counter
    for i, x in enumerate(inputs[warmup:]):
        sync()
        t0 = clock()
        fn(x)
        sync()
        out[i] = (clock() - t0) * 1e3
    return out


def percentiles(ms: np.ndarray) -> dict[str, float]:
    """p50/p95/p99 (numpy's linear interpolation), mean and std of ``ms``, in ms."""
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(np.mean(ms)),
            "std": float(np.std(ms, ddof=1)) if len(ms) > 1 else 0.0}
