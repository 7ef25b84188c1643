"""Quantization of the text encoder and of embedding tables, each with a report of what it did.

* Dynamic INT8 (:func:`quantize_dynamic_int8`; Jacob et al., "Quantization and Training of Neural
  Networks for Efficient Integer-Arithmetic-Only Inference", CVPR 2018): every ``nn.Linear``
  becomes a :class:`DynamicInt8Linear` (int8 weights, symmetric per output channel; activations
  quantized per call to uint8 with their own min/max) that runs PyTorch's
  ``quantized::linear_dynamic`` kernel. It is a CPU path: asking for it on CUDA raises.
* bf16 / fp16 casting (:func:`cast_encoder`): bf16 on CPU or CUDA, fp16 on CUDA only.
* Per-row symmetric INT8 storage of embedding tables for retrieval
  (:func:`quantize_embeddings_int8`, :func:`int8_scores`).

Why this INT8 path (issue #17). Measured on all-MiniLM-L6-v2 and the 1,682 ML-100K item texts
(``benchmarks/bench_optim.py --only quant``; fp32 and INT8 in one process, same
``TextEncoder.encode`` batches) on a 2-core Xeon with AVX512-VNNI and AMX. In fp32, 82% of the
encode time is the Linear layers (``addmm`` and its bias copy), 8% attention, 4% GELU, 4%
LayerNorm and residual adds, 1.5% tokenization (one thread; the INT8 path below: 43% Linear,
19% attention, 12% GELU). ``torch.ao``'s ``quantize_dynamic`` (the previous path: 0.6x fp32,
ΔNDCG@10 −0.006) left three things on the table:

1. **Kernel.** It packs for the ``x86`` engine, i.e. fbgemm, whose dynamic Linear is 2.3-2.7x
   faster than fp32 here; oneDNN's (``onednn`` engine, VNNI / AMX-INT8) is 3.8-6.6x.
   :func:`int8_engine` takes oneDNN on CPUs with AVX512-VNNI or AMX and fbgemm elsewhere (oneDNN's
   INT8 without VNNI, tried with ``ONEDNN_MAX_CPU_ISA=AVX2``, ran at 0.86x fp32).
2. **Activation bits.** ``torch.ao``'s dynamic Linear always passes ``reduce_range=True``:
   7-bit activations, the guard against int16 saturation of AVX2's ``vpmaddubsw``. Mean cosine
   to the fp32 embeddings 0.974; 8-bit activations give 0.993. 8 bits are safe where products
   accumulate in int32 (VNNI, AMX); on an AVX2-only CPU fbgemm gets 7-bit weights ([-63, 63])
   instead, which cannot saturate either (2 * 255 * 63 < 2**15).
3. **Outliers.** One min/max per call spans the whole batch, and MiniLM's inputs have two kinds
   of outliers: the [CLS] row (4-8x the other tokens at the FFN layers of layers 0-4) and a few
   LayerNorm channels. :class:`DynamicInt8Linear` rescales the first row by a power of two and
   back (FFN layers), and the value and FFN-input layers get SmoothQuant scales taken from their
   LayerNorm's weights (no calibration data). Cosine 0.998 (min 0.995). This is what makes the
   ranking robust: re-scoring the bench's LLM-only recommender (5 training seeds) with 7 INT8
   tables (batch sizes 16-256, oneDNN and fbgemm) gave |ΔNDCG@10| <= 0.0043 in all 35 (mean
   +0.0008); with 8-bit activations alone only 67% were within 0.005 (mean −0.0035, worst
   −0.0083), though each table's mean cosine was 0.993: which rounding errors a table gets
   matters more than their size.

Speed (INT8 / fp32 encode time, median of 5-7 interleaved repeats): 0.41 with one thread; with
two threads 0.42-0.45 on the idle machine since ``TextEncoder.encode`` runs batches in parallel
(one intra-op thread each), 0.56-0.61 when one batch at a time splits each op over both threads
(the INT8 ops are short, so waking the second thread costs relatively more). When other jobs
hold a core, the two-thread figures spread (0.43-0.53 seen). On this CPU a bf16
cast (AMX-BF16) is faster still (0.33-0.37) at ΔNDCG@10 0.0004; INT8 is the path for CPUs without
AMX-BF16. Without VNNI/AMX, INT8 runs on fbgemm: the accuracy above, but (not measured here)
likely about the old 0.6x.

Rejected: ONNX Runtime 1.32 dynamic INT8 (same batches: its fp32 is 1.6x slower than torch's,
its INT8 0.86x torch fp32); per-token activation scales in eager mode (``torch._int_mm`` plus
separate quantize/rescale ops: slower than fp32; ``torch.compile`` of it: 1.1-2.3x the time of
oneDNN's dynamic Linear, 15 s to compile); ``onednn::qlinear_pointwise`` with our own
quantization (slower than the fused dynamic op); per-tensor weights (cosine 0.965); keeping the
FFN output layers in fp32 (cosine 0.997, 0.64x fp32). Not done: one GEMM for query/key/value
would halve those layers' INT8 time (fp32: −31%) but means patching transformers' attention.
``torch``'s quantized tensors (used to pack the weights) are deprecated; when they go, this
kernel needs replacing.
"""

