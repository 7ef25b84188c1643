"""measure_latency / measure_throughput / peak_memory / cold start / rows (no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyrec.bench import (
    ROW_COLUMNS,
    measure_cold_start,
    measure_latency,
    measure_throughput,
    peak_memory,
    ratio_to_baseline,
    time_calls,
    to_rows,
)
from pyrec.diagnostics import ConfigError


def test_latency_records_and_percentiles(tiny):
    res = measure_latency(tiny, np.arange(5), k=3, n_requests=20, warmup=2, repeats=2)
    assert len(res.records) == 40
    assert {r["user"] for r in res.records} <= set(range(5))
    assert res.records[0]["user"] == 2  # request 0 after 2 warm-ups cycles to users[2]
    assert 0 < res.p50 <= res.p95 <= res.p99
    assert res["p99"] == res.p99 and not res.simulated and res.method == "perf_counter"
    rows = res.to_rows(config="tiny@cpu", strategy="model.recommend", seed=1)
    assert [r["metric"] for r in rows] == ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_mean_ms"]
    for r in rows:
        assert set(ROW_COLUMNS) <= set(r) and r["unit"] == "ms" and r["simulated"] is False
        assert r["threads"] == torch.get_num_threads() and r["hardware"] and r["seed"] == 1


@pytest.mark.parametrize("kwargs", [{"n_requests": 0}, {"warmup": -1}, {"k": 0}, {"repeats": 0}, {"k": 2.5}])
def test_latency_bad_counts(tiny, kwargs):
    with pytest.raises(ValueError, match="measure_latency"):
        measure_latency(tiny, np.arange(3), **kwargs)


def test_latency_empty_users(tiny):
    with pytest.raises(ConfigError, match="users"):
        measure_latency(tiny, np.array([], dtype=np.int64))


def test_simulated_model_is_not_timed():
    class Sim:
        simulated = True

        def simulated_latency(self):
            return {"p50": 0.01, "p95": 0.01, "p99": 0.01, "mean": 0.01, "users_per_s": 5e4, "method": "analytic"}

        def recommend(self, *a):  # must never be called
            raise AssertionError("a simulated deployment was timed")

    lat = measure_latency(Sim(), np.arange(3), n_requests=5, warmup=0)
    assert lat.simulated and lat.p99 == 0.01 and lat.method == "analytic"
    assert all(r["simulated"] for r in lat.to_rows())
    thr = measure_throughput(Sim(), np.arange(3), batch_sizes=(1, 8))
    assert thr.simulated and float(thr) == 5e4


def test_throughput(tiny):
    thr = measure_throughput(tiny, k=5, batch_sizes=(1, 7, 30), repeats=2, warmup=0)
    assert set(thr.users_per_s) == {1, 7, 30} and all(v > 0 for v in thr.users_per_s.values())
    assert float(thr) == thr.users_per_s[30]
    assert len(thr.records) == 6 and all(r["users"] == 30 for r in thr.records)
    one = measure_throughput(tiny, np.arange(10), batch_size=4, repeats=1)
    assert list(one.users_per_s) == [4]
    rows = thr.to_rows(config="c")
    assert [r["batch_size"] for r in rows] == [1, 7, 30] and rows[0]["unit"] == "users/s"
    with pytest.raises(ConfigError):
        measure_throughput(tiny, batch_sizes=(0,))


def test_time_calls_counts_and_warmup():
    calls = []
    ms = time_calls(calls.append, list(range(7)), warmup=3)
    assert calls == list(range(7)) and ms.shape == (4,) and (ms >= 0).all()


def test_peak_memory_positive():
    mem = peak_memory()
    assert set(mem) == {"peak_rss_mib"} and mem["peak_rss_mib"] > 10


class _ByteEncoder(torch.nn.Module):
    """A real (tiny) text encoder: mean of learned byte embeddings."""

    def __init__(self, dim=8):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.EmbeddingBag(256, dim, mode="mean")

    def encode(self, texts):
        ids = [torch.tensor(list(t.encode()), dtype=torch.long) for t in texts]
        offsets = torch.tensor([0] + [len(i) for i in ids[:-1]]).cumsum(0)
        return self.emb(torch.cat(ids), offsets)


def test_cold_start_appends_recommendable_row(tiny):
    enc = _ByteEncoder(dim=8)
    table = tiny.item_emb_
    res = measure_cold_start(enc, "Toy Story (1995)", table, repeats=3)
    assert res.item_table.shape == (51, 8) and res.new_item == 50 and len(res.runs_ms) == 3
    assert torch.allclose(res.item_table[-1], enc.encode(["Toy Story (1995)"])[0].detach())
    assert torch.equal(res.item_table[:50], table)
    rows = res.to_rows(config="x")
    assert rows[0]["metric"] == "cold_start_ms" and rows[0]["value"] > 0
    with pytest.raises(ConfigError, match="width"):
        measure_cold_start(_ByteEncoder(dim=4), "x", table, repeats=1, warmup=0)
    with pytest.raises(ConfigError, match="text"):
        measure_cold_start(enc, "  ", table)


def test_ratio_to_baseline():
    out = ratio_to_baseline([1.0, 2.0, 3.0], [4.0, 6.0, 100.0])
    assert out == {"median": 2.0, "baseline_median": 6.0, "ratio": 2.0 / 6.0}


def test_to_rows_with_backend_description():
    from pyrec.backends import get_backend

    rows = to_rows({"a": (1, "ms"), "b": (2.5, "MiB")}, config="c", backend=get_backend("cpu"), strategy="s", seed=3)
    assert [r["metric"] for r in rows] == ["a", "b"] and rows[1]["value"] == 2.5
    assert rows[0]["backend"] == "cpu" and rows[0]["simulated"] is False and rows[0]["strategy"] == "s"
