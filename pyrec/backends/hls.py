"""Export a Linear/ReLU inference head to an hls4ml HLS project and its bit-accurate C simulation.

Uses hls4ml's PyTorch front end (Duarte et al., "Fast inference of deep neural networks in FPGAs for
particle physics", JINST 13 P07027, 2018, arXiv:1804.06913; https://fastmachinelearning.org/hls4ml):
``hls4ml.utils.config_from_pytorch_model`` -> ``hls4ml.converters.convert_from_pytorch_model`` ->
``ModelGraph.compile()`` (g++ builds the C++ firmware with Xilinx ``ap_fixed`` types into a shared
library) -> ``ModelGraph.predict()`` (fixed-point outputs, bit-accurate to the synthesized design).

Compiled projects are cached under ``cache_dir/<key>`` where the key hashes the weights, the
architecture, the precision, reuse factor, strategy, io type, HLS backend, part, clock and the hls4ml
version, so a repeated export of the same head loads the compiled library instead of running g++.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyrec.diagnostics import BackendUnavailable, ConfigError, param_error

__all__ = ["HLSHead", "LayerSpec", "export_hls_head", "default_cache_dir"]

_DONE = "pyrec_build.json"


def default_cache_dir() -> Path:
    """``$PYREC_CACHE_DIR/hls`` if set, else ``~/.cache/pyrec/hls``."""
    root = os.environ.get("PYREC_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "pyrec") / "hls"


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the exported design, as the latency model reads it.

    Attributes:
        name: hls4ml layer name. kind: ``"dense"`` or ``"relu"``.
        n_in, n_out: input / output widths. reuse_factor: multiplications per multiplier.
    """

    name: str
    kind: str
    n_in: int
    n_out: int
    reuse_factor: int


def _check_head(head) -> list:
    import torch.nn as nn

    layers = list(head) if isinstance(head, nn.Sequential) else [head]
    for i, layer in enumerate(layers):
        if not isinstance(layer, (nn.Linear, nn.ReLU)):
            raise ConfigError(
                f"The 'head' parameter of export_hls_head must be an nn.Linear or an nn.Sequential of "
                f"nn.Linear/nn.ReLU layers. Got layer {i} of type {type(layer).__name__} instead."
            )
    if not isinstance(layers[0], nn.Linear):
        raise ConfigError("The 'head' parameter of export_hls_head must start with an nn.Linear layer.")
    return layers


def _cache_key(head, settings: dict) -> str:
    import hls4ml

    h = hashlib.sha256()
    h.update(repr(head).encode())
    for name, t in head.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    h.update(json.dumps({**settings, "hls4ml": hls4ml.__version__}, sort_keys=True).encode())
    return h.hexdigest()[:20]


