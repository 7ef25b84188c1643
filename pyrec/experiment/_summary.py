"""What `pyrec evaluate` prints at the end: skipped configurations, the summary table, R stats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["SUMMARY_METRICS", "print_skipped", "print_summary", "run_stats", "summary_table"]

#: metrics of the closing table (mean ± sd over seeds per configuration)
SUMMARY_METRICS = ("ndcg@10", "recall@10", "latency_p99_ms", "train_time_s")
FACTORS = ("architecture", "optimization", "backend")
_HEADERS = {"latency_p99_ms": "p99 latency (ms)", "train_time_s": "train time (s)"}


def summary_table(runs: pd.DataFrame, metrics=SUMMARY_METRICS, protocol: str | None = None) -> pd.DataFrame:
    """Mean and sd over seeds per configuration.

    Args:
        runs: the tidy runs table.
        metrics: metric names to show (absent ones are left out).
        protocol: keep rows of this protocol only (default: the first one in ``runs``).

    Returns:
        DataFrame indexed by ``config`` (in first-appearance order) with columns ``n_seeds`` and
        ``<metric>_mean`` / ``<metric>_sd`` per metric (sd is NaN with one seed).
    """
    if runs.empty:
        return pd.DataFrame()
    protocol = protocol or runs["protocol"].iloc[0]
    df = runs[(runs["protocol"] == protocol) & runs["metric"].isin(metrics)]
    order = list(dict.fromkeys(runs["config"]))
    agg = df.groupby(["config", "metric"])["value"].agg(["mean", "std"]).unstack("metric")
    out = pd.DataFrame(index=pd.Index([c for c in order if c in agg.index], name="config"))
    out["n_seeds"] = runs.groupby("config")["seed"].nunique().reindex(out.index)
    for m in metrics:
        if ("mean", m) in agg.columns:
            out[f"{m}_mean"] = agg[("mean", m)].reindex(out.index)
            out[f"{m}_sd"] = agg[("std", m)].reindex(out.index)
    return out


def print_skipped(console, skipped) -> None:
    """Print each skipped configuration with its reason."""
    if not skipped:
        return
    from rich.table import Table

    table = Table(title="Skipped configurations", title_justify="left")
    table.add_column("config")
    table.add_column("reason")
    for s in skipped:
        table.add_row(s.config, s.reason)
    console.print(table)


def _fmt(mean: float, sd: float, digits: int) -> str:
    if pd.isna(mean):
        return "-"
    return f"{mean:.{digits}f}" if pd.isna(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def print_summary(console, result) -> None:
    """Print the mean ± sd table, the run counts, failures and where the results are."""
    from rich.table import Table

    summary = summary_table(result.runs)
    protocol = result.runs["protocol"].iloc[0] if not result.runs.empty else "-"
    table = Table(title=f"{result.config.name}: mean ± sd over seeds ({protocol})", title_justify="left")
    table.add_column("config", overflow="fold")
    table.add_column("seeds", justify="right")
    for col in SUMMARY_METRICS:
        table.add_column(_HEADERS.get(col, col), justify="right")
    digits = {"ndcg@10": 4, "recall@10": 4, "latency_p99_ms": 3, "train_time_s": 1}
    for config, row in summary.iterrows():
        cells = [_fmt(row.get(f"{m}_mean"), row.get(f"{m}_sd"), digits.get(m, 3)) for m in SUMMARY_METRICS]
        table.add_row(str(config), str(int(row["n_seeds"])), *cells)
    console.print(table)
    console.print(
        f"{result.n_ran} runs finished now, {result.n_resumed} resumed, {len(result.failed)} failed, "
        f"{len(result.skipped)} configurations skipped; wall time {result.wall_time_s:.1f} s."
    )
    if len(result.failed):
        console.print(f"[red]Failed runs[/] are listed in {result.out / 'failed.csv'} (tracebacks in logs/).")
    console.print(f"Results: {result.out}")


def run_stats(console, result) -> Path | None:
    """Run the R statistical evaluation (``pyrec.stats.run_all``) when R and rpy2 are present.

    Analyses ``ndcg@10`` by the factors of :data:`FACTORS` that vary (``run_all`` falls back to a
    one-way ANOVA on ``config`` when none does) and prints the ANOVA table.

    Returns:
        the folder the tables were written to (``<out>/stats``), or None when stats did not run.
    """
    if result.runs.empty:
        return None
    try:
        from pyrec.stats import run_all
    except ImportError as exc:
        console.print(f"Statistics: pyrec.stats is not available ({exc}); skipped.")
        return None
    from pyrec.diagnostics import RBridgeError

    if result.runs["seed"].nunique() < 2 or result.runs["config"].nunique() < 2:
        console.print("Statistics: skipped (an ANOVA needs two configurations and two seeds).")
        return None
    factors = [f for f in FACTORS if result.runs[f].nunique() > 1] or list(FACTORS)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables = run_all(result.out, metric="ndcg@10", factors=factors)
    except RBridgeError as exc:
        console.print(f"Statistics: R is not available, so the ANOVA was not run ({exc}). "
                      "Results are complete; run `pyrec stats` once R and rpy2 are installed.")
        return None
    except Exception as exc:  # noqa: BLE001 - the experiment's results stand even when the statistics fail
        console.print(f"[yellow]Statistics failed[/] ({type(exc).__name__}: {exc}); results are intact.")
        return None
    where = Path(result.out) / "stats"
    anova = tables.get("anova")
    if anova is not None and len(anova):
        from rich.table import Table

        cols = [c for c in ("term", "df", "statistic", "p_value", "eta2_partial") if c in anova.columns]
        table = Table(title=f"ANOVA of ndcg@10 ({anova.attrs.get('method', 'R')})", title_justify="left")
        for c in cols:
            table.add_column(c, justify="left" if c == "term" else "right")
        for _, row in anova[cols].iterrows():
            table.add_row(*["" if pd.isna(v) else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
        console.print(table)
    console.print(f"Statistics (R): {len(tables)} tables (ANOVA, assumptions, Tukey, effect sizes, ...) in {where}")
    return where
