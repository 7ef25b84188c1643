"""Training hyperparameters shared by every embedding model (a validated pydantic config).

Model configs subclass :class:`TrainConfig` and add their own fields, so one JSON object records
everything a run used (``model.get_config()``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pyrec.diagnostics import ConfigError

__all__ = ["TrainConfig", "build_config", "parse_metric"]

def parse_metric(name: str) -> tuple[str, int]:
    """Split ``"ndcg@10"`` (or ``"HR@10"``, ``"hit@10"``) into ``("ndcg", 10)`` / ``("hit", 10)``.

    The one metric-name parser (:func:`pyrec.metrics.parse_metric`) with its aliases; here ``@k``
    is required.

    Raises:
        ConfigError: not ``<family>@<k>`` with a known family (aliases hr, hitrate, ap, prec).
    """
    from pyrec.metrics._names import METRIC_FAMILIES
    from pyrec.metrics._names import parse_metric as _parse

    try:
        spec = _parse(name)
    except ConfigError:
        raise ConfigError(
            f"The 'val_metric' parameter must be '<family>@<k>' with a family in "
            f"{list(METRIC_FAMILIES)} (or an alias: hr, hitrate, ap, prec), e.g. 'ndcg@10'. "
            f"Got {name!r} instead.") from None
    return spec.name, spec.k


class TrainConfig(BaseModel):
    """The training recipe: Adam on BPR (default) or sampled softmax, uniform negatives, early
    stopping.

    Defaults follow LightGCN/RecBole except the learning rate and batch size, which pyrec tunes
    for fast convergence on CPU (see ``benchmarks/bench_train.py``). The objective (``loss``,
    ``num_negatives``, ``in_batch_negatives``, ``similarity``, ``softmax_temperature``) is read by
    :func:`pyrec.train.objective.make_objective`; settings that only mean something for the
    sampled softmax are refused with ``loss="bpr"`` (a ConfigError naming the field).
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        protected_namespaces=(),
        use_attribute_docstrings=True,
    )

    epochs: int = Field(300, ge=1)
    """Maximum number of epochs (passes over the training interactions)."""
    batch_size: int = Field(2048, ge=1)
    """Triples per optimisation step."""
    learning_rate: float = Field(5e-3, gt=0)
    """Adam learning rate."""
    reg: float = Field(1e-4, ge=0)
    """L2 weight λ on the batch's layer-0 embeddings: λ (||e_u||²+||e_i||²+||e_j||²) / 2 / B."""
    loss: Literal["bpr", "softmax"] = "bpr"
    """Training objective: 'bpr' (pairwise, Rendle et al., UAI 2009) or 'softmax' (sampled softmax
    / InfoNCE of each positive among [positive, negatives]; Wu et al., TOIS 2024). See
    :mod:`pyrec.train.objective`."""
    num_negatives: int = Field(1, ge=1)
    """Uniform negatives per positive. 'bpr': each row its own, never a training positive of the
    user. 'softmax': drawn once per batch from all items and shared by its rows (e.g. 256), so
    every positive is contrasted with all of them."""
    in_batch_negatives: bool = False
    """'softmax' only: the batch's other positives are negatives too (logQ-corrected for their
    popularity)."""
    similarity: Literal["dot", "cosine"] = "dot"
    """Score of a (user, item) pair in training and ranking: inner product, or cosine ('softmax'
    only; the fitted model then ranks by cosine)."""
    softmax_temperature: float = Field(1.0, gt=0)
    """'softmax' only: temperature tau the scores are divided by. Cosine scores need a small one:
    0.2 was the best of {0.2, 0.3} (and better than 0.05, 0.1) on ML-100K validation for LightGCN
    and MF (``benchmarks/objectives.py``); 1 suits dot scores."""
    eval_every: int = Field(1, ge=1)
    """Validate every this many epochs."""
    patience: int | None = Field(10, ge=1)
    """Validations without improvement before early stopping (None: never stop early)."""
    min_delta: float = Field(0.0, ge=0)
    """An improvement of the validation metric smaller than this does not count."""
    val_metric: str = Field("ndcg@10")
    """Metric that selects the best epoch, ``'<family>@<k>'`` (families and aliases of
    :func:`pyrec.metrics.parse_metric`, e.g. ``ndcg@10``, ``HR@10``)."""
    eval_batch_size: int = Field(4096, ge=1)
    """Users per scoring batch during validation."""
    max_time_s: float | None = Field(None, gt=0)
    """Wall-clock training budget in seconds; training stops after the epoch that exceeds it."""
    seed: int = Field(0, ge=0)
    """Seed of initialisation, shuffling and negative sampling (same seed ⇒ same metrics on CPU)."""
    device: str | None = Field(None)
    """Device; None reads ``$PYREC_DEVICE`` and falls back to CPU."""

    @field_validator("val_metric")
    @classmethod
    def _check_metric(cls, v: str) -> str:
        name, k = parse_metric(v)
        return f"{name}@{k}"

    @model_validator(mode="after")
    def _check_objective(self):
        if self.loss != "bpr":
            return self
        if self.similarity != "dot":
            raise ValueError(
                f"The 'similarity' parameter is {self.similarity!r}, which needs loss='softmax': BPR "
                "on cosine scores has no temperature, so every margin stays within [-2, 2] and "
                "-log sigmoid(margin) cannot approach 0. Set loss='softmax' (with "
                "softmax_temperature) or similarity='dot'.")
        if self.in_batch_negatives:
            raise ValueError(
                "The 'in_batch_negatives' parameter is True, which needs loss='softmax' (BPR pairs "
                "each positive with its own sampled negatives). Set loss='softmax' or "
                "in_batch_negatives=False.")
        default = type(self).model_fields["softmax_temperature"].default
        if self.softmax_temperature != default:
            raise ValueError(
                f"The 'softmax_temperature' parameter ({self.softmax_temperature:g}) has no effect "
                f"with loss='bpr'. Set loss='softmax' or leave it at {default:g}.")
        return self


def build_config(
    config_cls: type[BaseModel], config: Any = None, kwargs: dict | None = None, owner: str = ""
):
    """Make a validated config from ``Model(config)`` or ``Model(**kwargs)`` arguments.

    Args:
        config_cls: the pydantic config class.
        config: an instance of ``config_cls``, a dict, or None.
        kwargs: field overrides.
        owner: name used in error messages (the model class).

    Raises:
        ConfigError: unknown field or a value outside its range; the message names the field, the
            rule and the value received.
    """
    kwargs = dict(kwargs or {})
    if config is not None and not isinstance(config, (config_cls, dict)):
        raise ConfigError(
            f"The 'config' parameter of {owner or config_cls.__name__} must be a "
            f"{config_cls.__name__} or a dict. Got {type(config).__name__} instead."
        )
    base = config.model_dump() if isinstance(config, BaseModel) else dict(config or {})
    base.update(kwargs)
    try:
        return config_cls(**base)
    except ValidationError as exc:
        err = exc.errors()[0]
        if not err.get("loc") and err.get("type") == "value_error":  # a rule across fields
            msg = str(err.get("msg")).removeprefix("Value error, ")
            raise ConfigError(f"{owner or config_cls.__name__}: {msg}") from None
        field = ".".join(str(p) for p in err.get("loc", ())) or "config"
        raise ConfigError(
            f"The {field!r} parameter of {owner or config_cls.__name__} is invalid: "
            f"{str(err.get('msg')).removeprefix('Value error, ').rstrip('.')}. "
            f"Got {err.get('input')!r} instead."
        ) from None
