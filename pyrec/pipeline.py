"""One training run end to end (what ``pyrec train`` does): load, split, fit, evaluate, write.

Default protocol (RecBole's published ML-100K setting): ratings >= 3 kept as positives, per-user
random 8:1:1 split, full ranking with training (and validation) items masked, k = 10.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrec.data.split import PROTOCOLS
from pyrec.diagnostics import param_error

__all__ = ["SPLITS", "RunResult", "build_model", "default_min_rating", "fit_model", "load_data",
           "make_split", "recommend", "score", "train_and_evaluate"]

#: split protocols accepted by :func:`train_and_evaluate` (owned by :mod:`pyrec.data.split`;
#: ``released``: a dataset's own split)
SPLITS = PROTOCOLS


def load_data(dataset: str, data_dir=None, *, min_rating: float | None | str = "default"):
    """Read ``dataset`` with its positive-rating threshold: the first step of every run
    (`pyrec train`, `pyrec evaluate`, `pyrec benchmark`).

    Args:
        dataset: a registered name, a dataset description ``.toml`` or a data file path
            (:func:`pyrec.data.load_dataset`).
        data_dir: folder of the registered datasets (default ``$PYREC_DATA_DIR``).
        min_rating: keep ratings >= this; ``"default"``: the dataset's own default
            (:func:`default_min_rating`); None keeps all.

    Returns:
        :class:`~pyrec.data.InteractionData` (``meta["min_rating"]`` records the threshold used).

    Raises:
        DataError: missing or malformed files. ConfigError: a bad threshold.
    """
    from pyrec.data import load_dataset

    if isinstance(min_rating, str) and min_rating == "default":
        min_rating = default_min_rating(dataset)
    return load_dataset(dataset, data_dir, min_rating=min_rating)


def make_split(data, protocol: str = "ratio", *, seed: int = 0, ratios=(0.8, 0.1, 0.1)):
    """Split ``data`` by ``protocol``: the second step of every run.

    Args:
        data: :class:`~pyrec.data.InteractionData`.
        protocol: a split protocol (:data:`SPLITS`).
        seed: the split seed (``ratio``; the other protocols are deterministic).
        ratios: (train, valid, test) fractions, used by the protocols that cut by fractions
            (``ratio``, ``temporal``).

    Returns:
        :class:`~pyrec.data.Split`.

    Raises:
        ConfigError: unknown protocol or bad ratios. DataError: data the protocol cannot split.
    """
    from pyrec.data import split_data

    return split_data(data, protocol, seed=int(seed), ratios=tuple(ratios))


def build_model(name: str, settings: dict[str, Any] | None = None, *, seed: int | None = None):
    """The registered model ``name`` built from ``settings``, with the run's ``seed``.

    Every model config has a ``seed`` field (the model contract, :mod:`pyrec.testing`); an
    explicit ``settings["seed"]`` wins over ``seed``.

    Args:
        name: a registered model (:func:`pyrec.models.available_models`).
        settings: config fields of that model.
        seed: the run's seed, or None (the config's default).

    Returns:
        an unfitted :class:`~pyrec.models.Recommender`.

    Raises:
        ConfigError: unknown model or an invalid setting (naming the field).
    """
    from pyrec.models import get_model

    kwargs = dict(settings or {})
    if seed is not None:
        kwargs.setdefault("seed", int(seed))
    return get_model(name, **kwargs)


def fit_model(model, split, options=None, **kwargs) -> float:
    """Train ``model`` on ``split``: the one way `pyrec train`, `pyrec evaluate` and
    `pyrec benchmark` fit a model (its own ``fit``, hence its trainer and early stopping).

    Args:
        model: an unfitted :class:`~pyrec.models.Recommender`.
        split: the :class:`~pyrec.data.Split` (fit on ``train``, early stopping on ``valid``).
        options: a :class:`~pyrec.models.base.FitOptions` (backend, init_state, checkpoints,
            progress, ...); default: no progress display. ``kwargs`` override its fields.

    Returns:
        wall seconds of the fit.

    Raises:
        ConfigError: an option the model cannot use (e.g. ``pop`` has nothing to train on
            DeepSpeed), named with the options it can use.
    """
    from pyrec.models.base import FitOptions

    opts = FitOptions.build(options or FitOptions(progress=False), kwargs, "fit_model")
    t0 = time.perf_counter()
    model.fit(split, opts)
    return time.perf_counter() - t0


def _fitted(model):
    """A fitted Recommender, or one loaded from a `pyrec train` run / model folder."""
    if isinstance(model, (str, Path)):
        from pyrec.models import load_model

        folder = Path(model)
        return load_model(folder / "model" if (folder / "model" / "model.json").is_file() else folder)
    return model


def score(model, users) -> Any:
    """Scores of every item for ``users``: one call for scripts and R (``pyrec$score``).

    Args:
        model: a fitted :class:`~pyrec.models.Recommender`, or the folder of a `pyrec train` run
            (or of a saved model).
        users: user indices (ints, 0-based as in the run's split).

    Returns:
        numpy float32 array [len(users), n_items] (higher is better; training items not masked).

    Raises:
        DataError: the folder holds no saved model. NotFittedError: an unfitted model.
    """
    import numpy as np

    rec = _fitted(model)
    out = rec.score(np.asarray(users, dtype=np.int64).reshape(-1))
    return out.detach().float().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)


def recommend(model, users, k: int = 10, *, exclude_seen: bool = True):
    """Top-``k`` recommendations as a tidy table: one call for scripts and R (``pyrec$recommend``).

    Args:
        model: a fitted Recommender or a `pyrec train` run (or model) folder.
        users: user indices (0-based, as in the run's split).
        k: list length.
        exclude_seen: leave out each user's training items.

    Returns:
        pandas DataFrame ``user, rank, item, score`` (rank 1 = best; ties by lower item index;
        users with fewer than ``k`` unseen items get shorter lists).

    Raises:
        ConfigError: bad ``k``. DataError: no saved model in the folder.
    """
    import numpy as np
    import pandas as pd

    rec = _fitted(model)
    users = np.asarray(users, dtype=np.int64).reshape(-1)
    top = rec.recommend(users, k=k, exclude_seen=exclude_seen)
    top = top.cpu().numpy() if hasattr(top, "cpu") else np.asarray(top)
    scores = score(rec, users)
    rows = [(int(u), r + 1, int(i), float(scores[n, i]))
            for n, u in enumerate(users) for r, i in enumerate(top[n]) if i >= 0]
    return pd.DataFrame(rows, columns=["user", "rank", "item", "score"])


def default_min_rating(dataset: str) -> float | None:
    """The dataset's default rating threshold, :func:`pyrec.data.default_min_rating` (3.0 for the
    MovieLens datasets, RecBole's protocol; a description file's ``min_rating``; else None)."""
    from pyrec.data import default_min_rating as _default

    return _default(dataset)


@dataclass
class RunResult:
    """Outcome of :func:`train_and_evaluate`.

    Attributes:
        model: the fitted recommender. metrics: tidy ``DataFrame`` (``run_id, dataset, split,
        protocol, seed, architecture, model, metric, value, unit``). summary: ``{"ndcg@10": ...}``
        on the test part. train_time_s: fit wall time, s. out: folder written (or None).
        rank: the data-parallel rank that returned it; only rank 0 evaluates and writes, so a
        rank > 0 (under ``deepspeed``/``torchrun``) has empty ``metrics``/``summary``/``info``.
    """

    model: Any
    metrics: Any
    summary: dict
    train_time_s: float
    out: Path | None = None
    info: dict = field(default_factory=dict)
    rank: int = 0


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
    quantize: str | None = None,
    lora: dict | None = None,
    distill_from: str | Path | None = None,
    distill: dict | None = None,
    init_from: str | Path | None = None,
    overwrite: bool = False,
    backend: str | None = None,
    backend_settings: dict | None = None,
    nproc: int = 1,
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
        quantize: ``"int8"`` (dynamic INT8, CPU) or ``"bf16"``: the text encoder of an ``llm`` /
            ``hybrid`` model is quantized after training and the item texts re-embedded by it.
        lora: LoRA settings of the text encoder (``{"r": 8, "alpha": 16}``; ``{}`` = defaults);
            None = no LoRA.
        distill_from: a saved teacher (``pyrec train`` run folder or model folder) trained on the
            same training part; ``model`` is then the student, trained with BPR + listwise KD
            (:func:`pyrec.optim.distill.distill`).
        distill: :class:`~pyrec.optim.distill.DistillConfig` fields (``kd_weight``,
            ``temperature``, ``top_k``) for ``distill_from``.
        init_from: a saved model of the same architecture trained on the same training part to
            start from (``warm_start_state``), e.g. LoRA fine-tuning of a trained hybrid.
        overwrite: replace a finished run in ``out`` (its results stay until the new run has
            finished; a stale checkpoint is removed first). Without it such a folder is refused.
        backend: a backend name (:data:`pyrec.backends.BACKENDS`) whose ``prepare_training``
            drives the steps, e.g. ``"deepspeed"``; None: the model's own trainer (plain Adam).
        backend_settings: its constructor settings, e.g. ``{"zero_stage": 1, "threads": 1}``
            (``threads`` is per process).
        nproc: data-parallel processes started here (:func:`pyrec.backends.launch.run_data_parallel`,
            ``torch.multiprocessing`` spawn), each training its shard of every global batch of
            ``batch_size`` (same global batch and epochs as one process); needs a data-parallel
            backend (``deepspeed``) and no launcher around this process. Under ``deepspeed`` /
            ``torchrun`` leave it at 1: the launcher's ``RANK``/``WORLD_SIZE`` are used. Either way
            only rank 0 evaluates and writes ``out``; the other ranks return a :class:`RunResult`
            with ``rank`` > 0 and nothing else.

    Every metric row has an ``optimization`` column (``"none"`` or e.g. ``"lora+quantization"``,
    see :class:`pyrec.optim.strategies.Strategies`); strategy rows are added: quantization
    ``quantized_linear_layers`` / ``linear_layers`` (count), ``encoder_size_mib`` /
    ``encoder_size_fp32_mib``; LoRA ``trainable_parameters`` / ``encoder_parameters``;
    distillation ``teacher_<metric>`` on the same test part and ``teacher_topk_time_s``.

    Raises:
        ConfigError: unknown model / split / config field, a strategy the model cannot take, a
            teacher trained on other interactions, or an ``out`` folder that holds a run (without
            ``overwrite``/``resume``) or is a teacher/starting point of this run; ``nproc`` > 1
            without a data-parallel backend or inside a launcher. DataError: data problems (from
            pyrec.data). BackendUnavailable: the backend cannot run here. DistributedError: a
            process of an ``nproc`` > 1 run failed (its rank and message).
    """
    call = dict(locals())  # the arguments, for the nproc > 1 processes
    import pandas as pd

    from pyrec.metrics import evaluate_full_ranking
    from pyrec.models import get_model_class
    from pyrec.models.base import FitOptions
    from pyrec.optim.strategies import Strategies, apply_to_settings, load_teacher

    _check_nproc(nproc, backend)
    be = None
    if backend is not None and nproc == 1:
        from pyrec.backends import get_backend

        be = get_backend(backend, **(backend_settings or {}))
    rank = be.rank if be is not None else 0
    strategies = Strategies(quantize, lora, distill_from, dict(distill or {}))
    out = Path(out) if out is not None else None
    if out is not None and rank == 0:  # only rank 0 writes, so only it checks (and cleans) out
        text_model = (config or {}).get("model_path")
        _check_out(out, resume, overwrite, {"--distill-from": distill_from, "--init-from": init_from,
                                            "--text-model": text_model})
    if split not in SPLITS:
        raise param_error("split", "train_and_evaluate", f"one of {list(SPLITS)}", split)
    if isinstance(min_rating, str) and min_rating == "default":
        min_rating = default_min_rating(dataset)
    cls = get_model_class(model)
    cfg = apply_to_settings(model, {**(config or {}), "seed": seed}, strategies)
    rec = cls(cfg)  # validates the settings before any data is read
    if nproc > 1:  # the same call in nproc processes; rank 0's result comes back
        rec._fit_options(FitOptions(backend=backend), {})  # the model's own check, before spawning
        return _run_data_parallel({**call, "nproc": 1}, nproc)

    data = load_data(dataset, data_dir, min_rating=min_rating)
    the_split_seed = split_seed if split_seed is not None else seed
    sp = make_split(data, split, seed=the_split_seed, ratios=ratios)
    if max(ks) > sp.n_items:  # a top-k longer than the catalogue ranks every item: NDCG trivially high
        raise param_error("ks", "train_and_evaluate", f"list lengths of at most the {sp.n_items} items "
                          f"of {data.name!r}", list(ks))

    opts = FitOptions(progress=progress and rank == 0, backend=be)
    if out is not None and cls.supports("checkpoint_dir"):
        opts = FitOptions.build(opts, {"checkpoint_dir": out / "checkpoint", "resume": resume},
                                "train_and_evaluate")
    teacher = load_teacher(strategies.distill_from, sp) if strategies.distill_from else None
    if init_from is not None:
        from pyrec.models import load_model_for_split

        if not cls.supports("init_state"):
            raise param_error("init_from", "train_and_evaluate", "None for a model without weights "
                              "to start from", init_from)
        start = load_model_for_split(init_from, sp, role="--init-from")
        opts = FitOptions.build(opts, {"init_state": start.warm_start_state()}, "train_and_evaluate")
    if teacher is None:
        train_time = fit_model(rec, sp, opts)
    else:
        from pyrec.optim.distill import distill as distill_into

        t0 = time.perf_counter()
        rec = distill_into(teacher, model, sp, {**strategies.distill, "student": cfg}, opts)
        train_time = time.perf_counter() - t0
    tr_result = getattr(rec, "train_result_", None)
    if resume and tr_result is not None:  # the trainer's time summed over the resumed sessions
        train_time = max(train_time, float(tr_result.train_time_s))
    if rank != 0:  # a data-parallel rank > 0 trained its shards; rank 0 evaluates and writes
        return RunResult(rec, pd.DataFrame(), {}, train_time, None, {}, rank=rank)
    res = evaluate_full_ranking(rec.score, sp, part="test", ks=tuple(ks), model_name=model)

    name = model if strategies.label == "none" else f"{model}+{strategies.label}"
    run_id = f"{name}-{data.name}-{sp.name}-s{seed}"
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
    rows += _strategy_rows(rec, teacher, sp, ks)
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
                "optimization": strategies.label,
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
        "split_seed": the_split_seed,
        "strategies": strategies.to_dict(),
        "init_from": None if init_from is None else str(init_from),
        "backend": None if be is None else be.describe(),  # incl. zero_stage, world_size
    }
    if out is not None:
        _write(out, rec, metrics, res, tr, run_id, dataset, info)
    return RunResult(rec, metrics, dict(res.summary), train_time, out, info)


