"""LoRA (peft) on the real MiniLM-L6 encoder: targets, reports, adapter files, merging."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pyrec.diagnostics import ConfigError
from pyrec.models.lora import (
    LoRAConfig,
    apply_lora,
    default_target_modules,
    load_adapter,
    merge_lora,
    save_adapter,
)
from pyrec.models.quantization import model_size_mib, quantize_dynamic_int8
from pyrec.models.text_encoder import TextEncoder


@pytest.fixture(scope="module")
def titles(ml100k_dir):
    lines = (ml100k_dir / "u.item").read_text(encoding="latin-1").splitlines()
    return [line.split("|")[1] for line in lines[:16]]


@pytest.fixture(scope="module")
def trained(titles):
    """A LoRA encoder after 3 real Adam steps (so the adapter is non-zero)."""
    torch.manual_seed(0)
    enc = TextEncoder(max_length=32, trainable="lora", lora=LoRAConfig(r=8, alpha=16))
    opt = torch.optim.Adam([p for p in enc.parameters() if p.requires_grad], lr=1e-2)
    batch = enc.tokenize(titles)
    target = torch.nn.functional.normalize(torch.randn(len(titles), enc.embedding_dim), dim=1)
    enc.train()
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (1 - (enc(**batch) * target).sum(1)).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    enc.eval()
    return enc, losses


def test_default_targets_per_architecture():
    from transformers import GPT2Config, GPT2Model

    gpt2 = GPT2Model(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50))
    assert default_target_modules(gpt2) == ["c_attn"]
    toy = nn.ModuleDict({"q_proj": nn.Linear(4, 4), "k_proj": nn.Linear(4, 4),
                         "v_proj": nn.Linear(4, 4)})
    assert default_target_modules(toy) == ["q_proj", "v_proj"]
    with pytest.raises(ConfigError, match="Linear modules available: \\['fc'\\]"):
        default_target_modules(nn.ModuleDict({"fc": nn.Linear(4, 4)}))
    wrapped, report = apply_lora(gpt2, LoRAConfig(r=2))
    # one c_attn Conv1D 16 -> 48: A is 2 x 16, B is 48 x 2
    assert report.adapted_modules == ["base_model.model.h.0.attn.c_attn"]
    assert report.trainable_params == 2 * 16 + 48 * 2


def test_bert_report_counts_query_value_adapters(trained):
    enc, losses = trained
    report = enc.lora_report_
    assert report.target_modules == ["query", "value"] and len(report.adapted_modules) == 12
    # 12 adapted 384 -> 384 layers, r = 8: 12 * 8 * (384 + 384)
    assert report.trainable_params == 73_728 == enc.trainable_parameters()
    assert report.total_params == 22_713_216 + 73_728
    assert report.trainable_fraction < 0.004
    assert losses[-1] < losses[0]


def test_unknown_target_is_an_error_naming_it():
    enc = TextEncoder(max_length=32)
    with pytest.raises(ConfigError, match=r"'q_proj' matches no .*'query'"):
        apply_lora(enc, LoRAConfig(target_modules=["query", "q_proj"]))


def test_adapter_saves_alone_and_reloads_to_same_outputs(trained, titles, tmp_path):
    enc, _ = trained
    b = enc.model.base_model.model.encoder.layer[0].attention.self.query.lora_B["default"]
    assert b.weight.abs().sum() > 0  # training moved the adapter away from its zero init
    expected = enc.encode(titles, show_progress=False)
    folder = save_adapter(enc, tmp_path / "adapter")
    size = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
    names = {f.name for f in folder.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= names
    assert size < 0.5 < 0.01 * model_size_mib(enc.model)  # ~0.29 MiB vs ~87 MiB
    fresh = load_adapter(TextEncoder(max_length=32), folder)
    torch.testing.assert_close(fresh.encode(titles, show_progress=False), expected,
                               atol=1e-6, rtol=0)
    with fresh.model.disable_adapter():
        base = fresh.encode(titles, show_progress=False)
    assert (base - expected).abs().max() > 1e-3  # the adapter does change the outputs
    with pytest.raises(ConfigError, match="adapter_config.json"):
        load_adapter(TextEncoder(max_length=32), tmp_path)


def test_merged_model_scores_equal_unmerged(trained, titles, tmp_path):
    enc, _ = trained
    save_adapter(enc, tmp_path / "a")
    copy = load_adapter(TextEncoder(max_length=32), tmp_path / "a")
    unmerged = copy.encode(titles, show_progress=False)
    with pytest.raises(ConfigError, match="merge_lora first"):
        quantize_dynamic_int8(copy)
    merged = merge_lora(copy)
    assert not any("lora" in n for n, _ in merged.model.named_modules())
    out = merged.encode(titles, show_progress=False)
    torch.testing.assert_close(out, unmerged, atol=1e-5, rtol=0)
    torch.testing.assert_close(out @ out.T, unmerged @ unmerged.T, atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match="LoRA-wrapped"):
        save_adapter(merged, tmp_path / "b")
