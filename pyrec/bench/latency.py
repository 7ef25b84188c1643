"""Online latency: single-user ``recommend(k)`` requests with seen items excluded, p50/p95/p99/mean ms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyrec.bench.timer import check_count, percentiles, time_calls

__all__ = ["LatencyResult", "measure_latency"]


@dataclass
class LatencyResult:
    """Latency of single-user requests.

    Attributes:
        p50, p95, p99, mean, std: milliseconds (the median over repetitions when ``repeats > 1``).
        n_requests, warmup, k, repeats: the protocol.
        records: one dict per timed call ``{repeat, request, user, latency_ms}`` (tidy).
        per_repeat: ``[{p50, p95, p99, mean, std}]`` per repetition.
        simulated: True when the figures come from a hardware model rather than a clock.
        method: how they were obtained, e.g. ``"perf_counter"`` or ``"fpga-sim (analytical, hls4ml C-sim)"``.
    """

    p50: float
    p95: float
    p99: float
    mean: float
    std: float
    n_requests: int
    warmup: int
    k: int
    repeats: int = 1
    records: list[dict] = field(default_factory=list, repr=False)
    per_repeat: list[dict] = field(default_factory=list, repr=False)
    simulated: bool = False
    method: str = "perf_counter"

    def __getitem__(self, key: str) -> float:
        """``result["p99"]`` etc. (the keys of :meth:`summary`)."""
        return self.summary()[key]

    def summary(self) -> dict[str, float]:
        """``{"p50", "p95", "p99", "mean", "std"}`` in ms."""
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99, "mean": self.mean, "std": self.std}

    def to_rows(self, **context: Any) -> list[dict]:
        """Tidy rows ``latency_{p50,p95,p99,mean}_ms`` (see :func:`pyrec.bench.to_rows`)."""
        from pyrec.bench.rows import to_rows

        return to_rows({f"latency_{q}_ms": (v, "ms") for q, v in self.summary().items() if q != "std"},
                       simulated=self.simulated, method=self.method, n=self.n_requests, **context)


def measure_latency(model, users, k: int = 10, n_requests: int = 1000, warmup: int = 50, *,
                    repeats: int = 1, exclude_seen: bool = True, backend=None) -> LatencyResult:
    """Time single-user ``model.recommend([u], k, exclude_seen)`` requests.

    Requests cycle through ``users`` (``users[i % len(users)]``): ``warmup`` untimed requests,
    then ``n_requests`` timed ones, each bracketed by the backend's device synchronization and
    timed with ``time.perf_counter``; repeated ``repeats`` times (p-values per repetition, the
    median across repetitions reported).

    A simulated deployment (``model.simulated`` and ``model.simulated_latency()``, e.g. fpga-sim)
    is not timed: the wall time of a C simulation says nothing about the hardware, so its
    analytical figures are returned with ``simulated=True``.

    Args:
        model: anything with ``recommend(users, k, exclude_seen)`` (a Recommender,
            :class:`~pyrec.bench.EmbeddingIndex`, a deployment).
        users: int [n] user indices to request for.
        k: list length. n_requests: timed requests (>= 1). warmup: untimed requests (>= 0).
        repeats: repetitions (>= 1). exclude_seen: mask training items.
        backend: a :class:`~pyrec.backends.Backend` whose ``synchronize`` brackets each call.

    Returns:
        LatencyResult (ms).

    Raises:
        ConfigError: a bad count or an empty ``users``.
    """
    owner = "measure_latency"
    k = check_count(k, "k", owner)
    n_requests = check_count(n_requests, "n_requests", owner)
    warmup = check_count(warmup, "warmup", owner, minimum=0)
    repeats = check_count(repeats, "repeats", owner)
    users = np.asarray(users, dtype=np.int64).reshape(-1)
    if len(users) == 0:
        from pyrec.diagnostics import param_error

        raise param_error("users", owner, "a non-empty array of user indices", "an empty array")
    if getattr(model, "simulated", False) and callable(getattr(model, "simulated_latency", None)):
        sim = model.simulated_latency()
        return LatencyResult(sim["p50"], sim["p95"], sim["p99"], sim["mean"], 0.0, n_requests, warmup, k,
                             repeats, simulated=True, method=sim.get("method", "simulated"))
    order = users[np.arange(warmup + n_requests) % len(users)]
    batches = [order[i:i + 1] for i in range(len(order))]
    sync = backend.synchronize if backend is not None else None

    def call(u):
        return model.recommend(u, k, exclude_seen)

    records, per = [], []
    for r in range(repeats):
        ms = time_calls(call, batches, warmup=warmup, sync=sync)
        timed_users = order[-len(ms):]
        records += [{"repeat": r, "request": i, "user": int(u), "latency_ms": float(t)}
                    for i, (u, t) in enumerate(zip(timed_users, ms))]
        per.append(percentiles(ms))
    med = {q: float(np.median([p[q] for p in per])) for q in per[0]}
    return LatencyResult(med["p50"], med["p95"], med["p99"], med["mean"], med["std"], n_requests, warmup, k,
                         repeats, records, per)
