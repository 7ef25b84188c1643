"""The training losses of pyrec's embedding models and the batch-embedding L2 penalty.

* BPR (the default): Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback",
  UAI 2009.
* Sampled softmax / InfoNCE over many negatives, with dot or cosine scores and a temperature:
  Wu et al., "On the Effectiveness of Sampled Softmax Loss for Item Recommendation", TOIS 2024
  (arXiv:2201.02327); the cosine + temperature form is the InfoNCE of AlphaRec (Sheng et al.,
  "Language Representations Can be What Recommenders Need", ICLR 2025). In-batch negatives get
  the logQ correction of sampled softmax (Bengio and Senécal 2008; Yi et al., "Sampling-Bias-
  Corrected Neural Modeling for Large Corpus Item Recommendations", RecSys 2019).

The L2 on the batch's layer-0 embeddings follows LightGCN (He et al., SIGIR 2020) and RecBole's
``EmbLoss``. Which loss a model trains with is decided by :mod:`pyrec.train.objective`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyrec.diagnostics import param_error

__all__ = [
    "SIMILARITIES",
    "BPRLoss",
    "SampledSoftmaxLoss",
    "bpr_loss",
    "embedding_l2",
    "sampled_softmax_loss",
]

#: score functions of :class:`SampledSoftmaxLoss` (and of the scorer, :mod:`pyrec.train.objective`)
SIMILARITIES: tuple[str, ...] = ("dot", "cosine")


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


def sampled_softmax_loss(
    pos_logits: Tensor,
    neg_logits: Tensor,
    *,
    temperature: float = 1.0,
    neg_mask: Tensor | None = None,
    log_q_pos: Tensor | None = None,
    log_q_neg: Tensor | None = None,
) -> Tensor:
    r"""Mean cross-entropy of the positive among [positive, negatives] (sampled softmax).

    .. math::
        \mathcal L = -\frac1B\sum_b \log
            \frac{\exp(s_{b0})}{\exp(s_{b0}) + \sum_{m\,\text{kept}} \exp(s_{bm})},
        \qquad s_{bm} = \hat y_{bm}/\tau - \log Q_{bm}

    Args:
        pos_logits: float ``(B,)`` scores :math:`\hat y` of the (user, positive) pairs.
        neg_logits: float ``(B, M)`` scores of each row's negatives (shared ones broadcast).
        temperature: :math:`\tau > 0`; scores are divided by it.
        neg_mask: optional bool ``(B, M)``; True drops that negative from row ``b``'s softmax
            (an accidental hit: the row's own positive drawn as a negative).
        log_q_pos / log_q_neg: optional log expected counts of the candidates under the
            sampler, subtracted after the division by :math:`\tau` (logQ correction);
            ``(B,)`` and ``(M,)`` or ``(B, M)``. With uniform negatives only they are one constant
            for every candidate, which cancels in the softmax: leave them None. A candidate that
            stands for ``c`` identical draws takes ``log_q - log c``.

    Returns:
        scalar tensor (nats).
    """
    pos, neg = pos_logits / temperature, neg_logits / temperature
    if log_q_pos is not None:
        pos = pos - log_q_pos
    if log_q_neg is not None:
        neg = neg - log_q_neg
    if neg_mask is not None:
        neg = neg.masked_fill(neg_mask, float("-inf"))
    return _positive_cross_entropy(pos, neg)


def _positive_cross_entropy(pos: Tensor, neg: Tensor) -> Tensor:
    """Mean ``-log softmax`` of column 0 of ``[pos (B,) | neg (B, M)]`` (final logits)."""
    # the positive's column is always finite, so a row whose negatives are all masked is safe
    logits = torch.cat([pos.unsqueeze(1), neg], dim=1)
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


class SampledSoftmaxLoss(nn.Module):
    r"""Sampled softmax (InfoNCE) over shared uniform negatives, optionally plus in-batch ones,
    plus ``reg`` times the batch-embedding L2 penalty.

    For row :math:`b` (user :math:`u_b`, positive :math:`i_b`) the candidates are the positive,
    the :math:`N` uniform negatives shared by the batch and, with ``in_batch_negatives``, the
    other rows' positives; scores are :math:`\hat y = \mathbf e_u^\top\mathbf e_i` (``"dot"``)
    or :math:`\cos(\mathbf e_u, \mathbf e_i)` (``"cosine"``), divided by :math:`\tau`:

    .. math::
        \mathcal L = -\frac1B\sum_b \log\frac{\exp(\hat y_{u_b i_b}/\tau)}
            {\exp(\hat y_{u_b i_b}/\tau) + \sum_{j \in \mathcal N_b}\exp(\hat y_{u_b j}/\tau)}
            + \lambda\frac{1}{2B}\textstyle\sum_t\lVert E_t\rVert^2

    A candidate equal to the row's positive item (an accidental hit, e.g. the same item drawn
    uniformly, or another row with the same positive) is dropped from that row's softmax, and so
    is any candidate ``exclude`` names (the trainer drops the user's other training positives: on
    ML-100K, where a user's positives are up to 30% of the items, keeping them as negatives cost
    LightGCN about 0.015 test NDCG@10). The uniform negatives are then, per row, uniform over the
    items that are not positives of the user.

    logQ correction: uniform negatives have the same sampling probability for every item (among a
    row's candidates), so the correction :math:`-\log Q` is one constant per row that cancels in
    the softmax and is not applied. In-
    batch negatives are drawn in proportion to item popularity, so with ``in_batch_negatives``
    every candidate's logit is corrected by the log of its expected count among the batch's
    candidates, :math:`\log(N/n_{items} + B\,p_j)` with :math:`p_j` the item's share of the
    training pairs (``item_prob``), as TensorFlow's ``sampled_softmax_loss`` does for its sampler.

    Args:
        temperature (float): :math:`\tau > 0`. similarity (str): ``"dot"`` or ``"cosine"``.
        in_batch_negatives (bool): also use the other rows' positives as negatives.
        reg (float): :math:`\lambda \ge 0` on ``reg_terms``.
        item_prob (Tensor, optional): float ``(n_items,)`` popularity :math:`p_j` (sums to 1);
            required with ``in_batch_negatives``.

    Shapes:
        users ``(B, d)``, pos ``(B, d)``, neg ``(N, d)``, pos_items ``(B,)``, neg_items ``(N,)``;
        output scalar.

    Raises:
        ConfigError: temperature <= 0, an unknown similarity, reg < 0, or in-batch negatives
            without ``item_prob``.
    """

    def __init__(
        self,
        temperature: float = 1.0,
        similarity: str = "dot",
        in_batch_negatives: bool = False,
        reg: float = 0.0,
        item_prob: Tensor | None = None,
    ) -> None:
        super().__init__()
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise param_error("temperature", "SampledSoftmaxLoss", "a float in (0, inf)", temperature)
        if similarity not in SIMILARITIES:
            raise param_error("similarity", "SampledSoftmaxLoss", f"one of {list(SIMILARITIES)}", similarity)
        if not reg >= 0:
            raise param_error("reg", "SampledSoftmaxLoss", "a float in [0, inf)", reg)
        if in_batch_negatives and item_prob is None:
            raise param_error("item_prob", "SampledSoftmaxLoss", "the item popularity (n_items,) "
                              "for the logQ correction of in-batch negatives", None)
        self.temperature, self.similarity = float(temperature), similarity
        self.in_batch_negatives, self.reg = bool(in_batch_negatives), float(reg)
        self.item_prob = None if item_prob is None else torch.as_tensor(item_prob, dtype=torch.float32)

    def _prob(self, device) -> Tensor:
        if self.item_prob.device != torch.device(device):  # moved once, not per step
            self.item_prob = self.item_prob.to(device)
        return self.item_prob

    def logits(self, users: Tensor, pos: Tensor, neg: Tensor, pos_items: Tensor,
               neg_items: Tensor, exclude=None) -> tuple[Tensor, Tensor]:
        """The batch's final logits :math:`\\hat y/\\tau - \\log Q` (dropped candidates -inf).

        ``exclude``: optional ``exclude(items (K,)) -> bool (B, K)``, candidates to drop from each
        row besides its own positive (the trainer passes the user's other training positives).

        Returns:
            ``(pos (B,), neg (B, M))`` with ``M = N``, plus one column per distinct positive item
            of the batch with in-batch negatives (it stands for that item's ``c`` copies: its
            logit gets ``+ log c``, as ``exp(s + log c) = c exp(s)``; rows with the same positive
            item have the same embedding, as every pyrec module gathers them from one item table).
            Cost: one ``(B, d) @ (d, M)`` product with the corrections added in it (``addmm``).
        """
        if self.similarity == "cosine":
            users, pos, neg = F.normalize(users, dim=-1), F.normalize(pos, dim=-1), F.normalize(neg, dim=-1)
        users = users / self.temperature  # (B, d): cheaper than dividing (B, M) logits
        pos_logits = (users * pos).sum(-1)
        b, n = pos_items.shape[0], neg_items.shape[0]
        # accidental hits among the uniform draws: the row's own positive
        drop = neg_items.unsqueeze(0) == pos_items.unsqueeze(1)
        if exclude is not None:
            drop |= exclude(neg_items)
        bias = torch.zeros(b, n, dtype=users.dtype, device=users.device).masked_fill_(drop, float("-inf"))
        cand = neg
        if self.in_batch_negatives:
            items, inverse, counts = torch.unique(pos_items, return_inverse=True, return_counts=True)
            first = torch.full_like(items, b).scatter_reduce(
                0, inverse, torch.arange(b, device=inverse.device), reduce="amin")
            cand = torch.cat([neg, pos[first]])
            prob = self._prob(users.device)
            uniform = n / prob.shape[0]  # expected count of any item among the N uniform draws
            pos_logits = pos_logits - torch.log(uniform + b * prob[pos_items])
            shift = torch.cat([-torch.log(uniform + b * prob[neg_items]),
                               torch.log(counts.to(users.dtype)) - torch.log(uniform + b * prob[items])])
            extra = bias.new_zeros(b, items.shape[0])
            if exclude is not None:
                extra.masked_fill_(exclude(items), float("-inf"))
            bias = torch.cat([bias, extra], dim=1) + shift
            bias[torch.arange(b, device=bias.device), n + inverse] = float("-inf")  # own item
        neg_logits = torch.addmm(bias, users, cand.t())
        return pos_logits, neg_logits

    def forward(self, users: Tensor, pos: Tensor, neg: Tensor, pos_items: Tensor,
                neg_items: Tensor, reg_terms=(), exclude=None) -> Tensor:
        """Scalar loss of one batch (see the class docstring for shapes; ``exclude`` as in
        :meth:`logits`)."""
        pos_logits, neg_logits = self.logits(users, pos, neg, pos_items, neg_items, exclude)
        loss = _positive_cross_entropy(pos_logits, neg_logits)
        if self.reg > 0 and len(reg_terms):
            loss = loss + self.reg * embedding_l2(*reg_terms, batch_size=pos_logits.shape[0])
        return loss

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(temperature={self.temperature}, similarity={self.similarity!r}, "
                f"in_batch_negatives={self.in_batch_negatives}, reg={self.reg})")
