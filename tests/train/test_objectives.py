"""Training objectives: the sampled-softmax loss against independent computations, the objective
chosen by the config (BPR by default), validation of bad combinations, and a softmax fit of every
embedding model."""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pyrec.diagnostics import ConfigError
from pyrec.models.registry import get_model
from pyrec.testing import tiny_split
from pyrec.train import TrainConfig, Trainer
from pyrec.train.loss import SampledSoftmaxLoss, sampled_softmax_loss
from pyrec.train.objective import BPRObjective, SampledSoftmaxObjective, make_objective
from pyrec.train.sampling import NegativeSampler

os.environ.setdefault("PYREC_CACHE_DIR", tempfile.mkdtemp(prefix="pyrec-test-cache-"))

# a hand-made batch: B = 3 users, d = 2, N = 3 shared negatives; item 7 is row 1's positive and
# also drawn as a negative (an accidental hit for row 1 only); rows 0 and 2 share positive item 5
USERS = np.array([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]])
POS = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
NEG = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]])
POS_ITEMS, NEG_ITEMS = np.array([5, 7, 5]), np.array([1, 7, 3])


def _t(a, dtype=torch.float64):
    return torch.tensor(a, dtype=dtype)


def _lse(x: np.ndarray) -> float:
    m = x.max()
    return float(m + np.log(np.exp(x - m).sum()))


def _numpy_loss(users, pos, neg, pos_items, neg_items, tau, cosine=False, in_batch=False, prob=None):
    """Independent per-row computation: -log softmax of the positive among the kept candidates."""
    if cosine:
        def unit(x):
            return x / np.linalg.norm(x, axis=-1, keepdims=True)

        users, pos, neg = unit(users), unit(pos), unit(neg)
    b_size, n = len(users), len(neg)
    cand = [(neg[k], neg_items[k]) for k in range(n)]
    if in_batch:
        cand += [(pos[j], pos_items[j]) for j in range(b_size)]

    def log_q(item):
        return math.log(n / len(prob) + b_size * prob[item]) if in_batch else 0.0

    losses = []
    for b in range(b_size):
        logits = [users[b] @ pos[b] / tau - log_q(pos_items[b])]
        logits += [users[b] @ e / tau - log_q(i) for e, i in cand if i != pos_items[b]]
        logits = np.array(logits)
        losses.append(-logits[0] + _lse(logits))
    return float(np.mean(losses))


# ------------------------------------------------------------------------------- the loss itself
def test_sampled_softmax_equals_cross_entropy_and_numpy_logsumexp():
    pos_logits = _t([0.3, -1.2, 2.0])
    neg_logits = _t([[0.1, 0.5], [2.0, -0.3], [1.0, 1.0]])
    got = sampled_softmax_loss(pos_logits, neg_logits)
    ref = F.cross_entropy(torch.cat([pos_logits[:, None], neg_logits], 1), torch.zeros(3, dtype=torch.long))
    assert float(got) == pytest.approx(float(ref), abs=1e-6)
    rows = np.concatenate([pos_logits.numpy()[:, None], neg_logits.numpy()], 1)
    by_hand = np.mean([-r[0] + _lse(r) for r in rows])
    assert float(got) == pytest.approx(by_hand, abs=1e-6)
    # temperature divides every score; a masked negative leaves the row's softmax
    got_t = sampled_softmax_loss(pos_logits, neg_logits, temperature=0.5)
    assert float(got_t) == pytest.approx(np.mean([-2 * r[0] + _lse(2 * r) for r in rows]), abs=1e-6)
    mask = torch.tensor([[False, True], [False, False], [True, True]])
    got_m = sampled_softmax_loss(pos_logits, neg_logits, neg_mask=mask)
    kept = [rows[0][[0, 1]], rows[1], rows[2][[0]]]
    assert float(got_m) == pytest.approx(np.mean([-r[0] + _lse(r) for r in kept]), abs=1e-6)


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_loss_module_dot_and_cosine_with_temperature_drops_accidental_hits(similarity, tau):
    loss = SampledSoftmaxLoss(tau, similarity)
    got = loss(_t(USERS), _t(POS), _t(NEG), torch.tensor(POS_ITEMS), torch.tensor(NEG_ITEMS))
    ref = _numpy_loss(USERS, POS, NEG, POS_ITEMS, NEG_ITEMS, tau, cosine=similarity == "cosine")
    assert float(got) == pytest.approx(ref, abs=1e-6)


