"""Knowledge distillation of a trained recommender (teacher) into a smaller one (student).

The student's loss is BPR on the training data plus a listwise ranking-distillation term on the
teacher's scores over the teacher's top-K items:

.. math::
    \\mathcal{L} = \\mathcal{L}_{\\text{BPR}} + \\lambda \\, T^2 \\,
    \\frac{1}{B} \\sum_{u \\in \\mathcal{B}} \\mathrm{KL}\\!\\left(
    \\operatorname{softmax}\\!\\left(\\mathbf{s}^{T}_{u, \\mathcal{K}_u} / T\\right) \\,\\Big\\Vert\\,
    \\operatorname{softmax}\\!\\left(\\mathbf{s}^{S}_{u, \\mathcal{K}_u} / T\\right) \\right)

where :math:`\\mathcal{K}_u` is the teacher's top-K list for user :math:`u` (training items
excluded by default), :math:`\\mathbf{s}^T, \\mathbf{s}^S` the teacher and student scores and
:math:`T` the temperature. The KL is averaged over users (``reduction="batchmean"``, the true KL
per distribution; ``"mean"`` would also divide by K) and multiplied by :math:`T^2` so its gradients
keep their size as :math:`T` changes.

Sources: temperature-softened distillation from Hinton, Vinyals and Dean, "Distilling the Knowledge
in a Neural Network" (2015, `arXiv:1503.02531 <https://arxiv.org/abs/1503.02531>`_); distilling
the teacher's top-K ranking into a recommender student from Tang and Wang, "Ranking Distillation:
Learning Compact Ranking Models With High Performance for Recommender System" (KDD 2018,
`arXiv:1809.07428 <https://arxiv.org/abs/1809.07428>`_), in the listwise form of Kang et al.'s
relaxed ranking distillation, "DE-RRD: A Knowledge Distillation Framework for Recommender System"
(CIKM 2020, `arXiv:2012.04357 <https://arxiv.org/abs/2012.04357>`_).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from pyrec.diagnostics import param_error

__all__ = ["DistillConfig", "DistillModule", "distill", "listwise_kd_loss", "teacher_topk"]


def listwise_kd_loss(student_scores: Tensor, teacher_scores: Tensor, temperature: float = 1.0) -> Tensor:
    r"""Temperature-scaled listwise KL between teacher and student score distributions.

    .. math::
        \ell = T^2 \, \frac{1}{B} \sum_{b=1}^{B} \sum_{k=1}^{K} p^T_{bk}
        \left( \log p^T_{bk} - \log p^S_{bk} \right), \qquad
        p_{b\cdot} = \operatorname{softmax}(\mathbf{s}_{b\cdot} / T)

    Hinton et al. (2015, arXiv:1503.02531) temperature distillation applied to each user's top-K
    list (Tang and Wang, KDD 2018). Implemented with ``torch.nn.functional.kl_div(...,
    reduction="batchmean")``. The teacher side carries no gradient.

    Args:
        student_scores: float [B, K], student scores of the K listed items per user.
        teacher_scores: float [B, K], teacher scores of the same items (same order).
        temperature: :math:`T > 0`.

    Returns:
        scalar Tensor (nats), >= 0, zero iff the two softmax distributions match per row.

    Raises:
        ConfigError: shapes differ or are not 2-D, or ``temperature <= 0``.
    """
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise param_error("temperature", "listwise_kd_loss", "a float in (0, inf)", temperature)
    if student_scores.dim() != 2 or student_scores.shape != teacher_scores.shape:
        raise param_error("teacher_scores", "listwise_kd_loss",
                          f"a 2-D tensor of the student scores' shape {tuple(student_scores.shape)}",
                          tuple(teacher_scores.shape))
    t = float(temperature)
    log_p_s = F.log_softmax(student_scores.float() / t, dim=-1)
    p_t = F.softmax(teacher_scores.detach().float() / t, dim=-1)
    return F.kl_div(log_p_s, p_t, reduction="batchmean") * (t * t)


class DistillConfig(BaseModel):
    """Settings of :func:`distill` (validated, JSON-serializable)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    kd_weight: float = Field(1.0, ge=0)
    """lambda, the weight of the distillation term (0 = plain BPR training of the student)."""
    temperature: float = Field(1.0, gt=0)
    """Softmax temperature T of both score distributions."""
    top_k: int = Field(50, ge=2)
    """K, the length of the teacher's list distilled per user."""
    exclude_seen: bool = True
    """Build the teacher's lists from items outside the user's training items (as Tang & Wang)."""
    student: dict[str, Any] = Field(default_factory=dict)
    """Config fields of the student model (e.g. ``{"embedding_size": 16, "epochs": 100}``)."""
    teacher_batch_size: int = Field(1024, ge=1)
    """Users per teacher scoring batch."""


