"""TextEncoder on real ML-100K titles with the bundled all-MiniLM-L6-v2 (no download)."""

from __future__ import annotations

import json
import time

import pytest
import torch

from pyrec.diagnostics import BackendUnavailable, ConfigError, DataError
from pyrec.models.text_encoder import (
    TextEncoder,
    TextEncoderConfig,
    default_cache_dir,
    default_model_path,
    weights_fingerprint,
)


def read_titles(ml100k_dir, n=None):
    """Movie titles from u.item (latin-1, '|'-separated, title in column 2)."""
    lines = (ml100k_dir / "u.item").read_text(encoding="latin-1").splitlines()
    titles = [line.split("|")[1] for line in lines if line]
    return titles[:n] if n else titles


@pytest.fixture(scope="module")
def titles(ml100k_dir):
    return read_titles(ml100k_dir, 24)


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder(max_length=32, batch_size=16)


def test_default_model_path_is_the_bundled_minilm():
    path = default_model_path()
    cfg = json.loads((path / "config.json").read_text())
    assert path.is_absolute() and (path / "tokenizer.json").is_file()
    assert cfg["model_type"] == "bert" and cfg["hidden_size"] == 384
    assert cfg["num_hidden_layers"] == 6


def test_encode_matches_sentence_transformers(encoder, titles):
    # independent reference: the sentence-transformers pipeline of the same folder
    st = pytest.importorskip("sentence_transformers")
    ref = st.SentenceTransformer(str(default_model_path()), device="cpu")
    expected = torch.from_numpy(ref.encode(titles, normalize_embeddings=True))
    emb = encoder.encode(titles, show_progress=False)
    assert emb.shape == (len(titles), 384) and emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(len(titles)))
    assert (emb * expected).sum(1).min() > 0.9999


def test_encode_is_order_and_batch_invariant(encoder, titles):
    a = encoder.encode(titles, batch_size=7, show_progress=False)
    b = encoder.encode(titles[::-1], batch_size=24, show_progress=False).flip(0)
    torch.testing.assert_close(a, b, atol=2e-5, rtol=0)
    # similar titles are closer than unrelated ones: Toy Story vs a different film
    assert encoder.encode(["Toy Story 2 (1999)"], show_progress=False)[0] @ a[0] > a[0] @ a[1]


def test_encode_batches_texts_of_similar_token_length(encoder, titles, monkeypatch):
    seen = []
    forward = TextEncoder.forward

    def spy(self, input_ids, attention_mask):
        seen.append((input_ids.shape[1], attention_mask.sum(1).tolist()))
        return forward(self, input_ids, attention_mask)

    monkeypatch.setattr(TextEncoder, "forward", spy)
    texts = ["x", "a b c d e f g h i j k", "y z", "a b c d e f g h", "Toy Story (1995)"]
    emb = encoder.encode(texts, batch_size=2, show_progress=False)
    # each batch padded to its own longest text only; batches are runs of the length order
    assert [w for w, _ in seen] == [max(lens) for _, lens in seen]
    flat = [n for _, lens in sorted(seen, reverse=True) for n in lens]
    assert flat == sorted(flat, reverse=True) and len(flat) == 5
    monkeypatch.setattr(TextEncoder, "forward", forward)
    one_by_one = torch.cat([encoder.encode([t], show_progress=False) for t in texts])
    torch.testing.assert_close(emb, one_by_one, atol=2e-5, rtol=0)


def test_encode_runs_batches_in_parallel_and_restores_threads(encoder, titles):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        both = encoder.encode(titles, batch_size=5, show_progress=False, workers=2)
        assert torch.get_num_threads() == 2
        serial = encoder.encode(titles, batch_size=5, show_progress=False, workers=1)
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(both, serial, atol=2e-6, rtol=0)
    with pytest.raises(ConfigError, match="workers"):
        encoder.encode(titles, workers=0)