from __future__ import annotations

import copy
import io
import json
import re
import threading
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from pyrec.diagnostics import BackendUnavailable, ConfigError, DataError, param_error
from pyrec.models.text_encoder import TextEncoder, TextEncoderConfig

__all__ = [
    "QuantReport",
    "DynamicInt8Linear",
    "int8_engine",
    "int8_kernel",
    "layernorm_inputs",
    "first_token_inputs",
    "quantize_encoder",
    "quantize_dynamic_int8",
    "cast_encoder",
    "save_quantized",
    "load_quantized",
    "quantize_embeddings_int8",
    "dequantize_embeddings_int8",
    "int8_scores",
    "model_size_mib",
]

_STATE_FILE = "quantized_state_dict.pt"
_META_FILE = "pyrec_quantized.json"
_FORMAT = 2  # 1: torch.ao dynamic Linear state (packed params); 2: DynamicInt8Linear buffers
_CAST = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
         "float16": torch.float16, "fp32": torch.float32, "float32": torch.float32}
_CAST_NAME = {torch.bfloat16: "bfloat16", torch.float16: "float16", torch.float32: "float32"}


@dataclass
class QuantReport:
    """What a quantization or cast did.

    Attributes:
        method: "dynamic-int8" (per-channel weights), "dynamic-int8-per-tensor",
            "cast-bfloat16", "cast-float16" or "none".
        n_linear: Linear layers in the model before the change.
        n_quantized: Linear layers converted (quantized or cast).
        not_quantized: ``"<module name>: <reason>"`` for every Linear layer left as it was.
        quantized_modules: names of the converted layers.
        size_before_mib, size_after_mib: serialized ``state_dict`` size (MiB = 2**20 bytes).
        kernel: the INT8 kernel the converted layers run with (:func:`int8_kernel`, e.g.
            ``"onednn a8w8"``); empty for casts.
        smoothed_modules: converted layers whose input is scaled by its LayerNorm's channel
            sizes (``smooth``). first_token_modules: converted layers that rescale the first row
            of each sequence (``first_token``).
    """

    method: str
    n_linear: int
    n_quantized: int
    not_quantized: list[str] = field(default_factory=list)
    quantized_modules: list[str] = field(default_factory=list)
    size_before_mib: float = float("nan")
    size_after_mib: float = float("nan")
    kernel: str = ""
    smoothed_modules: list[str] = field(default_factory=list)
    first_token_modules: list[str] = field(default_factory=list)

    @property
    def size_ratio(self) -> float:
        """size_after_mib / size_before_mib."""
        return self.size_after_mib / self.size_before_mib

    def to_dict(self) -> dict:
        """JSON-ready dict (with ``size_ratio``)."""
        return {**asdict(self), "size_ratio": self.size_ratio}


def model_size_mib(module: nn.Module) -> float:
    """Serialized size of ``module.state_dict()`` with ``torch.save``, in MiB (2**20 bytes)."""
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.getbuffer().nbytes / 2**20


def _linears(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}


_ENGINE_ORDER = ("fbgemm", "x86", "qnnpack")
_PACK_LOCK = threading.Lock()


def _has_int32_int8_dot() -> bool:
    """AVX512-VNNI or AMX: u8 x s8 products accumulate in int32 (no int16 saturation)."""
    cpu = getattr(torch, "cpu", None)
    return any(bool(getattr(cpu, f, lambda: False)())
               for f in ("_is_vnni_supported", "_is_amx_tile_supported"))


def int8_engine() -> str:
    """The quantized engine whose dynamic INT8 Linear kernel is fastest on this CPU.

    ``"onednn"`` where the CPU has AVX512-VNNI or AMX (3.8-6.6x fp32 per Linear on MiniLM shapes,
    against 2.3-2.7x for fbgemm), else fbgemm (``"x86"`` / ``"qnnpack"`` where fbgemm is missing).

    Raises:
        BackendUnavailable: this torch build has no quantized CPU engine.
    """
    engines = torch.backends.quantized.supported_engines
    if "onednn" in engines and _has_int32_int8_dot():
        return "onednn"
    for name in _ENGINE_ORDER:
        if name in engines:
            return name
    raise BackendUnavailable("No quantized CPU engine (onednn/fbgemm/x86/qnnpack) in this torch.")


