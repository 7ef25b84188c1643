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
    ) -> None:
        """Train, optimize, benchmark and evaluate every configuration x seed; resumable.

        Re-running the same command skips finished runs. Impossible combinations are listed in
        skipped.csv with the reason; failed runs in failed.csv with the error.
        """
        import os
        import warnings

        from pyrec.diagnostics import PyrecError
        from pyrec.experiment import run_experiment

        # one progress bar (the grid's): Hugging Face's weight-loading bars would break it up
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\.")

        try:
            result = run_experiment(config, quick=quick, out=out, data_dir=data_dir, seeds=seeds,
                                    force=force, stats=not no_stats)
        except PyrecError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        if len(result.failed):
            raise typer.Exit(1)
