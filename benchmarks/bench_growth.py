"""Growth of training time, full-ranking evaluation time and memory with the number of interactions.

Graphs come from :func:`pyrec.bench.synthetic.zipf_interactions` (ML-1M's users and items per
interaction, Zipf(1) item popularity, every user >= 5 distinct items, seed 0), split per user
8:1:1 with ``pyrec.data.split_data(..., "ratio", seed=0)``. For each size and model:

* LightGCN (``get_model("lightgcn", epochs=E)``, no validation): ``train_s_per_epoch`` = median
  of the training history's ``epoch_time_s`` (training only); ``train_peak_mib`` = peak RSS over
  the whole ``fit`` (graph building included) minus the RSS before it;
* EASE (``get_model("ease", l2=300.0)``): ``fit_s`` (median over repeats) and its peak; catalogues
  above EASE's ``max_items`` are recorded as ``"skipped: n_items > max_items"``;
* ``random`` (opt-in, ``--models ...,random``): uniform random scores, so the evaluation alone can be
  timed where training is too slow (e.g. 10⁷: 60,606 x 37,037);
* all: ``eval_s`` = wall time of ``evaluate_full_ranking(model.score, split, part="test",
  ks=(10,))`` (median over repeats) and ``eval_peak_mib``. That evaluation scores users in batches
  of ``batch_size`` (default 1024): its transient memory is about ``batch_size x n_items x 4`` B
  of scores (plus the masks, sparse), not ``n_users x n_items``.

Peak memory: each (size, model) runs in a fresh worker process, warmed up on a tiny graph first
(imports, thread pools); :func:`pyrec.experiment._measure.peak_rss` (psutil RSS sampled every 5 ms
in a thread), reported as the delta over the RSS at the start of the step, in MiB (2**20 B); the
largest delta over repeats. Memory the fit freed can be reused by the evaluation that follows, so
``eval_peak_mib`` is what the evaluation adds, not what it touches. ``ndcg@10`` is recorded as a sanity check only (1-2 epochs).

Exponents: least squares of log(value) on log(interactions) per model and quantity (>= 2 sizes;
memory peaks under 1 MiB, i.e. reused allocator memory, left out).

Cost at 10⁷ (``--sizes 1e5,1e6,1e7``, 60,606 users x 37,037 items): generating and splitting take
≈ 45 s; EASE is skipped (37,037 > max_items); one LightGCN epoch of 4,096-triple batches is
≈ 1,967 batches of ≈ 1.25 s on 2 cores (≈ 40 min), because every batch propagates the whole graph
(16M nonzeros x 2 layers, forward and backward): epoch time grows like (n / batch) x n. So from
``--big-batch-from`` (10⁷) LightGCN trains with ``--big-batch`` triples per batch (262,144: 31
batches per epoch), recorded per row as ``train_batch_size``; its seconds per epoch are not
comparable with the smaller sizes' (fewer propagations), its memory is (the graph, the embeddings
and one propagation's activations dominate; the batch adds ``batch x d`` floats).

Usage::

    python benchmarks/bench_growth.py [--sizes 1e5,1e6] [--epochs 2] [--repeats 3]
        [--out benchmarks/results/bench_growth.json]

Writes the JSON (and ``bench_growth.png`` next to it when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "bench_growth.json"
QUANTITIES = ("train_s_per_epoch", "fit_s", "eval_s", "train_peak_mib", "fit_peak_mib", "eval_peak_mib")


def log(msg: str) -> None:
    print(f"[bench_growth {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _measured(fn):
    """(result, seconds, peak RSS delta MiB) of ``fn()``."""
    from pyrec.experiment._measure import peak_rss

    gc.collect()
    with peak_rss() as mem:
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
    return out, dt, max(0.0, mem.peak_mib - mem.start_mib)


def _evaluate(model, split, repeats: int, batch_size: int) -> dict:
    from pyrec.metrics import evaluate_full_ranking

    times, peaks, ndcg = [], [], float("nan")
    for _ in range(repeats):
        res, dt, peak = _measured(lambda: evaluate_full_ranking(model.score, split, part="test", ks=(10,),
                                                                 metrics=("ndcg",), batch_size=batch_size))
        times.append(dt)
        peaks.append(peak)
        ndcg = float(res.summary["ndcg@10"])
    return {"eval_s": statistics.median(times), "eval_s_all": times, "eval_peak_mib": max(peaks),
            "ndcg@10": ndcg}


def bench_lightgcn(split, epochs: int, eval_repeats: int, batch_size: int, train_batch: int = 4096) -> dict:
    from pyrec.models import get_model

    model = get_model("lightgcn", epochs=epochs, eval_every=10_000, patience=None, seed=0,
                      batch_size=train_batch)
    _, fit_s, peak = _measured(lambda: model.fit(split))
    epoch_times = [float(r["epoch_time_s"]) for r in model.train_result_.history]
    out = {"train_s_per_epoch": statistics.median(epoch_times), "epoch_time_s_all": epoch_times,
           "fit_wall_s": fit_s, "train_peak_mib": peak, "train_batch_size": train_batch}
    out.update(_evaluate(model, split, eval_repeats, batch_size))
    return out


def bench_ease(split, repeats: int, eval_repeats: int, batch_size: int) -> dict:
    from pyrec.models import get_model

    probe = get_model("ease", l2=300.0)
    if split.n_items > probe.config.max_items:
        return {"skipped": f"skipped: n_items > max_items ({split.n_items} > {probe.config.max_items})"}
    times, peaks, model = [], [], None
    for _ in range(repeats):
        model = get_model("ease", l2=300.0)
        _, dt, peak = _measured(lambda m=model: m.fit(split))
        times.append(dt)
        peaks.append(peak)
    out = {"fit_s": statistics.median(times), "fit_s_all": times, "fit_peak_mib": max(peaks)}
    out.update(_evaluate(model, split, eval_repeats, batch_size))
    return out


MIN_FIT_MIB = 1.0  # peaks below this are allocator reuse / sampling noise, not a size to fit


class _RandomScorer:
    """Uniform random scores: the evaluation's own cost and memory, without a model's."""

    name = "random"

    def __init__(self, n_items: int) -> None:
        import torch

        self.n_items, self.gen = n_items, torch.Generator().manual_seed(0)

    def score(self, users):
        import torch

        return torch.rand(len(users), self.n_items, generator=self.gen)


def bench_random(split, eval_repeats: int, batch_size: int) -> dict:
    return _evaluate(_RandomScorer(split.n_items), split, eval_repeats, batch_size)


def fit_exponents(rows: list[dict]) -> dict:
    """{model: {quantity: slope of log(value) on log(interactions)}} over sizes with a value
    (memory peaks under ``MIN_FIT_MIB`` left out; seconds per epoch only at the 4,096 batch)."""
    out: dict = {}
    for model in sorted({r["model"] for r in rows}):
        for q in QUANTITIES:
            floor = MIN_FIT_MIB if q.endswith("_mib") else 0.0
            pts = [(r["interactions"], r[q]) for r in rows
                   if r["model"] == model and isinstance(r.get(q), (int, float)) and r[q] > floor
                   and (q != "train_s_per_epoch" or r.get("train_batch_size", 4096) == 4096)]
            if len(pts) >= 2:
                x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
                out.setdefault(model, {})[q] = float(np.polyfit(x, y, 1)[0])
    return out


def machine_facts() -> dict:
    import psutil
    import torch

    return {"python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "cuda": torch.cuda.is_available()}


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for model in sorted({r["model"] for r in result["rows"]}):
        rows = [r for r in result["rows"] if r["model"] == model]
        for ax, qs in zip(axes, (("train_s_per_epoch", "fit_s", "eval_s"),
                                 ("train_peak_mib", "fit_peak_mib", "eval_peak_mib"))):
            for q in qs:
                # seconds per epoch at a larger training batch are another quantity: own marker
                big = [r for r in rows if q == "train_s_per_epoch" and r.get("train_batch_size", 4096) != 4096]
                pts = [(r["interactions"], r[q]) for r in rows
                       if isinstance(r.get(q), (int, float)) and r not in big]
                if pts:
                    slope = result["exponents"].get(model, {}).get(q)
                    label = f"{model} {q}" + (f" (n^{slope:.2f})" if slope is not None else "")
                    line = ax.loglog(*zip(*pts), marker="o", label=label)[0]
                    for r in big:
                        ax.loglog([r["interactions"]], [r[q]], marker="s", linestyle="none",
                                  color=line.get_color(),
                                  label=f"{model} {q}, batch {r['train_batch_size']:,}")
    axes[0].set(xlabel="interactions", ylabel="seconds", title="time")
    axes[1].set(xlabel="interactions", ylabel="MiB over the step's start", title="peak RSS delta")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def _warm_up(model: str, batch_size: int) -> None:
    """Fit and evaluate once on a tiny graph, so imports, thread pools and allocator arenas are not
    charged to the first measured step."""
    from pyrec.bench.synthetic import zipf_interactions
    from pyrec.data import split_data

    split = split_data(zipf_interactions(5_000, seed=1), "ratio", seed=0)
    if model == "lightgcn":
        bench_lightgcn(split, 1, 1, batch_size)
    elif model == "random":
        bench_random(split, 1, batch_size)
    else:
        bench_ease(split, 1, 1, batch_size)


def _worker(n: int, model: str, args) -> dict:
    """One size and model in this process; progress to stderr, the row returned."""
    import contextlib

    from pyrec.bench.synthetic import zipf_interactions
    from pyrec.data import split_data

    with contextlib.redirect_stdout(sys.stderr):
        if model == "ease":  # refuse before generating a graph EASE will not take
            from pyrec.bench.synthetic import scaled_shape
            from pyrec.models import get_model

            n_users, n_items = scaled_shape(n)
            max_items = get_model("ease", l2=300.0).config.max_items
            if n_items > max_items:
                msg = f"skipped: n_items > max_items ({n_items} > {max_items})"
                log(f"n={n:.0e} ease: {msg}")
                return {"interactions": n, "n_users": n_users, "n_items": n_items, "model": model, "skipped": msg}
        _warm_up(model, args.eval_batch_size)
        t0 = time.perf_counter()
        data = zipf_interactions(n, zipf_a=args.zipf_a, seed=args.seed)
        split = split_data(data, "ratio", seed=0)
        del data
        gen_s = time.perf_counter() - t0
        reps = args.repeats if n < args.repeat_below else 1
        row = {"interactions": n, "n_users": split.n_users, "n_items": split.n_items,
               "n_train": split.train.n_interactions, "n_test": split.test.n_interactions,
               "density": n / (split.n_users * split.n_items), "generate_split_s": gen_s,
               "eval_scores_mib": args.eval_batch_size * split.n_items * 4 / 2**20,
               "model": model, "repeats": reps}
        log(f"n={n:.0e} {model}: {split.n_users} users x {split.n_items} items, generated+split in {gen_s:.1f} s")
        if model == "lightgcn":
            big = n >= args.big_batch_from
            r = bench_lightgcn(split, args.epochs, reps, args.eval_batch_size,
                               args.big_batch if big else 4096)
            log(f"  lightgcn: {r['train_s_per_epoch']:.2f} s/epoch (+{r['train_peak_mib']:.0f} MiB), "
                f"eval {r['eval_s']:.2f} s (+{r['eval_peak_mib']:.0f} MiB), ndcg@10 {r['ndcg@10']:.4f}")
        elif model == "ease":
            r = bench_ease(split, reps, reps, args.eval_batch_size)
            if "skipped" in r:
                log(f"  ease: {r['skipped']}")
            else:
                log(f"  ease: fit {r['fit_s']:.2f} s (+{r['fit_peak_mib']:.0f} MiB), eval {r['eval_s']:.2f} s "
                    f"(+{r['eval_peak_mib']:.0f} MiB), ndcg@10 {r['ndcg@10']:.4f}")
        elif model == "random":
            r = bench_random(split, reps, args.eval_batch_size)
            log(f"  random scorer: eval {r['eval_s']:.2f} s (+{r['eval_peak_mib']:.0f} MiB; scores per batch "
                f"{row['eval_scores_mib']:.0f} MiB)")
        else:
            raise SystemExit(f"bench_growth: unknown model {model!r} (lightgcn, ease, random)")
    return {**row, **r}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="comma-separated interaction counts (e.g. 1e5,1e6,1e7)")
    ap.add_argument("--models", default="lightgcn,ease", help="among lightgcn, ease, random")
    ap.add_argument("--epochs", type=int, default=2, help="LightGCN epochs timed per size")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of EASE fit and of evaluation (cheap sizes)")
    ap.add_argument("--repeat-below", type=float, default=2e6,
                    help="sizes at or above this are measured once")
    ap.add_argument("--eval-batch-size", type=int, default=1024)
    ap.add_argument("--big-batch", type=int, default=262_144,
                    help="LightGCN training batch at sizes >= --big-batch-from (4,096 below)")
    ap.add_argument("--big-batch-from", type=float, default=1e7,
                    help="interactions from which LightGCN trains with --big-batch (an epoch of "
                         "4,096-triple batches at 10^7 is ~40 min on 2 cores)")
    ap.add_argument("--zipf-a", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--replot", action="store_true", help="redraw the plot of --out's JSON and exit")
    args = ap.parse_args(argv)
    if args.replot:
        out = Path(args.out)
        plot(json.loads(out.read_text()), out.with_suffix(".png"))
        return {}

    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.worker:
        print(json.dumps(_worker(sizes[0], models[0], args)), flush=True)
        return {}
    rows, t_start = [], time.perf_counter()
    for n in sizes:
        for model in models:
            # a fresh process per (size, model): its peaks are its own, not an earlier step's
            cmd = [sys.executable, __file__, "--worker", "--sizes", str(n), "--models", model,
                   "--epochs", str(args.epochs), "--repeats", str(args.repeats),
                   "--repeat-below", str(args.repeat_below), "--eval-batch-size", str(args.eval_batch_size),
                   "--zipf-a", str(args.zipf_a), "--seed", str(args.seed)]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    result = {
        "benchmark": "growth",
        "generator": "pyrec.bench.synthetic.zipf_interactions",
        "split": "ratio 8:1:1, seed 0",
        "settings": {"sizes": sizes, "models": models, "lightgcn_epochs": args.epochs, "repeats": args.repeats,
                     "repeat_below": args.repeat_below, "eval_batch_size": args.eval_batch_size,
                     "zipf_a": args.zipf_a, "seed": args.seed},
        "memory_method": "one fresh process per (size, model), warmed up on a 5,000-interaction graph; psutil "
                         "RSS sampled every 5 ms (pyrec.experiment._measure.peak_rss), peak minus the RSS at "
                         "the step's start, MiB; max over repeats (memory freed by an earlier step of the same "
                         "process, e.g. the fit before the evaluation, can be reused and is not counted again)",
        "eval_streaming": f"evaluate_full_ranking scores batch_size={args.eval_batch_size} users per call: "
                          "dense scores are batch_size x n_items float32",
        "rows": rows,
        "exponents": fit_exponents(rows),
        "machine": machine_facts(),
        "total_s": time.perf_counter() - t_start,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    log(f"wrote {out}")
    png = out.with_suffix(".png")
    log(f"wrote {png}" if plot(result, png) else "matplotlib not installed: no plot")
    for model, qs in result["exponents"].items():
        log(f"exponents {model}: " + ", ".join(f"{q} {v:.2f}" for q, v in qs.items()))
    log(f"total {result['total_s']:.0f} s")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
