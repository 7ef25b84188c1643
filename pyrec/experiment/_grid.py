"""Expand an experiment config into runs (configuration x seed) and skipped combinations.

A combination the study's factors allow on paper but that cannot be run (LoRA on a GNN that has no
language model, CUDA without a GPU, distillation without a hybrid teacher, ...) becomes a
:class:`Skipped` with its reason — never an exception and never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from pyrec.experiment._config import (
    ConfigurationEntry,
    ExperimentConfig,
    parse_backend,
)

__all__ = ["RunSpec", "Skipped", "expand_design", "static_skip_reason"]



@dataclass(frozen=True)
class RunSpec:
    """One configuration of the design, fully resolved (everything a run needs except the seed).

    Attributes:
        label: the ``config`` column, e.g. ``hybrid+lora@cpu``.
        architecture, model, optimization, backend: the factor levels written to every result row.
        train_backend, serve_backend: the two halves of ``backend`` (``deepspeed+fpga-sim`` trains
            with DeepSpeed and serves on the simulated FPGA).
        model_settings: keyword settings of the model (``models`` table of the config).
        optimization_settings: settings of the strategy (``optimizations.<name>``).
        backend_settings: ``{"train": {...}, "serve": {...}}`` from ``backends.<name>``.
        teacher_settings: for distillation, the hybrid teacher's model settings.
        common: the experiment-wide settings that change results (dataset, split, protocols, ...).
    """

    label: str
    architecture: str
    model: str
    optimization: str
    backend: str
    train_backend: str
    serve_backend: str
    model_settings: dict[str, Any] = field(default_factory=dict)
    optimization_settings: dict[str, Any] = field(default_factory=dict)
    backend_settings: dict[str, Any] = field(default_factory=dict)
    teacher_settings: dict[str, Any] = field(default_factory=dict)
    common: dict[str, Any] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        """True when results come from a simulation (a serving backend that says so, fpga-sim)."""
        return _backend(self.serve_backend).simulated

    def evaluated_model(self) -> tuple[str, str]:
        """``(architecture, model)`` of the model whose results the rows hold.

        A distillation run trains the hybrid teacher but evaluates its student (by default a
        LightGCN), so its rows carry the student's architecture and model, not the teacher's.
        """
        if self.optimization != "distillation":
            return self.architecture, self.model
        student = str(self.optimization_settings.get("student_model", "lightgcn"))
        from pyrec.models.registry import model_architecture

        return model_architecture(student), student

    def factors(self) -> dict[str, Any]:
        """The factor columns of a result row (for distillation: the student's architecture)."""
        arch, model = self.evaluated_model()
        return {
            "architecture": arch,
            "model": model,
            "optimization": self.optimization,
            "backend": self.backend,
            "config": self.label,
            "simulated": self.simulated,
        }

    def run_id(self, seed: int) -> str:
        """12-hex-digit SHA-256 of the resolved spec and the seed (stable across processes)."""
        payload = {k: v for k, v in self.__dict__.items() if k != "label"}
        payload["seed"] = int(seed)
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Skipped:
    """A configuration that cannot run here, with the reason (a row of ``skipped.csv``)."""

    config: str
    reason: str


def _backend(name: str):
    """The registered Backend class ``name``: its class attributes say what it can do."""
    from pyrec.backends.registry import backend_class

    return backend_class(name)


def _model_class(model: str):
    from pyrec.models import get_model_class

    return get_model_class(model)


def static_skip_reason(entry: ConfigurationEntry) -> str | None:
    """Why a combination is impossible whatever the machine, or None.

    Rules: quantization and LoRA act on a text encoder
    (:func:`pyrec.optim.strategies.strategy_unsupported`); distillation needs a
    hybrid teacher; dynamic INT8 quantization (quantized::linear_dynamic) is a CPU path (not cuda); fpga-sim only
    serves (it cannot train); pop has no trainable parameters for DeepSpeed/CUDA to train.
    """
    arch, model, opt = entry.architecture, entry.model, entry.optimization
    train_b, serve_b = parse_backend(entry.backend)
    from pyrec.optim.strategies import strategy_unsupported

    why = strategy_unsupported(model, opt)
    if why:
        return why
    if opt == "distillation" and arch != "hybrid":
        return f"distillation needs a trained hybrid teacher; {model} ({arch}) is not a hybrid"
    no_int8 = [b for b in dict.fromkeys((train_b, serve_b)) if not _backend(b).runs_dynamic_int8]
    if opt == "quantization" and no_int8:
        return (f"dynamic INT8 quantization (quantized::linear_dynamic) runs on CPU kernels only, "
                f"not on {no_int8[0]}")
    if not _backend(train_b).can_train:
        return (f"{train_b} is an inference (serving) backend; it cannot train (use e.g. "
                f"'deepspeed+{train_b}')")
    if train_b != "cpu" and not _model_class(model).supports("backend"):
        return f"{model} has no trainable parameters; the {train_b} backend has nothing to train"
    return None


def _common(cfg: ExperimentConfig) -> dict[str, Any]:
    return {
        "dataset": cfg.dataset,
        "min_rating": cfg.min_rating,
        "split": cfg.split.model_dump(mode="json"),
        "protocols": list(cfg.protocols),
        "ks": list(cfg.ks),
        "metrics": list(cfg.metrics),
        "bench": cfg.bench.model_dump(mode="json"),
    }


def _entries(cfg: ExperimentConfig) -> list[ConfigurationEntry]:
    out = list(cfg.configurations)
    if cfg.grid is not None:
        for arch, opt, backend in product(cfg.grid.architecture, cfg.grid.optimization, cfg.grid.backend):
            out.append(ConfigurationEntry(architecture=arch, optimization=opt, backend=backend))
    return out


def expand_design(
    cfg: ExperimentConfig,
    unavailable: Callable[[str], str | None] = lambda name: None,
    unsupported: Callable[[ConfigurationEntry], str | None] = lambda entry: None,
) -> tuple[list[RunSpec], list[Skipped]]:
    """Resolve the config's configurations and grid into runnable specs and skipped ones.

    Args:
        cfg: the validated experiment config.
        unavailable: ``backend name -> reason or None``; a backend this machine lacks (cuda
            without a GPU, deepspeed not installed) skips every configuration that uses it.

    Returns:
        (specs, skipped): specs in config order with distillation runs last (their teacher, the
        hybrid, is trained first in the same seed); duplicates (same factors) are kept once.
    """
    specs: list[RunSpec] = []
    skipped: list[Skipped] = []
    seen: set[tuple] = set()
    common = _common(cfg)
    for entry in _entries(cfg):
        factors = (entry.architecture, entry.model, entry.optimization, entry.backend)
        if factors in seen:
            continue
        seen.add(factors)
        label = entry.label or entry.default_label()
        if entry.optimization == "distillation" and entry.architecture == "hybrid" and not entry.label:
            student = cfg.optimizations.get("distillation", {}).get("student_model", "lightgcn")
            label = f"{student}+distillation@{entry.backend}"  # the student is what is evaluated
        reason = static_skip_reason(entry)
        train_b, serve_b = parse_backend(entry.backend)
        if reason is None:
            for b in dict.fromkeys((train_b, serve_b)):
                reason = unavailable(b)
                if reason:
                    break
        if reason is None:
            reason = unsupported(entry)
        if reason is not None:
            skipped.append(Skipped(label, reason))
            continue
        teacher = cfg.model_settings("hybrid", "hybrid") if entry.optimization == "distillation" else {}
        opt_settings = {} if entry.optimization == "none" else dict(cfg.optimizations.get(entry.optimization, {}))
        specs.append(
            RunSpec(
                label=label,
                architecture=entry.architecture,
                model=entry.model,
                optimization=entry.optimization,
                backend=entry.backend,
                train_backend=train_b,
                serve_backend=serve_b,
                model_settings=cfg.model_settings(entry.architecture, entry.model),
                optimization_settings=opt_settings,
                backend_settings={
                    "train": dict(cfg.backends.get(train_b, {})),
                    "serve": dict(cfg.backends.get(serve_b, {})),
                },
                teacher_settings=teacher,
                common=common,
            )
        )
    labels = [s.label for s in specs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        from pyrec.diagnostics import ConfigError

        raise ConfigError(f"Configuration labels must be unique; {dup} appear more than once.")
    specs.sort(key=lambda s: s.optimization == "distillation")
    return specs, skipped
