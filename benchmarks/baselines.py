"""Benchmark: the closed-form baselines EASE and GF-CF on ML-100K and amazon-scientific.

Each run is what ``pyrec train -m <model> -d <dataset>`` does (:func:`pyrec.pipeline.train_and_evaluate`
with the model's default config, i.e. hyperparameters tuned on the validation part): ML-100K with
the default protocol (ratings >= 3, per-user random 8:1:1 split, a new split per seed) and
amazon-scientific with its released leave-one-out split (``split="released"``; the same split for
every seed, so only GF-CF's SVD start vector changes with the seed). Full-ranking NDCG@10 and
Recall@10 on the test part, fit wall seconds (``train_time_s``: the whole fit, validation tuning
included), the chosen hyperparameters and the validation curve are recorded per run; medians over
the seeds per (dataset, model).

LightGCN is NOT run here: its NDCG@10 as quoted in issue #14 (measured with ``pyrec train`` on
landed main, 2 CPU cores) is recorded for reference only, so no time ratio is computed.

Output: JSON at ``--out`` (default ``benchmarks/results/baselines.json``; ``results/`` is
git-ignored). Runtime: about 2-4 minutes on 2 shared CPU cores.

Usage::

    python benchmarks/baselines.py [--seeds 0 1 2] [--datasets ml-100k amazon-scientific]
        [--models ease gfcf] [--threads 2] [--data-dir DIR] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: dataset -> split protocol of the comparison in issue #14
SPLITS = {"ml-100k": "ratio", "amazon-scientific": "released"}
#: LightGCN NDCG@10 quoted in issue #14 (not measured by this script)
LIGHTGCN_ISSUE_14 = {"ml-100k": 0.2637, "amazon-scientific": 0.0502}


def _params(model) -> dict:
    """The hyperparameters the fitted model used (tuned ones included)."""
    if model.name == "ease":
        return {"l2": model.l2_}
    if model.name == "gfcf":
        return {"k": model.k_, "alpha": model.alpha_}
    return {}


def run_one(model: str, dataset: str, seed: int, data_dir) -> dict:
    from pyrec.pipeline import train_and_evaluate

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # users without a validation item: reported by pyrec train
        run = train_and_evaluate(model, dataset, split=SPLITS[dataset], seed=seed, data_dir=data_dir,
                                 ks=(10,), progress=False)
    return {
        "model": model, "dataset": dataset, "split": run.info["split"], "seed": seed,
        "ndcg@10": run.summary["ndcg@10"], "recall@10": run.summary["recall@10"],
        "fit_s": run.train_time_s, "wall_s": time.perf_counter() - t0,
        "params": _params(run.model), "config": run.model.get_config(),
        "tuning": run.model.tuning_,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--datasets", nargs="+", default=list(SPLITS), choices=list(SPLITS))
    ap.add_argument("--models", nargs="+", default=["ease", "gfcf"])
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--data-dir", default=None, help="folder of dataset folders (default $PYREC_DATA_DIR)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "baselines.json")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    runs = []
    for dataset in args.datasets:
        for model in args.models:
            for seed in args.seeds:
                r = run_one(model, dataset, seed, args.data_dir)
                runs.append(r)
                print(f"{dataset:18s} {model:5s} seed {seed}: NDCG@10 {r['ndcg@10']:.4f}  "
                      f"fit {r['fit_s']:.1f} s  {r['params']}", flush=True)
    summary = []
    for dataset in args.datasets:
        for model in args.models:
            rs = [r for r in runs if r["dataset"] == dataset and r["model"] == model]
            ndcg = statistics.median(r["ndcg@10"] for r in rs)
            summary.append({
                "dataset": dataset, "model": model, "seeds": [r["seed"] for r in rs],
                "median_ndcg@10": ndcg, "min_ndcg@10": min(r["ndcg@10"] for r in rs),
                "max_ndcg@10": max(r["ndcg@10"] for r in rs),
                "median_recall@10": statistics.median(r["recall@10"] for r in rs),
                "median_fit_s": statistics.median(r["fit_s"] for r in rs),
                "params": [r["params"] for r in rs],
                "lightgcn_ndcg@10_issue_14": LIGHTGCN_ISSUE_14[dataset],
                "ndcg_ratio_vs_lightgcn_issue_14": ndcg / LIGHTGCN_ISSUE_14[dataset],
            })
    doc = {
        "benchmark": "baselines",
        "note": "LightGCN figures are quoted from issue #14, not run in this process: no time ratios.",
        "threads": args.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    for s in summary:
        print(f"{s['dataset']:18s} {s['model']:5s} median NDCG@10 {s['median_ndcg@10']:.4f} "
              f"({s['ndcg_ratio_vs_lightgcn_issue_14']:.2f}x LightGCN's 0{str(s['lightgcn_ndcg@10_issue_14'])[1:]}), "
              f"median fit {s['median_fit_s']:.1f} s")
    print(f"wrote {args.out}")
    return doc


if __name__ == "__main__":
    main()
