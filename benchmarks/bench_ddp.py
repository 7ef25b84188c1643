"""One process vs data-parallel processes: LightGCN on ML-100K with the ``deepspeed`` backend.

Protocol (RecBole's ML-100K setting, as ``pyrec train``): ratings >= 3, per-user ratio split 8:1:1
with seed 0, full-ranking NDCG@10 on the test part of the state restored by validation (every 2
epochs). Both runs use the same global batch (LightGCN's ``batch_size``, 4,096 rows) and the same
``--epochs``; the ``--nproc`` run trains ``batch_size / nproc`` rows per rank per step, gloo on
CPU, gradients averaged by DeepSpeed (ZeRO-0 all-reduce, ZeRO-1/2 reduce-scatter). The CPU
threads are shared: one process gets ``--threads``, each of the N processes ``--threads // N``.
``OMP_WAIT_POLICY=PASSIVE`` (as ``pyrec train``): spinning OpenMP threads collapse on a busy CPU.

Timing: ``epoch_time_s`` of the training history (training only; rank 0's clock for N processes;
no validation, no process start-up), median over the epochs after the first of every repeat.
Runs alternate (1, N, 1, N, ...) so that load drift on a shared machine hits both. The speed-up is
``one_process_s_per_epoch / n_process_s_per_epoch`` (> 1: the N processes are faster). Every
LightGCN step propagates the whole graph, whatever the batch, so N ranks each do about a whole
step's work on 1/N of the rows: on one machine little speed-up is expected from splitting a
batch (``one_process_1_thread`` tells it from thread contention); a gain needs separate devices
(``deepspeed --num_gpus N``), not measured by this script.

Usage::

    python benchmarks/bench_ddp.py [--epochs 10] [--repeats 3] [--nproc 2] [--threads 2]
        [--zero-stages 0,1,2] [--out benchmarks/results/bench_ddp.json]

Writes the JSON: ``one_process`` / ``n_process`` (ZeRO-0) with ``s_per_epoch`` (median),
``epoch_times_s``, ``ndcg@10`` (first repeat; ``ndcg@10_repeats`` shows later repeats give the
same numbers) and ``wall_s`` (whole run: start-up, training, validation, test); ``speedup``;
``ndcg_diff`` (N-process minus one-process); ``one_process_1_thread`` (when ``--threads`` > 1: one
process on a single thread, to tell the gain of splitting the batch from the loss of a process's
threads contending on a busy CPU); ``zero_stages``: per stage of the N-process run its
``ndcg@10`` and ``s_per_epoch``; the machine, load average and settings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "bench_ddp.json"


def log(msg: str) -> None:
    print(f"[bench_ddp {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_once(nproc: int, threads: int, epochs: int, zero_stage: int) -> dict:
    """One ``train_and_evaluate`` of LightGCN on ML-100K (``threads`` in all, shared by the
    ``nproc`` processes); its test NDCG@10 and epoch times."""
    import torch

    from pyrec.pipeline import train_and_evaluate

    per_process = max(1, threads // nproc)
    torch.set_num_threads(per_process)
    t0 = time.perf_counter()
    run = train_and_evaluate(
        "lightgcn", "ml-100k", split="ratio", seed=0, config={"epochs": epochs}, progress=False,
        backend="deepspeed", backend_settings={"zero_stage": zero_stage, "threads": per_process},
        nproc=nproc,
    )
    history = run.model.train_result_.history
    return {"ndcg@10": float(run.summary["ndcg@10"]), "wall_s": time.perf_counter() - t0,
            "epoch_times_s": [float(h["epoch_time_s"]) for h in history],
            "best_epoch": int(run.model.train_result_.best_epoch)}


def summarize(runs: list[dict]) -> dict:
    """Median epoch time over the epochs after the first of every run; the first run's NDCG."""
    times = [t for r in runs for t in r["epoch_times_s"][1:]] or [t for r in runs for t in r["epoch_times_s"]]
    return {"s_per_epoch": statistics.median(times), "ndcg@10": runs[0]["ndcg@10"],
            "best_epoch": runs[0]["best_epoch"], "ndcg@10_repeats": [r["ndcg@10"] for r in runs],
            "epoch_times_s": [r["epoch_times_s"] for r in runs], "wall_s": [r["wall_s"] for r in runs]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads in all (split over the processes)")
    ap.add_argument("--zero-stages", default="0,1,2", help="stages of the N-process run (0 is always run)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    stages = sorted({0, *(int(s) for s in args.zero_stages.split(",") if s.strip())})

    one, many, one_1t = [], [], []
    plan = [(1, args.threads, one), (args.nproc, args.threads, many)]
    if args.threads > 1:  # one process on one thread: what contention of its threads costs
        plan.append((1, 1, one_1t))
    for rep in range(args.repeats):
        for nproc, threads, bucket in plan:
            log(f"repeat {rep + 1}/{args.repeats}: {nproc} process(es), {threads} thread(s) in all, ZeRO-0, "
                f"{args.epochs} epochs")
            bucket.append(run_once(nproc, threads, args.epochs, 0))
            log(f"  ndcg@10 {bucket[-1]['ndcg@10']:.4f}, epochs {[round(t, 3) for t in bucket[-1]['epoch_times_s']]}")
    result: dict = {"one_process": summarize(one), "n_process": summarize(many)}
    if one_1t:
        result["one_process_1_thread"] = summarize(one_1t)
    result["speedup"] = result["one_process"]["s_per_epoch"] / result["n_process"]["s_per_epoch"]
    result["ndcg_diff"] = result["n_process"]["ndcg@10"] - result["one_process"]["ndcg@10"]
    result["zero_stages"] = {"0": {k: result["n_process"][k] for k in ("ndcg@10", "s_per_epoch")}}
    for stage in stages:
        if stage == 0:
            continue
        log(f"{args.nproc} processes, ZeRO-{stage}")
        r = summarize([run_once(args.nproc, args.threads, args.epochs, stage)])
        result["zero_stages"][str(stage)] = {k: r[k] for k in ("ndcg@10", "s_per_epoch")}
        log(f"  ndcg@10 {r['ndcg@10']:.4f}, {r['s_per_epoch']:.3f} s/epoch")

    import deepspeed
    import torch

    from pyrec.backends import hardware_info

    result["settings"] = {"model": "lightgcn", "dataset": "ml-100k", "min_rating": 3, "split": "ratio 8:1:1",
                          "seed": 0, "epochs": args.epochs, "repeats": args.repeats, "nproc": args.nproc,
                          "threads_total": args.threads, "global_batch": 4096, "dist_backend": "gloo",
                          "timing": "median epoch_time_s (training only) over epochs 2.. of all repeats"}
    result["environment"] = {"hardware": hardware_info(), "python": platform.python_version(),
                             "torch": torch.__version__, "deepspeed": deepspeed.__version__,
                             "load_average": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    log(f"1 process {result['one_process']['s_per_epoch']:.3f} s/epoch (NDCG@10 {result['one_process']['ndcg@10']:.4f}); "
        f"{args.nproc} processes {result['n_process']['s_per_epoch']:.3f} s/epoch (NDCG@10 "
        f"{result['n_process']['ndcg@10']:.4f}); speed-up {result['speedup']:.2f}; wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
