"""The experiment runner's adapters: ONE small function per concern, each calling one pyrec part.

The runner (:mod:`pyrec.experiment._runner`) only calls these (as ``_steps.<name>``); when a part's
API changes, only its adapter changes.

===========================  ===========================================================
adapter                       part called
===========================  ===========================================================
:func:`load_data`             ``pyrec.data.load_dataset``
:func:`make_split`            ``pyrec.data.split_data``
:func:`backend_unavailable`   ``pyrec.backends.get_backend`` (cuda / deepspeed / fpga-sim here?)
:func:`run_unsupported`       ``pyrec.models`` / ``pyrec.optim`` (is the combination wired up?)
:func:`preflight`             model / backend configs (settings valid before the grid starts)
:func:`train_model`           ``pyrec.models.get_model(...).fit`` (``pyrec.train``; LoRA via peft)
:func:`apply_optimization`    ``pyrec.optim`` (INT8 encoder, distillation)
:func:`serve_model`           ``pyrec.backends`` (``FPGASimBackend.deploy``)
:func:`evaluate_quality`      ``pyrec.metrics`` (see :mod:`pyrec.experiment._measure`)
:func:`measure`               ``pyrec.bench`` latency / throughput / cold start, model size
:func:`training_rows`         the model's ``train_result_``
:func:`peak_rss`              peak RSS of a block (psutil sampling)
===========================  ===========================================================
"""

from __future__ import annotations

import time
from typing import Any

from pyrec.diagnostics import ConfigError
from pyrec.experiment._context import RunContext, Trained, load_data, make_split
from pyrec.experiment._grid import RunSpec
from pyrec.experiment._measure import evaluate_quality, measure, peak_rss, training_rows
from pyrec.optim.strategies import lora_settings

__all__ = [
    "apply_optimization",
    "backend_unavailable",
    "evaluate_quality",
    "load_data",
    "make_split",
    "measure",
    "peak_rss",
    "preflight",
    "run_unsupported",
    "serve_model",
    "train_model",
    "training_key",
    "training_keys",
    "training_rows",
]


# ---- data -------------------------------------------------------------------------------------
# ---- what can run here ------------------------------------------------------------------------
def backend_unavailable(name: str) -> str | None:
    """Why backend ``name`` cannot run on this machine (``Backend.check_available``), or None."""
    if name == "cpu":
        return None
    try:
        from pyrec.backends import backend_class
    except ImportError:
        return f"pyrec.backends is not available in this installation (needed for {name})"
    ok, why = backend_class(name).check_available()
    return None if ok else f"backend {name!r} is not available on this machine: {why}"


def _model_class(model: str):
    from pyrec.models import get_model_class

    return get_model_class(model)


def run_unsupported(entry) -> str | None:
    """Why the installed pyrec parts cannot run a configuration (asked before the grid starts).

    Args:
        entry: a :class:`~pyrec.experiment._config.ConfigurationEntry`.

    Returns:
        the reason, or None when it can run.
    """
    from pyrec.experiment._config import parse_backend

    train_b, _ = parse_backend(entry.backend)
    cls = _model_class(entry.model)
    if train_b != "cpu" and not cls.supports("backend"):
        return (f"{cls.__name__} cannot use a training backend (FitOptions.backend), so training "
                f"on {train_b} is not wired up")
    from pyrec.optim.strategies import strategy_unsupported

    return strategy_unsupported(entry.model, entry.optimization)


