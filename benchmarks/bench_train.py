"""Benchmark: LightGCN training speed and time-to-quality on ML-100K and an ML-1M-sized graph.

What is measured (medians over repeated timed calls, ``perf_counter`` wall time and
``process_time`` CPU time; the CPU may be shared, so wall time is noisy and CPU time is reported
beside it):

1. **Step time on ML-100K** (ratings >= 3, per-user 8:1:1, seed 0; batch 4096, dim 64, 2 layers):
   one BPR step (propagate + loss + backward + Adam) of pyrec's LightGCN (one CSR product per
   layer with the symmetric backward, ``propagation="spmm"``) against two baselines measured in the
   same process on the same graph and batch: PyG ``LGConv`` message passing on ``edge_index``
   (gather/scatter per edge, PyG's own LightGCN path) and ``LGConv`` on the same CSR adjacency
   (PyG's ``spmm`` with torch's autograd). ``speedup`` = baseline median / pyrec median.
2. **Negative sampling** for one epoch: pyrec's vectorised rejection sampler against a per-row
   Python loop (timed on a slice, extrapolated to the epoch; stated in the JSON).
3. **Time-to-quality on ML-100K**: a full training run with pyrec's defaults (early stopping on
   validation NDCG@10); the test NDCG@10/Recall@10 of the restored best state, epochs, s/epoch,
   total wall and CPU time, and the first wall time at which the test NDCG@10 of the current
   state reached ``--target`` (test NDCG is computed by a callback for this report only; model
   selection uses validation). RecBole 1.2.1's LightGCN figure on this protocol (2 threads:
   0.77 s/epoch, ~400 epochs, ~6 min, NDCG@10 ~ 0.26) is recorded as a published reference, not
   re-measured.
4. **ML-1M-sized generated graph** (6,040 users x 3,706 items x 1,000,000 interactions, Zipf item
   popularity, seeded): step time of pyrec vs the baselines over a few steps, extrapolated to
   s/epoch (steps per epoch x median step + sampling); ``--ml1m-epochs N`` also runs N real epochs.

Output: JSON at ``--out`` (default ``benchmarks/results/bench_train.json``; git-ignored).

Usage::

    python benchmarks/bench_train.py [--data-dir DIR] [--threads 2] [--repeats 5] [--target 0.26]
        [--skip-quality] [--ml1m-epochs 0] [--out PATH]
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

import numpy as np
import torch

from pyrec.data._types import InteractionData, Split
from pyrec.models.lightgcn import LightGCNRecommender
from pyrec.train import NegativeSampler, make_generators

REPO = Path(__file__).resolve().parents[1]
RECBOLE_REFERENCE = {
    "source": "RecBole 1.2.1 LightGCN, ML-100K ratings>=3, 8:1:1, 2 threads (issue 4)",
    "s_per_epoch": 0.77,
    "epochs": 400,
    "wall_time_s": 360,
    "ndcg@10": 0.26,
    "learning_rate": 0.001,
    "batch_size": 4096,
}


def _timed(fn, repeats: int, warmup: int = 1) -> dict:
    """Median / min wall and CPU seconds of ``fn()`` over ``repeats`` calls after ``warmup``."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {
        "median_s": statistics.median(wall),
        "min_s": min(wall),
        "cpu_median_s": statistics.median(cpu),
        "repeats": repeats,
    }


def _data(name, users, items, n_users, n_items) -> InteractionData:
    n = len(users)
    return InteractionData(
        name,
        users.astype(np.int64),
        items.astype(np.int64),
        np.full(n, np.nan, np.float32),
        np.zeros(n, np.int64),
        np.arange(n_users).astype(object),
        np.arange(n_items).astype(object),
        [""] * n_items,
    )


def ml100k_split(data_dir: Path | None) -> Split:
    from pyrec.data import load_dataset, split_data

    return split_data(
        load_dataset("ml-100k", data_dir, min_rating=3), "ratio", ratios=(0.8, 0.1, 0.1), seed=0
    )


