"""What a model must expose to be trained by :class:`~pyrec.train.Trainer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol, runtime_checkable

from torch import Tensor

__all__ = ["BPRModule", "BPROutput", "BatchEmbeddings", "EmbeddingModule"]


class BPROutput(NamedTuple):
    """One batch's forward result.

    Attributes:
        pos_scores: float ``(B,)`` scores of the (user, positive item) pairs.
        neg_scores: float ``(B,)`` or ``(B, n_neg)`` scores of the (user, negative item) pairs.
        reg_terms: tensors the L2 penalty applies to, normally the batch's layer-0 (ego)
            embeddings ``(e_u, e_i, e_j)``, each ``(B, d)`` or ``(B, n_neg, d)``.
        extra_loss: optional scalar added to the loss as is (e.g. a contrastive alignment term,
            already weighted by the model).
        logs: optional floats to average over the epoch and show in the history (e.g. ``{"cl": 0.3}``).
    """

    pos_scores: Tensor
    neg_scores: Tensor
    reg_terms: tuple = ()
    extra_loss: Tensor | None = None
    logs: dict | None = None


class BatchEmbeddings(NamedTuple):
    """One batch's final embeddings, for objectives that score them themselves (sampled softmax).

    Attributes:
        users: float ``(B, d)`` final embeddings of the batch's users (row ``b`` is ``users[b]``).
        pos: float ``(B, d)`` final embeddings of the rows' positive items.
        neg: float ``(*neg.shape, d)`` final embeddings of the negative items asked for: ``(N, d)``
            for negatives shared by the batch, ``(B, d)`` / ``(B, n_neg, d)`` for per-row ones.
        reg_terms: tensors the L2 penalty applies to (as :attr:`BPROutput.reg_terms`).
        extra_loss: optional scalar added to the loss as is (e.g. a weighted contrastive term).
        logs: optional floats averaged over the epoch and shown in the history.
    """

    users: Tensor
    pos: Tensor
    neg: Tensor
    reg_terms: tuple = ()
    extra_loss: Tensor | None = None
    logs: dict | None = None


@runtime_checkable
class BPRModule(Protocol):
    """A ``torch.nn.Module`` the trainer can optimise.

    Required:
        ``bpr_forward(users, pos, neg) -> BPROutput`` with users/pos ``LongTensor (B,)`` and neg
        ``(B,)`` or ``(B, n_neg)``; called in train mode with gradients on.

        ``scorer() -> Callable[[LongTensor (B,)], Tensor float32 (B, n_items)]``; called in eval
        mode under ``torch.no_grad()``; may precompute (e.g. propagate the graph once) and return
        a closure over the cached embeddings.

    Optional:
        ``optimizer_param_groups(learning_rate) -> list[dict]`` for per-group learning rates
        (default: all ``parameters()`` at ``learning_rate``).
    """

    def bpr_forward(self, users: Tensor, pos: Tensor, neg: Tensor) -> BPROutput: ...

    def scorer(self) -> Callable[[Tensor], Tensor]: ...


@runtime_checkable
class EmbeddingModule(Protocol):
    """A module trainable by every objective of :mod:`pyrec.train.objective` (BPR and sampled
    softmax): a :class:`BPRModule` that also exposes its embeddings.

    Required (besides :class:`BPRModule`'s methods):
        ``embed_batch(users, pos, neg) -> BatchEmbeddings``: users/pos ``LongTensor (B,)``, neg
        any LongTensor of item ids (``(N,)`` shared negatives, or ``(B,)`` / ``(B, n_neg)``); the
        final embeddings of those rows, computing the propagation over all nodes at most once;
        called in train mode with gradients on.

        ``embeddings() -> (users float (n_users, d), items float (n_items, d))``: the final
        embeddings of every user and item, detached (eval mode, ``torch.no_grad()``); the cosine
        scorer normalises them.
    """

    def embed_batch(self, users: Tensor, pos: Tensor, neg: Tensor) -> BatchEmbeddings: ...

    def embeddings(self) -> tuple[Tensor, Tensor]: ...
