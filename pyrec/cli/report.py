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
        metric: Optional[str] = typer.Option(None, "--metric", "-m", help="Quality metric analysed "
                                             "(default: the experiment's planned metric, as `pyrec stats`)."),
        latency: str = typer.Option("latency_p99_ms", "--latency", help="Latency metric of the quality-latency figure."),
        protocol: str = typer.Option(None, "--protocol", help="Evaluation protocol to report "
                                     "(default: full-ranking when present); never pooled."),
    ) -> None:
        """Render analysis/report.Rmd (R: rmarkdown, ggplot2, car, emmeans, effectsize) for RESULTS_DIR.

        The report holds the design and protocol, results with 95% CIs, the answers to the study's
        questions (planned contrasts over splits and over users, equivalence, power, costs: the
        tables of `pyrec stats`), figures (the contrasts, quality vs p99 latency with the Pareto
        front, training time by component, per-user differences) and the study's figures beside
        pyrec's.
        """
        from pyrec.cli._errors import user_errors
        from pyrec.report import render_report

        with user_errors():
            path = render_report(results_dir, format=format, out=out, metric=metric, latency=latency,
                                 protocol=protocol)
        typer.echo(f"Report written to {path}")
