"""`pyrec evaluate`: run the study's experiment grid and write the tidy results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `pyrec` app."""

    @app.command("evaluate")
    def evaluate_cmd(
        config: Annotated[Path | None, typer.Option(
            "--config", "-c", help="Experiment config (.toml/.yaml). Default: analysis/experiment.default.toml.")] = None,
        quick: Annotated[bool, typer.Option(
            "--quick", help="Minute-long smoke run (analysis/experiment.quick.toml).")] = False,
        out: Annotated[Path | None, typer.Option(
            "--out", "-o", help="Results folder. Default: results/<config name>.")] = None,
        data_dir: Annotated[Path | None, typer.Option(
            "--data-dir", help="Dataset folder (default $PYREC_DATA_DIR).")] = None,
        force: Annotated[bool, typer.Option(
            "--force", help="Overwrite a results folder written by a different config.")] = False,
        seeds: Annotated[str | None, typer.Option(
            "--seeds", help="Replicate seeds, e.g. 0,1,2 (overrides the config).")] = None,
        no_stats: Annotated[bool, typer.Option(
            "--no-stats", help="Do not run the R statistics at the end.")] = False,
        target_mde: Annotated[float | None, typer.Option(
            "--target-mde", help="Run as many seeds as the planned contrasts need to detect this "
                                 "difference (metric units), estimated from the results already in "
                                 "--out (at least 2 seeds).")] = None,
        max_seeds: Annotated[int, typer.Option(
            "--max-seeds", help="Upper limit on the seeds --target-mde may ask for.")] = 20,
    ) -> None:
        """Train, optimize, benchmark and evaluate every configuration x seed; resumable.

        Re-running the same command skips finished runs. Impossible combinations are listed in
        skipped.csv with the reason; failed runs in failed.csv with the error.
        """
        import os
        import warnings

        from pyrec.cli._errors import EXIT_FAILED, user_errors
        from pyrec.experiment import run_experiment

        # one progress bar (the grid's): Hugging Face's weight-loading bars would break it up
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\.")

        with user_errors():
            if target_mde is not None:
                seeds = _seeds_for_target(config, quick, out, data_dir, target_mde, max_seeds)
            result = run_experiment(config, quick=quick, out=out, data_dir=data_dir, seeds=seeds,
                                    force=force, stats=not no_stats)
        if len(result.failed):
            raise typer.Exit(EXIT_FAILED)


def _seeds_for_target(config, quick, out, data_dir, target: float, max_seeds: int) -> str:
    """The seeds (``"0,1,...,n-1"``) whose blocked seed-level model detects ``target`` in every
    planned contrast, from the pilot results in the output folder; prints the computation.

    Raises:
        ConfigError: no pilot results with at least 2 seeds, or a bad target.
    """
    from rich.console import Console

    from pyrec.diagnostics import ConfigError
    from pyrec.experiment._runner import resolve_config
    from pyrec.stats import run_all

    if not target > 0:
        raise ConfigError(f"--target-mde must be a positive difference in metric units (got {target}).")
    cfg, _ = resolve_config(config, quick=quick, data_dir=data_dir)
    folder = Path(out) if out is not None else Path("results") / cfg.name
    if not (folder / "runs.parquet").is_file() and not (folder / "runs.csv").is_file():
        raise ConfigError(f"--target-mde estimates the seeds needed from pilot results, and "
                          f"{str(folder)!r} has none: run `pyrec evaluate` with 2-3 seeds first.")
    tables = run_all(folder, save=False, target_mde=target, bootstrap=100)
    power = tables.get("power")
    if power is None or "seeds_needed" not in power or power["seed_mde"].isna().all():
        raise ConfigError(f"--target-mde needs pilot results in {str(folder)!r} with at least 2 "
                          "seeds and a planned contrast.")
    import pandas as pd

    console = Console(stderr=True)
    for row in power.itertuples(index=False):
        need = "more than 1000" if pd.isna(row.seeds_needed) else int(row.seeds_needed)
        console.print(f"{row.question} {row.config} vs {row.baseline} ({row.test}): MDE now "
                      f"{row.seed_mde:.4g}; seeds needed for {target:g}: {need}")
    unknown = power["seeds_needed"].isna().any()
    needed = max_seeds + 1 if unknown else int(power["seeds_needed"].max())
    n = min(needed, max_seeds)
    if needed > max_seeds:
        console.print(f"[yellow]Capped at --max-seeds {max_seeds}[/]: the target needs more.")
    n = max(n, int(tables["design"]["n_seeds"].max()))
    console.print(f"Running seeds 0-{n - 1} (finished runs are kept).")
    return ",".join(str(s) for s in range(n))
