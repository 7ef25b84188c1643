"""What `pyrec evaluate` prints at the end: skipped configurations, the summary table, R stats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["SUMMARY_METRICS", "print_skipped", "print_summary", "run_stats", "summary_metrics", "summary_table"]

#: metrics of the closing table at the default k (mean ± sd over seeds per configuration)
SUMMARY_METRICS = ("ndcg@10", "recall@10", "latency_p99_ms", "train_time_s")


def summary_metrics(config) -> tuple[str, ...]:
    """The closing table's metrics for ``config``: NDCG and recall at the k of its analysed
    metric (else its first ``ks``), p99 latency and training time."""
    from pyrec.diagnostics import ConfigError
    from pyrec.metrics._names import parse_metric

    try:
        k = parse_metric(config.analysis.metric).k
    except (ConfigError, TypeError):
        k = config.ks[0]
    return (f"ndcg@{k}", f"recall@{k}", "latency_p99_ms", "train_time_s")
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

    metrics = summary_metrics(result.config)
    summary = summary_table(result.runs, metrics)
    protocol = result.runs["protocol"].iloc[0] if not result.runs.empty else "-"
    table = Table(title=f"{result.config.name}: mean ± sd over seeds ({protocol})", title_justify="left")
    table.add_column("config", overflow="fold")
    table.add_column("seeds", justify="right")
    for col in metrics:
        table.add_column(_HEADERS.get(col, col), justify="right")
    digits = {metrics[0]: 4, metrics[1]: 4, "latency_p99_ms": 3, "train_time_s": 1}
    for config, row in summary.iterrows():
        cells = [_fmt(row.get(f"{m}_mean"), row.get(f"{m}_sd"), digits.get(m, 3)) for m in metrics]
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
    """Run the planned analysis (``pyrec.stats.run_all``) when R and rpy2 are present.

    Analyses the plan's metric (``analysis.json``; ndcg@10 by default) and prints the answers
    to the planned contrasts (Q1-Q3).

    Returns:
        the folder the tables were written to (``<out>/stats/<metric>``), or None when stats did
        not run.
    """
    if result.runs.empty:
        return None
    try:
        from pyrec.stats import run_all, stats_dir
    except ImportError as exc:
        console.print(f"Statistics: pyrec.stats is not available ({exc}); skipped.")
        return None
    from pyrec.diagnostics import RBridgeError

    if result.runs["config"].nunique() < 2:
        console.print("Statistics: skipped (the planned contrasts need two configurations).")
        return None
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables = run_all(result.out)
    except RBridgeError as exc:
        console.print(f"Statistics: R is not available, so the analysis was not run ({exc}). "
                      "Results are complete; run `pyrec stats` once R and rpy2 are installed.")
        return None
    except Exception as exc:  # noqa: BLE001 - the experiment's results stand even when the statistics fail
        console.print(f"[yellow]Statistics failed[/] ({type(exc).__name__}: {exc}); results are intact.")
        return None
    answers = tables.get("contrasts")
    metric = answers.attrs.get("metric", "ndcg@10") if answers is not None else "ndcg@10"
    where = stats_dir(result.out, metric)
    if answers is not None and len(answers):
        from rich.table import Table

        table = Table(title=f"Planned contrasts of {metric}", title_justify="left")
        for c in ("question", "config", "baseline", "estimate", "verdict"):
            table.add_column(c, justify="right" if c == "estimate" else "left")
        for _, row in answers.iterrows():
            table.add_row(str(row["question"]), str(row["config"]), str(row["baseline"]),
                          f"{row['estimate']:+.4f}", str(row["verdict"]))
        console.print(table)
    console.print(f"Statistics (R): {len(tables)} tables (contrasts over splits and users, "
                  f"equivalence, power, costs) in {where}")
    return where
