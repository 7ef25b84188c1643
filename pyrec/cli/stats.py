"""`pyrec stats`: the planned analysis of a results folder in R (contrasts, equivalence, power)."""

from __future__ import annotations

import math
from pathlib import Path

import typer

_ORDER = ("contrasts", "design", "seed_level", "blocking", "user_level", "bootstrap", "paired",
          "power", "costs", "anova", "assumptions", "effect_sizes", "skipped")
# columns printed on the console (every column is in the CSV/JSON files)
_SHOWN = {
    "anova": ("term", "df", "sum_sq", "statistic", "p_value", "eta2", "eta2_partial", "omega2",
              "CI_low", "CI_high"),
    "assumptions": ("test", "statistic", "df", "df_error", "p_value", "violated"),
    "emmeans": ("term", "by", "group1", "group2", "estimate", "SE", "df", "statistic", "p_adj",
                "CI_low", "CI_high"),
    "contrasts": ("protocol", "question", "config", "baseline", "test", "margin", "estimate",
                  "relative", "seed_p_adj", "user_p_adj", "bootstrap", "verdict"),
    "design": ("protocol", "config", "simulated", "n_seeds", "n_users", "mean", "status"),
    "seed_level": ("protocol", "question", "config", "baseline", "test", "estimate", "SE", "df",
                   "p_value", "p_adj", "CI_low", "CI_high", "ci_level"),
    "blocking": ("protocol", "model", "df_residual", "ms_residual", "seed_F", "seed_p",
                 "shapiro_W", "shapiro_p"),
    "user_level": ("protocol", "question", "config", "baseline", "test", "estimate", "SE", "df",
                   "p_value", "p_adj", "CI_low", "CI_high"),
    "bootstrap": ("protocol", "question", "config", "baseline", "estimate", "boot_SE", "CI_low",
                  "CI_high", "ci_level", "n_users", "verdict"),
    "paired": ("protocol", "question", "config", "baseline", "test", "n", "estimate", "p_value",
               "p_adj", "effect_size_type", "effect_size", "es_CI_low", "es_CI_high"),
    "power": ("protocol", "question", "config", "baseline", "test", "seed_mde", "user_mde",
              "observed", "target_mde", "seeds_needed"),
    "costs": ("protocol", "question", "config", "baseline", "metric", "mean_config",
              "mean_baseline", "ratio", "simulated"),
}


def _cell(value, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if (column.startswith("p_") or "_p_" in column or column.endswith("_p")) and value < 1e-4:
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
    from rich.markup import escape
    from rich.table import Table

    notes = df.attrs.get("note") or []
    notes = [notes] if isinstance(notes, str) else list(notes)
    shown = [c for c in _SHOWN.get(name, df.columns) if c in df.columns]
    for col in ("dataset", "split", "protocol"):  # one value throughout: said once, below the table
        if col in shown and df[col].nunique(dropna=False) == 1:
            shown.remove(col)
            notes.append(f"{col}: {df[col].iloc[0]}")
    if name == "assumptions" and "note" in df.columns:  # per-test reasons go below the table
        notes += [f"{t}: {n}" for t, n in zip(df["test"], df["note"]) if isinstance(n, str) and n]
    if len(shown) < len(df.columns):
        notes.append(f"(more columns in stats/{name}.csv)")
    df = df[shown]
    table = Table(title=f"{name}: {df.attrs.get('method', name)}", title_justify="left",
                  caption=escape("\n".join(notes)) or None, caption_justify="left")
    for col in df.columns:
        numeric = df[col].dtype.kind in "fiu"
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(escape(_cell(v, c)) for v, c in zip(row, df.columns)))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `pyrec` app."""

    @app.command("stats")
    def stats_cmd(
        results_dir: Path = typer.Argument(
            ..., help="A `pyrec evaluate` results folder (runs.parquet)."),
        metric: str = typer.Option(None, "--metric", "-m",
                                   help="Metric to analyse (default: the plan's, ndcg@10)."),
        p_adjust: str = typer.Option(None, "--p-adjust",
                                     help="Multiplicity correction within each question: holm "
                                          "(default) or BH."),
        margin: float = typer.Option(None, "--margin", help="Equivalence margin in metric units "
                                     "(default: the plan's, 0.005)."),
        alpha: float = typer.Option(None, "--alpha", help="Significance level (default 0.05)."),
        bootstrap: int = typer.Option(None, "--bootstrap",
                                      help="User-cluster bootstrap replicates (default 2000)."),
        target_mde: float = typer.Option(None, "--target-mde", help="Also report the seeds the "
                                         "blocked model needs to detect this difference."),
        factors: str = typer.Option(None, "--factors", "-f", help="Also fit the factorial ANOVA "
                                    "on these comma-separated factors (balanced designs only)."),
    ) -> None:
        """The planned analysis in R: Q1-Q3 as contrasts over splits and over users.

        Reads the plan from RESULTS_DIR/analysis.json (the config's [analysis] table), prints
        the tables and writes each as CSV and JSON into RESULTS_DIR/stats/<metric>/.
        """
        import warnings

        from rich.console import Console
        from rich.markup import escape

        from pyrec.cli._errors import fail
        from pyrec.diagnostics import PyrecError
        from pyrec.stats import run_all, stats_dir

        console = Console(width=max(Console().width, 130))
        if p_adjust is not None and p_adjust not in ("holm", "BH", "bonferroni", "none"):
            fail(f"--p-adjust must be holm, BH, bonferroni or none (got {p_adjust!r}).")
        factor_list = [f.strip() for f in factors.split(",") if f.strip()] if factors else None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tables = run_all(results_dir, metric=metric, factors=factor_list, alpha=alpha,
                                 p_adjust=p_adjust, margin=margin, bootstrap=bootstrap,
                                 target_mde=target_mde)
        except PyrecError as exc:
            fail(exc)
        for w in caught:
            console.print(f"[yellow]Note:[/] {escape(str(w.message))}", highlight=False)
        first = next(iter(tables.values()), None)
        for n in (first.attrs.get("design_notes", []) if first is not None else []):
            console.print(f"[yellow]Design:[/] {escape(n)}", highlight=False)
        for name in sorted(tables, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER)):
            render(console, name, tables[name])
        used = first.attrs.get("metric") if first is not None else None
        console.print(f"Tables written to {stats_dir(results_dir, used or metric or 'ndcg@10')} "
                      "(CSV and JSON).")