def _check_nproc(nproc: int, backend: str | None) -> None:
    """``nproc`` > 1 needs a data-parallel backend and no launcher around this process."""
    import os

    from pyrec.diagnostics import ConfigError

    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise param_error("nproc", "train_and_evaluate", "an int in [1, inf)", nproc)
    if nproc == 1:
        return
    from pyrec.backends.registry import backend_class

    if backend is None or not backend_class(backend).data_parallel:
        raise param_error("nproc", "train_and_evaluate", "1 unless the backend trains data-parallel "
                          f"('deepspeed'; got backend {backend!r})", nproc)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError(f"nproc={nproc} inside a launcher that already started "
                          f"{os.environ['WORLD_SIZE']} processes (WORLD_SIZE); under deepspeed/torchrun "
                          "leave nproc at 1.")


def _run_data_parallel(call: dict, nproc: int) -> RunResult:
    """``train_and_evaluate(**call)`` in ``nproc`` processes; rank 0's :class:`RunResult`.

    The fitted model comes back through pyrec's own saved form (``Recommender.save`` by rank 0
    into a temporary folder, :func:`pyrec.models.load_model` here, ``train_result_`` restored):
    the live module carries DeepSpeed's hooks and ZeRO state, which do not pickle.
    """
    import tempfile
    from dataclasses import replace

    from pyrec.backends.launch import run_data_parallel
    from pyrec.models import load_model

    with tempfile.TemporaryDirectory(prefix="pyrec-ddp-model-") as tmp:
        run, train_result = run_data_parallel(_run_rank, (call, str(Path(tmp) / "model")), nproc=nproc)
        model = load_model(Path(tmp) / "model")
    model.train_result_ = train_result
    return replace(run, model=model)


