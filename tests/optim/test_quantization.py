"""INT8 / bf16 encoder quantization and INT8 embedding tables, on real ML-100K titles."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pyrec.diagnostics import BackendUnavailable, ConfigError, DataError
from pyrec.models.quantization import (
    cast_encoder,
    dequantize_embeddings_int8,
    int8_scores,
    load_quantized,
    model_size_mib,
    quantize_dynamic_int8,
    quantize_embeddings_int8,
    quantize_encoder,
    save_quantized,
)
from pyrec.models.text_encoder import TextEncoder

FFN_OUT = r"encoder\.layer\.\d+\.output\.dense"


@pytest.fixture(scope="module")
def titles(ml100k_dir):
    lines = (ml100k_dir / "u.item").read_text(encoding="latin-1").splitlines()
    return [line.split("|")[1] for line in lines[:40]]


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder(max_length=32)


@pytest.fixture(scope="module")
def fp32_emb(encoder, titles):
    return encoder.encode(titles, show_progress=False)


@pytest.fixture(scope="module")
def int8(encoder):
    return quantize_dynamic_int8(encoder)


def test_int8_quantizes_all_37_linear_layers_and_shrinks(int8, encoder):
    q, report = int8
    # MiniLM-L6 BertModel: 6 layers x (query, key, value, attn out, FFN in, FFN out) + pooler
    assert report.n_linear == 37 and report.n_quantized == 37 and report.not_quantized == []
    assert report.method == "dynamic-int8" and q.quantization_ == "dynamic-int8"
    # word embeddings (11.7M of 22.7M weights) stay fp32, so the file shrinks to ~0.65
    assert report.size_after_mib < 0.7 * report.size_before_mib
    assert report.size_before_mib == pytest.approx(model_size_mib(encoder.model))
    assert encoder.quantization_ == "none"  # the input was copied, not changed


def test_int8_embeddings_stay_close_to_fp32(int8, fp32_emb, titles):
    q, _ = int8
    cos = (q.encode(titles, show_progress=False) * fp32_emb).sum(1)
    # measured: mean 0.97 (all 37 layers, per-channel weights)
    assert cos.mean() > 0.96 and cos.min() > 0.93
    # the top neighbour of each title is mostly preserved
    same = (q.encode(titles, show_progress=False) @ fp32_emb.T).argmax(1) == torch.arange(40)
    assert same.all()


def test_excluded_layers_are_reported_and_improve_fidelity(encoder, fp32_emb, titles):
    q, report = quantize_dynamic_int8(encoder, exclude=FFN_OUT)
    assert report.n_quantized == 31 and len(report.not_quantized) == 6
    assert all("excluded" in r for r in report.not_quantized)
    cos = (q.encode(titles, show_progress=False) * fp32_emb).sum(1)
    assert cos.mean() > 0.98


def test_unmappable_linear_subclass_is_reported_not_skipped_silently():
    model = nn.Sequential(nn.Linear(8, 8), nn.MultiheadAttention(8, 2))
    _, report = quantize_dynamic_int8(model)
    assert report.n_linear == 2 and report.n_quantized == 1
    assert report.not_quantized[0].startswith("1.out_proj: NonDynamicallyQuantizableLinear")


def test_int8_refuses_cuda_devices(encoder):
    for device in ("cuda", "cuda:0"):
        with pytest.raises(BackendUnavailable, match="CPU only"):
            quantize_dynamic_int8(encoder, device=device)


def test_quantized_encoder_save_load_gives_identical_outputs(int8, titles, tmp_path):
    q, report = int8
    before = q.encode(titles, show_progress=False)
    save_quantized(q, tmp_path / "q")
    loaded = load_quantized(tmp_path / "q")
    assert loaded.quantization_ == "dynamic-int8" and loaded.quant_report_.n_quantized == 37
    assert torch.equal(loaded.encode(titles, show_progress=False), before)
    # the saved folder holds no fp32 weight file, so from_pretrained cannot silently restore one
    with pytest.raises(ConfigError, match="model_path"):
        TextEncoder(model_path=str(tmp_path / "q"))


def test_save_quantized_rejects_float_encoder(encoder, tmp_path):
    with pytest.raises(ConfigError, match="quantize_dynamic_int8"):
        save_quantized(encoder, tmp_path)


def test_bf16_cast_on_cpu_and_fp16_refused(encoder, fp32_emb, titles):
    bf, report = cast_encoder(encoder, "bf16")
    assert bf.config.dtype == "bfloat16" and report.n_quantized == 37
    assert report.size_after_mib < 0.55 * report.size_before_mib
    emb = bf.encode(titles[:12], show_progress=False)  # bf16 matmul is slow on CPUs w/o AMX
    assert emb.dtype == torch.float32 and (emb * fp32_emb[:12]).sum(1).min() > 0.99
    with pytest.raises(BackendUnavailable, match="CUDA only"):
        cast_encoder(encoder, "fp16")
    with pytest.raises(ConfigError, match="method"):
        quantize_encoder(encoder, "int4")


def test_int8_embedding_table_round_trip_and_scores(fp32_emb):
    table = torch.cat([fp32_emb, torch.zeros(1, fp32_emb.shape[1])])
    q, scale = quantize_embeddings_int8(table)
    assert q.dtype == torch.int8 and scale.shape == (41,) and scale[-1] == 1.0
    back = dequantize_embeddings_int8(q, scale)
    assert ((back - table).abs() <= scale[:, None] / 2 + 1e-7).all()
    queries = fp32_emb[:5] * 3
    torch.testing.assert_close(int8_scores(queries, q, scale), queries @ back.T)
    assert (int8_scores(queries, q, scale) - queries @ table.T).abs().max() < 0.02
    # storage: 1 byte per entry + one float per row
    assert q.numel() + 4 * scale.numel() < 0.26 * 4 * table.numel()


def test_int8_table_rejects_bad_input():
    with pytest.raises(DataError, match="float Tensor"):
        quantize_embeddings_int8(torch.ones(3, dtype=torch.int64))
    with pytest.raises(DataError, match="NaN"):
        quantize_embeddings_int8(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(DataError, match="int8"):
        int8_scores(torch.ones(2, 4), torch.ones(3, 5, dtype=torch.int8), torch.ones(3))


def test_model_size_mib_counts_serialized_bytes():
    # 1024 x 256 float32 weights = exactly 1 MiB, plus a 1 KiB bias and pickle overhead
    assert model_size_mib(nn.Linear(1024, 256)) == pytest.approx(1.0 + 1 / 1024, abs=2e-3)
