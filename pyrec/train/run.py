"""One training run end to end (what ``pyrec train`` does): load, split, fit, evaluate, write.

Default protocol (RecBole's published ML-100K setting): ratings >= 3 kept as positives, per-user
random 8:1:1 split, full ranking with training (and validation) items masked, k = 10.
"""

from __future__ import annotations

import inspect
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrec.diagnostics import param_error

__all__ = ["SPLITS", "RunResult", "default_min_rating", "train_and_evaluate"]

#: split protocols accepted by :func:`train_and_evaluate` (``released``: a dataset's own split)
SPLITS = ("ratio", "loo", "temporal", "released")
#: datasets whose explicit ratings are binarised at >= 3 unless told otherwise
_RATED = ("ml-100k", "ml-1m")


def default_min_rating(dataset: str) -> float | None:
    """3.0 for the MovieLens datasets (RecBole's protocol), None (keep all) otherwise."""
    return 3.0 if str(dataset).lower() in _RATED else None


@dataclass
class RunResult:
    """Outcome of :func:`train_and_evaluate`.

    Attributes:
        model: the fitted recommender. metrics: tidy ``DataFrame`` (``run_id, dataset, split,
        protocol, seed, architecture, model, metric, value, unit``). summary: ``{"ndcg@10": ...}``
        on the test part. train_time_s: fit wall time, s. out: folder written (or None).
    """

    model: Any
    metrics: Any
    summary: dict
    train_time_s: float
    out: Path | None = None
    info: dict = field(default_factory=dict)


def _split_name(split: str, ratios) -> str:
    return f"ratio-{':'.join(f'{r:g}' for r in ratios)}" if split == "ratio" else split


def train_and_evaluate(
    model: str,
    dataset: str = "ml-100k",
    *,
    split: str = "ratio",
    seed: int = 0,
    split_seed: int | None = None,
    data_dir=None,
    min_rating: float | None | str = "default",
    ratios=(0.8, 0.1, 0.1),
    ks=(10,),
    config: dict | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
) -> RunResult:
    """Load ``dataset``, split it, fit ``model`` on train (early stopping on valid), evaluate on test.

    Args:
        model: registry name (``pop``, ``mf``, ``lightgcn``, ``graphsage``, ``llm``, ``hybrid``).
        dataset: a name known to :func:`pyrec.data.load_dataset`.
        split: ``ratio`` (per-user random, ``ratios``), ``loo``, ``temporal`` or ``released``.
        seed: model seed (and split seed unless ``split_seed`` is given).
        min_rating: keep ratings >= this; ``"default"``: :func:`default_min_rating`.
        config: model config overrides (e.g. ``{"epochs": 50}``); ``seed`` is set from ``seed``.
        out: when given, writes ``model/``, ``config.json``, ``metrics.csv``/``.parquet``,
            ``per_user.parquet``, ``history.csv`` and training checkpoints (``checkpoint/``).
        resume: resume training from ``out/checkpoint`` when present.

    Raises:
        ConfigError: unknown model / split / config field. DataError: data problems (from
        pyrec.data).
    """
    import pandas as pd

    from pyrec.data import load_dataset, split_data
    from pyrec.metrics import evaluate_full_ranking
    from pyrec.models import get_model_class

    if split not in SPLITS:
        raise param_error("split", "train_and_evaluate", f"one of {list(SPLITS)}", split)
    if min_rating == "default":
        min_rating = default_min_rating(dataset)
    cls = get_model_class(model)
    cfg = dict(config or {})
    config_cls = getattr(cls, "config_class", None)
    if config_cls is not None and "seed" in getattr(config_cls, "model_fields", {}):
        cfg["seed"] = seed
    rec = cls(cfg)

    data = load_dataset(dataset, data_dir, min_rating=min_rating)
    kwargs = {"seed": split_seed if split_seed is not None else seed}
    if split == "ratio":
        kwargs["ratios"] = tuple(ratios)
    sp = split_data(data, split, **kwargs)

    out = Path(out) if out is not None else None
    fit_kwargs: dict[str, Any] = {}
    params = inspect.signature(rec.fit).parameters
    if "progress" in params:
        fit_kwargs["progress"] = progress
    if out is not None and "checkpoint_dir" in params:
        fit_kwargs.update(checkpoint_dir=out / "checkpoint", resume=resume)
    t0 = time.perf_counter()
    rec.fit(sp, **fit_kwargs)
    train_time = time.perf_counter() - t0
    res = evaluate_full_ranking(rec.score, sp, part="test", ks=tuple(ks), model_name=model)

    run_id = f"{model}-{data.name}-{sp.name}-s{seed}"
    arch = getattr(rec, "architecture", "gnn")
    rows = [(m, float(v), "") for m, v in res.summary.items()]
    tr = getattr(rec, "train_result_", None)
    rows.append(("train_time_s", train_time, "s"))
    if tr is not None:
        rows += [
            ("seconds_per_epoch", tr.seconds_per_epoch, "s"),
            ("epochs_run", float(tr.epochs_run), "epochs"),
            ("best_epoch", float(tr.best_epoch), "epochs"),
            (f"valid_{getattr(rec.config, 'val_metric', 'ndcg@10')}", tr.best_metric, ""),
        ]
    metrics = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "dataset": data.name,
                "split": sp.name,
                "protocol": "full-ranking",
                "seed": seed,
                "architecture": arch,
                "model": model,
                "metric": m,
                "value": v,
                "unit": u,
            }
            for m, v, u in rows
        ]
    )
    info = {
        "n_users": sp.n_users,
        "n_items": sp.n_items,
        "n_train": sp.train.n_interactions,
        "n_valid": sp.valid.n_interactions,
        "n_test": sp.test.n_interactions,
        "min_rating": min_rating,
        "split": sp.name,
        "split_seed": kwargs["seed"],
    }
    if out is not None:
        _write(out, rec, metrics, res, tr, run_id, dataset, info)
    return RunResult(rec, metrics, dict(res.summary), train_time, out, info)


def _write(out: Path, rec, metrics, res, tr, run_id: str, dataset: str, info: dict) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    rec.save(out / "model")
    metrics.to_csv(out / "metrics.csv", index=False)
    metrics.to_parquet(out / "metrics.parquet", index=False)
    per_user = res.per_user.assign(run_id=run_id)
    per_user.to_parquet(out / "per_user.parquet", index=False)
    if tr is not None:
        tr.to_frame().to_csv(out / "history.csv", index=False)
    meta = {
        "run_id": run_id,
        "model": rec.name,
        "dataset": dataset,
        "config": rec.get_config(),
        **info,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
        },
    }
    (out / "config.json").write_text(json.dumps(meta, indent=2, default=str))
