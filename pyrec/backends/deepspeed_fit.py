"""Fit a pyrec BPR recommender (MF, LightGCN, GraphSAGE) with :func:`deepspeed_train`.

The bridge used by ``pyrec benchmark --backend deepspeed`` while a model's own ``fit`` does not
take ``backend=``: it builds the model's module (``build_module``), draws one uniform negative per
training pair each epoch (``pyrec.train.NegativeSampler``), and minimizes the model's BPR loss
(``pyrec.train.BPRLoss`` over ``module.bpr_forward``) through ``deepspeed.initialize``. No early
stopping: it runs ``epochs`` epochs.
"""

from __future__ import annotations

import numpy as np

from pyrec.diagnostics import ConfigError

__all__ = ["fit_with_deepspeed"]


def fit_with_deepspeed(model, split, backend, epochs: int | None = None):
    """Train ``model`` (a ``BPRRecommender``) on ``split.train`` with DeepSpeed; returns the model.

    Args:
        model: an unfitted recommender with ``build_module`` and ``config`` (learning_rate,
            batch_size, reg, epochs, seed).
        split: :class:`pyrec.data.Split`.
        backend: :class:`~pyrec.backends.DeepSpeedBackend` (its config: ZeRO stage, dtype, ...).
        epochs: override ``model.config.epochs``.

    Returns:
        the fitted model; ``model.ds_history_`` = ``[{"epoch", "loss", "epoch_time_s"}]``.

    Raises:
        ConfigError: the model is not a BPR-trained recommender.
    """
    import torch

    from pyrec.backends.deepspeed_backend import deepspeed_train
    from pyrec.train import BPRLoss, NegativeSampler, seed_everything

    if not callable(getattr(model, "build_module", None)) or getattr(model, "config", None) is None:
        raise ConfigError(f"{type(model).__name__} is not trained with BPR (no build_module); "
                          "the deepspeed backend trains MF, LightGCN and GraphSAGE")
    cfg = model.config
    seed_everything(cfg.seed)
    model.n_users_, model.n_items_ = int(split.n_users), int(split.n_items)
    model.seen_ = split.train.csr()
    module = model.build_module(model.n_users_, model.n_items_, model.seen_, split)
    keys = np.unique(split.train.users.astype(np.int64) * split.n_items + split.train.items.astype(np.int64))
    users, items = torch.from_numpy(keys // split.n_items), torch.from_numpy(keys % split.n_items)
    sampler = NegativeSampler(users, items, split.n_items)
    loss_fn = BPRLoss(cfg.reg)
    bs = int(backend.config["train_micro_batch_size_per_gpu"])

    def batches(epoch):
        g = torch.Generator().manual_seed(int(cfg.seed) * 1000 + epoch)
        order = torch.randperm(len(users), generator=g)
        neg = sampler.sample(users[order], 1, generator=g).reshape(-1)
        return [(users[order[i:i + bs]], items[order[i:i + bs]], neg[i:i + bs]) for i in range(0, len(order), bs)]

    def step_loss(engine, batch):
        out = engine.module.bpr_forward(*batch)
        loss = loss_fn(out.pos_scores, out.neg_scores, out.reg_terms)
        extra = getattr(out, "extra_loss", None)
        return loss if extra is None else loss + extra

    res = deepspeed_train(module, batches, backend.config, loss_fn=step_loss, epochs=int(epochs or cfg.epochs),
                          lr=float(cfg.learning_rate), dist_backend=backend.dist_backend)
    model.module_ = res.engine.module.float()
    model.ds_history_ = [{"epoch": e + 1, "loss": loss, "epoch_time_s": t}
                         for e, (loss, t) in enumerate(zip(res.epoch_losses, res.epoch_seconds))]
    model._cache_scorer()
    return model