def test_in_batch_negatives_with_log_q_correction_match_numpy():
    prob = np.linspace(1.0, 2.0, 10)
    prob /= prob.sum()
    loss = SampledSoftmaxLoss(0.2, "cosine", in_batch_negatives=True, item_prob=torch.tensor(prob))
    got = loss(_t(USERS), _t(POS), _t(NEG), torch.tensor(POS_ITEMS), torch.tensor(NEG_ITEMS))
    ref = _numpy_loss(USERS, POS, NEG, POS_ITEMS, NEG_ITEMS, 0.2, cosine=True, in_batch=True, prob=prob)
    assert float(got) == pytest.approx(ref, abs=1e-6)


def test_uniform_log_q_is_a_constant_that_cancels():
    pos_logits, neg_logits = _t([0.3, -1.2]), _t([[0.1, 0.5], [2.0, -0.3]])
    plain = sampled_softmax_loss(pos_logits, neg_logits, temperature=0.3)
    const = torch.tensor(math.log(256 / 1682), dtype=torch.float64)
    corrected = sampled_softmax_loss(pos_logits, neg_logits, temperature=0.3, log_q_pos=const,
                                     log_q_neg=const)
    assert float(corrected) == pytest.approx(float(plain), abs=1e-12)


def test_l2_term_and_gradient_flow():
    users = _t(USERS).requires_grad_()
    loss = SampledSoftmaxLoss(1.0, "dot", reg=0.5)
    reg_terms = (_t(USERS), _t(NEG))
    with_reg = loss(users, _t(POS), _t(NEG), torch.tensor(POS_ITEMS), torch.tensor(NEG_ITEMS), reg_terms)
    without = SampledSoftmaxLoss(1.0, "dot")(users, _t(POS), _t(NEG), torch.tensor(POS_ITEMS),
                                             torch.tensor(NEG_ITEMS))
    l2 = (np.square(USERS).sum() + np.square(NEG).sum()) / (2 * 3)
    assert float((with_reg - without).detach()) == pytest.approx(0.5 * l2, abs=1e-9)
    with_reg.backward()
    assert torch.isfinite(users.grad).all() and users.grad.abs().sum() > 0


def test_loss_arguments_are_checked():
    with pytest.raises(ConfigError, match="'temperature'"):
        SampledSoftmaxLoss(0.0)
    with pytest.raises(ConfigError, match="'similarity'"):
        SampledSoftmaxLoss(1.0, "l2")
    with pytest.raises(ConfigError, match="'item_prob'"):
        SampledSoftmaxLoss(1.0, in_batch_negatives=True)


# ------------------------------------------------------------------------------- the objective
def _sampler(n_users=50, n_items=30, n=400, seed=0):
    gen = torch.Generator().manual_seed(seed)
    users, items = torch.randint(0, n_users, (n,), generator=gen), torch.randint(0, n_items, (n,), generator=gen)
    return NegativeSampler(users, items, n_items)


def test_bpr_is_the_default_objective():
    cfg = TrainConfig()
    assert (cfg.loss, cfg.num_negatives, cfg.similarity, cfg.in_batch_negatives) == ("bpr", 1, "dot", False)
    assert isinstance(make_objective(cfg, _sampler()), BPRObjective)
    for name in ("mf", "lightgcn", "graphsage", "llm", "hybrid"):
        assert get_model(name).config.loss == "bpr", name
    soft = make_objective(TrainConfig(loss="softmax", num_negatives=8), _sampler())
    assert isinstance(soft, SampledSoftmaxObjective)


def test_positive_mask_equals_the_pairwise_lookup():
    sampler = _sampler()
    users = torch.randint(0, 55, (120,), generator=torch.Generator().manual_seed(1))  # some unseen users
    items = torch.randint(0, 30, (40,), generator=torch.Generator().manual_seed(2))  # repeats too
    got = sampler.positive_mask(users, items)
    assert got.shape == (120, 40) and got.any()
    assert torch.equal(got, sampler.is_positive(users[:, None], items[None, :]))


def test_excluded_candidates_leave_the_softmax():
    # row 0 must not see negative item 3 (say, another training positive of its user)
    def exclude(items):
        return torch.tensor([[False, False, True], [False, False, False], [False, False, False]])

    got = SampledSoftmaxLoss(0.5, "dot")(_t(USERS), _t(POS), _t(NEG), torch.tensor(POS_ITEMS),
                                         torch.tensor(NEG_ITEMS), exclude=exclude)
    rows = []
    for b in range(3):
        kept = [k for k in range(3) if NEG_ITEMS[k] != POS_ITEMS[b] and not (b == 0 and k == 2)]
        logits = np.array([USERS[b] @ POS[b]] + [USERS[b] @ NEG[k] for k in kept]) / 0.5
        rows.append(-logits[0] + _lse(logits))
    assert float(got) == pytest.approx(np.mean(rows), abs=1e-6)


