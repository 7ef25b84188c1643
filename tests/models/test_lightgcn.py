"""LightGCNRecommender: contract, propagation equals the paper's formula and PyG's LGConv."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError
from pyrec.models import LightGCNRecommender
from pyrec.models._graph import bipartite_edge_index, normalized_adjacency
from pyrec.models.lightgcn import LightGCN
from pyrec.testing import RecommenderTests, tiny_split

TINY = {"epochs": 3, "embedding_size": 8, "batch_size": 64, "num_layers": 2, "patience": None}


class TestLightGCN(RecommenderTests):
    model_class = LightGCNRecommender
    config = TINY


def _module(propagation: str, seed: int = 0, layers: int = 2) -> LightGCN:
    split = tiny_split(n_users=6, n_items=7, per_user=4)
    seen = split.train.csr()
    adj = normalized_adjacency(bipartite_edge_index(seen, 6), 13, kind="sym")
    torch.manual_seed(seed)
    return LightGCN(6, 7, adj, embedding_size=4, num_layers=layers, propagation=propagation), seen


def test_propagation_matches_dense_formula():
    model, seen = _module("spmm")
    r = torch.tensor(seen.toarray())
    a = torch.zeros(13, 13)
    a[:6, 6:], a[6:, :6] = r, r.T
    deg = a.sum(1)
    d = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    a_hat = d[:, None] * a * d[None, :]
    e0 = model.embedding.weight.detach()
    expected = (e0 + a_hat @ e0 + a_hat @ a_hat @ e0) / 3
    torch.testing.assert_close(model.get_embedding().detach(), expected, rtol=1e-5, atol=1e-6)


def test_spmm_and_pyg_lgconv_agree_in_value_and_gradient():
    fast, _ = _module("spmm")
    pyg, _ = _module("lgconv")
    pyg.load_state_dict(fast.state_dict())
    u, p, n = torch.tensor([0, 1, 5]), torch.tensor([0, 2, 6]), torch.tensor([3, 4, 1])
    grads = []
    for m in (fast, pyg):
        out = m.bpr_forward(u, p, n)
        (out.pos_scores - out.neg_scores).sum().backward()
        grads.append(m.embedding.weight.grad.clone())
    torch.testing.assert_close(fast.get_embedding(), pyg.get_embedding())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_zero_layers_is_matrix_factorisation():
    model, _ = _module("spmm", layers=0)
    torch.testing.assert_close(model.get_embedding(), model.embedding.weight)


def test_bad_config_names_field():
    with pytest.raises(ConfigError, match="num_layers"):
        LightGCNRecommender(num_layers=-1)
    with pytest.raises(ConfigError, match="propagation"):
        LightGCNRecommender(propagation="dense")


def test_lightgcn_learns_group_structure():
    split = tiny_split()
    model = LightGCNRecommender(
        epochs=30, embedding_size=8, batch_size=32, learning_rate=0.05, patience=None
    ).fit(split, progress=False)
    scores = model.score(np.arange(split.n_users)).numpy()
    block = split.n_items // 2
    own = np.array(
        [scores[u, (u % 2) * block : (u % 2 + 1) * block].mean() for u in range(split.n_users)]
    )
    other = np.array(
        [scores[u, (1 - u % 2) * block : (2 - u % 2) * block].mean() for u in range(split.n_users)]
    )
    assert (own > other).mean() > 0.9


def test_fitted_embeddings_reproduce_scores_and_history_is_kept():
    split = tiny_split()
    model = LightGCNRecommender(**TINY).fit(split, progress=False)
    users = np.arange(split.n_users)
    expected = (model.user_emb_ @ model.item_emb_.T).numpy()
    np.testing.assert_allclose(model.score(users).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert model.user_emb_.shape == (split.n_users, 8)
    assert len(model.train_result_.history) == 3
