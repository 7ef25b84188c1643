"""LoRA adapters for the text encoder, via Hugging Face ``peft``.

Method: "LoRA: Low-Rank Adaptation of Large Language Models" (Hu et al., ICLR 2022,
https://arxiv.org/abs/2106.09685). A frozen weight :math:`W` gets a trainable update
:math:`\\Delta W = \\frac{\\alpha}{r} B A` with :math:`A \\in \\mathbb{R}^{r \\times k}`,
:math:`B \\in \\mathbb{R}^{d \\times r}` (B starts at zero). Implementation: ``peft.LoraConfig``,
``get_peft_model``, ``PeftModel.from_pretrained`` and ``merge_and_unload``.

peft is imported inside functions, so importing this module stays light.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator

from pyrec.diagnostics import ConfigError, param_error

__all__ = [
    "LoRAConfig",
    "LoRAReport",
    "DEFAULT_TARGET_MODULES",
    "default_target_modules",
    "apply_lora",
    "save_adapter",
    "load_adapter",
    "merge_lora",
]

#: attention projections adapted by default, by ``config.model_type`` (query and value, as in the
#: LoRA paper's GPT-3 / RoBERTa experiments).
DEFAULT_TARGET_MODULES: dict[str, list[str]] = {
    "bert": ["query", "value"],
    "roberta": ["query", "value"],
    "xlm-roberta": ["query", "value"],
    "electra": ["query", "value"],
    "distilbert": ["q_lin", "v_lin"],
    "mpnet": ["q", "v"],
    "t5": ["q", "v"],
    "gpt2": ["c_attn"],
    "llama": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
}

# name pairs tried, in order, on architectures not in the table above
_CANDIDATES = (("query", "value"), ("q_proj", "v_proj"), ("q_lin", "v_lin"), ("q", "v"),
               ("c_attn",), ("qkv",), ("Wqkv",))


class LoRAConfig(BaseModel):
    """Validated LoRA settings (mirrors ``peft.LoraConfig``)."""

    model_config = ConfigDict(extra="forbid")

    #: rank r of the update B A.
    r: PositiveInt = 8
    #: scaling numerator alpha (the update is scaled by alpha / r).
    alpha: float = Field(16.0, gt=0)
    #: dropout on the adapter input, in [0, 1).
    dropout: float = Field(0.0, ge=0, lt=1)
    #: module-name suffixes to adapt; ``None`` = :func:`default_target_modules` of the model.
    target_modules: list[str] | None = None
    #: which biases train ("none", "all", "lora_only").
    bias: Literal["none", "all", "lora_only"] = "none"

    def __init__(self, **data: Any) -> None:
        """Validate; a bad value raises :class:`~pyrec.diagnostics.ConfigError` naming it."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err.get("loc", ())) or "config"
            raise ConfigError(
                f"The {field!r} parameter of LoRAConfig is invalid: "
                f"{err.get('msg', '').removeprefix('Value error, ')}. "
                f"Got {err.get('input')!r} instead."
            ) from None

    @field_validator("target_modules")
    @classmethod
    def _some_targets(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not [t for t in v if t.strip()]:
            raise ValueError(
                "target_modules must name at least one module (e.g. ['query', 'value']), or be "
                "left out for the model's defaults (an empty list would adapt nothing)"
            )
        return v


@dataclass
class LoRAReport:
    """What :func:`apply_lora` did.

    Attributes:
        target_modules: the name suffixes used.
        adapted_modules: full names of the modules that got an adapter.
        trainable_params: parameters with ``requires_grad`` after wrapping (count).
        total_params: all parameters after wrapping (count, adapters included).
    """

    target_modules: list[str]
    adapted_modules: list[str]
    trainable_params: int
    total_params: int

    @property
    def trainable_fraction(self) -> float:
        """trainable_params / total_params."""
        return self.trainable_params / max(self.total_params, 1)

    def to_dict(self) -> dict:
        """JSON-ready dict (with ``trainable_fraction``)."""
        return {**asdict(self), "trainable_fraction": self.trainable_fraction}


@contextlib.contextmanager
def _quiet_peft():
    """peft 0.21 calls ``is_gradient_checkpointing``, deprecated in transformers 5 for v6; silence
    only that FutureWarning (it says nothing about the user's model)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def _is_encoder(obj: Any) -> bool:
    """True for a :class:`~pyrec.models.text_encoder.TextEncoder`-like wrapper: a tokenizer and
    the Hugging Face module in ``.model`` (told by shape, so this module never imports the
    encoder's, which imports this one)."""
    return hasattr(obj, "tokenizer") and hasattr(obj, "model") and hasattr(obj, "encode")


def _hf_model(obj: Any) -> Any:
    """The Hugging Face module inside a TextEncoder, or ``obj`` itself."""
    return obj.model if _is_encoder(obj) else obj


def _adaptable(model: Any) -> dict[str, Any]:
    """Full name -> module for the layers peft LoRA can wrap (Linear, GPT-2 Conv1D, Embedding)."""
    from torch import nn

    kinds = (nn.Linear, nn.Embedding, nn.Conv1d)
    out = {}
    for name, mod in model.named_modules():
        if isinstance(mod, kinds) or type(mod).__name__ == "Conv1D":
            out[name] = mod
    return out


def _linear_suffixes(model: Any) -> list[str]:
    return sorted({n.rsplit(".", 1)[-1] for n, m in _adaptable(model).items()
                   if type(m).__name__ in ("Linear", "Conv1D")})


def default_target_modules(model: Any) -> list[str]:
    """Default LoRA targets: by ``model.config.model_type``, else by inspecting module names.

    Args:
        model: a TextEncoder or Hugging Face / torch module.

    Returns:
        list[str]: module-name suffixes, e.g. ``["query", "value"]`` for BERT.

    Raises:
        ConfigError: no known attention projection names are found (lists the Linear names).
    """
    model = _hf_model(model)
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type in DEFAULT_TARGET_MODULES:
        return list(DEFAULT_TARGET_MODULES[model_type])
    suffixes = set(_linear_suffixes(model))
    for cand in _CANDIDATES:
        if set(cand) <= suffixes:
            return list(cand)
    raise ConfigError(
        f"Cannot infer LoRA target_modules for model type {model_type!r}: none of "
        f"{[list(c) for c in _CANDIDATES]} found. Linear modules available: {sorted(suffixes)}. "
        "Pass LoRAConfig(target_modules=[...])."
    )


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def apply_lora(model: Any, config: LoRAConfig | None = None,
               layers: list[int] | None = None) -> tuple[Any, LoRAReport]:
    """Wrap a model's target layers with LoRA adapters (in place; base weights are frozen).

    Args:
        model: a :class:`~pyrec.models.text_encoder.TextEncoder` (its ``model`` is replaced by the
            ``peft.PeftModel`` and its ``lora_report_`` set) or a Hugging Face / torch module.
        config: :class:`LoRAConfig` (default ``LoRAConfig()``).
        layers: indices of the transformer blocks to adapt (``peft``'s ``layers_to_transform``,
            e.g. the top two ``[4, 5]``); None = every block.

    Returns:
        (model, report): the TextEncoder, or a ``peft.PeftModel``; and a :class:`LoRAReport`.

    Raises:
        ConfigError: a target matches no adaptable module (names it and lists the Linear
            modules), or peft rejects the configuration.
    """
    from peft import LoraConfig, get_peft_model

    config = config or LoRAConfig()
    if not isinstance(config, LoRAConfig):
        raise param_error("config", "apply_lora", "a LoRAConfig", type(config).__name__)
    encoder = model if _is_encoder(model) else None
    hf = _hf_model(model)
    targets = list(default_target_modules(hf) if config.target_modules is None
                   else config.target_modules)
    adaptable = _adaptable(hf)
    for t in targets:
        if not any(_matches(n, t) for n in adaptable):
            raise ConfigError(
                f"LoRA target module {t!r} matches no Linear/Conv1D/Embedding module of "
                f"{type(hf).__name__}. Linear modules available: {_linear_suffixes(hf)}."
            )
    # GPT-2's Conv1D stores weights transposed (fan_in x fan_out)
    conv1d = all(type(m).__name__ == "Conv1D" for n, m in adaptable.items()
                 if any(_matches(n, t) for t in targets))
    by_layer = {}
    if layers is not None:
        from pyrec.models._block_cache import transformer_blocks

        stack_name, _ = transformer_blocks(hf)
        by_layer = {"layers_to_transform": list(layers),
                    "layers_pattern": stack_name.rsplit(".", 1)[-1]}
    peft_cfg = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                          target_modules=targets, bias=config.bias, fan_in_fan_out=conv1d,
                          **by_layer)
    try:
        with _quiet_peft():
            wrapped = get_peft_model(hf, peft_cfg)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"peft rejected the LoRA config {config.model_dump()}: {err}") from err
    adapted = sorted({n.removesuffix(".lora_A") for n, _ in wrapped.named_modules()
                      if n.endswith(".lora_A")})
    report = LoRAReport(
        target_modules=targets,
        adapted_modules=adapted,
        trainable_params=sum(p.numel() for p in wrapped.parameters() if p.requires_grad),
        total_params=sum(p.numel() for p in wrapped.parameters()),
    )
    if encoder is not None:
        encoder.model = wrapped
        encoder.lora_report_ = report
        return encoder, report
    return wrapped, report


