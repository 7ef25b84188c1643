"""fpga-sim: hls4ml export + C simulation (fixed point vs float), analytical latency, honest rows."""

from __future__ import annotations

import importlib.util
import shutil
import stat

import numpy as np
import pytest
import torch

from pyrec.backends import LayerSpec, estimate_latency, vendor_hls_tool
from pyrec.diagnostics import ConfigError

needs_hls = pytest.mark.skipif(importlib.util.find_spec("hls4ml") is None or shutil.which("g++") is None,
                               reason="needs hls4ml and g++")


def test_analytical_model_by_hand():
    layers = [LayerSpec("fc1", "dense", 128, 64, 1), LayerSpec("relu", "relu", 64, 64, 1),
              LayerSpec("fc2", "dense", 64, 1, 1)]
    est = estimate_latency(layers, clock_period_ns=5.0, part="p")
    # fc1: 1 + ceil(ceil(log2 128)=7 / 3)=3 + 0 + 1 = 5; relu: 1; fc2: 1 + ceil(6/3)=2 + 0 + 1 = 4
    assert est.layer_cycles == {"fc1": 5, "relu": 1, "fc2": 4}
    assert est.latency_cycles == 10 and est.ii_cycles == 1 and est.latency_ns == 50.0
    assert est.multipliers == 128 * 64 + 64
    assert est.request_ms(1682) == pytest.approx((10 + 1681) * 5e-6)
    assert est.users_per_second(1682) == pytest.approx(1e9 / (1682 * 5.0))
    rf4 = estimate_latency([LayerSpec(n, k, a, b, 4) for n, k, a, b, _ in
                            [(s.name, s.kind, s.n_in, s.n_out, 0) for s in layers]], 5.0)
    assert rf4.latency_cycles == 10 + 3 + 3 and rf4.ii_cycles == 4 and rf4.multipliers == (8192 + 64) // 4


def test_vendor_tool_detection(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert vendor_hls_tool() is None
    tool = tmp_path / "vitis_hls"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    assert vendor_hls_tool() == "vitis_hls"


def test_non_linear_head_is_rejected():
    from pyrec.backends import export_hls_head

    with pytest.raises(ConfigError, match="Tanh"):
        export_hls_head(torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Tanh()))


@pytest.fixture(scope="module")
def mlp_head():
    """A 128->64->1 scoring MLP over [user_emb, item_emb], compiled once (cached by weights+precision)."""
    from pyrec.backends import export_hls_head

    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    return export_hls_head(head, precision="ap_fixed<16,6>")


@needs_hls
def test_fixed_point_close_to_float(mlp_head):
    rng = np.random.default_rng(1)
    user, items = rng.normal(0, 0.3, size=(1, 64)), rng.normal(0, 0.3, size=(200, 64))
    x = np.hstack([np.repeat(user, 200, 0), items]).astype(np.float32)  # real-shaped [user, item] pairs
    fixed, flt = mlp_head.predict(x), mlp_head.float_predict(x)
    assert fixed.shape == (200,) and fixed.dtype == np.float32
    err = np.abs(fixed - flt)
    assert err.max() < 0.02 and err.max() > 0  # close, and genuinely fixed point
    assert [(s.kind, s.n_in, s.n_out) for s in mlp_head.layers()] == [("dense", 128, 64), ("relu", 64, 64),
                                                                      ("dense", 64, 1)]


@needs_hls
def test_compiled_project_is_cached(mlp_head):
    from pyrec.backends import export_hls_head

    again = export_hls_head(mlp_head.head, precision="ap_fixed<16,6>")
    assert again.cache_hit and again.output_dir == mlp_head.output_dir
    x = np.random.default_rng(2).normal(0, 0.3, size=(5, 128)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), mlp_head.predict(x))
    with pytest.raises(ConfigError, match="128 columns"):
        again.predict(x[:, :10])


@needs_hls
def test_deploy_dot_model_rows_are_simulated(tiny):
    from pyrec.backends import get_backend
    from pyrec.bench import measure_latency, run_benchmark

    backend = get_backend("fpga-sim")
    assert backend.simulated and backend.label == "fpga-sim (analytical, hls4ml C-sim)"
    dep = backend.deploy(tiny)
    users = np.arange(3)
    fixed, exact = dep.score(users), tiny.score(users)
    assert float((fixed - exact).abs().max()) / float(exact.abs().max()) < 0.01
    assert dep.recommend(users, 5).shape == (3, 5)
    lat = measure_latency(dep, users, n_requests=10, warmup=0)
    assert lat.simulated and lat.method == "fpga-sim (analytical, hls4ml C-sim)"
    assert lat.p99 == pytest.approx(dep.latency.request_ms(tiny.n_items_))
    rep = run_benchmark(tiny, backend, None, n_requests=5, warmup=0, batch_sizes=(8,), repeats=1, config="tiny@fpga-sim")
    sim_rows = [r for r in rep.rows if r["metric"].startswith(("latency", "throughput", "fpga", "fixed"))]
    assert sim_rows and all(r["simulated"] is True for r in sim_rows)
    assert {r["metric"] for r in sim_rows} >= {"latency_p99_ms", "fpga_latency_cycles", "fixed_point_max_abs_err"}
    assert all(r["backend"] == "fpga-sim" for r in rep.rows)
