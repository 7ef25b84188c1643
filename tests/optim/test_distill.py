"""Listwise ranking distillation: the loss, and distilling a trained hybrid into a small student."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError
from pyrec.optim.distill import listwise_kd_loss
from pyrec.testing import movielens_subset


# ------------------------------------------------------------------------------------------- loss
def test_kd_loss_matches_hand_computed_kl_batchmean_times_t2():
    s = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    t = torch.tensor([[2.0, 0.0], [1.0, 0.0]])
    temp = 2.0
    # row 0: p_T = softmax([1, 0]) = [e/(e+1), 1/(e+1)], p_S = [1/2, 1/2]
    pt0 = [math.e / (math.e + 1), 1 / (math.e + 1)]
    kl0 = sum(p * (math.log(p) - math.log(0.5)) for p in pt0)
    # row 1: identical scores -> KL 0. batchmean divides by B=2; times T^2 = 4
    expected = 4.0 * (kl0 + 0.0) / 2
    assert listwise_kd_loss(s, t, temp).item() == pytest.approx(expected, rel=1e-6)


def test_kd_loss_zero_for_shifted_scores_and_teacher_gets_no_gradient():
    t = torch.randn(3, 5, requires_grad=True)
    s = (t.detach() + 7.0).requires_grad_(True)  # softmax is shift-invariant per row
    loss = listwise_kd_loss(s, t, 0.5)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss2 = listwise_kd_loss(s, t + torch.randn(3, 5), 0.5)
    loss2.backward()
    assert t.grad is None and s.grad is not None


def test_kd_loss_rejects_bad_input():
    with pytest.raises(ConfigError, match="'temperature'"):
        listwise_kd_loss(torch.zeros(2, 3), torch.zeros(2, 3), 0)
    with pytest.raises(ConfigError, match="'teacher_scores'"):
        listwise_kd_loss(torch.zeros(2, 3), torch.zeros(2, 4), 1.0)


# ------------------------------------------------------------------------------------- distill()

@pytest.fixture(scope="module")
def teacher_and_split(ml100k_dir, tmp_path_factory):
    import os

    os.environ.setdefault("PYREC_CACHE_DIR", str(tmp_path_factory.mktemp("emb-cache")))
    from pyrec.models.hybrid import HybridRecommender

    split = movielens_subset()
    teacher = HybridRecommender(epochs=5, embedding_size=32, max_length=16, patience=None)
    return teacher.fit(split, progress=False), split


def _kd_to_teacher(student, teacher, split, k=20):
    from pyrec.optim.distill import teacher_topk

    items, t_scores = teacher_topk(teacher, split.n_users, k)
    s_scores = student.score(np.arange(split.n_users)).gather(1, items)
    return listwise_kd_loss(s_scores, t_scores, 1.0).item()


@pytest.mark.realdata
def test_distilled_student_follows_teacher_better_than_plain_student(teacher_and_split):
    from pyrec.optim.distill import distill

    teacher, split = teacher_and_split
    student_cfg = {"embedding_size": 8, "epochs": 10, "patience": None, "seed": 1}
    kd = distill(teacher, "mf", split, {"kd_weight": 1.0, "top_k": 20, "student": student_cfg})
    plain = distill(teacher, "mf", split, {"kd_weight": 0.0, "top_k": 20, "student": student_cfg})
    assert all(h["kd"] > 0 for h in kd.train_result_.history)
    assert "kd" not in plain.train_result_.history[0]
    assert kd.distill_info_["teacher"] == "hybrid" and kd.distill_info_["top_k"] == 20
    assert _kd_to_teacher(kd, teacher, split) < _kd_to_teacher(plain, teacher, split)


def test_teacher_topk_excludes_seen_and_is_sorted():
    from pyrec.models.mf import MFRecommender
    from pyrec.optim.distill import teacher_topk
    from pyrec.testing import tiny_split

    split = tiny_split()
    teacher = MFRecommender(epochs=2, embedding_size=4).fit(split, progress=False)
    items, scores = teacher_topk(teacher, split.n_users, 5)
    assert items.shape == (split.n_users, 5) and scores.shape == (split.n_users, 5)
    seen = split.train.csr()
    for u in range(split.n_users):
        assert not set(items[u].tolist()) & set(seen[u].indices)
    assert bool((scores[:, :-1] >= scores[:, 1:]).all())
    torch.testing.assert_close(scores, teacher.score(np.arange(split.n_users)).gather(1, items))


def test_distill_rejects_bad_student_and_unfitted_teacher():
    from pyrec.diagnostics import NotFittedError
    from pyrec.models.mf import MFRecommender
    from pyrec.optim.distill import distill
    from pyrec.testing import tiny_split

    split = tiny_split()
    with pytest.raises(NotFittedError):
        distill(MFRecommender(), "mf", split)
    teacher = MFRecommender(epochs=1, embedding_size=4).fit(split, progress=False)
    with pytest.raises(ConfigError, match="'name'"):
        distill(teacher, "no-such-model", split)
    with pytest.raises(ConfigError, match="top_k"):
        distill(teacher, "mf", split, {"top_k": 1})