def _peft_model(model: Any, owner: str) -> Any:
    from peft import PeftModel

    hf = _hf_model(model)
    if not isinstance(hf, PeftModel):
        raise param_error("model", owner, "a LoRA-wrapped model (see apply_lora)",
                          type(hf).__name__)
    return hf


def save_adapter(model: Any, directory: str | Path) -> Path:
    """Save only the LoRA adapter (``adapter_config.json`` + ``adapter_model.safetensors``).

    Args:
        model: a LoRA-wrapped TextEncoder or ``peft.PeftModel``.
        directory: output folder (created).

    Returns:
        Path: the folder. The files hold the adapter weights only (~0.3 MiB for r=8 on MiniLM-L6).

    Raises:
        ConfigError: the model carries no LoRA adapter.
    """
    peft_model = _peft_model(model, "save_adapter")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(directory))
    return directory


def load_adapter(base: Any, directory: str | Path, *, is_trainable: bool = False) -> Any:
    """Attach a saved adapter to a base model (``peft.PeftModel.from_pretrained``).

    Args:
        base: a TextEncoder without adapter (its ``model`` is replaced) or a Hugging Face module
            with the same architecture as the one the adapter was trained on.
        directory: folder written by :func:`save_adapter`.
        is_trainable: keep the adapter trainable (to resume training).

    Returns:
        The TextEncoder, or the ``peft.PeftModel``.

    Raises:
        ConfigError: the folder has no ``adapter_config.json``.
    """
    from peft import PeftModel

    directory = Path(directory)
    if not (directory / "adapter_config.json").is_file():
        raise ConfigError(f"No LoRA adapter at {directory}: adapter_config.json is missing.")
    with _quiet_peft():
        wrapped = PeftModel.from_pretrained(_hf_model(base), str(directory), is_trainable=is_trainable)
    wrapped.train(False)
    if _is_encoder(base):
        base.model = wrapped
        return base
    return wrapped


def merge_lora(model: Any) -> Any:
    """Fold the adapter into the base weights (``W + alpha/r B A``) and drop the LoRA layers.

    Args:
        model: a LoRA-wrapped TextEncoder (modified in place) or ``peft.PeftModel``.

    Returns:
        The TextEncoder (plain HF model inside, ``lora_report_`` kept) or the merged HF model.
        Scores equal the unmerged model's within float rounding.

    Raises:
        ConfigError: the model carries no LoRA adapter.
    """
    with _quiet_peft():
        merged = _peft_model(model, "merge_lora").merge_and_unload()
    merged.train(False)
    if _is_encoder(model):
        model.model = merged
        return model
    return merged
