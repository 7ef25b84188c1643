"""`pyrec stats`: the R statistical evaluation of a results folder (ANOVA, post-hoc, ...)."""

from __future__ import annotations

import math
from pathlib import Path

import typer

_ORDER = ("anova", "assumptions", "effect_sizes", "tukey", "emmeans", "friedman",
          "friedman_posthoc", "paired", "skipped")
# columns printed on the console (every column is in the CSV/JSON files)
_SHOWN = {
    "anova": ("term", "df", "sum_sq", "statistic", "p_value", "eta2", "eta2_partial", "omega2",
              "CI_low", "CI_high"),
    "assumptions": ("test", "statistic", "df", "df_error", "p_value", "violated"),
    "emmeans": ("term", "by", "group1", "group2", "estimate", "SE", "df", "statistic", "p_adj",
                "CI_low", "CI_high"),
    "paired": ("dataset", "group1", "group2", "test", "n", "estimate", "statistic", "p_value",
               "p_adj", "effect_size_type", "effect_size"),
    "friedman_posthoc": ("group1", "group2", "n_blocks", "median_diff", "statistic", "p_value",
                         "p_adj"),
}


def _cell(value, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if column.startswith("p_") and value < 1e-4:
            return "< 1e-04"
        return f"{value:.4g}"
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def render(console, name: str, df) -> None:
    """Print one statistics table with its method as title and its notes as caption."""
    from rich.table import Table

    notes = df.attrs.get("note") or []
    notes = [notes] if isinstance(notes, str) else list(notes)
    shown = [c for c in _SHOWN.get(name, df.columns) if c in df.columns]
    if name == "assumptions" and "note" in df.columns:  # per-test reasons go below the table
        notes += [f"{t}: {n}" for t, n in zip(df["test"], df["note"]) if isinstance(n, str) and n]
    if len(shown) < len(df.columns):
        notes.append(f"(more columns in stats/{name}.csv)")
    df = df[shown]
    table = Table(title=f"{name}: {df.attrs.get('method', name)}", title_justify="left",
                  caption="\n".join(notes) or None, caption_justify="left")
    for col in df.columns:
        numeric = df[col].dtype.kind in "fiu"
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(_cell(v, c) for v, c in zip(row, df.columns)))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `pyrec` app."""

    @app.command("stats")
    def stats_cmd(
        results_dir: Path = typer.Argument(
            ..., help="A `pyrec evaluate` results folder (runs.parquet)."),
        metric: str = typer.Option("ndcg@10", "--metric", "-m", help="Metric to analyse."),
        factors: str = typer.Option("architecture,optimization,backend", "--factors", "-f",
                                    help="Comma-separated experiment factors of the ANOVA."),
        alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the notes."),
    ) -> None:
        """ANOVA, assumption checks, Tukey/emmeans, effect sizes and paired tests, run in R.

        Prints the tables and writes each as CSV and JSON into RESULTS_DIR/stats/.
        """
        import warnings

        from rich.console import Console

        from pyrec.diagnostics import PyrecError
        from pyrec.stats import run_all

        console = Console(width=max(Console().width, 130))
        factor_list = [f.strip() for f in factors.split(",") if f.strip()]
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tables = run_all(results_dir, metric=metric, factors=factor_list, alpha=alpha)
        except PyrecError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        for w in caught:
            console.print(f"[yellow]Note:[/] {w.message}", highlight=False)
        for name in sorted(tables, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER)):
            render(console, name, tables[name])
        console.print(f"Tables written to {results_dir / 'stats'} (CSV and JSON).")
