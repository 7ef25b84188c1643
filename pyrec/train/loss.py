"""BPR loss and the batch-embedding L2 penalty used by every BPR-trained pyrec model.

Source: Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009; the
L2 on the batch's layer-0 embeddings follows LightGCN (He et al., SIGIR 2020) and RecBole's
``EmbLoss``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BPRLoss", "bpr_loss", "embedding_l2"]


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    r"""Mean BPR loss :math:`-\frac1B\sum_b \log\sigma(\hat y_{ui} - \hat y_{uj})`.

    Shapes:
        pos_scores ``(B,)``; neg_scores ``(B,)`` or ``(B, n_neg)`` (each negative pairs with the
        row's positive); returns a scalar.

    Uses ``softplus(neg - pos)`` which equals ``-log sigmoid(pos - neg)`` and is stable.
    """
    if neg_scores.dim() == 2:
        pos_scores = pos_scores.unsqueeze(1)
    return F.softplus(neg_scores - pos_scores).mean()


def embedding_l2(*embeddings: Tensor, batch_size: int) -> Tensor:
    r"""L2 penalty on the batch's embeddings: :math:`\frac{1}{2B}\sum_t \lVert E_t\rVert_F^2`.

    As in LightGCN/RecBole: ``(||e_u||^2 + ||e_i||^2 + ||e_j||^2) / 2 / B``; multiply by ``reg``.
    Shapes: each embedding ``(B, d)`` or ``(B, n_neg, d)``; returns a scalar.
    """
    total = sum(e.pow(2).sum() for e in embeddings)
    return total / (2.0 * batch_size)


class BPRLoss(nn.Module):
    r"""BPR loss plus ``reg`` times the batch-embedding L2 penalty (PyG's ``BPRLoss`` layout).

    .. math::
        \mathcal L = -\frac1B\sum_b\log\sigma(\hat y_{ub i_b}-\hat y_{ub j_b})
            + \lambda \frac{1}{2B}\big(\lVert E_u\rVert^2+\lVert E_i\rVert^2+\lVert E_j\rVert^2\big)

    Args:
        reg (float, optional): :math:`\lambda`, >= 0. (default: ``1e-4``)

    Shapes:
        pos ``(B,)``, neg ``(B,)`` or ``(B, n_neg)``, each reg tensor ``(B, ...)``; output scalar.
    """

    def __init__(self, reg: float = 1e-4) -> None:
        super().__init__()
        self.reg = float(reg)

    def forward(self, pos_scores: Tensor, neg_scores: Tensor, reg_terms=()) -> Tensor:
        """Scalar loss for one batch; ``reg_terms`` are the batch's layer-0 embeddings."""
        loss = bpr_loss(pos_scores, neg_scores)
        if self.reg > 0 and len(reg_terms):
            loss = loss + self.reg * embedding_l2(*reg_terms, batch_size=pos_scores.shape[0])
        return loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reg={self.reg})"
