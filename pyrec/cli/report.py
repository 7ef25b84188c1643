"""`pyrec report`: render the RMarkdown experiment report of a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `pyrec` app."""

    @app.command("report")
    def report_cmd(
        results_dir: Path = typer.Argument(..., help="A `pyrec evaluate` results folder."),
        format: str = typer.Option("html", "--format", "-f", help="html (self-contained, offline) or pdf (needs LaTeX)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file. Default: RESULTS_DIR/report.<format>."),
        metric: str = typer.Option("ndcg@10", "--metric", "-m", help="Quality metric analysed."),
        latency: str = typer.Option("latency_p99_ms", "--latency", help="Latency metric of the quality-latency figure."),
    ) -> None:
        """Render analysis/report.Rmd (R: rmarkdown, ggplot2, car, emmeans, effectsize) for RESULTS_DIR.

        The report holds the design and protocol, results with 95% CIs, the Type II ANOVA,
        assumption checks, Tukey HSD, effect sizes, figures (quality vs p99 latency with the Pareto
        front, training time, quality by architecture, per-user paired differences) and the study's
        figures beside pyrec's.
        """
        from pyrec.diagnostics import PyrecError
        from pyrec.report import render_report

        try:
            path = render_report(results_dir, format=format, out=out, metric=metric, latency=latency)
        except PyrecError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"Report written to {path}")