def test_cls_pooling_takes_first_token_state(encoder, titles):
    cls_enc = TextEncoder.from_hf(encoder.model, encoder.tokenizer,
                                  encoder.config.model_copy(update={"pooling": "cls",
                                                                    "normalize": False}))
    emb = cls_enc.encode(titles[:5], show_progress=False)
    batch = encoder.tokenize(titles[:5])
    with torch.no_grad():
        states = encoder.model(**batch).last_hidden_state
    torch.testing.assert_close(emb, states[:, 0], atol=1e-5, rtol=0)


def test_tokenize_truncates_to_max_length(encoder):
    batch = encoder.tokenize(["word " * 200, "short"])
    assert batch["input_ids"].shape == (2, 32)
    assert batch["attention_mask"][1].sum() < 32


def test_trainable_modes_and_gradients(encoder, titles):
    assert encoder.trainable_parameters() == 0 and encoder.total_parameters() > 22_000_000
    full = TextEncoder(max_length=32, trainable="full")
    assert full.trainable_parameters() == full.total_parameters()
    batch = full.tokenize(titles[:4])
    full(**batch).sum().backward()
    grad = full.model.encoder.layer[0].attention.self.query.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    lora = TextEncoder(max_length=32, trainable="lora", lora={"r": 4})
    # r=4 on query+value of 6 layers: 12 * 4 * (384 + 384) = 36,864 parameters
    assert lora.trainable_parameters() == lora.lora_report_.trainable_params == 36_864


def test_bad_input_gives_typed_errors(encoder, tmp_path):
    with pytest.raises(DataError, match=r"texts\[1\]"):
        encoder.encode(["ok", 3])
    with pytest.raises(DataError, match="list of str"):
        encoder.encode("a single string")
    with pytest.raises(ConfigError, match="pooling"):
        TextEncoder(pooling="max")
    with pytest.raises(ConfigError, match="model_path.*has no config.json"):
        TextEncoder(model_path=str(tmp_path))
    with pytest.raises(ConfigError, match="model_path.*missing-model does not exist"):
        TextEncoder(model_path=str(tmp_path / "missing-model"))
    with pytest.raises(BackendUnavailable, match="float16"):
        TextEncoder(dtype="float16")


def test_config_round_trips_through_json(encoder):
    dumped = json.loads(json.dumps(encoder.dump_config()))
    assert TextEncoderConfig(**dumped) == encoder.config


def test_cache_hit_skips_the_model_and_changed_text_misses(encoder, titles, tmp_path,
                                                           monkeypatch):
    first = encoder.encode_cached(titles[:8], tmp_path, show_progress=False)
    assert encoder.last_cache_hit_ is False and encoder.last_cache_path_.is_file()
    calls = []
    real_encode = encoder.encode

    def counting_encode(texts, **kw):
        calls.append(len(texts))
        return real_encode(texts, **kw)

    monkeypatch.setattr(encoder, "encode", counting_encode)
    again = encoder.encode_cached(titles[:8], tmp_path, show_progress=False)
    assert calls == [] and encoder.last_cache_hit_ is True
    assert torch.equal(first, again)
    changed = titles[:7] + [titles[7] + " "]
    encoder.encode_cached(changed, tmp_path, show_progress=False)
    assert calls == [8] and encoder.last_cache_hit_ is False
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_cache_key_depends_on_weights_and_settings(encoder, titles):
    key = encoder.cache_key(titles[:4])
    other = TextEncoder.from_hf(encoder.model, encoder.tokenizer,
                                encoder.config.model_copy(update={"max_length": 16}))
    assert other.cache_key(titles[:4]) != key
    lin = torch.nn.Linear(3, 2)
    before = weights_fingerprint(lin)
    with torch.no_grad():
        lin.weight[0, 0] += 1e-3
    assert weights_fingerprint(lin) != before


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PYREC_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "embeddings"


@pytest.mark.slow
def test_encode_all_ml100k_titles(ml100k_dir):
    titles = read_titles(ml100k_dir)
    enc = TextEncoder()
    start = time.perf_counter()
    emb = enc.encode(titles)
    seconds = time.perf_counter() - start
    assert emb.shape == (1682, 384) and torch.isfinite(emb).all()
    print(f"encoded {len(titles)} ML-100K titles in {seconds:.2f} s "
          f"({len(titles) / seconds:.0f} titles/s, {torch.get_num_threads()} threads)")
