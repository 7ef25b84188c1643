"""``fpga-sim`` backend: an FPGA serving path that is honest about being simulated.

Quality comes from hls4ml's bit-accurate C simulation of the exported inference head
(:mod:`pyrec.backends.hls`); latency comes from the analytical model of the generated design
(:mod:`pyrec.backends.fpga_latency`), or from a vendor synthesis report when the vendor HLS tools
are installed. Every row it produces has ``simulated=True`` and names its method, e.g.
``"fpga-sim (analytical, hls4ml C-sim)"``.

Which head is exported:

* a model with a ``scoring_head()`` method returning ``(head, features)`` — ``head`` an
  ``nn.Sequential`` of Linear/ReLU (e.g. the hybrid's 128->64->1 fusion MLP) and ``features(users)``
  a float Tensor [B, n_items, in_features] — gets that head;
* otherwise a dot-product model (embeddings found by :func:`pyrec.models.embeddings.extract_embeddings`) is
  expressed as ``Linear(d, 1)`` with unit weights over the element-wise products
  ``e_u * e_i``; inputs are scaled by a power of two (exact in fixed point, rank-preserving) so the
  largest product uses half the integer range of the chosen ``ap_fixed<W,I>``.
"""

from __future__ import annotations

import importlib.util
import math
import re
import shutil
from typing import Any, ClassVar

import numpy as np

from pyrec.backends.base import Backend
from pyrec.backends.fpga_latency import (
    FPGALatencyEstimate,
    estimate_latency,
    synthesis_latency,
    vendor_hls_tool,
)
from pyrec.diagnostics import ConfigError, param_error
from pyrec.models.base import Recommender

__all__ = ["FPGASimBackend", "FPGADeployment", "integer_bits"]


def integer_bits(precision: str) -> int:
    """``I`` of ``ap_fixed<W,I>`` (integer bits including sign)."""
    m = re.match(r"\s*(?:ap_)?fixed\s*<\s*(\d+)\s*,\s*(-?\d+)", precision)
    if not m:
        raise param_error("precision", "fpga-sim", "an 'ap_fixed<W,I>' string", precision)
    return int(m.group(2))


class FPGADeployment(Recommender):
    """A fitted model served through the simulated FPGA head.

    ``score(users)`` runs the hls4ml C simulation (fixed-point scores, torch.Tensor float32
    [B, n_items]); ``recommend`` is ``Recommender.recommend`` over those scores (seen items
    excluded, pyrec's tie rule). ``latency`` is the design's :class:`FPGALatencyEstimate`.

    Attributes:
        hls: the compiled :class:`~pyrec.backends.hls.HLSHead`.
        latency: FPGALatencyEstimate. method_label: e.g. ``"fpga-sim (analytical, hls4ml C-sim)"``.
        input_scale: power-of-two scale applied to the head's inputs (1.0 for model-given heads).
    """

    simulated = True

    def __init__(self, model, hls, features, latency: FPGALatencyEstimate, label: str, input_scale: float = 1.0):
        self.model = model
        self.name = f"{getattr(model, 'name', 'model')}@fpga-sim"
        self.hls = hls
        self._features = features
        self.latency = latency
        self.method_label = label
        self.input_scale = input_scale
        self.n_users_ = model.n_users_
        self.n_items_ = model.n_items_
        self.seen_ = model.seen_

    def fit(self, split, **kwargs):
        raise ConfigError("an FPGADeployment serves an already fitted model; fit the model, then FPGASimBackend.deploy(model)")

    def features(self, users) -> np.ndarray:
        """Head inputs, float32 [B, n_items, in_features] (already scaled by ``input_scale``)."""
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        x = self._features(users)
        x = x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float32)
        return x * np.float32(self.input_scale)

    def score(self, users):
        """Fixed-point (C-simulation) scores, torch.Tensor float32 [B, n_items]."""
        import torch

        x = self.features(users)
        out = np.stack([self.hls.predict(xb) for xb in x]) if len(x) else np.zeros((0, self.n_items_), np.float32)
        return torch.from_numpy(out.astype(np.float32).reshape(len(x), self.n_items_))

    def float_score(self, users):
        """The same head in float32 torch, torch.Tensor float32 [B, n_items] (reference for the C-sim)."""
        import torch

        x = self.features(users)
        return torch.from_numpy(np.stack([self.hls.float_predict(xb) for xb in x]).reshape(len(x), self.n_items_))

    def simulated_latency(self) -> dict[str, Any]:
        """Analytical per-request latency (score all items for one user), ms, and throughput, users/s.

        The design is deterministic, so p50 = p95 = p99 = mean.
        """
        ms = self.latency.request_ms(self.n_items_)
        return {"p50": ms, "p95": ms, "p99": ms, "mean": ms,
                "users_per_s": self.latency.users_per_second(self.n_items_),
                "latency_cycles": self.latency.latency_cycles, "ii_cycles": self.latency.ii_cycles,
                "multipliers": self.latency.multipliers, "method": self.method_label}

    def __repr__(self) -> str:
        return f"FPGADeployment({self.model!r}, {self.hls!r}, method={self.method_label!r})"