def preflight(spec: RunSpec) -> None:
    """Check a configuration's settings before the grid starts (constructing a model does no work).

    Raises:
        ConfigError: a model, LoRA or backend setting the installed pyrec rejects; the message
            names the configuration and the config tables its settings come from.
    """

    from pyrec.diagnostics import PyrecError

    where = f"models.{spec.model}" + (f" / optimizations.{spec.optimization}" if spec.optimization != "none" else "")
    try:
        if spec.optimization == "lora":
            _build(spec.model, _training_settings(spec), 0)
        elif spec.optimization == "distillation":
            from pyrec.optim.distill import DistillConfig

            _build(spec.model, spec.teacher_settings, 0)
            student_model, config = distill_settings(spec.optimization_settings, 0)
            DistillConfig(**config)
            _build(student_model, config["student"], 0)
        else:
            _build(spec.model, spec.model_settings, 0)
    except (PyrecError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"Invalid settings for configuration {spec.label!r} ({where}): {exc}") from None
    if spec.optimization == "lora" and not isinstance(spec.optimization_settings.get("warm_start", True), bool):
        raise ConfigError(f"Invalid settings for configuration {spec.label!r} (optimizations.lora): "
                          f"warm_start must be true or false; got {spec.optimization_settings['warm_start']!r}.")
    if spec.optimization == "quantization":
        method = spec.optimization_settings.get("method", "int8")
        extra = sorted(set(spec.optimization_settings) - {"method"})
        if method not in ("int8", "bf16") or extra:
            raise ConfigError(f"Invalid settings for configuration {spec.label!r} (optimizations.quantization): "
                              f"expected only method = 'int8' or 'bf16'; got {spec.optimization_settings!r}.")
    for role, name in (("train", spec.train_backend), ("serve", spec.serve_backend)):
        settings = spec.backend_settings.get(role, {})
        if not settings:
            continue
        from pyrec.backends.registry import backend_settings

        accepted = set(backend_settings(name))
        unknown = sorted(set(settings) - accepted)
        if unknown:
            raise ConfigError(f"The config table backends.{name} has unknown setting(s) {unknown}; "
                              f"accepted: {sorted(accepted)}.")


# ---- training ---------------------------------------------------------------------------------
def _build(model: str, settings: dict[str, Any], seed: int):
    """:func:`pyrec.pipeline.build_model` with the run's seed."""
    from pyrec.pipeline import build_model

    return build_model(model, settings, seed=seed)


def _fit(model, split, train_backend: str, backend_settings: dict, init_state=None) -> float:
    """:func:`pyrec.pipeline.fit_model` on the run's training backend (``backend=`` unless cpu)
    and warm start; returns wall s."""
    from pyrec.pipeline import fit_model

    backend = None
    if train_backend != "cpu":
        from pyrec.backends import get_backend

        backend = get_backend(train_backend, **backend_settings)
    return fit_model(model, split, backend=backend, init_state=init_state)


def _lora_warm_start(spec: RunSpec) -> bool:
    """LoRA runs start from the unoptimized model of the same seed unless ``warm_start = false``."""
    return spec.optimization == "lora" and bool(spec.optimization_settings.get("warm_start", True))


def _training_settings(spec: RunSpec) -> dict[str, Any]:
    if spec.optimization == "lora":
        options = {k: v for k, v in spec.optimization_settings.items() if k != "warm_start"}
        return lora_settings(spec.model_settings, options)
    if spec.optimization == "distillation":  # the model trained is the teacher: the hybrid
        return spec.teacher_settings
    return spec.model_settings


def _key(spec: RunSpec, settings: dict, seed: int) -> str:
    return RunContext.model_key(spec.model, settings, spec.train_backend,
                                spec.backend_settings.get("train", {}), seed)


def training_key(spec: RunSpec, seed: int) -> str:
    """What decides the weights a run trains (model, settings, training backend, seed, and the
    model a LoRA run starts from); runs with equal keys share one trained model (e.g.
    ``hybrid@cpu`` and ``hybrid+quantization@cpu``)."""
    settings = _training_settings(spec)
    if _lora_warm_start(spec):
        settings = {**settings, "warm_start_from": _key(spec, spec.model_settings, seed)}
    return _key(spec, settings, seed)


