"""EmbeddingIndex: same rankings as topk_stable (ties included), seen exclusion, int8, model checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyrec.bench import EmbeddingIndex, extract_embeddings, measure_latency
from pyrec.diagnostics import ConfigError
from pyrec.metrics import topk_stable


def _reference(model, k):
    s = model.score(np.arange(model.n_users_)).clone()
    coo = model.seen_.tocoo()
    s[torch.from_numpy(coo.row).long(), torch.from_numpy(coo.col).long()] = -float("inf")
    return topk_stable(s, k).numpy()


@pytest.mark.parametrize("integer", [False, True])
def test_topk_one_matches_topk_stable(integer, tiny_cls):
    model = tiny_cls(integer=integer).fit()
    idx = EmbeddingIndex.from_model(model)
    ref = _reference(model, 10)
    got = np.stack([idx.topk_one(u, 10) for u in range(model.n_users_)])
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(idx.recommend(np.arange(model.n_users_), 10).numpy(), ref)
    np.testing.assert_array_equal(idx.recommend([3], 10).numpy(), ref[3:4])
    for u in range(model.n_users_):  # seen items never recommended
        assert not set(got[u]) & set(model.seen_[u].indices)


def test_exclude_seen_false_and_all_ties():
    idx = EmbeddingIndex(np.zeros((2, 4)), np.zeros((6, 4)))
    np.testing.assert_array_equal(idx.topk_one(0, 3, exclude_seen=False), [0, 1, 2])


def test_int8_close_to_float(tiny):
    f32, i8 = EmbeddingIndex.from_model(tiny), EmbeddingIndex.from_model(tiny, dtype="int8")
    assert i8.nbytes() < f32.nbytes()
    s32, s8 = f32.score(np.arange(30)), i8.score(np.arange(30))
    assert float((s32 - s8).abs().max()) < 0.05 * float(s32.abs().max())
    overlap = np.mean([len(set(f32.topk_one(u)) & set(i8.topk_one(u))) / 10 for u in range(30)])
    assert overlap >= 0.8


def test_errors(tiny):
    idx = EmbeddingIndex.from_model(tiny)
    with pytest.raises(ConfigError, match="user"):
        idx.topk_one(30)
    with pytest.raises(ConfigError, match="'k'"):
        idx.topk_one(0, 0)
    with pytest.raises(ConfigError, match="width"):
        EmbeddingIndex(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ConfigError, match="dtype"):
        EmbeddingIndex(np.zeros((2, 3)), np.zeros((4, 3)), dtype="fp8")


def test_from_model_rejects_non_dot_model(tiny):
    class Shifted(type(tiny)):
        def score(self, users):
            return super().score(users) + torch.arange(self.n_items_, dtype=torch.float32)

    bad = Shifted().fit()
    with pytest.raises(ConfigError, match="inner product"):
        EmbeddingIndex.from_model(bad)

    class NoEmb:
        pass

    with pytest.raises(ConfigError, match="embedding tables"):
        extract_embeddings(NoEmb())


def test_ml100k_shaped_latency_runs(ml100k_dir):
    """ML-100K shape (943 x 1682, d=64) with the real training matrix; records p99 (no assertion on time)."""
    from pyrec.data import load_dataset

    data = load_dataset("ml-100k", ml100k_dir.parent)
    rng = np.random.default_rng(0)
    idx = EmbeddingIndex(rng.normal(size=(data.n_users, 64)), rng.normal(size=(data.n_items, 64)), data.csr())
    assert (idx.n_users_, idx.n_items_) == (943, 1682)
    lat = measure_latency(idx, np.arange(943), n_requests=300, warmup=30)
    assert len(lat.records) == 300 and lat.p99 > 0
