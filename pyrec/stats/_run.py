"""The whole statistical evaluation of a `pyrec evaluate` results folder, and saving its tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pyrec.diagnostics import DataError, PyrecError
from pyrec.stats import api
from pyrec.stats._bridge import as_str_list

__all__ = ["canonical_metric", "read_plan", "read_results", "read_table", "run_all", "save_tables",
           "stats_dir"]


def read_table(path: Path) -> pd.DataFrame:
    """A results table (``.parquet``, else CSV) read whole.

    Raises:
        DataError: the file cannot be read (truncated, not written by pyrec), naming it.
    """
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow/pandas raise many types on bad files
        raise DataError(f"{path} cannot be read ({type(exc).__name__}: {exc}); it may be "
                        "truncated or not written by pyrec. Re-run `pyrec evaluate` (it "
                        "resumes and rewrites it).") from None


def read_results(results_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Read ``runs.parquet`` (else ``runs.csv``) and, when present, ``per_user.parquet``.

    Returns:
        (runs, per_user or None).

    Raises:
        DataError: the folder or its runs table is missing.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise DataError(f"The results folder {str(folder)!r} does not exist.")
    if (folder / "runs.parquet").is_file():
        runs = read_table(folder / "runs.parquet")
    elif (folder / "runs.csv").is_file():
        runs = read_table(folder / "runs.csv")
    else:
        raise DataError(f"{str(folder)!r} holds no runs.parquet or runs.csv; is it a "
                        "`pyrec evaluate` results folder?")
    per_user = folder / "per_user.parquet"
    return runs, (read_table(per_user) if per_user.is_file() else None)


def read_plan(results_dir: str | Path) -> dict[str, Any]:
    """The planned analysis of a results folder: its ``analysis.json`` (written by `pyrec
    evaluate` from the config's ``[analysis]`` table), or ``{}`` (R's defaults) when absent.

    Raises:
        DataError: ``analysis.json`` is not valid JSON.
    """
    path = Path(results_dir) / "analysis.json"
    if not path.is_file():
        return {}
    try:
        plan = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable analysis plan ({exc}).") from None
    if not isinstance(plan, dict):
        raise DataError(f"{path}: the analysis plan must be a JSON object of settings (e.g. "
                        f'{{"margin": 0.005}}), not a {type(plan).__name__}.')
    return plan


def stats_dir(results_dir: str | Path, metric: str) -> Path:
    """``RESULTS_DIR/stats/<metric>/``: where the tables of one metric are written."""
    safe = "".join(c if c.isalnum() or c in "@._-" else "_" for c in metric)
    return Path(results_dir) / "stats" / safe


def run_all(results_dir: str | Path, metric: str | None = None,
            factors: Sequence[str] | None = None, *, save: bool = True,
            alpha: float | None = None, **plan: Any) -> dict[str, pd.DataFrame]:
    """The planned analysis of a results folder (R ``pyrec_analysis``), and optionally the
    factorial ANOVA.

    The analysis plan is the folder's ``analysis.json`` updated by ``metric``, ``alpha`` and the
    keyword settings (``p_adjust``, ``margin``, ``bootstrap``, ``target_mde``, ``contrasts``,
    ...; see ``r_scripts/stats_design.R``). `pyrec stats`, ``pyrec_stats()`` in R and the report
    compute their tables with the same R function on the same inputs.

    Tables (keys): ``contrasts`` (the answers), ``design``, ``seed_level``, ``blocking``,
    ``user_level``, ``bootstrap``, ``paired``, ``power``, ``costs``; with ``factors``, also the
    factorial ``anova``, ``assumptions`` and ``effect_sizes`` (refused by R, and listed in
    ``skipped``, where the design leaves cells empty); ``skipped`` (table, reason).

    Args:
        results_dir: a `pyrec evaluate` results folder.
        metric: metric to analyse (default: the plan's, else ``"ndcg@10"``).
        factors: experiment factors of an additional factorial ANOVA (None: none).
        save: write every table to ``results_dir/stats/<metric>/`` (CSV + JSON).
        alpha: significance level (default: the plan's, else 0.05).
        **plan: other plan settings.

    Returns:
        dict table name -> DataFrame (``attrs``: method, note, design_notes).

    Raises:
        DataError: missing folder/tables or unknown metric.
        RBridgeError: R or rpy2 unavailable.
    """
    from pyrec.stats._bridge import r_env

    r_env()  # fail early, with the install hint, when R is missing
    runs, per_user = read_results(results_dir)
    file_plan = read_plan(results_dir)
    given = {k: v for k, v in plan.items() if v is not None}
    settings = {**file_plan, **given}
    # the plan's margin is in the units of the plan's metric; another metric needs its own
    settings.setdefault("margin_metric", file_plan.get("metric", "ndcg@10"))
    if metric is not None:
        settings["metric"] = metric
    if alpha is not None:
        settings["alpha"] = alpha
    metric = settings.setdefault("metric", "ndcg@10")
    missing = [c for c in ("metric", "value", "config", "seed") if c not in runs.columns]
    if missing:
        raise DataError(f"{str(Path(results_dir))!r}: the runs table has no column(s) {missing}; "
                        f"it has {list(runs.columns)}. Is it a `pyrec evaluate` results folder?")
    metric = canonical_metric(metric, set(runs["metric"].dropna().astype(str)))
    if settings["margin_metric"] == settings["metric"] or "margin" in given:
        settings["margin_metric"] = metric
    settings["metric"] = metric
    tables = api.analysis(runs, per_user, settings)
    if factors:
        factors = as_str_list(factors, "factors", "run_all")
        unknown = [f for f in factors if f not in runs.columns]
        if unknown:
            raise DataError(f"factor(s) {unknown} are not columns of the runs table; choose among "
                            f"{[c for c in runs.columns if c not in ('value', 'unit', 'run_id')]}.")
        skipped = [tuple(r) for r in tables.pop("skipped", pd.DataFrame()).itertuples(index=False)]
        for name, fn in (("anova", api.anova), ("assumptions", api.assumptions),
                         ("effect_sizes", api.effect_sizes)):
            try:
                tables[name] = fn(runs, metric, factors, alpha=settings.get("alpha", 0.05)) \
                    if name != "effect_sizes" else fn(runs, metric, factors)
            except PyrecError as exc:
                skipped.append((name, str(exc)))
        if skipped:
            tables["skipped"] = pd.DataFrame(skipped, columns=["table", "reason"])
            tables["skipped"].attrs = {"method": "Tables that could not be computed", "note": []}
    if save:
        save_tables(tables, stats_dir(results_dir, metric))
    return tables


def canonical_metric(metric: str, available: set[str]) -> str:
    """``metric`` as written in the runs table (``HR@10`` -> ``hit@10``, ``NDCG@10`` -> ``ndcg@10``).

    Raises:
        DataError: the metric is not in ``available``, naming those that are.
    """
    from pyrec.metrics._names import parse_metric

    if metric in available:
        return metric
    try:
        candidate = str(parse_metric(metric))
    except PyrecError:  # not a ranking metric (latency_p99_ms, train_time_s, ...)
        candidate = metric.lower()
    if candidate in available:
        return candidate
    raise DataError(f"metric {metric!r} is not in the results; available: {sorted(available)}.")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def save_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write each table as ``<name>.csv`` and ``<name>.json`` (method, attrs, rows).

    JSON rows are records with NaN/NA as null; ``out_dir/index.json`` lists the tables.

    Returns:
        the files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    old_index = out / "index.json"
    if old_index.is_file():  # tables of an earlier run (e.g. with --factors) are not left behind
        try:
            previous = json.loads(old_index.read_text("utf-8"))
        except (OSError, ValueError):
            previous = {}
        for name in previous if isinstance(previous, dict) else ():
            for suffix in (".csv", ".json"):
                (out / f"{name}{suffix}").unlink(missing_ok=True)
    written = []
    for name, df in tables.items():
        csv = out / f"{name}.csv"
        df.to_csv(csv, index=False)
        doc = {"table": name, "method": df.attrs.get("method", name),
               "attrs": _json_safe(dict(df.attrs)),
               "rows": json.loads(df.to_json(orient="records", force_ascii=False,
                                             double_precision=15))}
        js = out / f"{name}.json"
        js.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        written += [csv, js]
    index = {name: {"method": df.attrs.get("method", name), "rows": len(df)}
             for name, df in tables.items()}
    (out / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False), "utf-8")
    return written + [out / "index.json"]
