"""LLM-only recommender: the shared contract, real ML-100K text, fine-tuning modes, the control."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError, DataError
from pyrec.models.llm import LLMRecommender
from pyrec.testing import RecommenderTests, movielens_subset, tiny_split

os.environ.setdefault("PYREC_CACHE_DIR", tempfile.mkdtemp(prefix="pyrec-test-cache-"))

FAST = {"epochs": 2, "embedding_size": 8, "max_length": 16, "batch_size": 256}



class TestLLMContract(RecommenderTests):
    model_class = LLMRecommender
    config = FAST


@pytest.fixture(scope="module")
def small(ml100k_dir):
    return movielens_subset()


@pytest.fixture(scope="module")
def fitted_small(small):
    """LLMRecommender(FAST) fitted on the real subset (shared by read-only tests)."""
    return LLMRecommender(FAST).fit(small, progress=False)


@pytest.fixture(scope="module")
def tiny_real(ml100k_dir):
    """A very small real subset for encoder fine-tuning (each step re-encodes item texts)."""
    return movielens_subset(n_users=40, n_items=60)


def test_config_fields_and_errors():
    cfg = LLMRecommender(encoder_mode="lora", max_length=16).get_config()
    assert cfg["encoder_mode"] == "lora" and cfg["lora"]["r"] == 8
    with pytest.raises(ConfigError, match="encoder_mode"):
        LLMRecommender(encoder_mode="half")
    with pytest.raises(ConfigError, match="inference_quantization"):
        LLMRecommender(inference_quantization="int4")


def test_missing_text_is_a_data_error():
    split = tiny_split()
    empty = [""] * split.n_items
    from dataclasses import replace

    split = replace(split, train=replace(split.train, item_text=empty))
    with pytest.raises(DataError, match="item text"):
        LLMRecommender(FAST).fit(split, progress=False)


def test_users_are_mean_of_their_items_plus_offset(small):
    model = LLMRecommender(FAST, user_offset=False).fit(small, progress=False)
    users, items = model.module_.get_embedding()
    seen = small.train.csr()
    u = int(np.flatnonzero(np.diff(seen.indptr) > 0)[0])
    expected = items[seen[u].indices].mean(0)
    torch.testing.assert_close(users[u], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.realdata
def test_learns_from_real_text_and_beats_shuffled(small):
    from pyrec.metrics import evaluate_full_ranking

    cfg = {**FAST, "epochs": 6, "embedding_size": 32, "user_offset": False}
    real = LLMRecommender(cfg).fit(small, progress=False)
    ctrl = LLMRecommender(cfg, shuffle_text=True).fit(small, progress=False)
    nd = [evaluate_full_ranking(m.score, small, part="test").summary["ndcg@10"] for m in (real, ctrl)]
    assert nd[0] > 0.02  # random ranking of ~1,600 items gives about 0.005
    assert nd[0] > nd[1]


@pytest.mark.realdata
@pytest.mark.parametrize("mode", [pytest.param("full", marks=pytest.mark.slow), "lora"])
def test_fine_tuning_updates_encoder_and_table(tiny_real, mode):
    cfg = {**FAST, "epochs": 1, "encoder_mode": mode, "patience": None, "batch_size": 1024}
    model = LLMRecommender(cfg, learning_rate=1e-2, encoder_learning_rate=1e-3)
    frozen = LLMRecommender(FAST).fit(tiny_real, progress=False)
    model.fit(tiny_real, progress=False)
    assert model.module_.tower.encoder is None  # detached after training; table re-encoded
    diff = (model.module_.tower.text_emb - frozen.module_.tower.text_emb).abs().max()
    assert diff > 1e-4, "fine-tuning did not change the item text embeddings"
    if mode == "lora":
        rep = model.encoder_.lora_report_
        assert 0 < rep.trainable_params < 0.05 * rep.total_params


@pytest.mark.realdata
def test_int8_inference_encoder_keeps_scores_close(small, fitted_small):
    base = fitted_small
    q = LLMRecommender(FAST, inference_quantization="int8").fit(small, progress=False)
    assert q.quant_report_.n_quantized > 0
    a, b = base.module_.tower.text_emb, q.module_.tower.text_emb
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
    assert cos.min() > 0.9 and (a - b).abs().max() > 0


@pytest.mark.realdata
def test_cold_start_projection_reproduces_known_items(small, fitted_small):
    model = fitted_small
    texts = small.train.item_text[:3]
    emb = model.text_encoder.encode(texts, show_progress=False)
    _, items = model.module_.get_embedding()
    torch.testing.assert_close(model.project_text(emb), items[:3], rtol=1e-4, atol=1e-5)


@pytest.mark.realdata
def test_quantize_encoder_after_fit_equals_quantizing_in_fit(small):
    later = LLMRecommender(FAST).fit(small, progress=False)
    with pytest.raises(ConfigError, match="one of \\['int8', 'bf16'\\]"):
        later.quantize_encoder("int4")
    assert later.quantize_encoder("int8") is later
    during = LLMRecommender(FAST, inference_quantization="int8").fit(small, progress=False)
    assert torch.equal(later.module_.tower.text_emb, during.module_.tower.text_emb)
    assert torch.equal(later.score([0, 5]), during.score([0, 5]))
    assert later.config.inference_quantization == "int8"
    with pytest.raises(ConfigError, match="already quantized"):
        later.quantize_encoder("int8")
    with tempfile.TemporaryDirectory() as d:
        loaded = LLMRecommender.load(later.save(d))
    assert torch.equal(loaded.score([0, 5]), later.score([0, 5]))
    with pytest.raises(ConfigError, match="no text encoder"):
        loaded.quantize_encoder("int8")


def test_lora_then_int8_merges_the_adapter_before_quantizing(tiny_real):
    cfg = {**FAST, "epochs": 1, "encoder_mode": "lora", "patience": None, "batch_size": 1024}
    model = LLMRecommender(cfg, inference_quantization="int8").fit(tiny_real, progress=False)
    rep = model.quant_report_
    assert rep.n_quantized == rep.n_linear == 37 and not rep.not_quantized  # no LoRA layer left
    assert model.encoder_.lora_report_.trainable_params > 0
    assert torch.isfinite(model.score([0, 1])).all()


def test_llm_student_distils_from_a_teacher(tiny_real):
    from pyrec.models.mf import MFRecommender
    from pyrec.optim.distill import distill

    teacher = MFRecommender(embedding_size=8, epochs=3, seed=0).fit(tiny_real, progress=False)
    student = distill(teacher, "llm", tiny_real, {"top_k": 10, "student": {**FAST, "epochs": 1}})
    assert "kd" in student.train_result_.history[-1] and student.distill_info_["top_k"] == 10
    assert student.module_.tower.encoder is None  # the student's own fit finished it as usual
    pairs = student.module_(torch.tensor([0, 1]), torch.tensor([2, 3]))
    torch.testing.assert_close(pairs, student.score([0, 1])[[0, 1], [2, 3]], rtol=1e-5, atol=1e-5)
