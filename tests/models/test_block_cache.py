"""Fine-tuning only the top transformer blocks: the frozen blocks' output is cached and replayed.

Checked on the real MiniLM-L6 encoder and real ML-100K titles: replaying the cache gives the same
embeddings as running every block, gradients reach only the top blocks, the final re-encoding from
the cache equals a full encode by the fine-tuned encoder, and bad settings name the parameter.
"""

from __future__ import annotations

import os
import tempfile

import pytest
import torch

from pyrec.diagnostics import ConfigError
from pyrec.models._block_cache import transformer_blocks
from pyrec.models.text_encoder import TextEncoder

os.environ.setdefault("PYREC_CACHE_DIR", tempfile.mkdtemp(prefix="pyrec-test-cache-"))


@pytest.fixture(scope="module")
def titles(ml100k_dir):
    lines = (ml100k_dir / "u.item").read_text(encoding="latin-1").splitlines()
    return [line.split("|")[1] for line in lines[:24]]


def _tokens(enc, titles):
    b = enc.tokenizer(titles, padding="max_length", truncation=True, max_length=16,
                      return_tensors="pt")
    return b["input_ids"], b["attention_mask"]


@pytest.mark.realdata
@pytest.mark.parametrize("mode", ["lora", "full"])
def test_replay_equals_every_block_and_only_top_blocks_train(titles, mode):
    enc = TextEncoder(trainable=mode, trainable_layers=2, max_length=16)
    ids, mask = _tokens(enc, titles)
    enc.cache_frozen_blocks(ids, mask)
    rows = torch.tensor([5, 0, 17, 3])
    length = int(mask[rows].sum(1).max())
    enc.eval()
    with torch.no_grad():
        replayed = enc(ids[rows, :length], mask[rows, :length], rows=rows)
        full = enc(ids[rows, :length], mask[rows, :length])
    assert torch.allclose(replayed, full, atol=1e-5)
    enc.train()
    enc(ids[rows, :length], mask[rows, :length], rows=rows).sum().backward()
    with_grad = {n for n, p in enc.named_parameters() if p.grad is not None}
    assert with_grad and all(".layer.4." in n or ".layer.5." in n for n in with_grad)
    trainable = {n for n, p in enc.named_parameters() if p.requires_grad}
    assert with_grad == trainable  # every trainable weight got a gradient through the replay
    if mode == "lora":
        assert all(".layer.4." in m or ".layer.5." in m for m in enc.lora_report_.adapted_modules)


@pytest.mark.realdata
def test_final_encoding_from_the_cache_equals_a_full_encode(titles):
    enc = TextEncoder(trainable="full", trainable_layers=1, max_length=16)
    ids, mask = _tokens(enc, titles)
    enc.cache_frozen_blocks(ids, mask)
    _, blocks = transformer_blocks(enc.model)
    with torch.no_grad():  # a "fine-tuned" top block
        for p in blocks[-1].parameters():
            p.add_(0.01 * torch.randn_like(p))
    cached = enc.encode_from_block_cache()
    assert torch.allclose(cached, enc.encode(titles, show_progress=False), atol=1e-5)
    enc.drop_block_cache()
    with pytest.raises(ConfigError, match="no frozen-block cache"):
        enc.encode_from_block_cache()


@pytest.mark.realdata
def test_too_many_trainable_layers_names_the_parameter():
    with pytest.raises(ConfigError, match="trainable_layers.*6 blocks"):
        TextEncoder(trainable="full", trainable_layers=7)
    from pyrec.models.llm import LLMRecommender

    with pytest.raises(ConfigError, match="trainable_layers=2 needs encoder_mode"):
        LLMRecommender(trainable_layers=2)  # a frozen encoder: nothing would train
    enc = TextEncoder(trainable="full", trainable_layers=6)  # every block: no cache
    enc.cache_frozen_blocks(torch.ones(2, 4, dtype=torch.long), torch.ones(2, 4, dtype=torch.long))
    assert enc.block_cache_ is None and enc.trainable_parameters() == enc.total_parameters()


@pytest.mark.realdata
def test_llm_fine_tuning_top_blocks_ends_with_the_encoders_own_table(ml100k_dir):
    from pyrec.models.llm import LLMRecommender
    from pyrec.testing import movielens_subset

    split = movielens_subset(n_users=40, n_items=60)
    model = LLMRecommender(epochs=1, embedding_size=8, max_length=16, batch_size=1024,
                           patience=None, encoder_mode="lora", trainable_layers=1,
                           encoder_learning_rate=1e-2).fit(split, progress=False)
    assert model.encoder_.block_cache_ is None  # freed after training
    table = model.module_.tower.text_emb
    again = model.text_encoder.encode(list(split.train.item_text), show_progress=False)
    assert torch.allclose(table, again, atol=1e-5)  # re-encoded from the cache = merged encoder
    frozen = LLMRecommender(epochs=1, embedding_size=8, max_length=16).fit(split, progress=False)
    assert (table - frozen.module_.tower.text_emb).abs().max() > 1e-4  # the top block did learn


@pytest.mark.realdata
def test_another_architecture_by_path_distilbert(tmp_path):
    """The cache finds DistilBERT's blocks (``transformer.layer``) and its LoRA targets (q_lin,
    v_lin) in a local folder given by path (a small randomly initialised DistilBERT with MiniLM's
    tokenizer: the architecture is what is tested, not the weights)."""
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertModel

    from pyrec.models.text_encoder import default_model_path

    tok = AutoTokenizer.from_pretrained(str(default_model_path()), local_files_only=True)
    torch.manual_seed(0)
    DistilBertModel(DistilBertConfig(vocab_size=tok.vocab_size, dim=64, hidden_dim=128, n_layers=3,
                                     n_heads=2)).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    texts = ["Toy Story (1995)", "GoldenEye", "The Matrix Reloaded and more words than that"]
    enc = TextEncoder(model_path=str(tmp_path), trainable="lora", trainable_layers=1, max_length=16)
    assert enc.lora_report_.adapted_modules == [
        "base_model.model.transformer.layer.2.attention.q_lin",
        "base_model.model.transformer.layer.2.attention.v_lin"]
    ids, mask = _tokens(enc, texts)
    enc.cache_frozen_blocks(ids, mask)
    assert torch.allclose(enc.encode_from_block_cache(), enc.encode(texts, show_progress=False),
                          atol=1e-5)
