"""INT8 / bf16 encoder quantization and INT8 embedding tables, on real ML-100K titles."""

from __future__ import annotations

import copy
import json
import pickle

import pytest
import torch
from torch import nn

import pyrec.models.quantization as quant
from pyrec.diagnostics import BackendUnavailable, ConfigError, DataError
from pyrec.models.quantization import (
    DynamicInt8Linear,
    cast_encoder,
    dequantize_embeddings_int8,
    first_token_inputs,
    int8_kernel,
    int8_scores,
    layernorm_inputs,
    load_quantized,
    model_size_mib,
    quantize_dynamic_int8,
    quantize_embeddings_int8,
    quantize_encoder,
    save_quantized,
)
from pyrec.models.text_encoder import TextEncoder, weights_fingerprint

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
    q, report = int8
    cos = (q.encode(titles, show_progress=False) * fp32_emb).sum(1)
    # 8-bit activations, smoothed value/FFN inputs and [CLS] rescaling (torch.ao's
    # quantize_dynamic, 7-bit activations, gave mean 0.97 / min 0.94 here)
    assert cos.mean() > 0.995 and cos.min() > 0.99
    # the top neighbour of each title is preserved
    same = (q.encode(titles, show_progress=False) @ fp32_emb.T).argmax(1) == torch.arange(40)
    assert same.all()
    # MiniLM-L6: value + FFN input of 6 layers smoothed; both FFN layers rescale [CLS]
    assert len(report.smoothed_modules) == 12 and len(report.first_token_modules) == 12
    assert report.kernel == int8_kernel(q.model) and " a8w" in report.kernel


def test_int8_agrees_with_fp32_on_all_ml100k_item_texts(ml100k_dir):
    """The catalogue the benchmark encodes: title, year and genres of all 1,682 items."""
    from pyrec.data import load_dataset

    texts = list(load_dataset("ml-100k", ml100k_dir.parent, min_rating=3).item_text)
    enc = TextEncoder(max_length=32)
    q, _ = quantize_dynamic_int8(enc)
    ref = enc.encode(texts, show_progress=False)
    cos = (q.encode(texts, show_progress=False) * ref).sum(1)
    assert len(texts) == 1682 and cos.mean() > 0.997 and cos.min() > 0.99  # measured 0.998/0.995
    plain, _ = quantize_dynamic_int8(enc, smooth=False, first_token=False)
    cos_plain = (plain.encode(texts, show_progress=False) * ref).sum(1)
    assert 0.99 < cos_plain.mean() < cos.mean()  # each rewrite earns its keep (measured 0.993)


def test_dynamic_int8_linear_matches_float_and_survives_copies():
    torch.manual_seed(0)
    lin = nn.Linear(64, 48)
    x = torch.randn(5, 7, 64)
    x[:, 0] *= 12  # an outlier first token, as [CLS] in BERT's FFN inputs
    before = x.clone()
    plain = DynamicInt8Linear.from_float(lin)
    first = DynamicInt8Linear.from_float(lin, first_token=True)
    smooth = DynamicInt8Linear.from_float(lin, first_token=True,
                                          input_absmax=x.abs().amax((0, 1)))
    with torch.no_grad():
        ref = lin(x)
    err = {k: ((m(x) - ref)[:, 1:].norm() / ref[:, 1:].norm()).item()
           for k, m in (("plain", plain), ("first", first), ("smooth", smooth))}
    assert torch.equal(x, before)  # the first-row rescaling restores its input bit for bit
    assert err["first"] < err["plain"] / 3 and err["smooth"] < 0.02
    assert not list(plain.parameters())
    assert set(smooth.state_dict()) == {"weight_int8", "weight_scale", "bias", "input_scale"}
    # copies and pickles drop the packed kernel handle and re-pack on first use
    out = smooth(x)
    for other in (copy.deepcopy(smooth), pickle.loads(pickle.dumps(smooth))):
        assert other._pack is None and torch.equal(other(x), out)
    # a state load re-packs: the kernel follows the new weights
    fresh = DynamicInt8Linear(64, 48, smoothed=True, first_token=True)
    fresh.load_state_dict(smooth.state_dict())
    assert torch.equal(fresh(x), out)
    with torch.no_grad():
        fresh.weight_int8.zero_()
    torch.testing.assert_close(fresh(x), lin.bias.expand_as(out))


