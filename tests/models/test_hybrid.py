"""Fusion modules, the InfoNCE alignment loss, and the hybrid GNN–text recommender."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError
from pyrec.models._fusion import ConcatFusion, GateFusion, InfoNCE, make_fusion
from pyrec.models.hybrid import HybridRecommender
from pyrec.testing import RecommenderTests, movielens_subset


# ----------------------------------------------------------------------------------------- fusion
def test_concat_fusion_starts_near_graph_view_and_is_trainable():
    torch.manual_seed(0)
    g, t = torch.randn(5, 8), torch.randn(5, 8)
    fus = ConcatFusion(8, text_init=0.1)
    out = fus(g, t)
    assert out.shape == (5, 8)
    torch.testing.assert_close(out, g + 0.1 * t)
    out.sum().backward()
    assert fus.lin.weight.grad is not None and fus.lin.weight.grad.abs().sum() > 0


def test_gate_fusion_formula_and_initial_gate():
    torch.manual_seed(0)
    g, t = torch.randn(4, 6), torch.randn(4, 6)
    fus = GateFusion(6, gate_bias=2.0)
    gate = fus.gate(g, t)
    expected_gate = torch.sigmoid(torch.tensor(2.0))
    torch.testing.assert_close(gate, torch.full((4, 6), float(expected_gate)))
    torch.testing.assert_close(fus(g, t), expected_gate * g + (1 - expected_gate) * t)
    # after a step that rewards the text view, the gate moves towards it
    opt = torch.optim.SGD(fus.parameters(), lr=1.0)
    loss = -(fus(g, t) * t).sum()
    loss.backward()
    opt.step()
    assert fus.gate(g, t).mean() < gate.mean()


def test_fusion_rejects_bad_shapes_and_modes():
    with pytest.raises(ConfigError, match="'text'"):
        GateFusion(4)(torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="'graph'"):
        ConcatFusion(4)(torch.zeros(3, 5), torch.zeros(3, 5))
    with pytest.raises(ConfigError, match="'fusion'"):
        make_fusion("sum", 4)
    assert isinstance(make_fusion("gate", 4), GateFusion)


# ---------------------------------------------------------------------------------------- InfoNCE
def test_info_nce_matches_hand_computation():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # normalised: identity
    tau = 0.5
    # each row: logits [1/tau, 0] -> -log(e^2 / (e^2 + 1)); both directions equal
    expected = -torch.log(torch.exp(torch.tensor(2.0)) / (torch.exp(torch.tensor(2.0)) + 1))
    torch.testing.assert_close(InfoNCE(tau)(a, b), expected)


def test_info_nce_lower_for_aligned_views():
    torch.manual_seed(0)
    a = torch.randn(32, 16)
    aligned = InfoNCE(0.2)(a, a + 0.05 * torch.randn(32, 16))
    shuffled = InfoNCE(0.2)(a, a[torch.randperm(32)])
    assert aligned < shuffled
    with pytest.raises(ConfigError, match="'temperature'"):
        InfoNCE(0.0)


# ------------------------------------------------------------------------------ the recommender
os.environ.setdefault("PYREC_CACHE_DIR", tempfile.mkdtemp(prefix="pyrec-test-cache-"))
FAST = {"epochs": 2, "embedding_size": 8, "max_length": 16, "batch_size": 256}


class TestHybridContract(RecommenderTests):
    model_class = HybridRecommender
    config = FAST


class TestHybridConcatContract(RecommenderTests):
    model_class = HybridRecommender
    config = {**FAST, "fusion": "concat", "contrastive_weight": 0.0}



@pytest.fixture(scope="module")
def small(ml100k_dir):
    return movielens_subset()


@pytest.fixture(scope="module")
def tiny_real(ml100k_dir):
    """A very small real subset for encoder fine-tuning (each step re-encodes item texts)."""
    return movielens_subset(n_users=40, n_items=60)


def test_hybrid_config_errors():
    with pytest.raises(ConfigError, match="fusion"):
        HybridRecommender(fusion="sum")
    with pytest.raises(ConfigError, match="contrastive_weight"):
        HybridRecommender(contrastive_weight=-1)


@pytest.mark.realdata
def test_hybrid_logs_contrastive_term_and_gate(small):
    model = HybridRecommender(FAST, contrastive_weight=0.1).fit(small, progress=False)
    hist = model.train_result_.history
    assert all(np.isfinite(h["cl"]) and h["cl"] > 0 for h in hist)
    gates = model.module_.mean_gate()
    assert 0 < gates["gate_items"] < 1 and 0 < gates["gate_users"] < 1


@pytest.mark.realdata
@pytest.mark.parametrize("fusion", ["gate", "concat"])
def test_batch_only_fusion_equals_fusing_every_node(small, fusion):
    """embed_batch fuses only the batch's rows; embeddings, L2 terms, the InfoNCE term and every
    gradient equal those of fusing all nodes and indexing the batch (the pre-0.x computation)."""
    model = HybridRecommender(FAST, fusion=fusion, contrastive_weight=0.1, contrastive_rows=None,
                              epochs=1).fit(small, progress=False)
    mod = model.module_.train()
    gen = torch.Generator().manual_seed(0)
    users = torch.randint(0, small.n_users, (64,), generator=gen)
    pos = torch.randint(0, small.n_items, (64,), generator=gen)
    neg = torch.randint(0, small.n_items, (64, 3), generator=gen)

    def grads(loss):
        mod.zero_grad()
        loss.backward()
        return {n: p.grad.clone() for n, p in mod.named_parameters() if p.grad is not None}

    got = mod.embed_batch(users, pos, neg)
    eu, ei, zu, zi = mod.views()
    hu, hi = mod.fuse_user(eu, zu), mod.fuse_item(ei, zi)
    u, it = torch.unique(users), torch.unique(pos)
    cl = mod.contrastive_weight * (mod.info_nce(eu[u], zu[u]) + mod.info_nce(ei[it], zi[it]))
    for a, b in ((got.users, hu[users]), (got.pos, hi[pos]), (got.neg, hi[neg]),
                 (got.reg_terms[3], zu[users]), (got.reg_terms[5], zi[neg]), (got.extra_loss, cl)):
        assert torch.allclose(a, b, atol=1e-6)
    loss_of = lambda e: (e.users * e.pos).sum() - (e.users.unsqueeze(1) * e.neg).sum() \
        + e.extra_loss + sum(t.square().sum() for t in e.reg_terms)  # noqa: E731
    want = grads(loss_of(type(got)(hu[users], hi[pos], hi[neg], (mod.graph.embedding.weight[users],
                 mod.graph.embedding.weight[mod.n_users + pos], mod.graph.embedding.weight[mod.n_users + neg],
                 zu[users], zi[pos], zi[neg]), cl, None)))
    have = grads(loss_of(mod.embed_batch(users, pos, neg)))
    assert have.keys() == want.keys()
    for name in want:
        assert torch.allclose(have[name], want[name], atol=1e-5), name


def test_contrastive_rows_limits_the_infonce_rows():
    with pytest.raises(ConfigError, match="contrastive_rows"):
        HybridRecommender(contrastive_rows=1)
    assert HybridRecommender().config.contrastive_rows == 512


@pytest.mark.realdata
def test_shuffled_text_permutes_the_item_table(small):
    real = HybridRecommender(FAST, epochs=1)
    ctrl = HybridRecommender(FAST, epochs=1, shuffle_text=True)
    real.fit(small, progress=False)
    ctrl.fit(small, progress=False)
    a, b = real.module_.tower.text_emb, ctrl.module_.tower.text_emb
    assert not torch.equal(a, b)
    # same rows, other order: every shuffled row is some real row
    torch.testing.assert_close(torch.sort(a.sum(1)).values, torch.sort(b.sum(1)).values)


@pytest.mark.realdata
def test_hybrid_lora_trains_encoder(tiny_real):
    model = HybridRecommender(FAST, epochs=1, encoder_mode="lora", patience=None, batch_size=1024)
    model.fit(tiny_real, progress=False)
    rep = model.encoder_.lora_report_
    assert rep is not None and 0 < rep.trainable_params < 0.05 * rep.total_params
    assert model.module_.tower.encoder is None


@pytest.mark.realdata
def test_lora_warm_start_begins_from_the_frozen_hybrid(tiny_real):
    base = HybridRecommender(FAST).fit(tiny_real, progress=False)
    state = base.warm_start_state()
    assert "tower.text_emb" not in state and not any(".encoder." in k for k in state)
    # a (near) zero learning rate: after one epoch the weights are still the ones it started from
    tuned = HybridRecommender(FAST, epochs=1, encoder_mode="lora", patience=None, batch_size=1024,
                              learning_rate=1e-12, encoder_learning_rate=1e-12)
    tuned.fit(tiny_real, progress=False, init_state=state)
    for key in ("graph.embedding.weight", "tower.proj.weight", "fuse_item.lin.weight"):
        torch.testing.assert_close(tuned.module_.state_dict()[key], state[key], atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match="init_state does not fit.*size mismatch"):
        HybridRecommender(FAST, embedding_size=4).fit(tiny_real, progress=False, init_state=state)
    with pytest.raises(ConfigError, match="missing"):
        HybridRecommender(FAST).fit(tiny_real, progress=False,
                                    init_state={k: v for k, v in state.items() if k != "tower.proj.bias"})