def _run_rank(call: dict, model_dir: str):
    """One rank of an ``nproc`` > 1 run (the spawned processes' entry point): rank 0 saves the
    model to ``model_dir`` and returns ``(RunResult without the model, TrainResult)``."""
    from dataclasses import replace

    run = train_and_evaluate(**call)
    if run.rank != 0:
        return None
    run.model.save(model_dir)
    return replace(run, model=None), getattr(run.model, "train_result_", None)


def _run_root(path: Path) -> Path:
    """The run folder of a source path (``<run>/model`` -> ``<run>``), resolved."""
    path = Path(path).resolve()
    return path.parent if path.name == "model" and (path / "model.json").is_file() else path


def _is_run(out: Path) -> bool:
    """True when ``out`` holds a finished or unfinished ``pyrec train`` run."""
    if (out / "metrics.parquet").is_file() or (out / "checkpoint").is_dir():
        return True
    try:
        return "run_id" in json.loads((out / "config.json").read_text())
    except (OSError, ValueError, TypeError):
        return False


def _check_out(out: Path, resume: bool, overwrite: bool, sources: dict) -> None:
    """Refuse an ``out`` that would lose or corrupt earlier work, before any training."""
    from pyrec.diagnostics import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the run.")
    target = out.resolve()
    for option, src in sources.items():
        if src is None:
            continue
        root = _run_root(src)
        if target == root or target.is_relative_to(root):
            raise ConfigError(f"--out {out} is inside the {option} folder {src}; write the new run "
                              "elsewhere.")
    if out.is_dir() and any(out.iterdir()) and not _is_run(out):
        raise ConfigError(f"--out {out} holds files that are not a pyrec run; choose another folder.")
    finished = (out / "metrics.parquet").is_file()
    checkpoint = out / "checkpoint"
    if finished and not (overwrite or resume):
        raise ConfigError(f"--out {out} holds a finished run; pass --force to replace it (its results "
                          "stay until the new run finishes) or choose another folder.")
    if checkpoint.is_dir() and not (overwrite or resume):
        raise ConfigError(f"--out {out} holds an unfinished run's checkpoint; pass --resume to continue "
                          "it or --force to start over.")
    if overwrite and not resume and checkpoint.is_dir():
        import shutil

        shutil.rmtree(checkpoint)


