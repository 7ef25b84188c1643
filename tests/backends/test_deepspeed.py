"""DeepSpeed backend: config generation, launcher environment, and a real ZeRO-0/1 training run on CPU."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from backends_helpers import block_split

from pyrec.backends import make_deepspeed_config
from pyrec.diagnostics import BackendUnavailable, ConfigError

needs_ds = pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed not installed")


def test_config_contents():
    cfg = make_deepspeed_config(zero_stage=2, dtype="bf16", grad_accum=4, micro_batch=256, gradient_clipping=1.0)
    assert cfg["zero_optimization"] == {"stage": 2}
    assert cfg["bf16"] == {"enabled": True} and "fp16" not in cfg
    assert cfg["gradient_accumulation_steps"] == 4 and cfg["train_micro_batch_size_per_gpu"] == 256
    assert cfg["gradient_clipping"] == 1.0 and cfg["zero_allow_untested_optimizer"] is True
    fp16 = make_deepspeed_config(zero_stage=3, dtype="fp16", lr=1e-3, offload_optimizer=True)
    assert fp16["fp16"]["enabled"] and fp16["fp16"]["loss_scale"] == 0
    assert fp16["optimizer"] == {"type": "Adam", "params": {"lr": 1e-3}}
    assert fp16["zero_optimization"] == {"stage": 3, "offload_optimizer": {"device": "cpu"}}


@pytest.mark.parametrize("kwargs,name", [({"zero_stage": 4}, "zero_stage"), ({"dtype": "fp8"}, "dtype"),
                                         ({"grad_accum": 0}, "grad_accum"), ({"micro_batch": 1.5}, "micro_batch"),
                                         ({"lr": -1.0}, "lr"), ({"offload_optimizer": True}, "offload_optimizer")])
def test_config_rejects(kwargs, name):
    with pytest.raises(ConfigError, match=f"'{name}'"):
        make_deepspeed_config(**kwargs)


def test_launcher_environment_is_respected(monkeypatch):
    from pyrec.backends import distributed_env

    for k, v in {"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "8", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(k, v)
    env = distributed_env()
    assert env == {"launched": True, "rank": 3, "local_rank": 1, "world_size": 8}
    import os

    assert os.environ["MASTER_ADDR"] == "10.0.0.1" and os.environ["MASTER_PORT"] == "29500"


def test_single_process_environment(monkeypatch):
    from pyrec.backends import distributed_env

    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    env = distributed_env()
    import os

    assert env == {"launched": False, "rank": 0, "local_rank": 0, "world_size": 1}
    assert os.environ["MASTER_ADDR"] == "127.0.0.1" and int(os.environ["MASTER_PORT"]) > 0


class BPRMF(torch.nn.Module):
    """Matrix factorization whose forward is the BPR loss of (user, pos, neg) triples (Rendle et al. 2009)."""

    def __init__(self, n_users=40, n_items=60, dim=16):
        super().__init__()
        torch.manual_seed(0)
        self.user = torch.nn.Embedding(n_users, dim)
        self.item = torch.nn.Embedding(n_items, dim)
        torch.nn.init.normal_(self.user.weight, std=0.1)
        torch.nn.init.normal_(self.item.weight, std=0.1)

    def forward(self, u, i, j):
        eu = self.user(u)
        x = (eu * self.item(i)).sum(-1) - (eu * self.item(j)).sum(-1)
        return -torch.nn.functional.logsigmoid(x).mean()


def _batches(epoch, n_users=40, n_items=60, n_batches=6, size=64):
    g = torch.Generator().manual_seed(epoch)
    out = []
    for _ in range(n_batches):
        u = torch.randint(0, n_users, (size,), generator=g)
        pos = (u * 3 + torch.randint(0, 3, (size,), generator=g)) % n_items  # each user likes 3 items
        neg = torch.randint(0, n_items, (size,), generator=g)
        out.append((u, pos, neg))
    return out


@needs_ds
@pytest.mark.parametrize("stage", [0, 1])
def test_real_deepspeed_training_step_cpu(stage, monkeypatch):
    from pyrec.backends import deepspeed_train

    if "WORLD_SIZE" not in __import__("os").environ:
        for k in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
            monkeypatch.delenv(k, raising=False)
    model = BPRMF()
    before = model.user.weight.detach().clone()
    cfg = make_deepspeed_config(zero_stage=stage, micro_batch=64)
    res = deepspeed_train(model, _batches, cfg, epochs=3, lr=0.05)
    assert len(res.losses) == 18 and len(res.epoch_seconds) == 3
    assert res.epoch_losses[-1] < res.epoch_losses[0] - 0.05  # the model learned
    assert not torch.equal(before, res.engine.module.user.weight.detach())
    assert res.engine.zero_optimization_stage() == stage


@needs_ds
def test_deepspeed_backend_train_step():
    from pyrec.backends import get_backend

    b = get_backend("deepspeed", zero_stage=1, micro_batch=64)
    assert b.describe()["zero_stage"] == 1 and b.label.startswith("deepspeed (ZeRO-1")
    model = BPRMF()
    step = b.prepare_training(model, torch.optim.Adam(model.parameters(), lr=0.05))
    losses = []
    for batch in _batches(0) * 2:
        loss = step(*batch)
        step.backward(loss)
        step.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-3:]) < sum(losses[:3])


@needs_ds
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present; DeepSpeed-Inference would run")
def test_init_inference_needs_cuda():
    from pyrec.backends import init_inference

    with pytest.raises(BackendUnavailable, match="CUDA"):
        init_inference(torch.nn.Linear(2, 2))


@needs_ds
def test_fit_mf_with_deepspeed_through_its_own_trainer():
    """pyrec's MF trained by its own trainer with DeepSpeed (ZeRO-1) driving the steps (the one fit
    of pyrec.pipeline.fit_model), then served by an EmbeddingIndex."""
    from pyrec.backends import get_backend
    from pyrec.bench import EmbeddingIndex
    from pyrec.models import get_model
    from pyrec.pipeline import fit_model

    split = block_split()
    model = get_model("mf", embedding_size=8, epochs=8, learning_rate=0.05, seed=0, patience=None)
    fit_model(model, split, backend=get_backend("deepspeed", zero_stage=1, micro_batch=64))
    losses = [h["loss"] for h in model.train_result_.history if "loss" in h]
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert model.score([0, 1]).shape == (2, 40)
    idx = EmbeddingIndex.from_model(model)  # checks score == inner product of the trained embeddings
    assert idx.topk_one(0, 5).shape == (5,)
    with pytest.raises(ConfigError, match=r"pop cannot use fit option\(s\) \['backend'\]"):
        fit_model(get_model("pop"), split, backend=get_backend("deepspeed"))
