"""`pyrec train`: fit one model on one dataset/split, evaluate on test, write the run folder.

Heavy libraries (torch, torch_geometric, pandas) are imported inside the command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from pyrec.cli._errors import EXIT_FAILED, EXIT_INTERRUPTED, fail
from pyrec.data.split import PROTOCOLS as _SPLITS  # the split protocols pyrec.data owns
from pyrec.models.registry import MODELS  # the model registry owns the names


def _parse_sets(items: list[str]) -> dict:
    """``["embedding_size=32", "fusion=gate"]`` -> dict; values parsed as JSON when possible."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"The '--set' option must look like key=value. Got {item!r} instead.")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def train(
    model: str = typer.Option(..., "--model", "-m", help=f"A registered model: {', '.join(MODELS)}."),
    dataset: str = typer.Option(
        "ml-100k", "--dataset", "-d",
        help="Dataset name (see `pyrec data list`) or a path: a dataset description (.toml), "
        "a .csv/.parquet table, RecBole .inter, or an .inter.json file.",
    ),
    split: str = typer.Option(
        "ratio", "--split", help=f"Split protocol: {', '.join(_SPLITS)} (ratio: per-user 8:1:1)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the model and of the split."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run folder (default runs/<model>-<dataset>-<split>-s<seed>)."
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", help="Maximum epochs (model default otherwise)."
    ),
    min_rating: float | None = typer.Option(
        None, "--min-rating",
        help="Keep ratings >= this (default: the dataset's, 3 for MovieLens or a description's "
        "min_rating, else all).",
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder of dataset folders (default $PYREC_DATA_DIR)."
    ),
    learning_rate: float | None = typer.Option(
        None, "--learning-rate", "--lr", help="Adam learning rate."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", help="BPR triples per step."),
    embedding_size: int | None = typer.Option(
        None, "--embedding-size", help="Embedding dimension."
    ),
    patience: int | None = typer.Option(
        None, "--patience", help="Validations without improvement before stopping."
    ),
    text_model: Path | None = typer.Option(
        None,
        "--text-model",
        help="Local Hugging Face encoder folder for llm/hybrid (default: bundled all-MiniLM-L6-v2).",
    ),
    sets: list[str] = typer.Option(
        [], "--set", help="Any config field, key=value (repeatable), e.g. --set num_layers=3."
    ),
    threads: int = typer.Option(
        2, "--threads", min=1, help="torch CPU threads (shared by the --nproc processes)."
    ),
    backend: str = typer.Option(
        "cpu", "--backend",
        help="Who drives the training steps: cpu (the model's own trainer, plain Adam) or "
        "deepspeed (deepspeed.initialize: ZeRO, data parallelism; also under `deepspeed --module "
        "pyrec train ...`).",
    ),
    zero_stage: int = typer.Option(
        0, "--zero-stage", min=0, max=2, help="ZeRO stage with --backend deepspeed (0, 1 or 2)."
    ),
    nproc: int = typer.Option(
        1, "--nproc", min=1,
        help="Data-parallel training processes started here (gloo on CPU) with --backend "
        "deepspeed; each trains batch_size/nproc rows of every batch. Under DeepSpeed's launcher "
        "keep 1.",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Resume from <out>/checkpoint when present."
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace a finished run in --out (kept until the new one finishes)."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress",
        help="Show progress over epochs: a bar on a terminal, else one stdout line per epoch "
        "(at most every 30 s; PYREC_PROGRESS=bar|lines|off overrides).",
    ),
    quantize: str = typer.Option(
        "none",
        "--quantize",
        help="Quantize the text encoder of llm/hybrid after training: int8 (dynamic, CPU) or bf16; "
        "item texts are re-embedded by it before evaluation.",
    ),
    lora: str | None = typer.Option(
        None,
        "--lora",
        help="Fine-tune the text encoder of llm/hybrid with LoRA, e.g. r=8 or "
        "r=8,alpha=16,dropout=0.05,target_modules=query+value ('' = defaults).",
    ),
    distill_from: Path | None = typer.Option(
        None,
        "--distill-from",
        help="Teacher run folder (or its model/ folder) trained on the same data, split and seed; "
        "--model is then the student (BPR + listwise KD).",
    ),
    init_from: Path | None = typer.Option(
        None,
        "--init-from",
        help="Start from a trained run of the same model (same data, split and seed), e.g. "
        "`-m hybrid --lora r=8 --init-from runs/hybrid` fine-tunes its text encoder.",
    ),
    distill_set: str = typer.Option(
        "",
        "--distill-set",
        help="Distillation settings with --distill-from, e.g. kd_weight=1,temperature=2,top_k=50.",
    ),
) -> None:
    """Train a recommender, print NDCG@10, Recall@10 and training time, and save the run.

    Optimization strategies combine: `--lora r=8 --quantize int8` fine-tunes the encoder with
    LoRA, merges it, then quantizes it. Each metric row records them in its `optimization` column.

    Writes <out>/model/ (weights, config, seen matrix), config.json, metrics.csv + metrics.parquet
    (tidy: one row per metric), per_user.parquet, history.csv and checkpoint/last.pt.
    """
    # passive OpenMP waiting: spinning threads collapse throughput on a shared, busy CPU
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from rich.console import Console
    from rich.table import Table

    from pyrec.diagnostics import PyrecError

    if model.lower() not in MODELS:  # read now: a model registered after import counts
        fail(
            ValueError(
                f"The '--model' option must be one of {sorted(MODELS)}. Got {model!r} instead."
            )
        )
    if split not in _SPLITS:
        fail(
            ValueError(
                f"The '--split' option must be one of {list(_SPLITS)}. Got {split!r} instead."
            )
        )
    if backend not in ("cpu", "deepspeed"):
        fail(ValueError(f"The '--backend' option must be one of ['cpu', 'deepspeed']. Got {backend!r} "
                        "instead."))
    for option, value, default in (("--zero-stage", zero_stage, 0), ("--nproc", nproc, 1)):
        if backend != "deepspeed" and value != default:
            fail(ValueError(f"The '{option}' option needs --backend deepspeed. Got {option} {value} "
                            f"with --backend {backend}."))
    from pyrec.optim.strategies import QUANTIZE_METHODS, parse_options

    if text_model is not None and model.lower() not in ("llm", "hybrid"):
        fail(ValueError(f"The '--text-model' option applies to llm and hybrid; {model!r} has no "
                         "text encoder."))
    if quantize not in ("none", *QUANTIZE_METHODS):
        fail(
            ValueError(
                f"The '--quantize' option must be one of {['none', *QUANTIZE_METHODS]}. "
                f"Got {quantize!r} instead."
            )
        )

    try:
        config = _parse_sets(sets)
        lora_opts = None if lora is None else parse_options(lora, "--lora")
        distill_opts = parse_options(distill_set, "--distill-set")
    except (ValueError, PyrecError) as e:
        fail(e)
    for key, value in (
        ("epochs", epochs),
        ("learning_rate", learning_rate),
        ("batch_size", batch_size),
        ("embedding_size", embedding_size),
        ("patience", patience),
        ("model_path", None if text_model is None else str(text_model)),
    ):
        if value is not None:
            config[key] = value

    import torch

    from pyrec.data import dataset_label
    from pyrec.diagnostics import DistributedError
    from pyrec.pipeline import train_and_evaluate

    torch.set_num_threads(max(1, threads))
    tags = [t for t, on in (("lora", lora is not None), ("kd", distill_from is not None),
                            (quantize, quantize != "none")) if on]
    name = "+".join([model.lower(), *tags])
    out = out or Path("runs") / f"{name}-{dataset_label(dataset)}-{split}-s{seed}"
    console = Console()
    try:
        run = train_and_evaluate(
            model.lower(),
            dataset,
            split=split,
            seed=seed,
            data_dir=data_dir,
            min_rating=min_rating if min_rating is not None else "default",
            config=config,
            out=out,
            resume=resume,
            progress=progress,
            quantize=quantize,
            lora=lora_opts,
            distill_from=distill_from,
            distill=distill_opts,
            init_from=init_from,
            overwrite=force,
            backend=None if backend == "cpu" else backend,
            backend_settings=None if backend == "cpu" else
            {"zero_stage": zero_stage, "threads": max(1, threads // nproc)},
            nproc=nproc,
        )
    except DistributedError as e:  # a training process failed: the work ran, it did not finish
        fail(e, code=EXIT_FAILED)
    except PyrecError as e:
        fail(e)
    except KeyboardInterrupt:  # the trainer checkpointed each epoch: --resume continues
        fail(f"interrupted; the last finished epoch is kept in {out / 'checkpoint'}: run the same "
             "command with --resume to continue.", code=EXIT_INTERRUPTED)
    if run.rank != 0:  # under deepspeed/torchrun: rank 0 reports
        return
    table = Table(
        title=f"{model} · {dataset} · {run.info['split']} · seed {seed}",
        caption="test part, full ranking",
        min_width=44,
    )
    for col in ("metric", "value"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for key in ("ndcg@10", "recall@10"):
        if key in run.summary:
            table.add_row(
                key.replace("ndcg", "NDCG").replace("recall", "Recall"), f"{run.summary[key]:.4f}"
            )
    i = run.info
    table.add_row("users · items", f"{i['n_users']:,} · {i['n_items']:,}")
    table.add_row("train · valid · test", f"{i['n_train']:,} · {i['n_valid']:,} · {i['n_test']:,}")
    table.add_row("min rating", "none (all kept)" if i["min_rating"] is None else f"{i['min_rating']:g}")
    strategy = run.info["strategies"]["optimization"]
    if strategy != "none":
        table.add_row("optimization", strategy)
    if backend != "cpu":
        world = nproc if nproc > 1 else int(os.environ.get("WORLD_SIZE", 1))
        table.add_row("backend", f"{backend} ZeRO-{zero_stage} · {world} process{'es' * (world > 1)}")
    extra = dict(zip(run.metrics.metric, run.metrics.value))
    if "teacher_ndcg@10" in extra:
        table.add_row("teacher NDCG@10", f"{extra['teacher_ndcg@10']:.4f}")
    if "quantized_linear_layers" in extra:
        table.add_row("quantized Linear layers",
                      f"{extra['quantized_linear_layers']:.0f}/{extra['linear_layers']:.0f}")
        table.add_row("encoder size", f"{extra['encoder_size_fp32_mib']:.1f} -> "
                      f"{extra['encoder_size_mib']:.1f} MiB")
    if "trainable_parameters" in extra:
        table.add_row("trainable encoder params",
                      f"{extra['trainable_parameters']:,.0f} / {extra['encoder_parameters']:,.0f}")
    table.add_row("training time", f"{run.train_time_s:.2f} s")
    tr = getattr(run.model, "train_result_", None)
    if tr is not None:
        table.add_row("epochs (best)", f"{tr.epochs_run} ({tr.best_epoch})")
        table.add_row("s / epoch", f"{tr.seconds_per_epoch:.3f}")
    console.print(table)
    console.print(f"run folder: {out}")


def register(app: typer.Typer) -> None:
    """Add ``pyrec train`` to the `pyrec` app."""
    app.command("train")(train)
