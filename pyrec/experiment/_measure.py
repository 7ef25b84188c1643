"""The runner's measuring adapters: ranking quality (``pyrec.metrics``), serving performance
(``pyrec.bench``), model size and peak memory.

Every function returns rows ``{"protocol", "metric", "value", "unit"}``; the runner adds the run's
factor columns. Performance metrics do not depend on the evaluation protocol and carry the run's
first protocol.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from pyrec.experiment._context import RunContext, Trained
from pyrec.experiment._grid import RunSpec

__all__ = ["encoder_size_mib", "evaluate_quality", "measure", "model_size_mib", "peak_rss", "training_rows"]

QUALITY_UNIT = "score"


def _row(ctx: RunContext, metric: str, value: float, unit: str) -> dict:
    return {"protocol": ctx.config.protocols[0], "metric": metric, "value": float(value), "unit": unit}


def evaluate_quality(spec: RunSpec, scorer, split, seed: int, ctx: RunContext):
    """Ranking quality on the test part under each configured protocol.

    ``full-ranking``: :func:`pyrec.metrics.evaluate_full_ranking` (all items ranked, train and
    valid items masked); ``sampled-<N>``: :func:`pyrec.metrics.evaluate_sampled` with N negatives
    drawn with the run's seed.

    Returns:
        (rows, per_user): rows for every metric@k (e.g. ``ndcg@10``, unit ``score``); ``per_user``
        the first protocol's ``EvalResult.per_user`` (``user, metric, k, value``).
    """
    from pyrec.metrics import evaluate_full_ranking, evaluate_sampled

    cfg = ctx.config
    rows, per_user = [], None
    for protocol in cfg.protocols:
        if protocol == "full-ranking":
            res = evaluate_full_ranking(scorer.score, split, part="test", ks=cfg.ks, metrics=cfg.metrics)
        else:
            n = int(protocol.removeprefix("sampled-"))
            res = evaluate_sampled(scorer.score, split, part="test", n_negatives=n, seed=int(seed),
                                   ks=cfg.ks, metrics=cfg.metrics)
        rows += [{"protocol": res.protocol, "metric": m, "value": float(v), "unit": QUALITY_UNIT}
                 for m, v in res.summary.items()]
        if per_user is None:
            per_user = res.per_user
    return rows, per_user


def _tensor_bytes(obj: Any, seen: set[int]) -> int:
    import torch

    if isinstance(obj, torch.Tensor):
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        return obj.numel() * obj.element_size()
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        return obj.nbytes
    if isinstance(obj, torch.nn.Module):
        total = sum(_tensor_bytes(t, seen) for t in list(obj.parameters()) + list(obj.buffers()))
        # dynamically quantized Linear layers keep their packed int8 weights in the state_dict only
        return total + sum(_tensor_bytes(v, seen) for v in obj.state_dict().values()
                           if isinstance(v, torch.Tensor) and not v.is_floating_point())
    return 0


def model_size_mib(model) -> float:
    """Size of the model as saved, MiB (2**20 bytes).

    The bytes of every file ``model.save(dir)`` writes, minus the training interactions
    (``seen.npz``: data needed to exclude seen items, not model). Models without ``save`` are
    measured by their tensors and numeric arrays (one attribute level deep, shared ones once).
    For the text models this is the serving state (projection, fusion and the item text table);
    the encoder that produced the table is :func:`encoder_size_mib`.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="pyrec-size-") as tmp:
            model.save(tmp)
            return sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file() and f.name != "seen.npz") / 2**20
    except NotImplementedError:
        pass
    seen: set[int] = set()
    total = _tensor_bytes(model, seen)
    for name, value in vars(model).items():
        if name != "seen_":
            total += _tensor_bytes(value, seen)
    return total / 2**20


def _inference_encoder(model):
    """The encoder a text model embeds new item texts with (INT8 after quantization), or None."""
    for attr in ("text_encoder", "inference_encoder_", "encoder_"):
        enc = getattr(model, attr, None)
        if enc is not None:
            return enc
    return None


def encoder_size_mib(model) -> float | None:
    """Serialized ``state_dict`` size of a text model's inference encoder (INT8 after
    quantization), MiB, via ``pyrec.optim.model_size_mib``; None for models without one."""
    enc = _inference_encoder(model)
    if enc is None:
        return None
    from pyrec.optim import model_size_mib as state_dict_mib

    return float(state_dict_mib(getattr(enc, "model", enc)))


def _users_for_timing(split, n: int, seed: int) -> np.ndarray:
    users = np.unique(split.test.users)
    rng = np.random.default_rng(seed)
    return rng.choice(users, size=n, replace=len(users) < n).astype(np.int64)


def _bare_index(model):
    """An :class:`~pyrec.bench.EmbeddingIndex` of ``model``'s final embeddings (the bare top-k
    arithmetic of ``benchmarks/bench_latency.py``), or None for a model that is not an inner
    product of embeddings (EASE, GF-CF, popularity, a simulated deployment)."""
    from pyrec.bench import EmbeddingIndex
    from pyrec.diagnostics import ConfigError

    try:
        return EmbeddingIndex.from_model(model)
    except (ConfigError, AttributeError, TypeError, ValueError):
        return None