def synthetic_split(n_users=6040, n_items=3706, n_inter=1_000_000, seed=0) -> Split:
    """ML-1M-sized random graph: Zipf(1.0) item popularity, uniform users, 8:1:1 by random rows."""
    if n_inter > n_users * n_items // 2:
        raise ValueError(f"n_inter must be <= n_users * n_items / 2 (got {n_inter})")
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1)
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < n_inter:  # draw rounds until enough distinct (user, item) pairs
        m = n_inter - len(keys) + n_inter // 10 + 10
        new = rng.integers(0, n_users, m) * n_items + rng.choice(n_items, m, p=p / p.sum())
        keys = np.unique(np.concatenate([keys, new]))
    keys = rng.permutation(keys)[:n_inter]
    u, i = keys // n_items, keys % n_items
    part = rng.random(len(keys))
    full = _data("synthetic-ml1m", u, i, n_users, n_items)
    return Split(
        full.subset(part < 0.8),
        full.subset((part >= 0.8) & (part < 0.9)),
        full.subset(part >= 0.9),
        name="ratio-0.8:0.1:0.1",
        seed=seed,
    )


def step_times(split: Split, repeats: int, batch_size: int = 4096, steps_per_call: int = 1) -> dict:
    """Median time of one BPR step for pyrec spmm, PyG LGConv on CSR, PyG LGConv message passing."""
    from torch_geometric.nn import LGConv

    rec = LightGCNRecommender(batch_size=batch_size)
    seen = split.train.csr()
    torch.manual_seed(0)
    module = rec.build_module(split.n_users, split.n_items, seen, split)
    gen, _ = make_generators(0)
    sampler = NegativeSampler(split.train.users, split.train.items, split.n_items)
    idx = torch.randint(0, split.train.n_interactions, (batch_size,), generator=gen)
    u = torch.from_numpy(split.train.users)[idx]
    p = torch.from_numpy(split.train.items)[idx]
    n = sampler.sample(u, generator=gen)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    adj = module.adjacency
    row, col = adj.csr.to_sparse_coo().indices()
    edge_index, edge_weight = torch.stack([col, row]), adj.csr.to_sparse_coo().values()
    conv = LGConv(normalize=False)

    def emb_mp():
        x = module.embedding.weight
        out = x
        for _ in range(module.num_layers):
            x = conv(x, edge_index, edge_weight)
            out = out + x
        return out / (module.num_layers + 1)

    def step(get_emb):
        def run():
            for _ in range(steps_per_call):
                emb = get_emb()
                eu, ep, en = emb[u], emb[split.n_users + p], emb[split.n_users + n]
                loss = torch.nn.functional.softplus((eu * en).sum(-1) - (eu * ep).sum(-1)).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

        return run

    results = {}
    for name, prop in (("pyrec_spmm", "spmm"), ("pyg_lgconv_csr", "lgconv")):
        module.propagation = prop
        results[name] = _timed(step(module.get_embedding), repeats)
    results["pyg_lgconv_message_passing"] = _timed(step(emb_mp), max(2, repeats // 2))
    base = results["pyrec_spmm"]["median_s"]
    for key in ("pyg_lgconv_csr", "pyg_lgconv_message_passing"):
        results[key]["speedup_of_pyrec"] = results[key]["median_s"] / base
    results["batch_size"] = batch_size
    return results


def sampling_times(split: Split, repeats: int) -> dict:
    """One epoch of negatives: vectorised sampler vs a per-row Python loop (slice, extrapolated)."""
    users = torch.from_numpy(split.train.users)
    gen, rng = make_generators(0)
    vec = _timed(
        lambda: NegativeSampler(split.train.users, split.train.items, split.n_items).sample(
            users, generator=gen
        ),
        repeats,
    )
    pos = {}
    for uu, ii in zip(split.train.users.tolist(), split.train.items.tolist()):
        pos.setdefault(uu, set()).add(ii)
    n_slice = min(20000, len(users))

    def loop():
        out = []
        for uu in split.train.users[:n_slice].tolist():
            j = int(rng.integers(split.n_items))
            while j in pos[uu]:
                j = int(rng.integers(split.n_items))
            out.append(j)
        return out

    naive = _timed(loop, max(1, repeats // 2), warmup=0)
    scale = len(users) / n_slice
    naive_epoch = {k: v * scale if k.endswith("_s") else v for k, v in naive.items()}
    return {
        "vectorised": vec,
        "python_loop_extrapolated": naive_epoch,
        "loop_rows_timed": n_slice,
        "speedup_of_pyrec": naive_epoch["median_s"] / vec["median_s"],
        "rows_per_epoch": len(users),
    }


def time_to_quality(split: Split, target: float, config: dict) -> dict:
    """Train with pyrec's defaults; record the curve and when test NDCG@10 first reached target."""
    from pyrec.metrics import evaluate_full_ranking

    curve = []
    t_start = [time.perf_counter(), time.process_time()]

    def test_ndcg(trainer, record):
        if "ndcg@10" not in record:
            return
        trainer.module.eval()
        with torch.no_grad():
            score = trainer.module.scorer()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = evaluate_full_ranking(
                    lambda us: score(torch.as_tensor(us)),
                    split,
                    part="test",
                    ks=(10,),
                    metrics=("ndcg",),
                )
        curve.append(
            {
                "epoch": record["epoch"],
                "wall_s": time.perf_counter() - t_start[0],
                "train_time_s": trainer.result.train_time_s,
                "valid_ndcg@10": record["ndcg@10"],
                "test_ndcg@10": res.summary["ndcg@10"],
            }
        )

    rec = LightGCNRecommender(**config).fit(split, progress=False, callback=test_ndcg)
    wall, cpu = time.perf_counter() - t_start[0], time.process_time() - t_start[1]
    res = evaluate_full_ranking(rec.score, split, part="test", ks=(10,), metrics=("ndcg", "recall"))
    tr = rec.train_result_
    hit = next((c for c in curve if c["test_ndcg@10"] >= target), None)
    return {
        "config": rec.get_config(),
        "test": res.summary,
        "epochs_run": tr.epochs_run,
        "best_epoch": tr.best_epoch,
        "s_per_epoch": tr.seconds_per_epoch,
        "wall_time_s": wall,
        "cpu_time_s": cpu,
        "target_ndcg@10": target,
        "wall_s_to_target": None if hit is None else hit["wall_s"],
        "epoch_at_target": None if hit is None else hit["epoch"],
        "speedup_vs_recbole_wall": None
        if hit is None
        else RECBOLE_REFERENCE["wall_time_s"] / hit["wall_s"],
        "curve": curve,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.26)
    ap.add_argument("--skip-quality", action="store_true", help="skip the ML-100K training run")
    ap.add_argument("--skip-ml1m", action="store_true")
    ap.add_argument(
        "--ml1m-epochs", type=int, default=0, help="also run N real epochs on the 1M graph"
    )
    ap.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "bench_train.json"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    report = {
        "benchmark": "bench_train",
        "threads": args.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_avg_start": os.getloadavg(),
        "recbole_reference": RECBOLE_REFERENCE,
    }
    split = ml100k_split(args.data_dir)
    n_steps = -(-split.train.n_interactions // 4096)
    report["ml100k"] = {
        "train": split.train.n_interactions,
        "steps_per_epoch": n_steps,
        "step": step_times(split, args.repeats),
        "sampling": sampling_times(split, args.repeats),
    }
    print(json.dumps({"ml100k_step": report["ml100k"]["step"]}, indent=1), flush=True)
    if not args.skip_quality:
        report["ml100k"]["time_to_quality"] = time_to_quality(split, args.target, {})
        q = report["ml100k"]["time_to_quality"]
        print(
            f"ML-100K: test NDCG@10 {q['test']['ndcg@10']:.4f} Recall@10 {q['test']['recall@10']:.4f} "
            f"in {q['wall_time_s']:.1f} s wall ({q['epochs_run']} epochs, {q['s_per_epoch']:.3f} s/epoch); "
            f"target {args.target} reached at {q['wall_s_to_target']} s",
            flush=True,
        )
    if not args.skip_ml1m:
        big = synthetic_split()
        steps = -(-big.train.n_interactions // 4096)
        st = step_times(big, max(2, args.repeats // 2))
        samp = sampling_times(big, 2)
        est = {
            k: st[k]["median_s"] * steps + samp["vectorised"]["median_s"]
            for k in ("pyrec_spmm", "pyg_lgconv_csr", "pyg_lgconv_message_passing")
        }
        report["ml1m_sized"] = {
            "users": big.n_users,
            "items": big.n_items,
            "train": big.train.n_interactions,
            "steps_per_epoch": steps,
            "step": st,
            "sampling": samp,
            "s_per_epoch_estimate": est,
        }
        if args.ml1m_epochs:
            rec = LightGCNRecommender(
                epochs=args.ml1m_epochs, batch_size=4096, patience=None, eval_every=args.ml1m_epochs
            ).fit(big, progress=False)
            report["ml1m_sized"]["measured"] = {
                "epochs": args.ml1m_epochs,
                "s_per_epoch": rec.train_result_.seconds_per_epoch,
                "valid_ndcg@10": rec.train_result_.best_metric,
            }
        print(json.dumps({"ml1m_s_per_epoch_estimate": est}, indent=1), flush=True)
    report["total_wall_s"] = time.perf_counter() - t0
    report["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