@torch.no_grad()
def teacher_topk(teacher, n_users: int, k: int, *, exclude_seen: bool = True,
                 batch_size: int = 1024) -> tuple[Tensor, Tensor]:
    """The teacher's top-``k`` items per user and their scores.

    Args:
        teacher: a fitted :class:`~pyrec.models.base.Recommender`.
        n_users: users ``0..n_users-1`` are listed.
        k: list length, in [2, n_items].
        exclude_seen: rank only items outside the user's training items (``teacher.seen_``).

    Returns:
        (items int64 [n_users, k], scores float32 [n_users, k]), best first (ties: lower index).
    """
    from pyrec.metrics import topk_stable

    teacher.check_is_fitted()
    if not 2 <= k <= teacher.n_items_:
        raise param_error("top_k", "distill", f"an int in [2, {teacher.n_items_}]", k)
    items, scores = [], []
    for start in range(0, n_users, batch_size):
        users = np.arange(start, min(n_users, start + batch_size))
        s = teacher.score(users).float()
        ranked = s.clone()
        if exclude_seen:
            seen = teacher.seen_[users].tocoo()
            ranked[torch.from_numpy(seen.row).long(), torch.from_numpy(seen.col).long()] = -float("inf")
        top = topk_stable(ranked, k)
        items.append(top)
        scores.append(s.gather(1, top))
    return torch.cat(items), torch.cat(scores)


class DistillModule(nn.Module):
    """Wraps a student module (:class:`~pyrec.train.BPRModule`) and adds the distillation term.

    ``bpr_forward`` (BPR) and ``embed_batch`` (sampled softmax) return the student's output with
    ``extra_loss`` increased by ``kd_weight * listwise_kd_loss(student, teacher, T)`` over the
    batch's distinct users and their teacher top-K lists; ``scorer`` and ``embeddings`` are the
    student's. The student must score pairs with
    ``forward(users (N,), items (N,)) -> (N,)``.

    Args:
        student (nn.Module): the student's module.
        top_items (Tensor): int64 [n_users, K], the teacher's lists.
        top_scores (Tensor): float [n_users, K], the teacher's scores of those items.
        kd_weight (float): lambda. temperature (float): T.
    """

    def __init__(self, student: nn.Module, top_items: Tensor, top_scores: Tensor,
                 kd_weight: float, temperature: float) -> None:
        super().__init__()
        self.student = student
        self.top_items, self.top_scores = top_items, top_scores
        self.kd_weight, self.temperature = float(kd_weight), float(temperature)

    def bpr_forward(self, users: Tensor, pos: Tensor, neg: Tensor):
        """Student BPR output plus the weighted KD term (logged as ``"kd"``)."""
        from pyrec.train._protocol import BPROutput

        out = self.student.bpr_forward(users, pos, neg)
        if self.kd_weight == 0:
            return out
        extra, logs = self._kd(users, out.extra_loss, out.logs)
        return BPROutput(out.pos_scores, out.neg_scores, out.reg_terms, extra, logs)

    def embed_batch(self, users: Tensor, pos: Tensor, neg: Tensor):
        """Student batch embeddings (sampled-softmax objective) plus the weighted KD term."""
        out = self.student.embed_batch(users, pos, neg)
        if self.kd_weight == 0:
            return out
        extra, logs = self._kd(users, out.extra_loss, out.logs)
        return out._replace(extra_loss=extra, logs=logs)

    def _kd(self, users: Tensor, extra, logs):
        """``(extra_loss + kd_weight * KD, logs + {"kd": KD})`` over the batch's distinct users."""
        u = torch.unique(users)
        items = self.top_items.to(u.device)[u]
        k = items.shape[1]
        s = self.student(u.repeat_interleave(k), items.reshape(-1)).reshape(-1, k)
        kd = listwise_kd_loss(s, self.top_scores.to(s.device)[u], self.temperature)
        extra = self.kd_weight * kd + (extra if extra is not None else 0.0)
        return extra, {**(logs or {}), "kd": float(kd.detach())}

    def embeddings(self):
        """The student's final embeddings."""
        return self.student.embeddings()

    def scorer(self):
        """The student's scorer."""
        return self.student.scorer()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.student!r}, K={self.top_items.shape[1]}, "
                f"kd_weight={self.kd_weight}, T={self.temperature})")