def measure(spec: RunSpec, scorer, split, seed: int, ctx: RunContext) -> list[dict]:
    """Serving performance through ``pyrec.bench``.

    * ``latency_{p50,p95,p99,mean}_ms``: single-user ``recommend(k)`` requests (seen items
      excluded) for random test users, after warm-up, ``latency_repeats`` times with the median
      of each percentile reported (:func:`pyrec.bench.measure_latency`); for models scored by
      inner products of embeddings also ``latency_bare_p50_ms``, the same requests answered by
      the bare arithmetic (:class:`~pyrec.bench.EmbeddingIndex`: a mat-vec, the mask, a
      partition; ``benchmarks/bench_latency.py``), and ``serving_overhead_ratio`` = p50 / bare p50;
    * ``throughput_users_s``: batched ``recommend`` over all test users
      (:func:`pyrec.bench.measure_throughput`);
    * ``model_size_mib`` (:func:`model_size_mib`); for text models also ``encoder_size_mib`` and
      ``cold_start_ms`` (embed one new item's text and project it into the item table,
      :func:`pyrec.bench.measure_cold_start`).

    A simulated deployment (fpga-sim) reports its design's analytical latency and throughput
    instead of a clock (``pyrec.bench`` does this; rows get ``simulated=True`` from the factors).
    """
    from pyrec.bench import measure_cold_start, measure_latency, measure_throughput

    b = ctx.config.bench
    users = _users_for_timing(split, b.latency_requests + b.warmup, seed)
    lat = measure_latency(scorer, users, k=b.k, n_requests=b.latency_requests, warmup=b.warmup,
                          repeats=b.latency_repeats)
    rows = [_row(ctx, f"latency_{q}_ms", lat[q], "ms") for q in ("p50", "p95", "p99", "mean")]
    bare = None if lat.simulated else _bare_index(scorer)
    if bare is not None:  # the same requests on the bare arithmetic, in this process
        base = measure_latency(bare, users, k=b.k, n_requests=b.latency_requests, warmup=b.warmup,
                               repeats=b.latency_repeats)
        rows.append(_row(ctx, "latency_bare_p50_ms", base["p50"], "ms"))
        rows.append(_row(ctx, "serving_overhead_ratio", lat["p50"] / base["p50"], "ratio"))
    thr = measure_throughput(scorer, np.unique(split.test.users), k=b.k, batch_size=b.throughput_batch_size,
                             repeats=b.throughput_repeats)
    rows.append(_row(ctx, "throughput_users_s", float(thr), "users/s"))
    if lat.simulated:
        ctx.log.info("%s: latency and throughput from %s", spec.label, lat.method)
    model = scorer.model if getattr(scorer, "simulated", False) and hasattr(scorer, "model") else scorer
    rows.append(_row(ctx, "model_size_mib", model_size_mib(model), "MiB"))
    enc_mib = encoder_size_mib(model)
    if enc_mib is not None:
        rows.append(_row(ctx, "encoder_size_mib", enc_mib, "MiB"))
        text = next((t for t in split.train.item_text if t.strip()), "a new item")
        project = getattr(model, "project_text", None)  # text embedding -> item-table space
        cold = measure_cold_start(_inference_encoder(model), text, project=project, repeats=b.cold_start_repeats)
        rows.append(_row(ctx, "cold_start_ms", cold.median_ms, "ms"))
    return rows


def training_rows(trained: Trained, ctx: RunContext) -> list[dict]:
    """``train_time_s`` (s), and when the model has a training record, ``epochs_trained``,
    ``best_epoch`` and ``seconds_per_epoch``; plus the extra facts the optimization adapters set."""
    rows = [_row(ctx, "train_time_s", trained.train_time_s, "s")]
    res = getattr(trained.model, "train_result_", None)
    if res is not None and getattr(res, "epochs_run", 0):
        rows.append(_row(ctx, "epochs_trained", res.epochs_run, "epochs"))
        rows.append(_row(ctx, "best_epoch", res.best_epoch, "epochs"))
        rows.append(_row(ctx, "seconds_per_epoch", res.seconds_per_epoch, "s"))
    rows += [_row(ctx, m, v, u) for m, (v, u) in trained.extra.items()]
    return rows


def _release_freed_memory() -> None:
    """``gc.collect()`` then glibc ``malloc_trim(0)`` (returns freed heap pages to the system; a
    no-op where the C library has no such call, e.g. macOS or musl)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@contextmanager
def peak_rss():
    """Peak resident set size of this process while the block runs (``holder.peak_mib``, MiB;
    ``holder.start_mib`` is the RSS when it began).

    Samples ``psutil.Process().memory_info().rss`` every 5 ms in a daemon thread (and at entry and
    exit), so the peak of this block is reported rather than the process's lifetime peak
    (``pyrec.bench.peak_memory`` gives the lifetime ``ru_maxrss``). A spike shorter than 5 ms
    can be missed. At entry, garbage is collected and glibc's ``malloc_trim(0)`` hands memory that
    earlier work freed back to the system, so ``start_mib`` is what is live (not what an earlier,
    larger run left in the allocator) and the growth ``peak_mib - start_mib`` is this block's own.
    """
    import threading

    import psutil

    _release_freed_memory()
    proc = psutil.Process()

    class _Holder:
        start_mib = proc.memory_info().rss / 2**20
        peak_mib = start_mib

    stop = threading.Event()

    def _sample():
        while not stop.is_set():
            _Holder.peak_mib = max(_Holder.peak_mib, proc.memory_info().rss / 2**20)
            stop.wait(0.005)

    thread = threading.Thread(target=_sample, daemon=True)
    thread.start()
    try:
        yield _Holder
    finally:
        stop.set()
        thread.join()
        _Holder.peak_mib = max(_Holder.peak_mib, proc.memory_info().rss / 2**20)