def _saturates(engine: str) -> bool:
    """fbgemm on a CPU without VNNI sums pairs of u8 x s8 products in int16 (``vpmaddubsw``)."""
    return engine in ("fbgemm", "x86") and not _has_int32_int8_dot()


def _weight_max(engine: str) -> int:
    """Largest |int8 weight| that keeps 8-bit activations exact: 63 where int16 saturates."""
    return 63 if _saturates(engine) else 127


@contextmanager
def _quantized_engine(engine: str):
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = old


class DynamicInt8Linear(nn.Module):
    r"""Dynamically quantized Linear: :math:`y = s_x s_w (q_x - z_x) q_w^\top + b`.

    Weights are int8, symmetric per output channel (:math:`q_w = \mathrm{round}(W / s_w)`,
    :math:`s_w = \max_k |W_{:k}| / w_{max}`); the input is quantized per call to uint8 with the
    min/max of the whole call (8 bits, unlike ``torch.ao``'s dynamic Linear, which always uses
    7). The product runs in PyTorch's ``quantized::linear_dynamic`` kernel of ``engine``; weights
    are packed for it on first use (and again after they change, e.g. ``load_state_dict``).
    Where the kernel would saturate int16 (fbgemm without VNNI) and a weight exceeds 63 in
    magnitude, it falls back to 7-bit activations (``reduce_range``), so it is never wrong.

    Two exact rewrites give the one per-call input range less to cover (both change only which
    rounding errors are made, never the float result they approximate):

    * ``input_scale`` :math:`\mathbf{s}` (SmoothQuant, Xiao et al., ICML 2023): the kernel sees
      :math:`x / \mathbf{s}` and the weights :math:`W \operatorname{diag}(\mathbf{s})`, moving
      outlier input channels into the (per-channel quantized) weights.
    * ``first_token``: for a (B, L, in) input, each sequence's first row (the [CLS] "attention
      sink" of BERT encoders, 4-8x larger than the other tokens in layers 0-4 of MiniLM) is
      divided by a power of two :math:`c_b` that brings it within the largest second row, and
      its output row is scaled back: :math:`y_{b0} = c_b (y'_{b0} - b) + b`. The input is
      restored bit for bit afterwards (dividing and multiplying by a power of two is exact).

    Args:
        in_features, out_features: as ``nn.Linear``. bias: whether there is a bias.
        engine: quantized engine of the kernel; ``None`` picks :func:`int8_engine` at first use.
        smoothed: hold an ``input_scale`` buffer. first_token: rescale first rows (above).

    Shapes:
        - **input:** float32 :math:`(*, \text{in\_features})`
        - **output:** float32 :math:`(*, \text{out\_features})`

    State (buffers, no parameters): ``weight_int8`` int8 [out, in], ``weight_scale`` float32
    [out], ``bias`` float32 [out] (when ``bias``), ``input_scale`` float32 [in] (when
    ``smoothed``).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 engine: str | None = None, *, smoothed: bool = False,
                 first_token: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features, self.engine = in_features, out_features, engine
        self.first_token = first_token
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features,
                                                        dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)
        self.register_buffer("input_scale", torch.ones(in_features) if smoothed else None)
        self._pack, self._pack_key, self._reduce_range = None, None, False

    @classmethod
    def from_float(cls, linear: nn.Linear, *, per_channel: bool = True,
                   engine: str | None = None, input_absmax: Tensor | None = None,
                   first_token: bool = False) -> "DynamicInt8Linear":
        """Quantize a float ``nn.Linear``.

        Args:
            per_channel: one weight scale per output channel (else one per layer).
            engine: as in the constructor.
            input_absmax: float [in], the typical magnitude of each input channel; when given,
                ``input_scale = sqrt(input_absmax / max_j |W_jk|)`` (SmoothQuant, alpha 0.5).
            first_token: see the class.
        """
        w_max = _weight_max(engine or int8_engine())
        w = linear.weight.detach().float().cpu()
        mod = cls(linear.in_features, linear.out_features, linear.bias is not None, engine,
                  smoothed=input_absmax is not None, first_token=first_token)
        if input_absmax is not None:
            s = (input_absmax.detach().float().cpu().clamp(min=1e-5)
                 / w.abs().amax(0).clamp(min=1e-5)).sqrt()
            mod.input_scale.copy_(s)
            w = w * s
        amax = w.abs().amax(1) if per_channel else w.abs().amax().expand(w.shape[0])
        scale = torch.where(amax > 0, amax / w_max, torch.ones_like(amax))
        mod.weight_int8.copy_(torch.round(w / scale[:, None]).clamp_(-w_max, w_max))
        mod.weight_scale.copy_(scale)
        if linear.bias is not None:
            mod.bias.copy_(linear.bias.detach().float())
        return mod

    def _key(self) -> tuple:
        return tuple((t.data_ptr(), t._version) for t in (self.weight_int8, self.weight_scale,
                                                          self.bias) if t is not None)

    def kernel(self) -> str:
        """``"<engine> a<activation bits>w<weight bits>"``, e.g. ``"onednn a8w8"``."""
        engine = self.engine or int8_engine()
        wbits = 8 if int(self.weight_int8.abs().max()) > 63 else 7
        abits = 7 if (_saturates(engine) and wbits == 8) else 8
        return f"{engine} a{abits}w{wbits}"

    def _packed(self):
        key = self._key()
        if self._pack is not None and self._pack_key == key:
            return self._pack
        with _PACK_LOCK:  # the engine switch is process-wide; TextEncoder.encode runs threads
            engine = self.engine or int8_engine()
            with warnings.catch_warnings(), _quantized_engine(engine):
                # quantized tensors are deprecated in torch (issue 184982); the kernel still needs one
                warnings.filterwarnings("ignore", message=r".*quantized tensor creation.*")
                wq = torch._make_per_channel_quantized_tensor(
                    self.weight_int8, self.weight_scale.double(),
                    torch.zeros(self.out_features, dtype=torch.long), 0)
                self._pack = torch.ops.quantized.linear_prepack(wq, self.bias)
            self._reduce_range = self.kernel().endswith("a7w8")
            self._pack_key = key
        return self._pack

    def forward(self, x: Tensor) -> Tensor:
        """Float input (*, in_features) -> float output (*, out_features), in ``x``'s dtype."""
        packed = self._packed()
        dtype = x.dtype
        x = x.float()
        owned = self.input_scale is not None
        if owned:
            x = x / self.input_scale
        if not (self.first_token and x.dim() == 3 and x.shape[1] > 1 and x.shape[0] > 0):
            return torch.ops.quantized.linear_dynamic(
                x, packed, reduce_range=self._reduce_range).to(dtype)
        if not owned and x.requires_grad:
            x, owned = x.clone(), True  # never edit an autograd input
        # few, fused ops: each one over (B, K) rows still wakes every intra-op thread
        lo, hi = torch.aminmax(x[:, :2], dim=-1)  # (B, 2): first and second rows
        size = torch.maximum(hi, -lo)
        ratio = size[:, 0] / size[:, 1].max().clamp(min=1e-12)  # to the largest second row
        c = torch.exp2(torch.ceil(torch.log2(ratio.clamp(min=1.0, max=2.0**16))))
        if not bool((c > 1).any()):
            return torch.ops.quantized.linear_dynamic(
                x, packed, reduce_range=self._reduce_range).to(dtype)
        c = c[:, None]
        head = x[:, 0]
        head.div_(c)  # a power of two: exact, and undone exactly by mul_
        try:
            y = torch.ops.quantized.linear_dynamic(x, packed, reduce_range=self._reduce_range)
        finally:
            if not owned:
                head.mul_(c)
        out = y[:, 0]
        if self.bias is None:
            out.mul_(c)
        else:  # c (y' - b) + b
            torch.lerp(self.bias.expand_as(out), out, c, out=out)
        return y.to(dtype)

    def __getstate__(self) -> dict:
        # the packed weights are a kernel handle: copies and pickles re-pack on first use
        return {**self.__dict__, "_pack": None, "_pack_key": None}

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, engine={self.engine or 'auto'}, "
                f"smoothed={self.input_scale is not None}, first_token={self.first_token}")


