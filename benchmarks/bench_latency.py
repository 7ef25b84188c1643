"""Single-user top-10 latency on ML-100K from precomputed embeddings (pyrec.bench.EmbeddingIndex).

Every request: one user's scores over all 1,682 items (mat-vec, d=64), the user's training items
masked, the top 10 by pyrec's tie rule. Compared in the same process with two baselines:

* ``naive-argsort``: the same scores, masked, then a full stable ``np.argsort`` (O(n log n));
* ``torch-topk_stable``: torch mat-vec + ``pyrec.metrics.topk_stable``;
* ``Recommender.recommend``: the model's own serving path, the one ``pyrec evaluate`` times
  (its ``serving_overhead_ratio`` = its p50 over the bare index's p50, both in this process).

Embeddings: a saved model's (``--model-dir``, e.g. written by ``Recommender.save``) or, by
default, an MF (d = ``--dim``) fitted for one epoch on the split; latency does not depend on
their values. The seen matrix is the real training part of a ratio 8:1:1 split (seed 0).

Usage::

    python benchmarks/bench_latency.py [--requests 5000] [--repeats 5] [--out results/bench_latency.json]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads for the torch baseline")
    ap.add_argument("--model-dir", default=None, help="use this saved model's embeddings")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="write the JSON here (default: stdout only)")
    args = ap.parse_args(argv)

    import torch

    from pyrec.backends import get_backend
    from pyrec.bench import EmbeddingIndex, measure_latency, ratio_to_baseline
    from pyrec.data import load_dataset, split_data
    from pyrec.metrics import topk_stable

    backend = get_backend("cpu", threads=args.threads)
    split = split_data(load_dataset("ml-100k", args.data_dir), "ratio", seed=0)
    seen = split.train.csr()
    if args.model_dir:
        from pyrec.models import load_model

        model = load_model(args.model_dir)
        source = f"model at {args.model_dir}"
    else:
        from pyrec.models import get_model

        model = get_model("mf", embedding_size=args.dim, epochs=1, seed=0).fit(split, progress=False)
        source = f"MF fitted 1 epoch, d={args.dim}"
    index = EmbeddingIndex.from_model(model)
    index_i8 = EmbeddingIndex(index.user_emb, index.item_emb, seen, dtype="int8") if index.dtype == "float32" else None
    U, V = index.user_emb, index.item_emb
    Ut, Vt = torch.from_numpy(U), torch.from_numpy(V)
    indptr, indices = seen.indptr, seen.indices

    class Naive:
        def recommend(self, users, k, exclude_seen=True):
            u = int(users[0])
            s = V @ U[u]
            s[indices[indptr[u]:indptr[u + 1]]] = -np.inf
            return np.argsort(-s, kind="stable")[:k]

    class TorchTopk:
        def recommend(self, users, k, exclude_seen=True):
            u = int(users[0])
            s = (Vt @ Ut[u]).unsqueeze(0)
            s[0, torch.from_numpy(indices[indptr[u]:indptr[u + 1]]).long()] = -float("inf")
            return topk_stable(s, k)

    strategies = {"embedding-index (float32)": index, "naive-argsort": Naive(), "torch-topk_stable": TorchTopk(),
                  "Recommender.recommend": model}
    if index_i8 is not None:
        strategies["embedding-index (int8)"] = index_i8
    users = np.random.default_rng(1).permutation(split.n_users)
    # check the fast path returns the same lists as the naive baseline before timing anything
    for u in users[:50]:
        if not np.array_equal(index.topk_one(int(u), args.k), Naive().recommend([u], args.k)):
            sys.exit(f"EmbeddingIndex disagrees with the naive baseline for user {u}")
        if not np.array_equal(model.recommend([u], args.k).numpy()[0], Naive().recommend([u], args.k)):
            sys.exit(f"Recommender.recommend disagrees with the naive baseline for user {u}")
    results = {}
    for name, obj in strategies.items():
        lat = measure_latency(obj, users, k=args.k, n_requests=args.requests, warmup=args.warmup,
                              repeats=args.repeats, backend=backend)
        results[name] = {"summary_ms": lat.summary(), "per_repeat_ms": lat.per_repeat,
                         "_all": [r["latency_ms"] for r in lat.records]}
    base = results["naive-argsort"]["_all"]
    bare = results["embedding-index (float32)"]["_all"]
    results["Recommender.recommend"]["serving_overhead_ratio"] = ratio_to_baseline(
        results["Recommender.recommend"]["_all"], bare)["ratio"]
    for name, r in results.items():
        r["ratio_median_vs_naive"] = ratio_to_baseline(r.pop("_all"), base)["ratio"]
    out = {"dataset": "ml-100k", "n_users": split.n_users, "n_items": split.n_items, "k": args.k,
           "embeddings": source, "requests": args.requests, "warmup": args.warmup, "repeats": args.repeats,
           "backend": backend.describe(), "results": results,
           "note": "percentiles are per repetition; summary_ms is the median over repetitions. "
                   "Latency excludes network/serialization; tails are sensitive to other load on the host."}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return out


if __name__ == "__main__":
    main()
