r"""Analytical latency model of an hls4ml ``io_parallel`` design, and vendor-report parsing.

Model (stated so that every figure it produces can be checked by hand). For a Dense layer with
``n_in`` inputs, reuse factor ``R`` (each multiplier is used ``R`` times, so the layer has
``n_in * n_out / R`` multipliers), hls4ml's Latency/Resource strategies schedule

.. math::

    L_\text{dense} = c_\text{mult} + \left\lceil \frac{\lceil\log_2 n_\text{in}\rceil}{a} \right\rceil
                     + (R - 1) + c_\text{out}

cycles: the multiply (``c_mult`` = 1 cycle for a pipelined DSP/LUT product), a balanced adder tree
of depth ``ceil(log2 n_in)`` with ``a`` = 3 chained additions per cycle at a 5 ns clock, ``R - 1``
extra cycles to reuse each multiplier ``R`` times, and one output register ``c_out`` = 1. A ReLU is
one comparator stage (1 cycle). The top function is pipelined with initiation interval
``II = max_l R_l`` (hls4ml docs, "Reuse factor": the II of an ``io_parallel`` layer equals its reuse
factor; Duarte et al. 2018, Sec. 3 and Fig. 6, arXiv:1804.06913). Then

.. math::

    L = \sum_l L_l, \qquad t = L \cdot T_\text{clk}, \qquad
    t_\text{request}(n) = (L + (n - 1)\,\mathit{II})\, T_\text{clk}

where ``t_request(n)`` scores ``n`` candidate items for one user back to back through the pipeline.
The constants are calibrated to the Vivado HLS report quoted in hls4ml issue #20 (a 3-layer dense
network at reuse factor 1 and 5 ns: 3-5 cycles per Dense layer). Host transfer (PCIe/DMA) and the
top-k on the host are NOT included; rows say so through their ``method`` and ``simulated`` fields.

When the vendor tools are on ``PATH`` (``vitis-run``/``vitis_hls``/``vivado_hls``), :func:`synthesis_latency`
runs C synthesis and reads the real report (``hls4ml.report.parse_vivado_report``) instead.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import asdict, dataclass, field

__all__ = ["FPGALatencyEstimate", "estimate_latency", "vendor_hls_tool", "synthesis_latency"]


@dataclass
class FPGALatencyEstimate:
    """Latency of one design.

    Attributes:
        latency_cycles: cycles from input to output for one inference.
        ii_cycles: initiation interval (cycles between accepted inputs).
        clock_period_ns: clock period (ns). part: FPGA part.
        method: ``"analytical"`` or ``"vendor synthesis report"``.
        layer_cycles: ``{layer name: cycles}`` (analytical only).
        multipliers: estimated multipliers (DSP or LUT), ``sum n_in * n_out / R`` over Dense layers.
    """

    latency_cycles: int
    ii_cycles: int
    clock_period_ns: float
    part: str
    method: str = "analytical"
    layer_cycles: dict = field(default_factory=dict)
    multipliers: int = 0

    @property
    def latency_ns(self) -> float:
        """One inference, ns."""
        return self.latency_cycles * self.clock_period_ns

    def request_ms(self, n_candidates: int) -> float:
        """Time to score ``n_candidates`` items for one user through the pipeline, ms."""
        n = max(1, int(n_candidates))
        return (self.latency_cycles + (n - 1) * self.ii_cycles) * self.clock_period_ns * 1e-6

    def users_per_second(self, n_candidates: int) -> float:
        """Steady-state users/s when users are streamed back to back (II-bound), users/s."""
        return 1e9 / (max(1, int(n_candidates)) * self.ii_cycles * self.clock_period_ns)

    def to_dict(self) -> dict:
        return {**asdict(self), "latency_ns": self.latency_ns}


def estimate_latency(layers, clock_period_ns: float = 5.0, part: str = "", *, mult_cycles: int = 1,
                     adds_per_cycle: int = 3, out_cycles: int = 1) -> FPGALatencyEstimate:
    """Apply the module's analytical model to a list of :class:`~pyrec.backends.hls.LayerSpec`.

    Args:
        layers: the design's Dense/ReLU layers in order (``HLSHead.layers()``).
        clock_period_ns: target clock (ns). part: FPGA part recorded in the result.
        mult_cycles, adds_per_cycle, out_cycles: the model's constants (see module docstring).

    Returns:
        FPGALatencyEstimate with ``method="analytical"``.
    """
    per_layer, mults, ii = {}, 0, 1
    for layer in layers:
        if layer.kind == "dense":
            tree = math.ceil(math.ceil(math.log2(max(2, layer.n_in))) / adds_per_cycle)
            cycles = mult_cycles + tree + (layer.reuse_factor - 1) + out_cycles
            mults += math.ceil(layer.n_in * layer.n_out / layer.reuse_factor)
        else:
            cycles = 1
        per_layer[layer.name] = cycles
        ii = max(ii, layer.reuse_factor)
    return FPGALatencyEstimate(sum(per_layer.values()), ii, float(clock_period_ns), part, "analytical", per_layer, mults)


def vendor_hls_tool() -> str | None:
    """Name of the first vendor HLS tool on PATH (``vitis-run``, ``vitis_hls``, ``vivado_hls``), or None."""
    for tool in ("vitis-run", "vitis_hls", "vivado_hls"):
        if shutil.which(tool):
            return tool
    return None


def synthesis_latency(hls_head) -> FPGALatencyEstimate:
    """Run vendor C synthesis on an exported head and read latency/II from its csynth report.

    Args:
        hls_head: :class:`~pyrec.backends.hls.HLSHead`.

    Returns:
        FPGALatencyEstimate with ``method="vendor synthesis report"`` (worst-case latency).

    Raises:
        BackendUnavailable: no vendor tool on PATH, or the report could not be read.
    """
    import hls4ml

    from pyrec.diagnostics import BackendUnavailable

    if vendor_hls_tool() is None:
        raise BackendUnavailable("no vendor HLS tool (vitis-run, vitis_hls, vivado_hls) on PATH")
    hls_head.hls_model.build(csim=False, synth=True)
    report = hls4ml.report.parse_vivado_report(str(hls_head.output_dir)) or {}
    syn = report.get("CSynthesisReport")
    if not syn:
        raise BackendUnavailable(f"C synthesis ran but no csynth report was found under {hls_head.output_dir}")
    est = estimate_latency(hls_head.layers(), hls_head.settings["clock_period_ns"], hls_head.settings["part"])
    return FPGALatencyEstimate(
        latency_cycles=int(syn["WorstLatency"]), ii_cycles=int(syn["IntervalMax"]),
        clock_period_ns=float(syn.get("EstimatedClockPeriod") or hls_head.settings["clock_period_ns"]),
        part=hls_head.settings["part"], method="vendor synthesis report",
        multipliers=int(syn.get("DSP", est.multipliers) or 0),
    )