def distill(teacher, student_name: str, split, config: DistillConfig | dict | None = None,
            options=None, **fit_kwargs):
    """Train a small student recommender on ``split`` with BPR plus ranking distillation.

    Method: listwise temperature KD (Hinton et al. 2015, arXiv:1503.02531) over the teacher's
    top-K (Tang and Wang, KDD 2018; Kang et al., CIKM 2020); see the module docstring for the loss.
    The student is fitted by its own ``fit`` (its recipe, early stopping on ``split.valid``, and
    whatever its ``fit`` does after training, e.g. merging LoRA), exactly as without distillation
    except that :class:`DistillModule` adds the KD term to each step.

    Args:
        teacher: a fitted recommender (e.g. :class:`~pyrec.models.HybridRecommender`), trained on
            ``split.train`` (its scores must not know the validation/test items).
        student_name: a registered BPR model, e.g. ``"mf"``, ``"lightgcn"`` or ``"llm"``.
        split: the :class:`~pyrec.data.Split` the teacher was trained on.
        config: :class:`DistillConfig` or dict (``student`` holds the student's config fields).
        options: the student's :class:`~pyrec.models.base.FitOptions` (``backend``,
            checkpoints, ``progress``; default: no progress bar); ``fit_kwargs`` override its
            fields. Its ``wrap_module`` is set here.

    Returns:
        The fitted student (a ``BPRRecommender``) with ``distill_info_`` (dict: teacher name, K,
        T, lambda, teacher top-K time in s) and ``train_result_``.

    Raises:
        ConfigError: bad config, unknown student, a student that cannot score pairs, or a teacher
            whose index space differs from ``split``.
        NotFittedError: the teacher is not fitted.
    """
    import time

    from pyrec.models._bpr import check_split
    from pyrec.models.registry import get_model
    from pyrec.train.config import build_config

    cfg = build_config(DistillConfig, config, None, "distill")
    split = check_split(split, "distill")
    teacher.check_is_fitted()
    if (teacher.n_users_, teacher.n_items_) != (split.n_users, split.n_items):
        raise param_error("split", "distill", f"the teacher's index space ({teacher.n_users_} users x "
                          f"{teacher.n_items_} items)", f"{split.n_users} x {split.n_items}")
    student = get_model(student_name, cfg.student)
    if not hasattr(student, "build_module"):
        raise param_error("student_name", "distill", "a BPR-trained model (e.g. 'mf', 'lightgcn')",
                          student_name)
    t0 = time.perf_counter()
    top_items, top_scores = teacher_topk(teacher, split.n_users, cfg.top_k,
                                         exclude_seen=cfg.exclude_seen,
                                         batch_size=cfg.teacher_batch_size)
    t_teacher = time.perf_counter() - t0

    def wrap(base: nn.Module) -> DistillModule:
        return DistillModule(base, top_items, top_scores, cfg.kd_weight, cfg.temperature)

    from pyrec.models.base import FitOptions

    opts = FitOptions.build(options or FitOptions(progress=False), fit_kwargs, "distill")
    student.fit(split, FitOptions.build(opts, {"wrap_module": wrap}, "distill"))
    student.distill_info_ = {"teacher": teacher.name, **cfg.model_dump(exclude={"student"}),
                             "teacher_topk_time_s": t_teacher}
    return student
