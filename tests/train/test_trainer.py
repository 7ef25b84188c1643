"""Trainer: loss goes down, early stopping and best-state restore, resumable checkpoints, seeds."""

from __future__ import annotations

import warnings

import pytest
import torch

from pyrec.diagnostics import ConfigError
from pyrec.models.mf import MF, MFConfig
from pyrec.testing import tiny_split
from pyrec.train import BPROutput, TrainConfig, Trainer


@pytest.fixture(scope="module")
def split():
    return tiny_split()


def _mf(split, seed=0):
    torch.manual_seed(seed)
    return MF(split.n_users, split.n_items, embedding_size=8)


def _cfg(**kw):
    base = {"epochs": 6, "batch_size": 32, "learning_rate": 0.05, "patience": None, "seed": 0}
    base.update(kw)
    return TrainConfig(**base)


def test_loss_decreases_and_history_is_filled(split):
    res = Trainer(_mf(split), split, _cfg(epochs=8), progress=False).fit()
    losses = [r["loss"] for r in res.history]
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert all("ndcg@10" in r for r in res.history)
    assert res.epochs_run == 8 and res.seconds_per_epoch > 0 and res.train_time_s > 0
    assert list(res.to_frame().columns[:3]) == ["epoch", "loss", "epoch_time_s"]


def test_early_stopping_restores_best_state(split):
    # a learning rate of ~0 keeps the metric flat, so the first validation stays best
    module = _mf(split)
    start = {k: v.clone() for k, v in module.state_dict().items()}
    trainer = Trainer(
        module,
        split,
        _cfg(epochs=50, learning_rate=1e-12, patience=2, min_delta=0.01),
        progress=False,
    )
    res = trainer.fit()
    assert res.stopped_early and res.epochs_run == 3 and res.best_epoch == 1
    torch.testing.assert_close(module.state_dict(), trainer.best_state)
    assert not module.training
    assert torch.allclose(module.user_emb.weight, start["user_emb.weight"], atol=1e-6)


def test_eval_every_controls_validation(split):
    res = Trainer(_mf(split), split, _cfg(epochs=5, eval_every=2), progress=False).fit()
    assert [r["epoch"] for r in res.history if "ndcg@10" in r] == [2, 4, 5]


def test_same_seed_same_run_different_seed_different_run(split):
    a = Trainer(_mf(split), split, _cfg(epochs=3), progress=False).fit()
    b = Trainer(_mf(split), split, _cfg(epochs=3), progress=False).fit()
    c = Trainer(_mf(split), split, _cfg(epochs=3, seed=1), progress=False).fit()
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert [r["loss"] for r in a.history] != [r["loss"] for r in c.history]


def test_resume_from_checkpoint_equals_uninterrupted_run(split, tmp_path):
    full = _mf(split)
    Trainer(full, split, _cfg(epochs=4), progress=False).fit()
    part = _mf(split)
    Trainer(part, split, _cfg(epochs=2), checkpoint_dir=tmp_path, progress=False).fit()
    assert (tmp_path / "last.pt").is_file()
    resumed = _mf(split, seed=99)  # different init: everything must come from the checkpoint
    trainer = Trainer(  # a larger epoch budget is the one change a resume may bring
        resumed, split, _cfg(epochs=4), checkpoint_dir=tmp_path, resume=True, progress=False
    )
    assert trainer.epoch == 2
    res = trainer.fit()
    assert res.epochs_run == 4 and len(res.history) == 4
    torch.testing.assert_close(resumed.state_dict(), full.state_dict())


class _ExtraLossMF(MF):
    def bpr_forward(self, users, pos, neg):
        out = super().bpr_forward(users, pos, neg)
        extra = 0.0 * out.pos_scores.sum() + 1.5
        return BPROutput(out.pos_scores, out.neg_scores, out.reg_terms, extra, {"extra": 1.5})


