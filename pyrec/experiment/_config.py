"""The experiment config: what `pyrec evaluate` runs, validated with pydantic.

A config names the dataset and split, the evaluation protocols, the seeds (replicates), the metrics,
and the study's factors — architecture {gnn, llm, hybrid} (plus the ``baseline`` pop/mf models),
optimization {none, quantization, lora, distillation} and backend {cpu, cuda, deepspeed, fpga-sim}
— either as an explicit list of ``configurations`` or as a full-factorial ``grid``, or both.
A backend may be a pair ``"<train>+<serve>"`` (e.g. ``"deepspeed+fpga-sim"``: train with DeepSpeed,
serve the scoring head on the simulated FPGA). Files are TOML (``tomllib``) or YAML (PyYAML); every
error names the file and the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from pyrec.backends.registry import BACKENDS as _BACKEND_REGISTRY
from pyrec.data.split import PROTOCOLS as _SPLIT_PROTOCOLS
from pyrec.diagnostics import ConfigError, validation_message

__all__ = [
    "ARCHITECTURES",
    "AnalysisConfig",
    "ContrastEntry",
    "BACKENDS",
    "DEFAULT_MODEL",
    "OPTIMIZATIONS",
    "BenchConfig",
    "ConfigurationEntry",
    "ExperimentConfig",
    "GridConfig",
    "SplitConfig",
    "load_config",
    "parse_backend",
    "read_config_file",
    "validate_config",
]

ARCHITECTURES = ("gnn", "llm", "hybrid", "baseline")
OPTIMIZATIONS = ("none", "quantization", "lora", "distillation")
BACKENDS = tuple(_BACKEND_REGISTRY)  #: the names pyrec.backends registers
#: the model trained for an architecture when a configuration names none
DEFAULT_MODEL = {"gnn": "lightgcn", "llm": "llm", "hybrid": "hybrid", "baseline": "pop"}

Architecture = Literal["gnn", "llm", "hybrid", "baseline"]
Optimization = Literal["none", "quantization", "lora", "distillation"]


def _models_of(architecture: str) -> list[str]:
    """Registered models declaring ``architecture`` (their class attribute)."""
    from pyrec.models.registry import available_models, model_architecture

    return [m for m in available_models() if model_architecture(m) == architecture]


def parse_backend(value: str) -> tuple[str, str]:
    """Split a backend factor level into ``(train_backend, serve_backend)``.

    ``"cpu"`` -> ``("cpu", "cpu")``; ``"deepspeed+fpga-sim"`` -> ``("deepspeed", "fpga-sim")``.
    ``fpga-sim`` alone trains on cpu and serves on the simulated FPGA (it has no training path).

    Raises:
        ConfigError: an unknown backend name, or more than two parts.
    """
    parts = [p.strip().lower() for p in str(value).split("+")]
    if not 1 <= len(parts) <= 2 or any(p not in BACKENDS for p in parts):
        raise ConfigError(
            f"The 'backend' value must be one of {list(BACKENDS)} or '<train>+<serve>' "
            f"(e.g. 'deepspeed+fpga-sim'). Got {value!r} instead."
        )
    if len(parts) == 1:
        b = parts[0]
        return ("cpu", "fpga-sim") if b == "fpga-sim" else (b, b)
    return parts[0], parts[1]


def _check_backend(v: str) -> str:
    try:
        parse_backend(v)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return "+".join(p.strip().lower() for p in v.split("+"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class SplitConfig(_Strict):
    """How interactions are split into train / validation / test."""

    protocol: str = "ratio"
    """``pyrec.data.split_data`` protocol: per-user random ratio, leave-one-out, temporal, released."""
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """train/valid/test fractions for ``ratio``; each in (0, 1), summing to 1."""
    seed: Literal["per-seed"] | int = "per-seed"
    """``"per-seed"``: replicate seed s splits with seed s; an int: one fixed split for all seeds."""

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, v):
        if v not in _SPLIT_PROTOCOLS:
            raise ValueError(f"split protocol must be one of {list(_SPLIT_PROTOCOLS)}, got {v!r}")
        return v

    @field_validator("ratios")
    @classmethod
    def _ratios_sum(cls, v):
        if any(not 0 < r < 1 for r in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"ratios must be three numbers in (0, 1) summing to 1, got {list(v)}")
        return v


class BenchConfig(_Strict):
    """Latency / throughput measurement settings (see ``pyrec.bench``)."""

    k: PositiveInt = 10
    """list length of each timed ``recommend`` request."""
    latency_requests: PositiveInt = 2000
    """single-user requests timed after warm-up per repetition (p50/p95/p99/mean in ms; a p99
    needs thousands of requests to mean anything on a shared machine)."""
    latency_repeats: PositiveInt = 3
    """repetitions of the latency measurement; each percentile is the median over them."""
    warmup: int = Field(50, ge=0)
    """untimed requests before timing."""
    throughput_batch_size: PositiveInt = 256
    """users per batch for the throughput (users/s) measurement."""
    throughput_repeats: PositiveInt = 3
    """timed passes; the median is reported."""
    cold_start_repeats: PositiveInt = 5
    """timed embeddings of one new item's text (text models; the median is reported)."""