class FPGASimBackend(Backend):
    """Serve an inference head through hls4ml's C simulation with an analytical latency model.

    Args:
        precision: ``ap_fixed<W,I>`` of inputs, weights and results (default ``ap_fixed<16,6>``).
        reuse_factor: multiplications per multiplier (1 = fully parallel).
        strategy: hls4ml ``Latency`` or ``Resource``.
        clock_period_ns: target clock (ns, default 5 = 200 MHz).
        part: FPGA part (default AMD Alveo U250 ``xcu250-figd2104-2L-e``).
        hls_backend: hls4ml backend, ``Vitis`` or ``Vivado``.
        io_type: ``io_parallel`` (what the latency model describes).
        cache_dir: compiled-project cache (default ``~/.cache/pyrec/hls``).
        synthesize: use vendor C synthesis for latency; default: when a vendor tool is on PATH.
        threads: host threads.

    Raises:
        BackendUnavailable: hls4ml or g++ missing.
    """

    name: ClassVar[str] = "fpga-sim"
    simulated: ClassVar[bool] = True
    can_train: ClassVar[bool] = False  # it serves a trained model's scoring head only
    dtypes: ClassVar[tuple[str, ...]] = ("fp32",)

    def __init__(self, precision: str = "ap_fixed<16,6>", reuse_factor: int = 1, strategy: str = "Latency",
                 clock_period_ns: float = 5.0, part: str = "xcu250-figd2104-2L-e", hls_backend: str = "Vitis",
                 io_type: str = "io_parallel", cache_dir=None, synthesize: bool | None = None,
                 threads: int | None = None) -> None:
        super().__init__(threads=threads, dtype="fp32")
        integer_bits(precision)
        self.hls_settings = {"precision": precision, "reuse_factor": reuse_factor, "strategy": strategy,
                             "clock_period_ns": clock_period_ns, "part": part, "hls_backend": hls_backend,
                             "io_type": io_type, "cache_dir": cache_dir}
        self.synthesize = vendor_hls_tool() is not None if synthesize is None else bool(synthesize)

    @classmethod
    def check_available(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("hls4ml") is None:
            return False, "the 'hls4ml' package is not installed (pip install 'pyrec[fpga]')"
        if shutil.which("g++") is None:
            return False, "g++ is not in PATH (hls4ml compiles its C simulation with it)"
        return True, ""

    @property
    def label(self) -> str:
        how = "HLS synthesis report" if self.synthesize else "analytical"
        return f"fpga-sim ({how}, hls4ml C-sim)"

    def describe(self) -> dict:
        out = super().describe()
        s = self.hls_settings
        out.update(dtype=s["precision"], fpga_part=s["part"], clock_period_ns=s["clock_period_ns"],
                   reuse_factor=s["reuse_factor"], latency_method="vendor synthesis report" if self.synthesize else "analytical")
        out["hardware"] = f"simulated {s['part']} @ {1e3 / s['clock_period_ns']:.0f} MHz (host: {out['hardware']})"
        return out

    def prepare_training(self, module, optimizer, micro_batch=None):
        raise ConfigError("fpga-sim is an inference (serving) backend; train on cpu/cuda/deepspeed, then deploy()")

    def export(self, head, in_features: int | None = None):
        """:func:`~pyrec.backends.hls.export_hls_head` with this backend's settings."""
        from pyrec.backends.hls import export_hls_head

        return export_hls_head(head, in_features, **self.hls_settings)

    def estimate(self, hls) -> FPGALatencyEstimate:
        """Latency of an exported head: vendor report when ``synthesize``, else the analytical model."""
        if self.synthesize:
            return synthesis_latency(hls)
        return estimate_latency(hls.layers(), self.hls_settings["clock_period_ns"], self.hls_settings["part"])

    def deploy(self, model, split=None) -> FPGADeployment:
        """Export ``model``'s inference head and return its simulated deployment.

        Args:
            model: a fitted Recommender with ``scoring_head()`` or user/item embedding tables.
            split: unused (accepted for the experiment runner's ``deploy(model, split)`` call).

        Raises:
            NotFittedError: model not fitted. ConfigError: no exportable head.
        """
        import torch

        model.check_is_fitted()
        scale = 1.0
        if callable(getattr(model, "scoring_head", None)):
            head, features = model.scoring_head()
            in_features = None
        else:
            from pyrec.models.embeddings import extract_embeddings

            u, v = extract_embeddings(model)
            d = u.shape[1]
            head = torch.nn.Sequential(torch.nn.Linear(d, 1))
            with torch.no_grad():
                head[0].weight.fill_(1.0)
                head[0].bias.zero_()
            bound = float(np.abs(u).max() * np.abs(v).max()) or 1.0
            limit = 2.0 ** (integer_bits(self.hls_settings["precision"]) - 2)  # half the integer range
            scale = 2.0 ** math.floor(math.log2(limit / bound))
            ut, vt = torch.from_numpy(u), torch.from_numpy(v)

            def features(users, ut=ut, vt=vt):
                return ut[torch.as_tensor(users)][:, None, :] * vt[None, :, :]

            in_features = d
        hls = self.export(head, in_features)
        return FPGADeployment(model, hls, features, self.estimate(hls), self.label, scale)
