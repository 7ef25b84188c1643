"""`pyrec evaluate`: run the study's experiment grid and write the tidy results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `pyrec` app."""

    @app.command("evaluate")
    def evaluate_cmd(
        config: Optional[Path] = typer.Option(
            None, "--config", "-c", help="Experiment config (.toml/.yaml). Default: analysis/experiment.default.toml."
        ),
        quick: bool = typer.Option(False, "--quick", help="Minute-long smoke run (analysis/experiment.quick.toml)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Results folder. Default: results/<config name>."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Dataset folder (default $PYREC_DATA_DIR)."),
        force: bool = typer.Option(False, "--force", help="Overwrite a results folder written by a different config."),
        seeds: Optional[str] = typer.Option(None, "--seeds", help="Replicate seeds, e.g. 0,1,2 (overrides the config)."),
        no_stats: bool = typer.Option(False, "--no-stats", help="Do not run the R statistics at the end."),
    ) -> None:
        """Train, optimize, benchmark and evaluate every configuration x seed; resumable.

        Re-running the same command skips finished runs. Impossible combinations are listed in
        skipped.csv with the reason; failed runs in failed.csv with the error.
        """
        import os

        from pyrec.diagnostics import PyrecError
        from pyrec.experiment import run_experiment

        # one progress bar (the grid's): Hugging Face's weight-loading bars would break it up
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

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
