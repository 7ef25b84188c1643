"""Which optimization strategies one training run applies, and how they reach the model.

The three strategies of :mod:`pyrec.optim` are chosen per run (``pyrec train --quantize int8
--lora r=8 --distill-from RUN``, or the same keyword arguments of
:func:`pyrec.pipeline.train_and_evaluate`):

* quantization: ``inference_quantization`` of a text model (``llm``/``hybrid``), see
  :meth:`pyrec.models.llm.TextModelMixin.quantize_encoder`;
* LoRA: ``encoder_mode="lora"`` with :class:`~pyrec.models.lora.LoRAConfig` settings;
* distillation: the run's model is the student of a saved teacher
  (:func:`pyrec.optim.distill.distill`); the teacher must have been trained on exactly the run's
  training interactions (:func:`load_teacher`), so the student never learns from test items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrec.diagnostics import ConfigError, param_error

__all__ = [
    "Strategies",
    "apply_to_settings",
    "load_teacher",
    "lora_settings",
    "parse_options",
    "recorded_optimization",
    "strategy_unsupported",
]

#: accepted ``quantize`` values (dynamic INT8 is a CPU path; bf16 is a cast)
QUANTIZE_METHODS = ("int8", "bf16")


@dataclass
class Strategies:
    """The optimization strategies of one run.

    Attributes:
        quantize: ``"int8"``, ``"bf16"`` or None.
        lora: LoRA settings (``r``, ``alpha``, ``dropout``, ``target_modules``, ``bias``) or None
            (no LoRA); ``{}`` = LoRA with the defaults (r = 8, alpha = 16, query/value).
        distill_from: a saved teacher (model folder, or a run folder holding ``model/``) or None.
        distill: :class:`~pyrec.optim.distill.DistillConfig` fields (``kd_weight``, ``temperature``,
            ``top_k``, ``exclude_seen``); the student's own settings are the run's model settings.
    """

    quantize: str | None = None
    lora: dict[str, Any] | None = None
    distill_from: str | Path | None = None
    distill: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.quantize in ("none", ""):
            self.quantize = None
        if self.quantize is not None and self.quantize not in QUANTIZE_METHODS:
            raise param_error("quantize", "Strategies", f"one of {list(QUANTIZE_METHODS)} or None",
                              self.quantize)
        if "student" in self.distill:
            raise ConfigError("'student' cannot be a distillation setting ('--distill-set'): the "
                              "student's settings are the run's model settings ('--set', '--epochs', ...).")
        if self.distill and self.distill_from is None:
            raise ConfigError("Distillation settings were given without a teacher: pass "
                              "'distill_from' ('--distill-from RUN') as well.")

    @property
    def names(self) -> list[str]:
        """Applied strategies in the order they act: ``["lora", "distillation", "quantization"]``
        (a subset), the vocabulary of the ``optimization`` column of ``pyrec evaluate``."""
        return [n for n, on in (("lora", self.lora is not None),
                                ("distillation", self.distill_from is not None),
                                ("quantization", self.quantize is not None)) if on]

    @property
    def label(self) -> str:
        """``"none"`` or the names joined by ``+`` (e.g. ``"lora+quantization"``)."""
        return "+".join(self.names) or "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for ``config.json``)."""
        return {"optimization": self.label, "quantize": self.quantize, "lora": self.lora,
                "distill_from": None if self.distill_from is None else str(self.distill_from),
                "distill": self.distill}


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets/quotes (so ``target_modules=["query","value"]`` survives)."""
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_options(text: str, option: str) -> dict[str, Any]:
    """Parse ``"r=8,alpha=16,target_modules=query+value"`` into a dict.

    Values are read as JSON when they parse (numbers, booleans, lists), else kept as strings;
    ``a+b`` in ``target_modules`` is the list ``["a", "b"]``. An empty text gives ``{}``.

    Args:
        text: comma-separated ``key=value`` pairs.
        option: the option's name for error messages (e.g. ``"--lora"``).

    Raises:
        ConfigError: a part without ``=`` or with an empty key (names the option and the part).
    """
    out: dict[str, Any] = {}
    for part in _split_top(text or ""):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"The '{option}' option must look like key=value[,key=value...], "
                              f"e.g. r=8,alpha=16. Got {part!r} in {text!r}.")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value.strip()
        if key.strip() == "target_modules" and isinstance(parsed, str):
            parsed = [m for m in parsed.split("+") if m]
        out[key.strip()] = parsed
    return out


def lora_settings(model_settings: dict, lora: dict) -> dict:
    """Model settings with LoRA on: ``encoder_mode="lora"``; keys of
    :class:`~pyrec.models.lora.LoRAConfig` (``r``, ``alpha``, ``dropout``, ``target_modules``,
    ``bias``) go to ``lora``, other keys (e.g. ``epochs``, ``encoder_learning_rate``) override the
    model's settings."""
    from pyrec.models.lora import LoRAConfig

    adapter = {k: v for k, v in lora.items() if k in LoRAConfig.model_fields}
    rest = {k: v for k, v in lora.items() if k not in LoRAConfig.model_fields}
    return {**model_settings, **rest, "encoder_mode": "lora", "lora": adapter}


