"""Latency / throughput / memory benchmark harness (timing protocol after PyG's profile/benchmark.py).

``measure_latency`` (single-user recommend(k), p50/p95/p99/mean ms), ``measure_throughput``
(users/s by batch size), ``peak_memory`` (MiB), ``measure_cold_start`` (ms), ``EmbeddingIndex``
(sub-millisecond serving from precomputed embeddings), ``to_rows`` (tidy rows) and
``run_benchmark`` (all of it for one model on one backend), ``zipf_interactions`` /
``scaled_shape`` (generated MovieLens-shaped graphs with Zipf popularity, for growth benchmarks).
Names load on first use.
"""

from __future__ import annotations

from pyrec._lazy import attach

_LAZY = {
    "time_calls": "pyrec.bench.timer",
    "percentiles": "pyrec.bench.timer",
    "LatencyResult": "pyrec.bench.latency",
    "measure_latency": "pyrec.bench.latency",
    "ThroughputResult": "pyrec.bench.throughput",
    "measure_throughput": "pyrec.bench.throughput",
    "peak_memory": "pyrec.bench.memory",
    "reset_peak_memory": "pyrec.bench.memory",
    "ColdStartResult": "pyrec.bench.cold_start",
    "measure_cold_start": "pyrec.bench.cold_start",
    "find_text_encoder": "pyrec.bench.cold_start",
    "EmbeddingIndex": "pyrec.bench.index",
    "extract_embeddings": "pyrec.models.embeddings",
    "ROW_COLUMNS": "pyrec.bench.rows",
    "to_rows": "pyrec.bench.rows",
    "ratio_to_baseline": "pyrec.bench.rows",
    "BenchReport": "pyrec.bench.run",
    "run_benchmark": "pyrec.bench.run",
    "zipf_interactions": "pyrec.bench.synthetic",
    "scaled_shape": "pyrec.bench.synthetic",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