def test_extra_loss_and_logs_are_added(split):
    plain = Trainer(_mf(split), split, _cfg(epochs=1, reg=0.0), progress=False).fit()
    torch.manual_seed(0)
    module = _ExtraLossMF(split.n_users, split.n_items, embedding_size=8)
    res = Trainer(module, split, _cfg(epochs=1, reg=0.0), progress=False).fit()
    assert res.history[0]["extra"] == pytest.approx(1.5)
    assert res.history[0]["loss"] == pytest.approx(plain.history[0]["loss"] + 1.5, rel=1e-5)


class _NaNMF(MF):
    def bpr_forward(self, users, pos, neg):
        out = super().bpr_forward(users, pos, neg)
        return BPROutput(out.pos_scores * float("nan"), out.neg_scores, out.reg_terms)


def test_divergence_raises_config_error_naming_learning_rate(split):
    torch.manual_seed(0)
    with pytest.raises(ConfigError, match="learning_rate"):
        Trainer(_NaNMF(split.n_users, split.n_items, 4), split, _cfg(), progress=False).fit()


def test_model_config_subclass_is_accepted_and_bad_module_rejected(split):
    Trainer(_mf(split), split, MFConfig(epochs=1, embedding_size=8), progress=False).fit()
    with pytest.raises(ConfigError, match="'module'"):
        Trainer(torch.nn.Linear(2, 2), split, _cfg())
    with pytest.raises(ConfigError, match="'config'"):
        Trainer(_mf(split), split, {"epochs": 1})


def test_no_validation_data_trains_all_epochs(split):
    from dataclasses import replace

    no_valid = replace(split, valid=split.valid.subset(split.valid.users < 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = Trainer(_mf(no_valid), no_valid, _cfg(epochs=3, patience=1), progress=False).fit()
    assert res.epochs_run == 3 and res.best_epoch == 3 and res.best_metric != res.best_metric  # NaN


def test_callback_sees_each_epoch_and_can_extend_history(split):
    seen = []

    def cb(trainer, record):
        seen.append(trainer.epoch)
        record["extra_metric"] = float(trainer.epoch) * 2

    res = Trainer(_mf(split), split, _cfg(epochs=3), progress=False, callback=cb).fit()
    assert seen == [1, 2, 3]
    assert [r["extra_metric"] for r in res.history] == [2.0, 4.0, 6.0]


def test_trainer_refuses_zero3_backend():
    """ZeRO-3 gathers parameters in forward hooks the BPR loop bypasses: refuse it by name."""
    import pytest

    from pyrec.backends import get_backend
    from pyrec.diagnostics import ConfigError
    from pyrec.models import get_model

    with pytest.raises(ConfigError, match="ZeRO stage 0, 1 or 2"):
        get_model("mf", epochs=1).fit(tiny_split(), backend=get_backend("deepspeed", zero_stage=3), progress=False)


def test_trainer_with_deepspeed_backend_matches_plain_adam():
    """DeepSpeed ZeRO-1 in one fp32 CPU process steps the same Adam: identical scores (same seed)."""
    import torch

    from pyrec.backends import get_backend
    from pyrec.models import get_model

    split = tiny_split()
    plain = get_model("mf", epochs=2, seed=0).fit(split, progress=False)
    ds = get_model("mf", epochs=2, seed=0).fit(split, backend=get_backend("deepspeed", zero_stage=1), progress=False)
    users = list(range(split.n_users))
    assert torch.allclose(plain.score(users), ds.score(users), atol=1e-6)


def test_resume_refuses_other_data_or_settings(split, tmp_path):
    Trainer(_mf(split), split, _cfg(epochs=1), checkpoint_dir=tmp_path, progress=False).fit()

    other = tiny_split(seed=1)  # same sizes, other training interactions
    with pytest.raises(ConfigError, match="other training interactions"):
        Trainer(_mf(other), other, _cfg(epochs=2), checkpoint_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ConfigError, match=r"other settings \['learning_rate'\]"):
        Trainer(_mf(split), split, _cfg(epochs=2, learning_rate=0.5), checkpoint_dir=tmp_path,
                resume=True, progress=False)