def test_default_training_equals_explicit_bpr():
    split = tiny_split()
    runs = []
    for extra in ({}, {"loss": "bpr", "num_negatives": 1, "similarity": "dot"}):
        model = get_model("mf", {"epochs": 2, "embedding_size": 8, **extra}).fit(split, progress=False)
        runs.append(model)
    assert [r["loss"] for r in runs[0].train_result_.history] == [r["loss"] for r in runs[1].train_result_.history]
    assert torch.equal(runs[0].score([0, 1, 2]), runs[1].score([0, 1, 2]))


def test_shared_negatives_one_draw_per_batch_and_reproducible():
    obj = make_objective(TrainConfig(loss="softmax", num_negatives=7), _sampler())
    users = torch.arange(50)
    a = obj.epoch_negatives(users, 16, torch.Generator().manual_seed(0))
    b = obj.epoch_negatives(users, 16, torch.Generator().manual_seed(0))
    assert a.shape == (4, 7) and torch.equal(a, b) and int(a.min()) >= 0 and int(a.max()) < 30
    assert torch.equal(obj.batch_negatives(a, 2, slice(32, 48)), a[2])


def test_one_propagation_per_softmax_step(monkeypatch):
    from pyrec.models.lightgcn import LightGCN, LightGCNRecommender

    split = tiny_split()
    rec = LightGCNRecommender(epochs=1, embedding_size=8, batch_size=64, loss="softmax", num_negatives=16,
                              in_batch_negatives=True)
    module = rec.build_module(split.n_users, split.n_items, split.train.csr(), split)
    trainer = Trainer(module, split, rec.config, progress=False)
    calls = []
    original = LightGCN.get_embedding
    monkeypatch.setattr(LightGCN, "get_embedding", lambda self: calls.append(1) or original(self))
    trainer.train_epoch()
    assert len(calls) == -(-trainer.users.numel() // 64)  # one per step


def test_cosine_model_ranks_by_cosine_and_exposes_unit_embeddings():
    split = tiny_split()
    model = get_model("lightgcn", {"epochs": 2, "embedding_size": 8, "loss": "softmax", "num_negatives": 16,
                                   "similarity": "cosine", "softmax_temperature": 0.1}).fit(split, progress=False)
    ue, ie = model.module_.embeddings()
    expected = F.normalize(ue, dim=-1) @ F.normalize(ie, dim=-1).T
    torch.testing.assert_close(model.score(np.arange(split.n_users)), expected)
    torch.testing.assert_close(model.user_emb_.norm(dim=1), torch.ones(split.n_users))
    torch.testing.assert_close(model.user_emb_ @ model.item_emb_.T, expected)


def test_softmax_resume_equals_uninterrupted_run(tmp_path):
    from pyrec.models.mf import MF

    split = tiny_split()
    cfg = {"epochs": 4, "loss": "softmax", "num_negatives": 8, "learning_rate": 0.05}

    def module():
        torch.manual_seed(0)
        return MF(split.n_users, split.n_items, 8)

    full = module()
    Trainer(full, split, TrainConfig(**cfg), progress=False).fit()
    part = module()
    Trainer(part, split, TrainConfig(**{**cfg, "epochs": 2}), checkpoint_dir=tmp_path, progress=False).fit()
    resumed = module()
    Trainer(resumed, split, TrainConfig(**cfg), checkpoint_dir=tmp_path, resume=True, progress=False).fit()
    torch.testing.assert_close(resumed.state_dict(), full.state_dict())


def test_module_without_embed_batch_is_refused_for_softmax():
    class OnlyBPR(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def bpr_forward(self, users, pos, neg):
            raise AssertionError

        def scorer(self):
            raise AssertionError

    with pytest.raises(ConfigError, match="'module'.*embed_batch"):
        Trainer(OnlyBPR(), tiny_split(), TrainConfig(loss="softmax"), progress=False)


# ------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"num_negatives": 0}, "num_negatives"),
        ({"loss": "softmax", "softmax_temperature": 0.0}, "softmax_temperature"),
        ({"loss": "softmax", "softmax_temperature": -1.0}, "softmax_temperature"),
        ({"loss": "hinge"}, "loss"),
        ({"loss": "softmax", "similarity": "euclid"}, "similarity"),
        ({"similarity": "cosine"}, "similarity"),  # cosine needs the softmax's temperature
        ({"in_batch_negatives": True}, "in_batch_negatives"),
        ({"softmax_temperature": 0.1}, "softmax_temperature"),  # no effect with BPR
    ],
)
def test_bad_objective_settings_name_the_field(settings, field):
    for name in ("mf", "lightgcn", "hybrid"):
        with pytest.raises(ConfigError, match=f"'{field}'"):
            get_model(name, settings)


