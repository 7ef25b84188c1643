"""Benchmark: what the hybrid's training epoch costs against its parts (issue #14, "cost of parts").

In one process, per dataset (ML-100K with the default ratio split; amazon-scientific with its
released leave-one-out split), each variant trains the same data with the same batch size, seed
and number of epochs, without validation (``eval_every`` above the epochs), and reports its median
seconds per epoch over ``--repeats`` fits run round-robin (so machine load drifts hit every
variant alike):

* ``lightgcn`` — LightGCN alone (BPR), the baseline of every ratio;
* ``hybrid`` — the hybrid with its defaults (gate fusion, frozen cached text embeddings, InfoNCE
  over the batch's first ``contrastive_rows`` = 512 interactions);
* ``hybrid-no-cl`` — the same without the contrastive term (what fusion alone costs);
* ``hybrid-cl-all`` — InfoNCE over the whole batch (the term's cost before ``contrastive_rows``).

``ratio`` = variant median / LightGCN median (the acceptance: hybrid <= 1.5x). The text
embeddings are computed once (cached on disk) before timing, so their one-off cost is excluded
from seconds per epoch, as it is from LightGCN's; it is reported separately (``encode_s``).

Output: JSON at ``--out`` (default ``benchmarks/results/bench_parts.json``), written after each
dataset.

Usage::

    python benchmarks/bench_parts.py [--datasets ml-100k amazon-scientific] [--epochs 3]
        [--repeats 3] [--batch-size 2048] [--threads 2] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (shared CPUs)

import torch
from baselines import SPLITS  # dataset -> split protocol of issue #14's comparison

REPO = Path(__file__).resolve().parents[1]


#: variant -> (model, settings)
VARIANTS = {
    "lightgcn": ("lightgcn", {}),
    "hybrid": ("hybrid", {}),
    "hybrid-no-cl": ("hybrid", {"contrastive_weight": 0.0}),
    "hybrid-cl-all": ("hybrid", {"contrastive_rows": None}),
}


def run_dataset(dataset: str, args) -> dict:
    from pyrec.pipeline import build_model, load_data, make_split

    split = make_split(load_data(dataset, args.data_dir), SPLITS[dataset], seed=0)
    common = {"epochs": args.epochs, "eval_every": args.epochs + 1, "patience": None,
              "batch_size": args.batch_size}
    t0 = time.perf_counter()  # the text table, computed once and cached for every hybrid fit
    build_model("hybrid", {**common, "epochs": 1}, seed=0).fit(split, progress=False)
    encode_s = time.perf_counter() - t0
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.repeats):
        for name, (model, settings) in VARIANTS.items():
            m = build_model(model, {**common, **settings}, seed=0).fit(split, progress=False)
            times[name].append(m.train_result_.seconds_per_epoch)
            print(f"{dataset:>18} {name:<14} {times[name][-1]:.3f} s/epoch", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"dataset": dataset, "split": SPLITS[dataset], "users": split.n_users,
            "items": split.n_items, "train": len(split.train), "settings": common,
            "encode_and_first_fit_s": encode_s,
            "s_per_epoch": med, "s_per_epoch_all": times,
            "ratio": {k: v / med["lightgcn"] for k, v in med.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--datasets", nargs="*", default=list(SPLITS))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "bench_parts.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    out = {"benchmark": "bench_parts", "threads": args.threads, "torch": torch.__version__,
           "python": platform.python_version(), "args": vars(args), "datasets": []}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    for dataset in args.datasets:
        out["datasets"].append(run_dataset(dataset, args))
        Path(args.out).write_text(json.dumps(out, indent=2))
    for d in out["datasets"]:
        print(d["dataset"], {k: round(v, 2) for k, v in d["ratio"].items()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