def test_weights_of_saturating_kernels_get_7_bits(monkeypatch):
    lin = nn.Linear(32, 16)
    fast = DynamicInt8Linear.from_float(lin, engine="fbgemm")
    assert quant._has_int32_int8_dot() is (fast.kernel() == "fbgemm a8w8")
    # fbgemm without VNNI sums u8 x s8 pairs in int16: 8-bit activations need |w| <= 63
    monkeypatch.setattr(quant, "_has_int32_int8_dot", lambda: False)
    slow = DynamicInt8Linear.from_float(lin, engine="fbgemm")
    assert int(slow.weight_int8.abs().max()) == 63 and slow.kernel() == "fbgemm a8w7"
    assert fast.kernel() == "fbgemm a7w8"  # 8-bit weights there fall back to 7-bit inputs
    fast._pack = None
    fast(torch.randn(3, 32))
    assert fast._reduce_range
    if "onednn" in torch.backends.quantized.supported_engines:
        assert quant.int8_engine() in ("fbgemm", "x86", "qnnpack")  # no onednn without VNNI


def test_smoothing_and_first_token_target_the_bert_layout(encoder):
    norms = layernorm_inputs(encoder.model)
    assert sorted(norms)[:2] == ["encoder.layer.0.attention.self.value",
                                 "encoder.layer.0.intermediate.dense"]
    assert norms["encoder.layer.0.attention.self.value"] is encoder.model.embeddings.LayerNorm
    assert (norms["encoder.layer.3.attention.self.value"]
            is encoder.model.encoder.layer[2].output.LayerNorm)
    firsts = first_token_inputs(encoder.model)
    assert "encoder.layer.5.output.dense" in firsts and len(firsts) == 12
    assert not any("attention.output" in n for n in firsts)
    other = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 4))
    assert layernorm_inputs(other) == {} and first_token_inputs(other) == []


def test_int8_cache_key_names_the_kernel(encoder, titles):
    a, _ = quantize_dynamic_int8(encoder, engine="fbgemm")
    b, _ = quantize_dynamic_int8(encoder)
    if int8_kernel(a.model) != int8_kernel(b.model):
        assert a.cache_key(titles) != b.cache_key(titles)
    assert a.cache_key(titles) == a.cache_key(titles)
    with pytest.raises(ConfigError, match="engine"):
        quantize_dynamic_int8(encoder, engine="tpu")


def test_excluded_layers_are_reported_and_improve_fidelity(encoder, fp32_emb, titles):
    q, report = quantize_dynamic_int8(encoder, exclude=FFN_OUT, smooth=False, first_token=False)
    assert report.n_quantized == 31 and len(report.not_quantized) == 6
    assert all("excluded" in r for r in report.not_quantized)
    assert report.smoothed_modules == [] and report.first_token_modules == []
    cos = (q.encode(titles, show_progress=False) * fp32_emb).sum(1)
    plain, _ = quantize_dynamic_int8(encoder, smooth=False, first_token=False)
    assert cos.mean() > (plain.encode(titles, show_progress=False) * fp32_emb).sum(1).mean()


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
    assert loaded.quant_report_.smoothed_modules == report.smoothed_modules
    assert loaded.quant_report_.first_token_modules == report.first_token_modules
    assert torch.equal(loaded.encode(titles, show_progress=False), before)
    assert weights_fingerprint(loaded.model) == weights_fingerprint(q.model)
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


def test_folders_of_the_torch_ao_format_still_load(encoder, titles, tmp_path):
    """save_quantized format 1 (torch.ao dynamic Linear state) is rebuilt as it was saved."""
    names = {n for n, m in encoder.model.named_modules() if isinstance(m, nn.Linear)}
    model = quant._legacy_quantize_names(copy.deepcopy(encoder.model), names, True)
    old = TextEncoder.from_hf(model, encoder.tokenizer, encoder.config)
    folder = tmp_path / "v1"
    folder.mkdir()
    model.config.save_pretrained(folder)
    encoder.tokenizer.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "quantized_state_dict.pt")
    report = quant.QuantReport("dynamic-int8", 37, 37, [], sorted(names), 86.7, 56.3)
    meta = {"encoder_config": encoder.dump_config(), "quantized_modules": sorted(names),
            "per_channel": True, "report": {k: v for k, v in report.to_dict().items()
                                            if k not in ("kernel", "smoothed_modules",
                                                         "first_token_modules")}}
    (folder / "pyrec_quantized.json").write_text(json.dumps(meta))
    loaded = load_quantized(folder)
    assert torch.equal(loaded.encode(titles, show_progress=False),
                       old.encode(titles, show_progress=False))
