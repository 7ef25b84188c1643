"""Fixtures of the statistics tests: R availability, R datasets, real per-user NDCG on ML-100K."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyrec.diagnostics import RBridgeError


@pytest.fixture(scope="session")
def r_ready():
    """The R environment of pyrec's statistics scripts; skips the test when R/rpy2 are absent."""
    from pyrec.stats import r_env

    try:
        return r_env()
    except RBridgeError as exc:
        pytest.skip(f"R statistics unavailable: {exc}")


@pytest.fixture(scope="session")
def rdata(r_ready):
    """Fetch one of R's built-in datasets (``datasets`` package) as pandas via the bridge."""
    from pyrec.stats import from_r
    from pyrec.stats._rpy2 import import_rpy2

    ro = import_rpy2()
    return lambda name: from_r(ro.r[name])


def _ndcg_at_10(scores: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Per-user NDCG@10, binary relevance; ``test`` bool [n_users, n_items]; ties: lower index."""
    part = np.argpartition(-scores, 10, axis=1)[:, :10]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)  # by score, then lower item index
    top = np.take_along_axis(part, order, axis=1)
    disc = 1.0 / np.log2(np.arange(2, 12))
    n_rel = test.sum(1)
    dcg = np.take_along_axis(test, top, axis=1) @ disc
    idcg = np.concatenate([[np.nan], np.cumsum(disc)])[np.minimum(n_rel, 10)]
    return dcg / idcg


def _ml100k_per_user(folder) -> pd.DataFrame:
    data = np.loadtxt(folder / "u.data", dtype=np.int64)
    users, items = data[:, 0] - 1, data[:, 1] - 1
    n_users, n_items = users.max() + 1, items.max() + 1
    rows = []
    for seed in (0, 1, 2):
        rng = np.random.default_rng(seed)
        is_test = rng.random(len(users)) < 0.2
        train = np.zeros((n_users, n_items), dtype=np.float32)
        train[users[~is_test], items[~is_test]] = 1.0
        test = np.zeros((n_users, n_items), dtype=bool)
        test[users[is_test], items[is_test]] = True
        pop = np.broadcast_to(train.sum(0), train.shape).copy()
        norms = np.sqrt(train.sum(0)) + 1e-9
        sim = (train.T @ train) / np.outer(norms, norms)
        np.fill_diagonal(sim, 0.0)
        knn = train @ sim
        rand = rng.random(train.shape, dtype=np.float32)
        for config, arch, scores in (("pop@cpu", "pop", pop), ("item-knn+cos", "knn", knn),
                                     ("rand é", "random", rand)):
            scores = np.where(train > 0, -np.inf, scores)
            ndcg = _ndcg_at_10(scores, test)
            keep = ~np.isnan(ndcg)
            rows.append(pd.DataFrame({
                "run_id": f"{arch}-s{seed}", "config": config, "seed": seed,
                "architecture": arch, "optimization": "none", "backend": "cpu",
                "user": np.arange(n_users)[keep], "metric": "ndcg", "k": 10,
                "value": ndcg[keep]}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="session")
def ml100k_per_user(ml100k_dir) -> pd.DataFrame:
    """Real per-user NDCG@10 on MovieLens-100K (pyrec per_user.parquet columns).

    Three recommenders (popularity, item-kNN cosine, random) x three seeds of a random 80/20
    split; users without test items are left out.
    """
    return _ml100k_per_user(ml100k_dir)


@pytest.fixture(scope="session")
def ml100k_runs(ml100k_per_user) -> pd.DataFrame:
    """runs.parquet-shaped table: mean NDCG@10 per (config, seed) of :func:`ml100k_per_user`."""
    g = ml100k_per_user.groupby(["run_id", "config", "seed", "architecture", "optimization",
                                 "backend"], as_index=False)["value"].mean()
    g.insert(1, "dataset", "ml-100k")
    g.insert(2, "split", "ratio")
    g.insert(3, "protocol", "full-ranking")
    g["model"] = g["architecture"]
    g["simulated"] = False
    g["metric"] = "ndcg@10"
    g["unit"] = ""
    cols = ["run_id", "dataset", "split", "protocol", "seed", "architecture", "model",
            "optimization", "backend", "config", "simulated", "metric", "value", "unit"]
    return g[cols]