def training_keys(spec: RunSpec, seed: int) -> list[str]:
    """Every trained model a run needs: its own (:func:`training_key`) and, for a warm-started
    LoRA run, the unoptimized model it starts from (kept in memory until that run is done)."""
    own = training_key(spec, seed)
    return [_key(spec, spec.model_settings, seed), own] if _lora_warm_start(spec) else [own]


def _trained(ctx: RunContext, key: str, what: str, fit) -> Trained:
    """The model trained earlier in this process under ``key``, else ``fit()`` (then cached)."""
    cached = ctx.get_trained(key)
    if cached is not None:
        ctx.log.info("%s: reusing the model trained earlier in this seed", what)
        return cached
    trained = fit()
    ctx.put_trained(key, trained)
    return trained


def train_model(spec: RunSpec, split, seed: int, ctx: RunContext) -> Trained:
    """Fit the run's model, or reuse the same model trained earlier in this process.

    LoRA changes what is trained (the encoder is fine-tuned with adapters), so it is set here: by
    default (``warm_start = true``) the LoRA model starts from the weights of the unoptimized
    model of the same seed (``warm_start_state``: graph, projection, fusion; the encoder gets
    fresh adapters) and fine-tunes for its own epochs; its ``train_time_s`` is the base model's
    plus the fine-tuning (``finetune_time_s``). Quantization and distillation transform a trained
    model in :func:`apply_optimization`; their base model (the hybrid) is the one the unoptimized
    run trained (see :func:`training_key`).

    Returns:
        Trained: the fitted model and its fit wall time (s).
    """
    settings = _training_settings(spec)
    backend_settings = spec.backend_settings.get("train", {})
    what = f"{spec.label} seed {seed}"

    def fit(model_settings: dict, init_state=None):
        model = _build(spec.model, model_settings, seed)
        return Trained(model, _fit(model, split, spec.train_backend, backend_settings, init_state))

    if not _lora_warm_start(spec):
        return _trained(ctx, training_key(spec, seed), what, lambda: fit(settings))
    base = _trained(ctx, _key(spec, spec.model_settings, seed), f"{what} (its base {spec.model})",
                    lambda: fit(spec.model_settings))

    def finetune() -> Trained:
        tuned = fit(settings, base.model.warm_start_state())
        extra = {"finetune_time_s": (tuned.train_time_s, "s"),
                 "base_train_time_s": (base.train_time_s, "s")}
        info = {"lora": f"warm start from the {spec.model} trained with a frozen encoder in this seed "
                        f"({base.train_time_s:.1f} s), then {tuned.train_time_s:.1f} s of LoRA fine-tuning"}
        return Trained(tuned.model, base.train_time_s + tuned.train_time_s, extra, info)

    return _trained(ctx, training_key(spec, seed), what, finetune)


def distill_settings(optimization_settings: dict, seed: int) -> tuple[str, dict]:
    """``(student model name, pyrec.optim.distill.DistillConfig dict)`` of a distillation run.

    ``student_model`` (default ``"lightgcn"``) names the student; every other key is a
    ``DistillConfig`` field (``kd_weight``, ``temperature``, ``top_k``, ``student`` = the student's
    own settings). The student's seed is the run's seed unless ``student.seed`` is given.
    """
    settings = dict(optimization_settings)
    student_model = settings.pop("student_model", "lightgcn")
    student = dict(settings.pop("student", {}))
    _model_class(student_model)  # an unknown student is named here
    student.setdefault("seed", int(seed))
    return student_model, {**settings, "student": student}


def _sparse_memo(obj, memo: dict, depth: int = 0, seen: set | None = None) -> dict:
    """Map every sparse tensor reachable from ``obj`` to itself (for ``copy.deepcopy``'s memo).

    Sparse CSR tensors (the graph adjacency) cannot be deep-copied; they are never modified after
    ``fit``, so a copy may share them.
    """
    import torch

    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 8:
        return memo
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        if obj.layout != torch.strided:
            memo[id(obj)] = obj
        return memo
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = list(vars(obj).values())
    else:
        return memo
    for child in children:
        _sparse_memo(child, memo, depth + 1, seen)
    return memo