class ConfigurationEntry(_Strict):
    """One configuration of the factors (one row of the design)."""

    architecture: Architecture
    model: str | None = None
    """model of that architecture; default ``DEFAULT_MODEL[architecture]``."""
    optimization: Optimization = "none"
    backend: str = "cpu"
    """``cpu``, ``cuda``, ``deepspeed``, ``fpga-sim`` or ``<train>+<serve>``."""
    label: str | None = None
    """name in tables; default e.g. ``hybrid+lora@cpu``."""

    @field_validator("backend")
    @classmethod
    def _backend_name(cls, v: str) -> str:
        return _check_backend(v)

    @model_validator(mode="after")
    def _model_fits_architecture(self):
        if self.model is None:
            self.model = DEFAULT_MODEL[self.architecture]
        self.model = self.model.lower()
        from pyrec.models.registry import available_models, model_architecture

        if self.model not in available_models():
            raise ValueError(f"unknown model {self.model!r} (expected one of {available_models()})")
        declared = model_architecture(self.model)
        if declared != self.architecture:
            raise ValueError(
                f"model {self.model!r} is of architecture {declared!r}, not {self.architecture!r} "
                f"(models of {self.architecture!r}: {_models_of(self.architecture)})"
            )
        return self

    def default_label(self) -> str:
        """``<model>[+<optimization>]@<backend>``, e.g. ``hybrid+lora@cpu``."""
        opt = "" if self.optimization == "none" else f"+{self.optimization}"
        return f"{self.model}{opt}@{self.backend}"


