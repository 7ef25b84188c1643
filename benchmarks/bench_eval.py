"""Benchmark: full-ranking evaluation time on MovieLens-100K (943 users x 1,682 items).

Times :func:`pyrec.metrics.evaluate_full_ranking` (metrics ndcg, recall, precision, hit, mrr, map
at k = 10 and 20) for two scorers -- uniform random scores (seeded) and training-set popularity
(many ties) -- after ``--warmup`` untimed runs, over ``--repeats`` timed runs (``perf_counter``),
and reports the median in seconds. The baseline, run in the same process on the same split and
scores, is a naive per-user NumPy loop (mask seen items, stable ``argsort``, Python-level metric
sums) computing ndcg@10 and recall@10 only; ``speedup`` = baseline median / pyrec median. The
two implementations' ndcg@10 and recall@10 are compared and their max difference recorded.

The split is a seeded per-user random 80/10/10 split done here with NumPy (independent of
pyrec.data). Output: JSON at ``--out`` (default ``benchmarks/results/bench_eval.json``; the
``results/`` folders are git-ignored).

Usage::

    python benchmarks/bench_eval.py [--data-dir DIR] [--repeats 10] [--warmup 2] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from pyrec.data._types import InteractionData, Split
from pyrec.metrics import evaluate_full_ranking

REPO = Path(__file__).resolve().parents[1]


def load_ml100k(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    path = data_dir / "ml-100k" / "u.data"
    if not path.is_file():
        raise SystemExit(
            f"MovieLens-100K not found at {path}; pass --data-dir or set PYREC_DATA_DIR"
        )
    raw = np.loadtxt(path, dtype=np.int64)
    return raw[:, 0] - 1, raw[:, 1] - 1


def _part(users, items, n_users, n_items) -> InteractionData:
    n = len(users)
    return InteractionData(
        "ml-100k", users, items, np.full(n, np.nan, np.float32), np.zeros(n, np.int64),
        np.arange(n_users).astype(object), np.arange(n_items).astype(object), [""] * n_items,
    )


def seeded_split(users, items, n_users=943, n_items=1682, seed=0) -> Split:
    """Per-user random 80/10/10 split."""
    rng = np.random.default_rng(seed)
    order = np.argsort(users, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(users[order])) + 1)
    parts = {"train": [], "valid": [], "test": []}
    for idx in groups:
        idx = idx[rng.permutation(len(idx))]
        a, b = int(round(0.8 * len(idx))), int(round(0.9 * len(idx)))
        parts["train"].append(idx[:a])
        parts["valid"].append(idx[a:b])
        parts["test"].append(idx[b:])
    p = {k: np.concatenate(v) for k, v in parts.items()}
    mk = {k: _part(users[v], items[v], n_users, n_items) for k, v in p.items()}
    return Split(mk["train"], mk["valid"], mk["test"], name="ratio-8:1:1", seed=seed)


def naive_eval(table: np.ndarray, split: Split, k: int = 10) -> dict[str, float]:
    """Baseline: one user at a time with NumPy argsort and Python sums."""
    seen: dict[int, list[int]] = {}
    for part in (split.train, split.valid):
        for u, i in zip(part.users.tolist(), part.items.tolist()):
            seen.setdefault(u, []).append(i)
    test: dict[int, set[int]] = {}
    for u, i in zip(split.test.users.tolist(), split.test.items.tolist()):
        test.setdefault(u, set()).add(i)
    ndcg, recall = [], []
    for u in sorted(test):
        s = table[u].copy()
        s[seen.get(u, [])] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        rel = test[u]
        hits = [1.0 if i in rel else 0.0 for i in top.tolist()]
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(rel))))
        ndcg.append(sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / idcg)
        recall.append(sum(hits) / len(rel))
    return {"ndcg@10": float(np.mean(ndcg)), "recall@10": float(np.mean(recall))}


def timed(fn, warmup: int, repeats: int) -> tuple[list[float], object]:
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("PYREC_DATA_DIR", str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--data-dir", type=Path, default=Path(default_data))
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--baseline-repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bench_eval.json")
    args = ap.parse_args()
    if args.repeats < 1 or args.warmup < 0 or args.baseline_repeats < 1:
        raise SystemExit(
            f"repeats/baseline-repeats must be >= 1 and warmup >= 0 (got {vars(args)})"
        )

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    users, items = load_ml100k(args.data_dir)
    split = seeded_split(users, items)
    rng = torch.Generator().manual_seed(0)
    scorers = {
        "random": torch.rand(split.n_users, split.n_items, generator=rng),
        "popularity": torch.from_numpy(
            np.bincount(split.train.items, minlength=split.n_items).astype(np.float32)
        ).expand(split.n_users, -1).contiguous(),
    }
    results = {}
    for name, table in scorers.items():
        def fn(u, table=table):
            return table[torch.as_tensor(u)]

        def run():
            return evaluate_full_ranking(fn, split, ks=(10, 20), batch_size=args.batch_size,
                                         model_name=name)

        times, res = timed(run, args.warmup, args.repeats)
        np_table = table.numpy()
        base_times, base = timed(lambda: naive_eval(np_table, split), 1, args.baseline_repeats)
        med, base_med = statistics.median(times), statistics.median(base_times)
        results[name] = {
            "pyrec_median_s": med,
            "pyrec_times_s": times,
            "baseline_median_s": base_med,
            "baseline_times_s": base_times,
            "speedup": base_med / med,
            "n_users_evaluated": res.n_users,
            "summary": res.summary,
            "baseline_summary": base,
            "max_abs_diff_vs_baseline": max(abs(res.summary[m] - v) for m, v in base.items()),
        }
        print(f"{name:>10}: pyrec median {med * 1e3:.1f} ms, naive loop {base_med * 1e3:.1f} ms, "
              f"speedup {base_med / med:.1f}x, ndcg@10 {res.summary['ndcg@10']:.4f}")
    doc = {
        "benchmark": "full-ranking evaluation, ML-100K",
        "protocol": "full-ranking",
        "dataset": "ml-100k",
        "split": "per-user random 80/10/10, seed 0",
        "n_users": split.n_users,
        "n_items": split.n_items,
        "metrics": "ndcg, recall, precision, hit, mrr, map @ 10, 20",
        "baseline": "naive per-user NumPy loop (ndcg@10, recall@10 only), same process",
        "warmup": args.warmup,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "unit": "s",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