class HLSHead:
    """A compiled hls4ml design of an inference head and its C simulation.

    Attributes:
        head: the float ``torch.nn.Module`` it was exported from.
        hls_model: ``hls4ml.model.graph.ModelGraph`` (compiled).
        in_features: input width. settings: precision, reuse factor, strategy, io type, backend,
            part, clock period (ns). output_dir: the HLS project folder. cache_hit: whether the
            compiled library came from the cache. compile_seconds: g++ time (0 on a cache hit).
    """

    def __init__(self, head, hls_model, in_features: int, settings: dict, output_dir: Path,
                 cache_hit: bool, compile_seconds: float) -> None:
        self.head = head
        self.hls_model = hls_model
        self.in_features = in_features
        self.settings = settings
        self.output_dir = output_dir
        self.cache_hit = cache_hit
        self.compile_seconds = compile_seconds

    def predict(self, x) -> np.ndarray:
        """Fixed-point outputs of the C simulation.

        Args:
            x: float [N, in_features] (numpy or torch).

        Returns:
            np.ndarray float32 [N] for a one-output head, else [N, n_out].

        Raises:
            ConfigError: ``x`` is not 2-D with ``in_features`` columns.
        """
        x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise param_error("x", "HLSHead.predict", f"a 2-D array with {self.in_features} columns", f"shape {x.shape}")
        y = np.asarray(self.hls_model.predict(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float32)
        y = y.reshape(x.shape[0], -1)
        return y[:, 0] if y.shape[1] == 1 else y

    def float_predict(self, x) -> np.ndarray:
        """The float32 torch head on the same input (the reference the C simulation is compared with)."""
        import torch

        with torch.no_grad():
            y = self.head(torch.as_tensor(np.asarray(x), dtype=torch.float32)).numpy()
        return y[:, 0] if y.shape[1] == 1 else y

    def layers(self) -> list[LayerSpec]:
        """The design's compute layers (Dense and ReLU) with widths and reuse factors."""
        out = []
        for layer in self.hls_model.get_layers():
            cls = layer.class_name
            rf = int(layer.get_attr("reuse_factor", 1) or 1)
            if cls == "Dense":
                out.append(LayerSpec(layer.name, "dense", int(layer.get_attr("n_in")), int(layer.get_attr("n_out")), rf))
            elif cls in ("Activation", "ReLU") and str(layer.get_attr("activation", "relu")).lower() == "relu":
                n = int(layer.get_attr("n_in"))
                out.append(LayerSpec(layer.name, "relu", n, n, rf))
        return out

    def __repr__(self) -> str:
        s = self.settings
        return (f"HLSHead(in_features={self.in_features}, precision={s['precision']!r}, "
                f"reuse_factor={s['reuse_factor']}, part={s['part']!r}, cache_hit={self.cache_hit})")


def export_hls_head(
    head,
    in_features: int | None = None,
    *,
    precision: str = "ap_fixed<16,6>",
    reuse_factor: int = 1,
    strategy: str = "Latency",
    io_type: str = "io_parallel",
    hls_backend: str = "Vitis",
    part: str = "xcu250-figd2104-2L-e",
    clock_period_ns: float = 5.0,
    cache_dir: str | Path | None = None,
) -> HLSHead:
    """Convert a Linear/ReLU head with hls4ml and compile its C simulation (cached).

    Args:
        head: ``nn.Linear`` or ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU`` (e.g. a
            128->64->1 scoring MLP over ``[user_emb, item_emb]``).
        in_features: input width (default: the first Linear's ``in_features``).
        precision: default ``ap_fixed<W,I>`` for weights, biases, inputs and results
            (accumulators are sized by hls4ml's ``auto`` rule).
        reuse_factor: multiplications per multiplier (1 = fully parallel), an int >= 1.
        strategy: hls4ml strategy, ``Latency`` or ``Resource``.
        io_type: ``io_parallel`` (the design the latency model describes) or ``io_stream``.
        hls_backend: ``Vitis`` or ``Vivado``.
        part: FPGA part name (default: AMD Alveo U250).
        clock_period_ns: target clock period (ns).
        cache_dir: where compiled projects live (default :func:`default_cache_dir`).

    Returns:
        HLSHead.

    Raises:
        BackendUnavailable: hls4ml or g++ missing. ConfigError: unsupported layers or settings.
    """
    import shutil

    try:
        import hls4ml
    except ImportError as exc:
        raise BackendUnavailable("fpga-sim needs the 'hls4ml' package (pip install 'pyrec[fpga]')") from exc
    if shutil.which("g++") is None:
        raise BackendUnavailable("fpga-sim needs g++ in PATH to compile hls4ml's C simulation")
    owner = "export_hls_head"
    layers = _check_head(head)
    in_features = int(in_features or layers[0].in_features)
    if isinstance(reuse_factor, bool) or not isinstance(reuse_factor, int) or reuse_factor < 1:
        raise param_error("reuse_factor", owner, "an int in [1, inf)", reuse_factor)
    if not (isinstance(precision, str) and precision.replace(" ", "").startswith(("ap_fixed<", "fixed<"))):
        raise param_error("precision", owner, "an 'ap_fixed<W,I>' string", precision)
    if strategy not in ("Latency", "Resource"):
        raise param_error("strategy", owner, "one of ['Latency', 'Resource']", strategy)
    if io_type not in ("io_parallel", "io_stream"):
        raise param_error("io_type", owner, "one of ['io_parallel', 'io_stream']", io_type)
    if hls_backend not in ("Vitis", "Vivado"):
        raise param_error("hls_backend", owner, "one of ['Vitis', 'Vivado']", hls_backend)
    if not clock_period_ns > 0:
        raise param_error("clock_period_ns", owner, "a float in (0, inf)", clock_period_ns)
    head = head.eval().cpu()
    settings = {"precision": precision, "reuse_factor": reuse_factor, "strategy": strategy, "io_type": io_type,
                "hls_backend": hls_backend, "part": part, "clock_period_ns": float(clock_period_ns)}
    out_dir = Path(cache_dir or default_cache_dir()) / _cache_key(head, {**settings, "in": in_features})

    cfg = hls4ml.utils.config_from_pytorch_model(
        head, input_shape=(in_features,), granularity="name", backend=hls_backend,
        default_precision=precision, default_reuse_factor=reuse_factor,
    )
    cfg["Model"]["Strategy"] = strategy
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # hls4ml prints its topology
        hls_model = hls4ml.converters.convert_from_pytorch_model(
            head, output_dir=str(out_dir), project_name="pyrec_head", backend=hls_backend, hls_config=cfg,
            io_type=io_type, part=part, clock_period=clock_period_ns,
        )
    done = out_dir / _DONE
    libs = sorted(glob.glob(str(out_dir / "firmware" / "pyrec_head-*.so")))
    if done.is_file() and libs:
        hls_model._top_function_lib = ctypes.cdll.LoadLibrary(json.loads(done.read_text())["lib"])
        return HLSHead(head, hls_model, in_features, settings, out_dir, True, 0.0)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        hls_model.compile()
    seconds = time.perf_counter() - t0
    lib = sorted(glob.glob(str(out_dir / "firmware" / "pyrec_head-*.so")), key=os.path.getmtime)[-1]
    done.write_text(json.dumps({"lib": lib, "settings": settings, "compile_seconds": seconds}))
    return HLSHead(head, hls_model, in_features, settings, out_dir, False, seconds)