class GridConfig(_Strict):
    """A full-factorial design: every architecture x optimization x backend."""

    architecture: list[Architecture] = Field(min_length=1)
    optimization: list[Optimization] = ["none"]
    backend: list[str] = ["cpu"]

    @field_validator("backend")
    @classmethod
    def _backend_names(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one backend is needed")
        return [_check_backend(b) for b in v]


class ContrastEntry(_Strict):
    """One planned contrast of the analysis: ``config`` against ``baseline``, both config labels."""

    question: Literal["Q1", "Q2", "Q3"]
    """Q1 hybrid vs a single view; Q2 an optimization vs its unoptimized model; Q3 a backend."""
    config: str
    baseline: str
    test: Literal["superiority", "equivalence", "noninferiority"] = "superiority"
    margin: float | None = Field(default=None, gt=0)
    """equivalence/non-inferiority margin in metric units; default ``analysis.margin``."""


class AnalysisConfig(_Strict):
    """The planned statistical analysis of the results (``pyrec stats``, the report).

    Settings here never change results, so they are not part of the run fingerprint. Without
    ``contrasts`` the study's questions are derived from the design (see ``r_scripts/stats_design.R``).
    """

    metric: str | None = None
    """the analysed metric; default ``ndcg@<k>`` with the experiment's first ``ks``."""
    alpha: float = Field(default=0.05, gt=0, lt=1)
    power: float = Field(default=0.8, gt=0, lt=1)
    p_adjust: Literal["holm", "BH", "bonferroni", "none"] = "holm"
    margin: float = Field(default=0.005, gt=0)
    """equivalence margin in metric units (0.005 NDCG@10 by default)."""
    bootstrap: int = Field(default=2000, ge=100)
    """user-cluster bootstrap replicates."""
    boot_seed: int = 1
    ddf: Literal["Satterthwaite", "Kenward-Roger"] = "Satterthwaite"
    """denominator df of the user-level mixed model (Kenward-Roger only for small data)."""
    target_mde: float | None = Field(default=None, gt=0)
    """also report the seeds the blocked model needs to detect this difference."""
    margin_metric: str | None = None
    """the metric whose units ``margin`` is in (default: ``metric``)."""
    higher_is_better: bool | None = None
    """direction of ``metric`` (default: from its name; latency, time and size are lower-better)."""
    contrasts: list[ContrastEntry] = []


class ExperimentConfig(_Strict):
    """A validated experiment: data, protocol, replicates, design and per-part settings.

    Example (TOML)::

        name = "default"
        dataset = "ml-100k"
        min_rating = 3
        seeds = [0, 1, 2]
        [split]
        protocol = "ratio"
        ratios = [0.8, 0.1, 0.1]
        [[configurations]]
        architecture = "hybrid"
        optimization = "lora"
        backend = "cpu"
        [models.hybrid]
        epochs = 10
    """

    name: str = "experiment"
    """names the default output folder ``results/<name>``."""
    dataset: str = "ml-100k"
    """``pyrec.data.load_dataset`` name or a path (relative to the working folder): a dataset
    description ``.toml``, a CSV/Parquet table, RecBole ``.inter`` or an ``.inter.json`` file."""
    data_dir: str | None = None
    """dataset folder; default ``$PYREC_DATA_DIR`` then ``~/.cache/pyrec/datasets``."""
    min_rating: float | None = None
    """keep ratings >= this as positives (None keeps all); when not given, the dataset's default
    (``pyrec.data.default_min_rating``: 3 for MovieLens, a description's ``min_rating``, else
    None)."""
    split: SplitConfig = SplitConfig()
    protocols: list[str] = ["full-ranking"]
    """``full-ranking`` and/or ``sampled-<N>`` (N sampled negatives per test item)."""
    seeds: list[int] = Field(default=[0, 1, 2], min_length=1)
    """replicate seeds (split, initialisation, negative sampling)."""
    ks: list[PositiveInt] = Field(default=[10], min_length=1)
    metrics: list[str] = ["ndcg", "recall", "hit", "mrr", "map"]
    configurations: list[ConfigurationEntry] = []
    grid: GridConfig | None = None
    models: dict[str, dict[str, Any]] = {}
    """settings per model name or architecture (``[models.lightgcn]``, ``[models.gnn]``); a model's
    own table overrides its architecture's."""
    optimizations: dict[Literal["quantization", "lora", "distillation"], dict[str, Any]] = {}
    """settings per strategy (e.g. ``[optimizations.lora] r = 8``; ``warm_start = false`` makes a
    LoRA run train from scratch instead of fine-tuning the unoptimized model of its seed)."""
    backends: dict[str, dict[str, Any]] = {}
    """settings per backend (e.g. ``[backends.deepspeed] zero_stage = 0``)."""
    bench: BenchConfig = BenchConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    """the planned analysis (contrasts, margin, multiplicity); does not change results."""

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, v, info):
        from pyrec.data import default_min_rating
        from pyrec.diagnostics import PyrecError

        if (info.context or {}).get("check_data") is False:  # reading a finished run's config
            return v
        try:  # an unknown name, a missing or invalid description: named at this key
            default_min_rating(v)
        except PyrecError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _analysis_metric_is_measured(self):
        from pyrec.metrics._names import parse_metric

        if self.analysis.metric is None:
            self.analysis.metric = f"ndcg@{self.ks[0]}"
            return self
        try:
            spec = parse_metric(self.analysis.metric)
        except ConfigError:
            return self  # not a ranking metric (e.g. latency_p99_ms): measured at every k
        if spec.k not in self.ks:
            raise ValueError(f"analysis.metric {self.analysis.metric!r} is at k = {spec.k}, but the "
                             f"experiment measures ks = {list(self.ks)}; add {spec.k} to ks or "
                             f"analyse e.g. '{spec.name}@{self.ks[0]}'")
        self.analysis.metric = str(spec)
        return self

    @model_validator(mode="after")
    def _dataset_threshold(self, info):
        if "min_rating" not in self.model_fields_set and (info.context or {}).get("check_data") is not False:
            from pyrec.data import default_min_rating

            self.min_rating = default_min_rating(self.dataset)
        return self

    @field_validator("backends")
    @classmethod
    def _backend_sections(cls, v):
        unknown = sorted(set(v) - set(BACKENDS))
        if unknown:
            raise ValueError(f"backends has unknown section(s) {unknown}; expected names among {list(BACKENDS)}")
        return v

    @field_validator("protocols")
    @classmethod
    def _protocols(cls, v):
        if not v:
            raise ValueError("at least one protocol is needed")
        for p in v:
            if p != "full-ranking" and not re.fullmatch(r"sampled-[1-9][0-9]*", p):
                raise ValueError(f"protocol must be 'full-ranking' or 'sampled-<N>', got {p!r}")
        return list(dict.fromkeys(v))

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v):
        out_of_range = [s for s in v if not 0 <= s < 2**63]
        if out_of_range:
            raise ValueError(f"seeds must be ints in [0, 2**63), got {out_of_range[0]} in {v}")
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be distinct, got {v}")
        return v

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, v):
        from pyrec.metrics._names import expand_metrics

        try:
            expand_metrics(v, [10], owner="the experiment config")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _has_design(self):
        if not self.configurations and self.grid is None:
            raise ValueError("the config needs 'configurations' (a list) and/or a 'grid' table")
        from pyrec.models.registry import available_models

        known = set(ARCHITECTURES) | set(available_models())
        unknown = sorted(set(self.models) - known)
        if unknown:
            raise ValueError(f"models has unknown section(s) {unknown}; expected names among {sorted(known)}")
        return self

    def model_settings(self, architecture: str, model: str) -> dict[str, Any]:
        """Settings for ``model``: ``models[architecture]`` updated by ``models[model]``."""
        out = dict(self.models.get(architecture, {}))
        if model != architecture:
            out.update(self.models.get(model, {}))
        return out

    def fingerprint_dict(self) -> dict[str, Any]:
        """The config as JSON data, without fields that do not change any run's results
        (``data_dir``, ``analysis``, and ``seeds``: each run's id has its seed, so a folder run
        with seeds 0-2 resumes when seeds 3-4 are added)."""
        return self.model_dump(mode="json", exclude={"data_dir", "analysis", "seeds"})