_BERT_LAYER = r"(?P<pre>(?:.*\.)?)encoder\.layer\.(?P<i>\d+)\."
_BERT_VALUE = re.compile(_BERT_LAYER + r"attention\.self\.value")
_BERT_FFN_IN = re.compile(_BERT_LAYER + r"intermediate\.dense")
_BERT_FFN_OUT = re.compile(_BERT_LAYER + r"output\.dense")


def layernorm_inputs(model: nn.Module) -> dict[str, nn.LayerNorm]:
    r"""The Linear layers of a post-LN BERT-layout encoder that get smoothed inputs, each with
    the LayerNorm whose output it reads.

    Layer ``i``'s ``attention.self.value`` reads ``encoder.layer.{i-1}.output.LayerNorm``
    (layer 0: ``embeddings.LayerNorm``) and ``intermediate.dense`` reads
    ``attention.output.LayerNorm``. Such an input is :math:`\gamma \odot \hat{x} + \beta` with
    :math:`\hat{x}` normalised per token, so :math:`|\beta_k| + |\gamma_k|` is a data-free size of
    channel k (correlation 0.86 with the per-channel max over the ML-100K texts). Query and key
    read the same input but are left alone: their error barely reaches the output (attention
    logits; < 1e-5 cosine each on MiniLM) and smoothing costs a pass over the input. Other
    layouts give ``{}``.
    """
    modules = dict(model.named_modules())
    out = {}
    for name, mod in modules.items():
        if not isinstance(mod, nn.Linear):
            continue
        if m := _BERT_VALUE.fullmatch(name):
            i, pre = int(m["i"]), m["pre"]
            ln = (f"{pre}embeddings.LayerNorm" if i == 0
                  else f"{pre}encoder.layer.{i - 1}.output.LayerNorm")
        elif m := _BERT_FFN_IN.fullmatch(name):
            ln = f"{m['pre']}encoder.layer.{m['i']}.attention.output.LayerNorm"
        else:
            continue
        norm = modules.get(ln)
        if (isinstance(norm, nn.LayerNorm) and norm.elementwise_affine and norm.bias is not None
                and norm.normalized_shape == (mod.in_features,)):
            out[name] = norm
    return out


