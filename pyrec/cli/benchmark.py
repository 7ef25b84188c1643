"""`pyrec benchmark`: train (or load) a model, serve it on a backend, and measure latency,
throughput, memory and quality with :func:`pyrec.bench.run_benchmark`.

Heavy imports (torch, deepspeed, hls4ml) happen inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pyrec.backends.registry import BACKENDS  # the registries own the names
from pyrec.data.split import PROTOCOLS
from pyrec.models.registry import MODELS


def _fit(model, split, backend, backend_name: str):
    """Train through :func:`pyrec.pipeline.fit_model` (the model's own trainer, as `pyrec
    evaluate` and `pyrec train` do; DeepSpeed/CUDA as its ``backend``), showing its epochs as
    `pyrec train` does (:mod:`pyrec._progress`); returns (model, seconds per epoch list).

    A serving-only backend (``can_train`` false, e.g. fpga-sim) or a model with nothing to train
    on a backend (pop, EASE, GF-CF: closed forms) is fitted on the CPU and served on the backend.
    """
    from pyrec.pipeline import fit_model

    trains_on = backend_name != "cpu" and backend.can_train and type(model).supports("backend")
    seconds = fit_model(model, split, backend=backend if trains_on else None, progress=True)
    history = getattr(getattr(model, "train_result_", None), "history", None) or []
    epochs = [h["epoch_time_s"] for h in history if "epoch_time_s" in h]
    return model, epochs or [seconds]


def _print_table(report, console, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in ("strategy", "metric", "batch", "value", "unit", "sim"):
        table.add_column(col, justify="right" if col in ("value", "batch") else "left", no_wrap=True)
    for r in report.rows:
        batch = str(r["batch_size"]) if r.get("batch_size") else ""
        table.add_row(r["strategy"], r["metric"], batch, f"{r['value']:.4g}", r["unit"], "yes" if r["simulated"] else "")
    console.print(table)
    methods = sorted({r["method"] for r in report.rows})
    console.print("methods: " + "; ".join(methods))
    for what, why in report.skipped.items():
        console.print(f"[yellow]skipped {what}[/yellow]: {why}")


def register(app: typer.Typer) -> None:
    """Add `pyrec benchmark` to the `pyrec` app."""

    @app.command("benchmark")
    def benchmark(
        model: str = typer.Option("lightgcn", help=f"registered model: {', '.join(MODELS)}"),
        backend: str = typer.Option("cpu", help=" | ".join(BACKENDS)),
        dataset: str = typer.Option("ml-100k", help="dataset name or CSV/Parquet path"),
        data_dir: Optional[Path] = typer.Option(None, help="dataset folder (default $PYREC_DATA_DIR)"),
        split: str = typer.Option("ratio", help="split protocol: " + " | ".join(PROTOCOLS)),
        min_rating: Optional[float] = typer.Option(
            None, help="keep ratings >= this (default 3 for MovieLens, as pyrec train; else all)"),
        epochs: Optional[int] = typer.Option(None, min=1, help="training epochs (default: the model's)"),
        checkpoint: Optional[Path] = typer.Option(
            None, help="serve a `pyrec train` run (or model) folder instead of training; it must have "
            "been trained on this dataset, --min-rating, --split and --seed"),
        requests: int = typer.Option(1000, min=1, help="timed single-user requests"),
        warmup: int = typer.Option(50, min=0, help="untimed warm-up requests"),
        batch_sizes: str = typer.Option("1,64,256,943", help="throughput batch sizes, comma-separated"),
        repeats: int = typer.Option(3, min=1, help="timed throughput passes (median reported)"),
        k: int = typer.Option(10, min=1, help="recommendation list length"),
        seed: int = typer.Option(0, min=0, help="seed for the split, model and user sampling"),
        threads: Optional[int] = typer.Option(None, min=1, help="torch intra-op threads"),
        dtype: str = typer.Option("fp32", help="fp32 | bf16 | fp16 (cpu: fp32/bf16)"),
        zero_stage: int = typer.Option(0, min=0, max=3, help="deepspeed: ZeRO stage"),
        precision: str = typer.Option("ap_fixed<16,6>", help="fpga-sim: fixed-point precision"),
        reuse_factor: int = typer.Option(1, min=1, help="fpga-sim: hls4ml reuse factor"),
        eval_users: Optional[int] = typer.Option(None, min=1, help="evaluate quality on this many sampled test "
                                                 "users (default: all; fpga-sim: 100, its C-sim is slow)"),
        out: Optional[Path] = typer.Option(None, help="write rows to FILE.json and FILE.csv"),
    ) -> None:
        """Train briefly (or load), serve on BACKEND, and print latency / throughput / memory."""
        import sys

        from rich.console import Console

        from pyrec.cli._errors import user_errors

        console = Console(width=None if sys.stdout.isatty() else 110)
        with user_errors():
            _run(console, model, backend, dataset, data_dir, split, min_rating, epochs, checkpoint, requests, warmup,
                 batch_sizes, repeats, k, seed, threads, dtype, zero_stage, precision, reuse_factor, eval_users, out)


def _run(console, model, backend, dataset, data_dir, split, min_rating, epochs, checkpoint, requests, warmup, batch_sizes,
         repeats, k, seed, threads, dtype, zero_stage, precision, reuse_factor, eval_users, out) -> None:
    import json

    from pyrec.diagnostics import BackendUnavailable

    settings: dict = {"threads": threads}
    if backend in ("cpu", "cuda"):
        settings["dtype"] = dtype
    elif backend == "deepspeed":
        settings.update(dtype=dtype, zero_stage=zero_stage)
    elif backend == "fpga-sim":
        settings.update(precision=precision, reuse_factor=reuse_factor)
    from pyrec.backends import get_backend

    try:
        be = get_backend(backend, **settings)
    except BackendUnavailable as exc:
        console.print(f"[yellow]SKIPPED[/yellow] pyrec benchmark --backend {backend}: {exc}")
        raise typer.Exit(code=0)

    from pyrec.models import load_model_for_split
    from pyrec.optim.strategies import recorded_optimization
    from pyrec.pipeline import load_data, make_split

    data = load_data(dataset, data_dir, min_rating="default" if min_rating is None else min_rating)
    min_rating = data.meta.get("min_rating")
    sp = make_split(data, split, seed=seed)
    optimization = "none"
    if checkpoint is not None:
        rec, epoch_s = load_model_for_split(checkpoint, sp, role="--checkpoint"), []
        model, optimization = rec.name, recorded_optimization(checkpoint)
    else:
        from pyrec.models import get_model_class
        from pyrec.pipeline import build_model

        cfg = {"epochs": epochs} if epochs else {}
        if backend == "cuda":
            cfg["device"] = str(be.device)
        fields = get_model_class(model).config_class.model_fields
        cfg = {key: v for key, v in cfg.items() if key in fields}  # e.g. pop has no epochs
        rec, epoch_s = _fit(build_model(model, cfg, seed=seed), sp, be, backend)

    from pyrec._progress import LINES, emit, progress_mode
    from pyrec.bench import run_benchmark, to_rows

    if progress_mode() == LINES:  # the measurements take minutes on a simulated backend
        emit(f"pyrec benchmark: measuring {model} on {backend} ({requests} requests, batch sizes "
             f"{batch_sizes}, {repeats} repeats)")
    sizes = tuple(int(b) for b in batch_sizes.split(",") if b.strip())
    label = f"{model}@{backend}" if optimization == "none" else f"{model}+{optimization}@{backend}"
    extra = {"dataset": dataset, "model": model, "optimization": optimization, "min_rating": min_rating}
    rep = run_benchmark(rec, be, sp, k=k, n_requests=requests, warmup=warmup, batch_sizes=sizes,
                        repeats=repeats, config=label, seed=seed, extra=extra,
                        eval_users=eval_users or (100 if be.simulated else None))
    if epoch_s:
        import numpy as np

        rep.rows += to_rows({"train_time_s": (float(np.sum(epoch_s)), "s"),
                             "train_s_per_epoch": (float(np.median(epoch_s)), "s")},
                            config=label, backend=be.describe(), strategy="train", seed=seed,
                            simulated=False, method="trainer history (median epoch)", n=len(epoch_s), **extra)
    _print_table(rep, console, f"pyrec benchmark: {label} on {dataset} ({be.label})")
    if out is not None:
        import pandas as pd

        base = out.with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_suffix(".json").write_text(json.dumps({"backend": rep.info, "skipped": rep.skipped,
                                                         "rows": rep.rows}, indent=2, default=str))
        pd.DataFrame(rep.rows).to_csv(base.with_suffix(".csv"), index=False)
        console.print(f"wrote {base.with_suffix('.json')} and {base.with_suffix('.csv')}")