def _strategy_rows(rec, teacher, split, ks) -> list[tuple[str, float, str]]:
    """(metric, value, unit) rows describing what the applied strategies did."""
    from pyrec.metrics import evaluate_full_ranking

    rows: list[tuple[str, float, str]] = []
    q = getattr(rec, "quant_report_", None)
    if q is not None:
        rows += [("quantized_linear_layers", float(q.n_quantized), "count"),
                 ("linear_layers", float(q.n_linear), "count"),
                 ("encoder_size_mib", q.size_after_mib, "MiB"),
                 ("encoder_size_fp32_mib", q.size_before_mib, "MiB")]
    enc = getattr(rec, "encoder_", None)
    lora = getattr(enc, "lora_report_", None) if getattr(rec.config, "encoder_mode", "") == "lora" else None
    if lora is not None:
        rows += [("trainable_parameters", float(lora.trainable_params), "count"),
                 ("encoder_parameters", float(lora.total_params), "count")]
    if teacher is not None:
        res = evaluate_full_ranking(teacher.score, split, part="test", ks=tuple(ks))
        rows += [(f"teacher_{m}", float(v), "") for m, v in res.summary.items()]
        rows.append(("teacher_topk_time_s", rec.distill_info_["teacher_topk_time_s"], "s"))
    return rows


def _write(out: Path, rec, metrics, res, tr, run_id: str, dataset: str, info: dict) -> None:
    import shutil

    import torch

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "model.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    rec.save(tmp)
    shutil.rmtree(out / "model", ignore_errors=True)  # --force: no file of the old model stays
    tmp.rename(out / "model")
    if tr is None:
        (out / "history.csv").unlink(missing_ok=True)
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