def first_token_inputs(model: nn.Module) -> list[str]:
    """The FFN Linear layers of a BERT-layout encoder (``intermediate.dense``, ``output.dense``):
    their inputs carry the [CLS] outlier (4-8x the other tokens in MiniLM's layers 0-4, against
    1.3x at query/key/value), so they get the first-row rescaling. Other layouts give ``[]``."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.Linear)
            and (_BERT_FFN_IN.fullmatch(n) or _BERT_FFN_OUT.fullmatch(n))]


def _channel_size(norm: nn.LayerNorm) -> Tensor:
    return (norm.bias.detach().abs() + norm.weight.detach().abs()).float().cpu()


def int8_kernel(model: nn.Module) -> str:
    """The kernel(s) of a model's :class:`DynamicInt8Linear` layers (``"; "``-joined), or ""."""
    return "; ".join(sorted({m.kernel() for m in model.modules()
                             if isinstance(m, DynamicInt8Linear)}))


def _device_of(encoder: Any, device: str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    if isinstance(encoder, TextEncoder):
        return torch.device(encoder.config.device)
    p = next(iter(encoder.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _legacy_quantize_names(model: nn.Module, names: set[str], per_channel: bool) -> nn.Module:
    """``torch.ao`` ``quantize_dynamic`` (in place) of the named Linear modules: rebuilds folders
    written by :func:`save_quantized` before :class:`DynamicInt8Linear` (format 1)."""
    from torch.ao.quantization import (
        default_dynamic_qconfig,
        per_channel_dynamic_qconfig,
        quantize_dynamic,
    )

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantize_per_(tensor|channel).*")
        return quantize_dynamic(model, {n: qconfig for n in names}, dtype=torch.qint8,
                                inplace=True)


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, new)


def quantize_dynamic_int8(
    encoder: TextEncoder | nn.Module,
    *,
    per_channel: bool = True,
    exclude: str | None = None,
    device: str | None = None,
    inplace: bool = False,
    engine: str | None = None,
    smooth: bool = True,
    first_token: bool = True,
) -> tuple[Any, QuantReport]:
    r"""Dynamic INT8 quantization of every float32 ``nn.Linear`` (CPU inference).

    Each becomes a :class:`DynamicInt8Linear`: int8 weights, symmetric per output channel by
    default (per tensor with ``per_channel=False``); activations quantized per call (uint8, 8
    bits) at run time, in the fastest kernel of this CPU (:func:`int8_engine`). Measured on the
    1,682 ML-100K item texts with MiniLM-L6 (all 37 Linear layers, VNNI CPU): mean cosine to fp32
    0.993 (min 0.986) per channel; ``torch.ao``'s ``quantize_dynamic`` (7-bit activations) gives
    0.974. Layers matching ``exclude`` stay fp32 (e.g. the FFN output projections,
    ``r"encoder\.layer\.\d+\.output\.dense"``: cosine 0.997, but most of the speed-up is lost).

    Args:
        encoder: a float32 TextEncoder (its HF model is quantized) or any torch module.
        per_channel: per-output-channel weight scales (else one scale per layer).
        exclude: regex; Linear modules whose full name matches it stay float32 (reported).
        device: where it will run (default: the encoder's device). Must be a CPU.
        inplace: modify ``encoder`` instead of a copy.
        engine: quantized engine of the kernels ("onednn", "fbgemm", "x86", "qnnpack"); default
            :func:`int8_engine` of the CPU the layers run on.
        smooth: give value and FFN-input layers of BERT-layout encoders
            (:func:`layernorm_inputs`) an ``input_scale`` from the LayerNorm they read
            (data-free SmoothQuant, see :class:`DynamicInt8Linear`).
        first_token: rescale each sequence's first row (the [CLS] outlier) in the FFN layers of
            BERT-layout encoders (:func:`first_token_inputs`).

    Returns:
        (quantized, report): same type as ``encoder`` (a TextEncoder gets
        ``quantization_ = report.method``) and a :class:`QuantReport` (``kernel`` names the
        engine and bits). Layers not converted (``exclude``, a Linear subclass such as
        ``NonDynamicallyQuantizableLinear``, non-float32 weights, or a zero-width Linear with no
        weights) are listed in ``report.not_quantized`` with the reason.

    Raises:
        BackendUnavailable: ``device`` is not a CPU, or no quantized engine is available.
        ConfigError: already quantized, LoRA-wrapped (merge with ``merge_lora`` first), or an
            ``engine`` this torch does not have.
    """
    dev = _device_of(encoder, device)
    if dev.type != "cpu":
        raise BackendUnavailable(
            f"Dynamic INT8 quantization runs on CPU only (quantized::linear_dynamic); device "
            f"{str(dev)!r} was asked. Use cast_encoder(..., 'bf16'/'fp16') on CUDA, or run on CPU."
        )
    engines = torch.backends.quantized.supported_engines
    if engine is not None and engine not in engines:
        raise param_error("engine", "quantize_dynamic_int8",
                          f"None or one of {[e for e in engines if e != 'none']}", engine)
    int8_engine()  # raises BackendUnavailable without any quantized engine
    is_enc = isinstance(encoder, TextEncoder)
    if is_enc and encoder.quantization_ != "none":
        raise ConfigError(f"The encoder is already quantized ({encoder.quantization_}).")
    if type(encoder.model if is_enc else encoder).__module__.startswith("peft"):
        raise ConfigError("quantize_dynamic_int8 got a LoRA-wrapped model (peft LoRA layers read "
                          "float weights); call pyrec.optim.merge_lora first.")
    size_before = model_size_mib(encoder.model if is_enc else encoder)
    if not inplace:
        encoder = (TextEncoder.from_hf(copy.deepcopy(encoder.model), encoder.tokenizer,
                                       encoder.config.model_copy(deep=True))
                   if is_enc else copy.deepcopy(encoder))
    model = encoder.model if is_enc else encoder
    linears = _linears(model)
    norms = layernorm_inputs(model) if smooth else {}
    firsts = set(first_token_inputs(model)) if first_token else set()
    skipped, done = [], []
    for name, mod in linears.items():
        if exclude is not None and re.fullmatch(exclude, name):
            skipped.append(f"{name}: excluded by exclude={exclude!r}")
        elif type(mod) is not nn.Linear:
            skipped.append(f"{name}: {type(mod).__name__} is a Linear subclass (its owner may "
                           "read .weight directly), not converted")
        elif mod.weight.dtype != torch.float32:
            skipped.append(f"{name}: weight dtype {mod.weight.dtype} (needs float32)")
        elif mod.weight.numel() == 0:
            skipped.append(f"{name}: zero-width Linear (in_features={mod.in_features}, "
                           f"out_features={mod.out_features}) has no weights to quantize")
        else:
            norm = norms.get(name)
            _replace(model, name, DynamicInt8Linear.from_float(
                mod, per_channel=per_channel, engine=engine, first_token=name in firsts,
                input_absmax=None if norm is None else _channel_size(norm)))
            done.append(name)
    method = "dynamic-int8" + ("" if per_channel else "-per-tensor")
    report = QuantReport(method, len(linears), len(done), skipped, sorted(done),
                         size_before, model_size_mib(model), int8_kernel(model),
                         sorted(set(norms) & set(done)), sorted(firsts & set(done)))
    if is_enc:
        encoder.quantization_ = method
        encoder.quant_report_ = report
    return encoder, report


def cast_encoder(
    encoder: TextEncoder, dtype: Literal["bf16", "fp16", "fp32"], *, inplace: bool = False
) -> tuple[TextEncoder, QuantReport]:
    """Cast the encoder's floating weights to bf16 / fp16 (or back to fp32).

    Args:
        encoder: a TextEncoder (not INT8-quantized).
        dtype: "bf16" (CPU, or CUDA with bf16 support), "fp16" (CUDA only) or "fp32"
            (aliases "bfloat16", "float16", "float32").
        inplace: modify ``encoder`` instead of a copy.

    Returns:
        (encoder, report): ``encoder.config.dtype`` updated; ``encode`` still returns float32.

    Raises:
        ConfigError: unknown dtype or an INT8 encoder.
        BackendUnavailable: fp16 on CPU, or bf16 on a CUDA device without bf16 support.
    """
    if dtype not in _CAST:
        raise param_error("dtype", "cast_encoder", f"one of {sorted(_CAST)}", dtype)
    if not isinstance(encoder, TextEncoder):
        raise param_error("encoder", "cast_encoder", "a TextEncoder", type(encoder).__name__)
    if encoder.quantization_.startswith("dynamic-int8"):
        raise ConfigError("cast_encoder got an INT8-quantized encoder; cast the float32 one.")
    target = _CAST[dtype]
    dev = torch.device(encoder.config.device)
    if target == torch.float16 and dev.type != "cuda":
        raise BackendUnavailable(f"fp16 inference is supported on CUDA only (device {str(dev)!r}); "
                                 "use 'bf16' on CPU.")
    if target == torch.bfloat16 and dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise BackendUnavailable(f"CUDA device {str(dev)!r} does not support bfloat16.")
    size_before = model_size_mib(encoder.model)
    cfg = encoder.config.model_copy(update={"dtype": _CAST_NAME[target]}, deep=True)
    model = encoder.model if inplace else copy.deepcopy(encoder.model)
    model.to(dtype=target)
    if inplace:
        encoder.config = cfg
    else:
        encoder = TextEncoder.from_hf(model, encoder.tokenizer, cfg)
    linears = _linears(model)
    report = QuantReport(f"cast-{_CAST_NAME[target]}", len(linears),
                         sum(m.weight.dtype == target for m in linears.values()),
                         [f"{n}: weight dtype {m.weight.dtype}" for n, m in linears.items()
                          if m.weight.dtype != target], sorted(linears),
                         size_before, model_size_mib(model))
    return encoder, report


def quantize_encoder(
    encoder: TextEncoder, method: Literal["none", "int8", "bf16", "fp16"] = "int8"
) -> tuple[TextEncoder, QuantReport]:
    """Dispatch: "int8" -> :func:`quantize_dynamic_int8`, "bf16"/"fp16" -> :func:`cast_encoder`.

    Raises:
        ConfigError: unknown ``method``. BackendUnavailable: as the called function.
    """
    if method == "int8":
        return quantize_dynamic_int8(encoder)
    if method in ("bf16", "fp16"):
        return cast_encoder(encoder, method)
    if method == "none":
        n = len(_linears(encoder.model))
        size = model_size_mib(encoder.model)
        return encoder, QuantReport("none", n, 0, [], [], size, size)
    raise param_error("method", "quantize_encoder", "one of ['none', 'int8', 'bf16', 'fp16']",
                      method)


def save_quantized(encoder: TextEncoder, directory: str | Path) -> Path:
    """Save an INT8 encoder so that :func:`load_quantized` gives identical outputs.

    Writes the HF ``config.json``, the tokenizer, the full quantized ``state_dict``
    (int8 weights with their per-channel scales: no kernel-specific packed data) and the pyrec
    config. It avoids the known pitfall of
    ``from_pretrained`` on a quantized folder (fp32 or uninitialised weights come back).

    Raises:
        ConfigError: the encoder is not INT8-quantized, or still carries a LoRA adapter.
    """
    if not isinstance(encoder, TextEncoder) or not encoder.quantization_.startswith("dynamic-int8"):
        raise param_error("encoder", "save_quantized", "a TextEncoder from quantize_dynamic_int8",
                          getattr(encoder, "quantization_", type(encoder).__name__))
    if type(encoder.model).__module__.startswith("peft"):
        raise ConfigError("save_quantized needs a plain HF model: merge_lora before quantizing.")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    encoder.model.config.save_pretrained(directory)
    encoder.tokenizer.save_pretrained(directory)
    torch.save(encoder.model.state_dict(), directory / _STATE_FILE)
    engines = {m.engine for m in encoder.model.modules() if isinstance(m, DynamicInt8Linear)}
    meta = {"format": _FORMAT, "encoder_config": encoder.dump_config(),
            "quantized_modules": encoder.quant_report_.quantized_modules,
            "per_channel": encoder.quant_report_.method == "dynamic-int8",
            "engine": engines.pop() if len(engines) == 1 else None,
            "smoothed_modules": encoder.quant_report_.smoothed_modules,
            "first_token_modules": encoder.quant_report_.first_token_modules,
            "report": encoder.quant_report_.to_dict(), "torch": torch.__version__}
    (directory / _META_FILE).write_text(json.dumps(meta, indent=2))
    return directory


def load_quantized(directory: str | Path) -> TextEncoder:
    """Rebuild an INT8 encoder saved by :func:`save_quantized` (same outputs as when saved).

    The architecture is built from ``config.json``, the same layers become
    :class:`DynamicInt8Linear` and the saved ``state_dict`` is loaded strictly. The kernel is
    chosen for the CPU it is loaded on (``report.kernel`` says which); folders of the older
    ``torch.ao`` format are rebuilt with ``torch.ao.quantization.quantize_dynamic``.

    Raises:
        ConfigError: the folder is not a :func:`save_quantized` output, or the state does not fit.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    directory = Path(directory)
    if not (directory / _META_FILE).is_file() or not (directory / _STATE_FILE).is_file():
        raise ConfigError(f"{directory} is not a save_quantized folder: {_META_FILE} or "
                          f"{_STATE_FILE} is missing.")
    meta = json.loads((directory / _META_FILE).read_text())
    model = AutoModel.from_config(AutoConfig.from_pretrained(directory, local_files_only=True))
    names = set(meta["quantized_modules"])
    if meta.get("format", 1) == 1:
        _legacy_quantize_names(model, names, meta["per_channel"])
    else:
        smoothed = set(meta.get("smoothed_modules", []))
        firsts = set(meta.get("first_token_modules", []))
        for name in names:
            lin = model.get_submodule(name)
            _replace(model, name, DynamicInt8Linear(
                lin.in_features, lin.out_features, lin.bias is not None, meta.get("engine"),
                smoothed=name in smoothed, first_token=name in firsts))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*TypedStorage is deprecated.*")
        state = torch.load(directory / _STATE_FILE, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ConfigError(f"The quantized state in {directory} does not fit its config: "
                          f"{err}") from err
    model.train(False)
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    cfg = TextEncoderConfig(**{**meta["encoder_config"], "model_path": str(directory),
                               "trainable": "frozen", "device": "cpu"})
    encoder = TextEncoder.from_hf(model, tokenizer, cfg)
    encoder.model.requires_grad_(False)
    r = meta["report"]
    r.pop("size_ratio", None)
    encoder.quant_report_ = QuantReport(**{**r, "kernel": int8_kernel(model)})
    encoder.quantization_ = encoder.quant_report_.method
    return encoder


def _check_table(table: Any, name: str) -> None:
    if not isinstance(table, Tensor) or table.dim() != 2 or not table.is_floating_point():
        raise DataError(f"{name} must be a float Tensor [n, d]. Got "
                        f"{getattr(table, 'shape', type(table).__name__)} instead.")
    if not torch.isfinite(table).all():
        raise DataError(f"{name} has NaN or infinite values.")


def quantize_embeddings_int8(table: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row symmetric INT8: ``q = round(x / s)``, ``s = max|x_row| / 127`` (1.0 for zero rows).

    Args:
        table: float [n, d].

    Returns:
        (q int8 [n, d], scale float32 [n]); ``|x - q * s| <= s / 2`` per entry.

    Raises:
        DataError: not a 2-D float tensor, or non-finite values.
    """
    _check_table(table, "table")
    x = table.detach().float()
    amax = x.abs().amax(dim=1)
    scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    q = torch.round(x / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q, scale


def dequantize_embeddings_int8(q: Tensor, scale: Tensor) -> Tensor:
    """Inverse of :func:`quantize_embeddings_int8`: float32 [n, d] = ``q * scale[:, None]``."""
    if q.dtype != torch.int8 or q.dim() != 2 or scale.shape != (q.shape[0],):
        raise DataError(f"Expected q int8 [n, d] and scale [n]. Got {tuple(q.shape)} "
                        f"{q.dtype} and {tuple(scale.shape)} instead.")
    return q.float() * scale.float()[:, None]


def int8_scores(queries: Tensor, q: Tensor, scale: Tensor) -> Tensor:
    """Dot-product scores against an INT8 table: ``(queries @ q.T) * scale``.

    Args:
        queries: float [B, d] (e.g. user embeddings). q: int8 [n, d]. scale: float32 [n].

    Returns:
        Tensor float32 [B, n], equal to ``queries @ dequantize(q, scale).T`` up to rounding.
    """
    _check_table(queries, "queries")
    if q.dtype != torch.int8 or q.dim() != 2 or q.shape[1] != queries.shape[1]:
        raise DataError(f"q must be int8 [n, {queries.shape[1]}]. Got {tuple(q.shape)} "
                        f"{q.dtype} instead.")
    return (queries.float() @ q.float().T) * scale.float()[None, :]
