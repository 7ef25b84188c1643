"""`pyrec train`: fit one model on one dataset/split, evaluate on test, write the run folder.

Heavy libraries (torch, torch_geometric, pandas) are imported inside the command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

_MODELS = ("lightgcn", "graphsage", "mf", "pop", "llm", "hybrid")
_SPLITS = ("ratio", "loo", "temporal", "released")


def _fail(err: Exception) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


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
    model: str = typer.Option(..., "--model", "-m", help=f"One of {', '.join(_MODELS)}."),
    dataset: str = typer.Option(
        "ml-100k", "--dataset", "-d", help="Dataset name (see `pyrec data list`)."
    ),
    split: str = typer.Option(
        "ratio", "--split", help="ratio (per-user 8:1:1), loo, temporal, released."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the model and of the split."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run folder (default runs/<model>-<dataset>-<split>-s<seed>)."
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", help="Maximum epochs (model default otherwise)."
    ),
    min_rating: float | None = typer.Option(
        None, "--min-rating", help="Keep ratings >= this (default 3 for MovieLens, else all)."
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
    sets: list[str] = typer.Option(
        [], "--set", help="Any config field, key=value (repeatable), e.g. --set num_layers=3."
    ),
    threads: int = typer.Option(2, "--threads", help="torch CPU threads."),
    resume: bool = typer.Option(
        False, "--resume", help="Resume from <out>/checkpoint when present."
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show a progress bar over epochs."
    ),
) -> None:
    """Train a recommender, print NDCG@10, Recall@10 and training time, and save the run.

    Writes <out>/model/ (weights, config, seen matrix), config.json, metrics.csv + metrics.parquet
    (tidy: one row per metric), per_user.parquet, history.csv and checkpoint/last.pt.
    """
    # passive OpenMP waiting: spinning threads collapse throughput on a shared, busy CPU
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from rich.console import Console
    from rich.table import Table

    from pyrec.diagnostics import PyrecError

    if model.lower() not in _MODELS:
        _fail(
            ValueError(
                f"The '--model' option must be one of {list(_MODELS)}. Got {model!r} instead."
            )
        )
    if split not in _SPLITS:
        _fail(
            ValueError(
                f"The '--split' option must be one of {list(_SPLITS)}. Got {split!r} instead."
            )
        )
    try:
        config = _parse_sets(sets)
    except ValueError as e:
        _fail(e)
    for key, value in (
        ("epochs", epochs),
        ("learning_rate", learning_rate),
        ("batch_size", batch_size),
        ("embedding_size", embedding_size),
        ("patience", patience),
    ):
        if value is not None:
            config[key] = value

    import torch

    from pyrec.train.run import default_min_rating, train_and_evaluate

    torch.set_num_threads(max(1, threads))
    out = out or Path("runs") / f"{model.lower()}-{dataset.replace(':', '_')}-{split}-s{seed}"
    console = Console()
    try:
        run = train_and_evaluate(
            model.lower(),
            dataset,
            split=split,
            seed=seed,
            data_dir=data_dir,
            min_rating=min_rating if min_rating is not None else default_min_rating(dataset),
            config=config,
            out=out,
            resume=resume,
            progress=progress,
        )
    except PyrecError as e:
        _fail(e)
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