def _quantized_copy(model, method: str):
    """A copy of a fitted text model whose item table is re-encoded by an INT8 (or bf16) encoder.

    Uses the model's public ``quantize_encoder`` (the same path ``fit`` takes when
    ``inference_quantization`` is given up front), so the result equals a model trained with
    ``inference_quantization=method``, without training again. The original is not changed.
    """
    import copy

    q = copy.deepcopy(model, memo=_sparse_memo(model, {}))
    # pickling state leaves the encoders out; share them (quantize_encoder converts a copy)
    q.encoder_, q.inference_encoder_ = model.encoder_, model.text_encoder
    return q.quantize_encoder(method)


def apply_optimization(spec: RunSpec, trained: Trained, split, seed: int, ctx: RunContext) -> Trained:
    """Transform a trained model per the run's optimization (none and LoRA: unchanged).

    * quantization: a copy whose text encoder is dynamically INT8-quantized
      (``pyrec.optim.quantize_encoder``) and whose item texts are re-encoded by it;
      ``train_time_s`` = base fit + conversion, ``optimize_time_s`` = the conversion alone.
    * distillation: ``pyrec.optim.distill.distill(teacher, student_model, split, config)`` trains a
      small student on BPR + listwise KD from the hybrid (see :func:`distill_settings`);
      ``train_time_s`` is the student's (including the teacher's top-K scoring),
      ``teacher_train_time_s`` the teacher's.
    """
    opt = spec.optimization
    if opt in ("none", "lora"):
        return trained
    if opt == "quantization":
        method = spec.optimization_settings.get("method", "int8")
        t0 = time.perf_counter()
        model = _quantized_copy(trained.model, method)
        seconds = time.perf_counter() - t0
        report = getattr(model, "quant_report_", None)
        extra = {"optimize_time_s": (seconds, "s")}
        if report is not None:
            extra["quantized_linear_layers"] = (float(report.n_quantized), "count")
        info = {"quantization": method if report is None else
                (f"{report.method}{f' ({report.kernel})' if report.kernel else ''}: "
                 f"{report.n_quantized}/{report.n_linear} Linear layers, encoder "
                 f"{report.size_before_mib:.1f} -> {report.size_after_mib:.1f} MiB; not quantized: "
                 f"{report.not_quantized or 'none'}")}
        return Trained(model, trained.train_time_s + seconds, extra, info)
    if opt == "distillation":
        from pyrec.optim.distill import distill

        student_model, config = distill_settings(spec.optimization_settings, seed)
        t0 = time.perf_counter()
        student = distill(trained.model, student_model, split, config)
        seconds = time.perf_counter() - t0
        info = {"distillation": f"student {student_model} {config['student']}; "
                                f"{getattr(student, 'distill_info_', {})}"}
        return Trained(student, seconds, {"teacher_train_time_s": (trained.train_time_s, "s")}, info)
    raise ConfigError(f"unknown optimization {opt!r}")


# ---- serving ----------------------------------------------------------------------------------
def serve_model(spec: RunSpec, trained: Trained, split, ctx: RunContext):
    """What answers requests: the model itself, or its deployment on the serving backend.

    ``fpga-sim``: ``FPGASimBackend(**backends.fpga-sim).deploy(model, split)`` (hls4ml C-sim
    scores, analytical latency, ``simulated=True``). Other serving backends run the model as is.

    Raises:
        BackendUnavailable: the serving backend cannot run here.
    """
    if spec.serve_backend != "fpga-sim":
        return trained.model
    from pyrec.backends import get_backend

    backend = get_backend("fpga-sim", **spec.backend_settings.get("serve", {}))
    t0 = time.perf_counter()
    deployment = backend.deploy(trained.model, split)
    ctx.log.info("%s: fpga-sim deploy (export + compile) took %.1f s", spec.label, time.perf_counter() - t0)
    return deployment