def validate_config(data: dict[str, Any], source: str = "<config>", *, check_data: bool = True) -> ExperimentConfig:
    """Validate a dict into an :class:`ExperimentConfig`.

    Args:
        data: the config as a mapping.
        source: named in error messages (a file path).
        check_data: check that ``dataset`` names a registered dataset or a readable description
            (and take its default threshold); False to read the resolved config of a finished
            run without its data (its ``min_rating`` is written out).

    Raises:
        ConfigError: every problem, each line naming ``source`` and the dotted key.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the experiment config must be a table/mapping, got {type(data).__name__}")
    try:
        return ExperimentConfig.model_validate(data, context={"check_data": check_data})
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, source, "experiment config", ExperimentConfig)) from None


def _read_utf8(path: Path) -> str:
    """The text of a config file; ConfigError naming the file and where a non-UTF-8 byte is."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"The experiment config file {str(path)!r} cannot be read: "
                          f"{exc.strerror or exc}.") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column {column} "
            f"(byte offset {exc.start}) is not valid UTF-8 ({exc.reason}); config files must be "
            "UTF-8: re-save the file as UTF-8."
        ) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a dict.

    Raises:
        ConfigError: missing file, unknown extension, text that is not UTF-8 (with line, column
            and byte offset), or a syntax error (with line and column).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"The experiment config file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    text = _read_utf8(path)
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(f"{path}: YAML syntax error{where}: {getattr(exc, 'problem', exc)}") from None
        return {} if data is None else data
    raise ConfigError(f"The experiment config file {str(path)!r} must end in .toml, .yaml or .yml.")


def load_config(path: str | Path, *, check_data: bool = True, **overrides: Any) -> ExperimentConfig:
    """Read and validate an experiment config file.

    Args:
        path: a ``.toml``, ``.yaml`` or ``.yml`` file.
        check_data: see :func:`validate_config` (False: the data need not be at hand).
        **overrides: top-level keys replacing the file's (e.g. ``seeds=[0]``, ``data_dir="..."``);
            ``None`` values are ignored.

    Returns:
        ExperimentConfig.

    Raises:
        ConfigError: unreadable file, syntax error, or invalid values (naming file and key).
    """
    data = read_config_file(path)
    if isinstance(data, dict):
        data.update({k: v for k, v in overrides.items() if v is not None})
    return validate_config(data, source=str(path), check_data=check_data)
