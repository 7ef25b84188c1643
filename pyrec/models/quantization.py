"""Quantization of the text encoder and of embedding tables, each with a report of what it did.

* Dynamic INT8 (``torch.ao.quantization.quantize_dynamic``; Jacob et al., "Quantization and
  Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", CVPR 2018):
  Linear weights are stored as per-tensor symmetric int8, activations are quantized per batch at
  run time. It is a CPU path (fbgemm / x86 / qnnpack kernels): asking for it on CUDA raises.
  ``torchao`` is not installed here; ``torch.ao`` is used (it warns that it is deprecated in favour
  of torchao; that warning is silenced inside :func:`quantize_dynamic_int8` only).
* bf16 / fp16 casting (:func:`cast_encoder`): bf16 on CPU or CUDA, fp16 on CUDA only.
* Per-row symmetric INT8 storage of embedding tables for retrieval
  (:func:`quantize_embeddings_int8`, :func:`int8_scores`).
"""

from __future__ import annotations

import copy
import io
import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from pyrec.diagnostics import BackendUnavailable, ConfigError, DataError, param_error
from pyrec.models.text_encoder import TextEncoder, TextEncoderConfig

__all__ = [
    "QuantReport",
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
    """

    method: str
    n_linear: int
    n_quantized: int
    not_quantized: list[str] = field(default_factory=list)
    quantized_modules: list[str] = field(default_factory=list)
    size_before_mib: float = float("nan")
    size_after_mib: float = float("nan")

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


def _device_of(encoder: Any, device: str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    if isinstance(encoder, TextEncoder):
        return torch.device(encoder.config.device)
    p = next(iter(encoder.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _quantize_names(model: nn.Module, names: set[str], per_channel: bool) -> nn.Module:
    """Apply ``quantize_dynamic`` (in place) to the named Linear modules only."""
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


def quantize_dynamic_int8(
    encoder: TextEncoder | nn.Module,
    *,
    per_channel: bool = True,
    exclude: str | None = None,
    device: str | None = None,
    inplace: bool = False,
) -> tuple[Any, QuantReport]:
    r"""Dynamic INT8 quantization of every float32 ``nn.Linear`` (CPU inference).

    Weights are int8 symmetric, per output channel by default (per tensor with
    ``per_channel=False``); activations are quantized per batch (uint8 affine) at run time.
    Measured on 200 ML-100K titles with MiniLM-L6 (all 37 Linear layers): mean cosine to fp32
    0.972 per channel vs 0.944 per tensor; keeping the 6 FFN output projections in fp32
    (``exclude=r"encoder\.layer\.\d+\.output\.dense"``) gives 0.984.

    Args:
        encoder: a float32 TextEncoder (its HF model is quantized) or any torch module.
        per_channel: per-output-channel weight scales (``per_channel_dynamic_qconfig``).
        exclude: regex; Linear modules whose full name matches it stay float32 (reported).
        device: where it will run (default: the encoder's device). Must be a CPU.
        inplace: modify ``encoder`` instead of a copy.

    Returns:
        (quantized, report): same type as ``encoder`` (a TextEncoder gets
        ``quantization_ = report.method``) and a :class:`QuantReport`. Layers not converted
        (``exclude``, a Linear subclass such as ``NonDynamicallyQuantizableLinear``, non-float32
        weights, or a zero-width Linear with no weights) are listed in ``report.not_quantized``
        with the reason.

    Raises:
        BackendUnavailable: ``device`` is not a CPU, or no quantized engine is available.
        ConfigError: already quantized, or LoRA-wrapped (merge with ``merge_lora`` first).
    """
    dev = _device_of(encoder, device)
    if dev.type != "cpu":
        raise BackendUnavailable(
            f"Dynamic INT8 quantization (torch.ao quantize_dynamic) runs on CPU only; device "
            f"{str(dev)!r} was asked. Use cast_encoder(..., 'bf16'/'fp16') on CUDA, or run on CPU."
        )
    if torch.backends.quantized.engine == "none":
        raise BackendUnavailable("No quantized CPU engine (fbgemm/x86/qnnpack) in this torch.")
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
    skipped, eligible = [], set()
    for name, mod in linears.items():
        if exclude is not None and re.fullmatch(exclude, name):
            skipped.append(f"{name}: excluded by exclude={exclude!r}")
        elif type(mod) is not nn.Linear:
            skipped.append(f"{name}: {type(mod).__name__} is a Linear subclass quantize_dynamic "
                           "does not map")
        elif mod.weight.dtype != torch.float32:
            skipped.append(f"{name}: weight dtype {mod.weight.dtype} (needs float32)")
        elif mod.weight.numel() == 0:  # torch's quantizer fails on it with a bare RuntimeError
            skipped.append(f"{name}: zero-width Linear (in_features={mod.in_features}, "
                           f"out_features={mod.out_features}) has no weights to quantize")
        else:
            eligible.add(name)
    _quantize_names(model, eligible, per_channel)
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    after = dict(model.named_modules())
    done = sorted(n for n in eligible if isinstance(after.get(n), QLinear))
    skipped += [f"{n}: not converted by quantize_dynamic" for n in sorted(eligible - set(done))]
    method = "dynamic-int8" + ("" if per_channel else "-per-tensor")
    report = QuantReport(method, len(linears), len(done), skipped, done,
                         size_before, model_size_mib(model))
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
    (int8 weights with their scales) and the pyrec config. It avoids the known pitfall of
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
    meta = {"encoder_config": encoder.dump_config(),
            "quantized_modules": encoder.quant_report_.quantized_modules,
            "per_channel": encoder.quant_report_.method == "dynamic-int8",
            "report": encoder.quant_report_.to_dict(), "torch": torch.__version__}
    (directory / _META_FILE).write_text(json.dumps(meta, indent=2))
    return directory


def load_quantized(directory: str | Path) -> TextEncoder:
    """Rebuild an INT8 encoder saved by :func:`save_quantized` (same outputs as when saved).

    The architecture is built from ``config.json``, the same layers are quantized with
    ``quantize_dynamic`` and the saved quantized ``state_dict`` is loaded strictly.

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
    _quantize_names(model, set(meta["quantized_modules"]), meta["per_channel"])
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
    encoder.quant_report_ = QuantReport(**r)
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