#: strategy -> the model setting that realises it (a model without the setting cannot take it)
_SETTING = {"lora": "encoder_mode", "quantization": "inference_quantization"}


def strategy_unsupported(model: str, strategy: str) -> str | None:
    """Why model ``model`` cannot take ``strategy`` (``"lora"``, ``"quantization"``), or None.

    The one rule, asked by ``pyrec train``, the experiment grid and its preflight: LoRA and
    quantization act on a text encoder through the model's ``encoder_mode`` /
    ``inference_quantization`` settings, so a model whose config lacks the setting (today every
    model but ``llm`` and ``hybrid``) has nothing to adapt or quantize. Other strategies: None.

    Raises:
        ConfigError: unknown model.
    """
    from pyrec.models import get_model_class

    setting = _SETTING.get(strategy)
    cls = get_model_class(model)
    if setting is None or setting in cls.config_class.model_fields:
        return None
    what = "INT8 quantization of the text encoder" if strategy == "quantization" else "LoRA"
    return f"{what} needs a language model; {model} ({cls.architecture}) has no text encoder"


def apply_to_settings(model: str, settings: dict, strategies: Strategies) -> dict:
    """The model settings that realise ``strategies`` (LoRA and quantization act through them).

    Args:
        model: registry name of the model that is fitted (the student when distilling).
        settings: its settings (not modified).

    Returns:
        A new settings dict.

    Raises:
        ConfigError: LoRA or quantization on a model without a text encoder (only ``llm`` and
            ``hybrid`` have one), a ``lora`` key that is neither a LoRA nor a model setting, or a
            setting that conflicts with the strategy.
    """
    from pyrec.models import get_model_class

    fields = get_model_class(model).config_class.model_fields
    out = dict(settings)
    for name, option in (("lora", "--lora"), ("quantization", "--quantize")):
        why = strategy_unsupported(model, name) if name in strategies.names else None
        if why:
            raise ConfigError(f"The '{option}' option acts on a text encoder: {why} (use 'llm' or "
                              "'hybrid').")
    if strategies.lora is not None:
        from pyrec.models.lora import LoRAConfig

        unknown = sorted(set(strategies.lora) - set(LoRAConfig.model_fields) - set(fields))
        if unknown:
            raise ConfigError(f"The '--lora' option has unknown setting(s) {unknown}; LoRA settings are "
                              f"{sorted(LoRAConfig.model_fields)} (other keys must be {model!r} settings, "
                              "e.g. epochs).")
        if out.get("encoder_mode", "lora") != "lora":
            raise ConfigError(f"'--lora' conflicts with encoder_mode={out['encoder_mode']!r}.")
        out = lora_settings(out, strategies.lora)
    if strategies.quantize is not None:
        if out.get("inference_quantization", strategies.quantize) not in ("none", strategies.quantize):
            raise ConfigError("'--quantize' conflicts with inference_quantization="
                              f"{out['inference_quantization']!r}.")
        out["inference_quantization"] = strategies.quantize
    return out


def load_teacher(path: str | Path, split):
    """Load a saved teacher and check that it was trained on ``split.train`` exactly
    (:func:`pyrec.models.load_model_for_split`), so the student never learns from test items.

    Args:
        path: a model folder (``model.json`` inside) or a ``pyrec train`` run folder (``model/``).
        split: the run's :class:`~pyrec.data.Split`.

    Returns:
        The fitted teacher (any registered model; text models score from their saved item table).

    Raises:
        DataError: no saved model at ``path``.
        ConfigError: the teacher's users/items or training interactions differ from the split's.
    """
    from pyrec.models.registry import load_model_for_split

    return load_model_for_split(path, split, role="teacher")


def recorded_optimization(path: str | Path) -> str:
    """The ``optimization`` label that ``pyrec train`` recorded for a run (or its ``model/``
    folder) in ``config.json``; ``"unknown"`` for a folder saved otherwise."""
    path = Path(path)
    for folder in (path, path.parent):
        file = folder / "config.json"
        if file.is_file():
            try:
                return str(json.loads(file.read_text())["strategies"]["optimization"])
            except (json.JSONDecodeError, KeyError, TypeError):
                return "unknown"
    return "unknown"
