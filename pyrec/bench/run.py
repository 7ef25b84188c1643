"""One benchmark of a fitted model on one backend: latency, throughput, memory, cold start, quality.

Used by ``pyrec benchmark``. All rows are tidy (:func:`pyrec.bench.to_rows`); every row carries
the backend's threads, hardware and ``simulated`` flag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BenchReport", "run_benchmark"]


@dataclass
class BenchReport:
    """Everything one :func:`run_benchmark` call measured.

    Attributes:
        rows: tidy rows. latency: ``{strategy: LatencyResult}``. throughput: ``{strategy: ThroughputResult}``.
        memory: :func:`peak_memory` dict. skipped: ``{what: reason}``. info: backend description etc.
    """

    rows: list[dict] = field(default_factory=list)
    latency: dict = field(default_factory=dict)
    throughput: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _subset_test(split, n_users: int, seed: int):
    users = np.unique(split.test.users)
    if n_users >= len(users):
        return split, len(users)
    keep = np.random.default_rng(seed).choice(users, size=n_users, replace=False)
    test = split.test.subset(np.isin(split.test.users, keep), eval_user_sample=int(n_users))
    return dataclasses.replace(split, test=test), n_users


def run_benchmark(model, backend, split=None, *, k: int = 10, n_requests: int = 1000, warmup: int = 50,
                  batch_sizes=(1, 64, 256, 943), repeats: int = 3, config: str = "", seed: int = 0,
                  evaluate: bool = True, eval_users: int | None = None, use_index: bool = True,
                  extra: dict | None = None) -> BenchReport:
    """Measure a fitted model served on ``backend``.

    Steps: serve (``backend.deploy(model)`` for a simulated backend, else the model itself);
    single-user latency (:func:`measure_latency`) and throughput (:func:`measure_throughput`);
    for dot-product models also the :class:`EmbeddingIndex` fast path, float32 and INT8 per-row
    tables (``pyrec.optim.quantize_embeddings_int8``), each with its latency ratio to
    ``model.recommend`` measured in the same process, its table size (MiB) and, for INT8, its
    quality; peak memory; cold start when the model has
    a text encoder; and test-set quality through ``pyrec.metrics.evaluate_full_ranking`` (on
    ``eval_users`` sampled test users when given; for fpga-sim the scores are the C simulation's).

    Args:
        model: fitted Recommender. backend: a :class:`~pyrec.backends.Backend`.
        split: the Split the model was trained on (needed for quality and user sampling).
        k, n_requests, warmup, batch_sizes, repeats: harness settings. config: row label.
        seed: user sampling seed. evaluate: compute quality. use_index: also time EmbeddingIndex.
        extra: columns added to every row (dataset, model, ...).

    Returns:
        BenchReport.
    """
    from pyrec.bench.cold_start import find_text_encoder, measure_cold_start
    from pyrec.bench.index import EmbeddingIndex
    from pyrec.bench.latency import measure_latency
    from pyrec.bench.memory import peak_memory
    from pyrec.bench.rows import ratio_to_baseline, to_rows
    from pyrec.bench.throughput import measure_throughput
    from pyrec.diagnostics import ConfigError

    rep = BenchReport(info=backend.describe())
    ctx = {"config": config, "backend": rep.info, "seed": seed, **(extra or {})}
    serve = backend.deploy(model, split) if backend.simulated else model
    pool = np.unique(split.test.users) if split is not None else np.arange(model.n_users_)
    users = np.random.default_rng(seed).permutation(pool)

    strategies = {"model.recommend": serve}
    if use_index and not backend.simulated:
        try:
            strategies["embedding-index"] = EmbeddingIndex.from_model(model)
            strategies["embedding-index-int8"] = EmbeddingIndex.from_model(model, dtype="int8")
        except ConfigError as exc:
            rep.skipped["embedding-index"] = str(exc)
    for name, obj in strategies.items():
        lat = measure_latency(obj, users, k=k, n_requests=n_requests, warmup=warmup, backend=backend)
        thr = measure_throughput(obj, pool, k=k, batch_sizes=batch_sizes, repeats=repeats, backend=backend)
        rep.latency[name], rep.throughput[name] = lat, thr
        rep.rows += lat.to_rows(strategy=name, **ctx) + thr.to_rows(strategy=name, **ctx)
    base = [r["latency_ms"] for r in rep.latency["model.recommend"].records]
    for name in ("embedding-index", "embedding-index-int8"):
        if name in rep.latency:
            fast = [r["latency_ms"] for r in rep.latency[name].records]
            ratio = ratio_to_baseline(fast, base)
            rep.rows += to_rows({"latency_ratio_vs_recommend": (ratio["ratio"], "ratio"),
                                 "index_size_mib": (strategies[name].nbytes() / 2**20, "MiB")},
                                strategy=name, n=len(fast), **ctx,
                                method="median(index) / median(model.recommend), same process")

    if backend.simulated:
        sim = serve.simulated_latency()
        rep.rows += to_rows({"fpga_latency_cycles": (sim["latency_cycles"], "cycles"),
                             "fpga_ii_cycles": (sim["ii_cycles"], "cycles"),
                             "fpga_multipliers": (sim["multipliers"], "count")},
                            strategy="model.recommend", method=sim["method"], **ctx)
        probe = users[: min(4, len(users))]
        err = float((serve.score(probe) - serve.float_score(probe)).abs().max()) / serve.input_scale
        rep.rows += to_rows({"fixed_point_max_abs_err": (err, "score")}, strategy="model.recommend",
                            method="hls4ml C-sim vs float32 head", n=int(len(probe) * serve.n_items_), **ctx)

    encoder = find_text_encoder(model)
    if encoder is None:
        rep.skipped["cold_start"] = (
            f"{type(model).__name__} was loaded from disk: it scores from its saved item text table "
            "and holds no encoder to embed new items (benchmark a freshly trained model)"
            if hasattr(model, "project_text") else f"{type(model).__name__} has no text encoder")
    else:
        text = "A new item: a short description used to measure cold-start embedding time."
        cs = measure_cold_start(encoder, text)
        rep.rows += cs.to_rows(strategy="text-encoder", **ctx)

    if evaluate and split is not None:
        import warnings

        from pyrec.diagnostics import DataWarning
        from pyrec.metrics import evaluate_full_ranking

        sub, n_eval = _subset_test(split, eval_users, seed) if eval_users else (split, len(pool))
        with warnings.catch_warnings():
            if sub is not split:  # users outside the sample have no test items by construction
                warnings.filterwarnings("ignore", message=".*no relevant item.*", category=DataWarning)
            res = evaluate_full_ranking(serve.score, sub, part="test", ks=(k,))
        rep.rows += to_rows({m: (v, "score") for m, v in res.summary.items()}, strategy="model.recommend",
                            method="full-ranking" + (" (C-sim scores)" if backend.simulated else ""),
                            n=int(n_eval), **ctx)
        if "embedding-index-int8" in strategies:  # what per-row INT8 tables cost in quality
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*no relevant item.*", category=DataWarning)
                q = evaluate_full_ranking(strategies["embedding-index-int8"].score, sub, part="test",
                                          ks=(k,))
            rep.rows += to_rows({m: (v, "score") for m, v in q.summary.items()},
                                strategy="embedding-index-int8", n=int(n_eval), **ctx,
                                method="full-ranking (INT8 per-row tables)")

    rep.memory = peak_memory(backend)
    rep.rows += to_rows({m: (v, "MiB") for m, v in rep.memory.items()}, strategy="process",
                        method="getrusage ru_maxrss", simulated=False, **ctx)
    return rep
