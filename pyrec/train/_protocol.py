"""What a model must expose to be trained by :class:`~pyrec.train.Trainer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol, runtime_checkable

from torch import Tensor

__all__ = ["BPRModule", "BPROutput"]


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