def test_experiment_config_passes_objective_settings_and_refuses_bad_ones():
    from pyrec.experiment import _steps, expand_design, validate_config

    def spec(settings):
        cfg = validate_config({"configurations": [{"architecture": "gnn"}],
                               "models": {"lightgcn": settings}})
        (only,) = expand_design(cfg)[0]
        return only

    good = spec({"loss": "softmax", "num_negatives": 256, "similarity": "cosine", "softmax_temperature": 0.1})
    _steps.preflight(good)
    assert good.model_settings["loss"] == "softmax"
    with pytest.raises(ConfigError, match="models.lightgcn.*'similarity'"):
        _steps.preflight(spec({"similarity": "cosine"}))
    with pytest.raises(ConfigError, match="num_negatives"):
        _steps.preflight(spec({"loss": "softmax", "num_negatives": 0}))


# ------------------------------------------------------------------------------- every model
SOFTMAX = {"loss": "softmax", "num_negatives": 32, "similarity": "cosine", "softmax_temperature": 0.2}


@pytest.mark.parametrize("name", ["mf", "lightgcn", "graphsage"])
def test_softmax_fit_decreases_the_loss_graph_and_mf(name):
    split = tiny_split()
    cfg = {"epochs": 6, "embedding_size": 8, "batch_size": 64, "learning_rate": 0.02, "patience": None,
           **SOFTMAX}
    res = get_model(name, cfg).fit(split, progress=False).train_result_
    losses = [r["loss"] for r in res.history]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name", ["llm", "hybrid"])
def test_softmax_fit_decreases_the_loss_text_models(name, ml100k_dir):
    from pyrec.testing import movielens_subset

    split = movielens_subset()
    cfg = {"epochs": 3, "embedding_size": 8, "max_length": 16, "batch_size": 256, "patience": None,
           **SOFTMAX, "in_batch_negatives": True}
    model = get_model(name, cfg).fit(split, progress=False)
    losses = [r["loss"] for r in model.train_result_.history]
    assert losses[-1] < losses[0], losses
    scores = model.score([0, 1])
    assert scores.shape == (2, split.n_items) and bool(torch.isfinite(scores).all())


def test_checkpoint_from_before_the_objective_settings_still_resumes(tmp_path):
    from pyrec.models.mf import MF
    from pyrec.train._checkpoint import load_checkpoint, save_checkpoint

    split = tiny_split()
    Trainer(MF(split.n_users, split.n_items, 8), split, TrainConfig(epochs=1), checkpoint_dir=tmp_path,
            progress=False).fit()
    state = load_checkpoint(tmp_path)
    for key in ("loss", "in_batch_negatives", "similarity", "softmax_temperature"):
        del state["config"][key]
    save_checkpoint(state, tmp_path)
    trainer = Trainer(MF(split.n_users, split.n_items, 8), split, TrainConfig(epochs=2),
                      checkpoint_dir=tmp_path, resume=True, progress=False)
    assert trainer.epoch == 1
    with pytest.raises(ConfigError, match="loss"):
        Trainer(MF(split.n_users, split.n_items, 8), split, TrainConfig(epochs=2, loss="softmax"),
                checkpoint_dir=tmp_path, resume=True, progress=False)


def test_softmax_objective_drops_the_users_training_positives():
    from pyrec.models.mf import MF

    sampler = _sampler()
    torch.manual_seed(0)
    module = MF(50, 30, 4)
    obj = make_objective(TrainConfig(loss="softmax", num_negatives=12, reg=0.0), sampler)
    users, pos = sampler.keys[:20] // 30, sampler.keys[:20] % 30
    neg = obj.epoch_negatives(users, 20, torch.Generator().manual_seed(0))[0]
    got, _ = obj(module, users, pos, neg)
    e = module.embed_batch(users, pos, neg)
    ref = SampledSoftmaxLoss(1.0, "dot")(e.users, e.pos, e.neg, pos, neg)
    drop = sampler.is_positive(users[:, None], neg[None, :])
    assert drop.any() and float(got.detach()) != pytest.approx(float(ref.detach()))
    by_hand = SampledSoftmaxLoss(1.0, "dot")(e.users, e.pos, e.neg, pos, neg, exclude=lambda items: drop)
    assert float(got.detach()) == pytest.approx(float(by_hand.detach()), abs=1e-6)


def test_cosine_model_scores_the_same_after_save_and_load(tmp_path):
    from pyrec.models.lightgcn import LightGCNRecommender

    split = tiny_split()
    model = LightGCNRecommender(epochs=2, embedding_size=8, loss="softmax", num_negatives=16,
                                similarity="cosine", softmax_temperature=0.2).fit(split, progress=False)
    loaded = LightGCNRecommender.load(model.save(tmp_path / "m"))
    assert loaded.config.similarity == "cosine"
    torch.testing.assert_close(loaded.score([0, 3, 5]), model.score([0, 3, 5]))
    assert float(loaded.score([0]).abs().max()) <= 1.0 + 1e-6  # cosines
