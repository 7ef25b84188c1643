"""Training objectives: how the trainer turns a batch into a loss, and how the model then scores.

The one place where the loss is decided. :func:`make_objective` reads the config's ``loss``,
``num_negatives``, ``in_batch_negatives``, ``similarity`` and ``softmax_temperature``
(:class:`~pyrec.train.TrainConfig`) and returns an :class:`Objective`; the :class:`Trainer` asks it
for each epoch's negatives, each batch's loss and the validation scorer, and
:class:`~pyrec.models.BPRRecommender` asks it for the scorer of the fitted model. Modules only
expose embeddings (:class:`~pyrec.train.EmbeddingModule`); none implements a loss.

``loss="bpr"`` (the default): :class:`BPRObjective`, the historical path, unchanged number for
number: ``num_negatives`` uniform negatives per row drawn by
:class:`~pyrec.train.NegativeSampler` (never a positive of the row's user), the module's
``bpr_forward`` pair scores and :class:`~pyrec.train.BPRLoss`.

``loss="softmax"``: :class:`SampledSoftmaxObjective`, sampled softmax / InfoNCE (Wu et al., TOIS
2024; AlphaRec, Sheng et al., ICLR 2025) over ``num_negatives`` uniform negatives **shared by the
whole batch** (one ``(N,)`` draw per batch from all items, so the negative scores are one
``(B, d) @ (d, N)`` product instead of a ``(B, N, d)`` gather), optionally plus in-batch
negatives, with dot or cosine scores divided by a temperature
(:class:`~pyrec.train.SampledSoftmaxLoss`). With ``similarity="cosine"`` the fitted model also
ranks by cosine (its final embeddings are L2-normalised), so training, validation and serving
agree.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from pyrec.diagnostics import param_error
from pyrec.train.loss import BPRLoss, SampledSoftmaxLoss

__all__ = [
    "OBJECTIVES",
    "BPRObjective",
    "Objective",
    "SampledSoftmaxObjective",
    "final_embeddings",
    "make_objective",
    "make_scorer",
]

#: values of the config's ``loss`` field
OBJECTIVES: tuple[str, ...] = ("bpr", "softmax")


def final_embeddings(module, similarity: str = "dot") -> tuple[Tensor, Tensor]:
    """The module's final ``(users (n_users, d), items (n_items, d))`` embeddings as scored:
    as they are for ``"dot"``, L2-normalised rows for ``"cosine"`` (so their inner product is the
    cosine). Call in eval mode under ``torch.no_grad()``.

    Raises:
        ConfigError: cosine scoring of a module without ``embeddings()``.
    """
    if not callable(getattr(module, "embeddings", None)):
        raise param_error("module", "final_embeddings", "a module with an embeddings() method",
                          type(module).__name__)
    users, items = module.embeddings()
    if similarity == "cosine":
        users, items = F.normalize(users, dim=-1), F.normalize(items, dim=-1)
    return users, items


def make_scorer(module, similarity: str = "dot") -> Callable[[Tensor], Tensor]:
    """``users (B,) -> float (B, n_items)`` scores of ``module`` under ``similarity``.

    ``"dot"``: the module's own ``scorer()`` (unchanged); ``"cosine"``: the inner products of
    :func:`final_embeddings` (cosine similarities in [-1, 1]). Call in eval mode under
    ``torch.no_grad()``.
    """
    if similarity == "dot":
        return module.scorer()
    users_w, items_w = final_embeddings(module, similarity)
    return lambda users: users_w[users] @ items_w.T


class Objective:
    """What the trainer asks of a training objective (subclasses: BPR, sampled softmax).

    Attributes:
        name: the config's ``loss`` value. similarity: ``"dot"`` or ``"cosine"``.
        required: module methods the objective calls (checked by :meth:`check_module`).
    """

    name: str = ""
    similarity: str = "dot"
    required: tuple[str, ...] = ("scorer",)

    def check_module(self, module, owner: str = "Trainer") -> None:
        """Raise ConfigError naming ``module`` unless it has every :attr:`required` method."""
        for attr in self.required:
            if not callable(getattr(module, attr, None)):
                raise param_error("module", owner, f"a torch.nn.Module with a {attr}() method "
                                  f"(loss={self.name!r} calls it)", type(module).__name__)

    def epoch_negatives(self, users: Tensor, batch_size: int, generator) -> Tensor:
        """Every negative of one epoch, drawn at once (vectorised) from ``generator``.

        Args:
            users: int ``(n,)`` the epoch's rows in training order. batch_size: rows per step.
        """
        raise NotImplementedError

    def batch_negatives(self, negatives: Tensor, batch: int, rows: slice) -> Tensor:
        """The negatives of batch number ``batch`` (0-based), whose rows are ``rows``."""
        raise NotImplementedError

    def __call__(self, module, users: Tensor, pos: Tensor, neg: Tensor) -> tuple[Tensor, dict | None]:
        """``(loss scalar, logs or None)`` of one batch; users/pos ``(B,)``, neg from
        :meth:`batch_negatives`."""
        raise NotImplementedError

    def scorer(self, module) -> Callable[[Tensor], Tensor]:
        """The validation / inference scorer (:func:`make_scorer` with :attr:`similarity`)."""
        return make_scorer(module, self.similarity)


class BPRObjective(Objective):
    """BPR with ``num_negatives`` uniform negatives per row (never a positive of the user).

    Negatives: one ``(n,)`` (or ``(n, num_negatives)``) draw per epoch by the sampler, sliced per
    batch. Loss: :class:`~pyrec.train.BPRLoss` on the module's ``bpr_forward`` scores plus its
    ``extra_loss``.
    """

    name = "bpr"
    required = ("bpr_forward", "scorer")

    def __init__(self, sampler, num_negatives: int = 1, reg: float = 1e-4) -> None:
        self.sampler, self.num_negatives = sampler, int(num_negatives)
        self.loss = BPRLoss(reg)

    def epoch_negatives(self, users, batch_size, generator):
        return self.sampler.sample(users, self.num_negatives, generator=generator)

    def batch_negatives(self, negatives, batch, rows):
        return negatives[rows]

    def __call__(self, module, users, pos, neg):
        out = module.bpr_forward(users, pos, neg)
        loss = self.loss(out.pos_scores, out.neg_scores, out.reg_terms)
        if out.extra_loss is not None:
            loss = loss + out.extra_loss
        return loss, out.logs

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_negatives={self.num_negatives}, reg={self.loss.reg})"


class SampledSoftmaxObjective(Objective):
    """Sampled softmax over ``num_negatives`` uniform negatives shared by each batch.

    Negatives: one ``(n_batches, N)`` uniform draw over all ``n_items`` per epoch (with
    replacement; row ``t`` serves batch ``t``), so a step embeds ``N`` extra items and scores them
    with one ``(B, d) @ (d, N)`` product. Per row, a drawn item that is a training positive of the
    row's user is dropped (:meth:`~pyrec.train.NegativeSampler.positive_mask`, vectorised), so the
    negatives are uniform over the user's non-positives, as BPR's. The module's
    ``embed_batch(users, pos, neg (N,))`` gives the embeddings (one propagation per step);
    :class:`~pyrec.train.SampledSoftmaxLoss` scores them (dot or cosine, temperature, logQ
    correction only for in-batch negatives) and adds the L2 on the module's ``reg_terms`` and its
    ``extra_loss``.

    Args:
        sampler: the trainer's :class:`~pyrec.train.NegativeSampler` (positives, popularity).
        num_negatives: N >= 1.
        temperature: tau > 0. similarity: ``"dot"`` or ``"cosine"``.
        in_batch_negatives: also contrast each row with the other rows' positives.
        reg: L2 weight.
    """

    name = "softmax"
    required = ("embed_batch", "embeddings", "scorer")

    def __init__(self, sampler, num_negatives: int = 256, temperature: float = 1.0,
                 similarity: str = "dot", in_batch_negatives: bool = False, reg: float = 1e-4) -> None:
        if not isinstance(num_negatives, int) or num_negatives < 1:
            raise param_error("num_negatives", "SampledSoftmaxObjective", "an int in [1, inf)",
                              num_negatives)
        self.sampler, self.n_items = sampler, int(sampler.n_items)
        self.num_negatives, self.similarity = int(num_negatives), similarity
        prob = sampler.item_popularity() if in_batch_negatives else None
        self.loss = SampledSoftmaxLoss(temperature, similarity, in_batch_negatives, reg, prob)

    def epoch_negatives(self, users, batch_size, generator):
        n_batches = -(-users.numel() // batch_size)
        return torch.randint(0, self.n_items, (n_batches, self.num_negatives), generator=generator)

    def batch_negatives(self, negatives, batch, rows):
        return negatives[batch]

    def __call__(self, module, users, pos, neg):
        e = module.embed_batch(users, pos, neg)

        def exclude(items):
            return self.sampler.positive_mask(users, items)

        loss = self.loss(e.users, e.pos, e.neg, pos, neg, e.reg_terms, exclude)
        if e.extra_loss is not None:
            loss = loss + e.extra_loss
        return loss, e.logs

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_negatives={self.num_negatives}, loss={self.loss!r})"


def make_objective(config, sampler) -> Objective:
    """The objective a :class:`~pyrec.train.TrainConfig` asks for.

    Args:
        config: the (validated) training config; reads ``loss``, ``num_negatives``, ``reg``,
            ``in_batch_negatives``, ``similarity``, ``softmax_temperature``.
        sampler: the trainer's :class:`~pyrec.train.NegativeSampler` over the training pairs
            (BPR's negatives; the softmax's positives to drop and popularity for the logQ
            correction of in-batch negatives).

    Raises:
        ConfigError: an unknown ``loss``.
    """
    loss = getattr(config, "loss", "bpr")
    if loss == "bpr":
        return BPRObjective(sampler, config.num_negatives, config.reg)
    if loss != "softmax":
        raise param_error("loss", "make_objective", f"one of {list(OBJECTIVES)}", loss)
    return SampledSoftmaxObjective(sampler, config.num_negatives, config.softmax_temperature,
                                   config.similarity, config.in_batch_negatives, config.reg)
