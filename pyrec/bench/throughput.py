"""Batch throughput: users/s of ``recommend(batch, k)`` at several batch sizes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyrec.bench.timer import check_count

__all__ = ["ThroughputResult", "measure_throughput"]


@dataclass
class ThroughputResult:
    """Users per second by batch size.

    Attributes:
        users_per_s: ``{batch_size: median users/s over repeats}``.
        records: tidy ``{batch_size, repeat, users, seconds, users_per_s}`` per timed pass.
        simulated, method: as in :class:`~pyrec.bench.LatencyResult`.

    ``float(result)`` is the users/s at the largest batch size measured.
    """

    users_per_s: dict[int, float]
    records: list[dict] = field(default_factory=list, repr=False)
    simulated: bool = False
    method: str = "perf_counter"

    def __float__(self) -> float:
        return float(self.users_per_s[max(self.users_per_s)])

    def to_rows(self, **context: Any) -> list[dict]:
        """Rows ``throughput_users_s`` with a ``batch_size`` column."""
        from pyrec.bench.rows import to_rows

        rows = []
        for bs, v in sorted(self.users_per_s.items()):
            rows += to_rows({"throughput_users_s": (v, "users/s")}, simulated=self.simulated, method=self.method,
                            batch_size=int(bs), **context)
        return rows


def measure_throughput(model, users=None, k: int = 10, batch_sizes=(1, 64, 256, 943), *,
                       batch_size: int | None = None, repeats: int = 3, warmup: int = 1,
                       exclude_seen: bool = True, backend=None) -> ThroughputResult:
    """Users/s of batched ``model.recommend(batch, k, exclude_seen)`` over all of ``users``.

    For each batch size, one pass recommends for every user in ``users`` in consecutive batches;
    ``warmup`` untimed passes, then ``repeats`` timed passes (median reported). Device sync
    brackets each pass.

    Args:
        model: anything with ``recommend``.
        users: int [n] (default ``arange(model.n_users_)``).
        k: list length. batch_sizes: sizes to measure. batch_size: measure only this size.
        repeats: timed passes per size. warmup: untimed passes. backend: for ``synchronize``.

    Returns:
        ThroughputResult (users/s). For a simulated deployment, the analytical users/s.

    Raises:
        ConfigError: bad counts.
    """
    owner = "measure_throughput"
    k = check_count(k, "k", owner)
    repeats = check_count(repeats, "repeats", owner)
    warmup = check_count(warmup, "warmup", owner, minimum=0)
    sizes = (batch_size,) if batch_size is not None else tuple(batch_sizes)
    sizes = tuple(check_count(b, "batch_size", owner) for b in sizes)
    if not sizes:
        from pyrec.diagnostics import param_error

        raise param_error("batch_sizes", owner, "a non-empty sequence of ints", batch_sizes)
    if getattr(model, "simulated", False) and callable(getattr(model, "simulated_latency", None)):
        sim = model.simulated_latency()
        return ThroughputResult({b: float(sim["users_per_s"]) for b in sizes}, simulated=True,
                                method=sim.get("method", "simulated"))
    users = np.arange(model.n_users_, dtype=np.int64) if users is None else np.asarray(users, np.int64).reshape(-1)
    sync = backend.synchronize if backend is not None else (lambda: None)
    result, records = {}, []
    for bs in sizes:
        batches = [users[i:i + bs] for i in range(0, len(users), bs)]
        for _ in range(warmup):
            for b in batches:
                model.recommend(b, k, exclude_seen)
        rates = []
        for r in range(repeats):
            sync()
            t0 = time.perf_counter()
            for b in batches:
                model.recommend(b, k, exclude_seen)
            sync()
            sec = time.perf_counter() - t0
            rates.append(len(users) / sec)
            records.append({"batch_size": bs, "repeat": r, "users": len(users), "seconds": sec,
                            "users_per_s": rates[-1]})
        result[bs] = float(np.median(rates))
    return ThroughputResult(result, records)
