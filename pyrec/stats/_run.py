"""The whole statistical evaluation of a `pyrec evaluate` results folder, and saving its tables."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pyrec.diagnostics import DataError, DataWarning, PyrecError
from pyrec.stats import api
from pyrec.stats._bridge import as_str_list

__all__ = ["read_results", "run_all", "save_tables"]


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
        runs = pd.read_parquet(folder / "runs.parquet")
    elif (folder / "runs.csv").is_file():
        runs = pd.read_csv(folder / "runs.csv")
    else:
        raise DataError(f"{str(folder)!r} holds no runs.parquet or runs.csv; is it a "
                        "`pyrec evaluate` results folder?")
    per_user = folder / "per_user.parquet"
    return runs, (pd.read_parquet(per_user) if per_user.is_file() else None)


def _stack(frames: list[pd.DataFrame], method: str) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    notes = [n for f in frames for n in f.attrs.get("note", [])]
    out.attrs = {"method": method, "note": list(dict.fromkeys(notes))}
    return out


def run_all(results_dir: str | Path, metric: str = "ndcg@10",
            factors: Sequence[str] = api.DEFAULT_FACTORS, *, save: bool = True,
            alpha: float = 0.05) -> dict[str, pd.DataFrame]:
    """ANOVA, assumption checks, effect sizes, Tukey, emmeans, Friedman and paired tests.

    Tables (keys of the result): ``anova``, ``assumptions``, ``effect_sizes``, ``tukey`` (between
    configs), ``emmeans`` (each factor's marginal means), ``friedman`` and ``friedman_posthoc``
    (when several datasets), ``paired`` (per-user tests of every config pair, per dataset/split/
    protocol, when ``per_user.parquet`` exists) and ``skipped`` (table, reason) for any table R
    could not compute. When the metric's rows span several datasets, splits or protocols, those
    columns are added to the factors; when none of the factors varies but ``config`` does, the
    ANOVA is one-way on ``config`` (both with a DataWarning).

    Args:
        results_dir: a `pyrec evaluate` results folder.
        metric: metric to analyse, e.g. ``"ndcg@10"``.
        factors: experiment factors; one-level factors are dropped by R with a note.
        save: also write every table to ``results_dir/stats/`` (CSV + JSON; :func:`save_tables`).
        alpha: significance level of the notes.

    Returns:
        dict table name -> DataFrame (``attrs`` carry method and notes).

    Raises:
        DataError: missing folder/tables or unknown metric.
        RBridgeError: R or rpy2 unavailable.
    """
    from pyrec.stats._bridge import r_env

    r_env()  # fail early, with the install hint, when R is missing
    runs, per_user = read_results(results_dir)
    factors = as_str_list(factors, "factors", "run_all")
    if metric not in set(runs["metric"].astype(str)):
        raise DataError(f"metric {metric!r} is not in {str(Path(results_dir) / 'runs')}.*; "
                        f"available: {sorted(runs['metric'].dropna().astype(str).unique())}.")
    rows = runs[runs["metric"].astype(str) == metric]
    for col in ("dataset", "split", "protocol"):
        if col in rows and col not in factors and rows[col].nunique() > 1:
            warnings.warn(f"the {metric!r} results span several {col} values; {col!r} is added "
                          "to the ANOVA factors.", DataWarning, stacklevel=2)
            factors.append(col)
    if not any(rows[f].nunique() > 1 for f in factors if f in rows) and "config" in rows \
            and rows["config"].nunique() > 1:
        warnings.warn(f"no factor among {factors} varies in the {metric!r} results; the ANOVA "
                      "is one-way on 'config'.", DataWarning, stacklevel=2)
        factors = ["config"]
    tables: dict[str, pd.DataFrame] = {}
    skipped: list[tuple[str, str]] = []

    def attempt(name: str, fn) -> None:
        try:
            tables[name] = fn()
        except PyrecError as exc:
            skipped.append((name, str(exc)))

    attempt("anova", lambda: api.anova(runs, metric, factors, alpha=alpha))
    attempt("assumptions", lambda: api.assumptions(runs, metric, factors, alpha=alpha))
    attempt("effect_sizes", lambda: api.effect_sizes(runs, metric, factors))
    attempt("tukey", lambda: api.tukey(runs, metric, "config"))
    varying = [f for f in factors if rows[f].nunique() > 1]
    if varying:
        attempt("emmeans", lambda: _stack(
            [api.emmeans(runs, metric, varying, specs=f) for f in varying],
            f"emmeans pairwise contrasts of {metric} (Tukey-adjusted) for each factor"))
    if "dataset" in rows and rows["dataset"].nunique() > 1:
        attempt("friedman", lambda: api.friedman(rows, metric))
        attempt("friedman_posthoc", lambda: api.friedman_posthoc(rows, metric))
    if per_user is not None and len(per_user):
        attempt("paired", lambda: _paired(runs, per_user, metric))
    if skipped:
        tables["skipped"] = pd.DataFrame(skipped, columns=["table", "reason"])
        tables["skipped"].attrs = {"method": "Tables that could not be computed"}
    if save:
        save_tables(tables, Path(results_dir) / "stats")
    return tables


def _paired(runs: pd.DataFrame, per_user: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Paired tests of every config pair, separately per (dataset, split, protocol)."""
    design = [c for c in ("dataset", "split", "protocol") if c in runs.columns]
    meta = runs.drop_duplicates("run_id")[["run_id", *design]]
    pu = per_user.merge(meta, on="run_id", how="left") if design else per_user
    frames = []
    for key, sub in (pu.groupby(design, dropna=False, sort=True) if design else [((), pu)]):
        if sub["config"].nunique() < 2:
            continue
        res = api.paired_tests(sub.drop(columns=design), metric)
        key = key if isinstance(key, tuple) else (key,)
        for col, val in zip(design, key):
            res.insert(design.index(col), col, val)
        frames.append(res)
    if not frames:
        raise DataError(f"per_user.parquet has fewer than 2 configs for {metric!r}; no pairs.")
    return _stack(frames, f"Per-user paired tests of {metric} (Holm within each dataset)")


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
    written = []
    for name, df in tables.items():
        csv = out / f"{name}.csv"
        df.to_csv(csv, index=False)
        doc = {"table": name, "method": df.attrs.get("method", name),
               "attrs": _json_safe(dict(df.attrs)),
               "rows": json.loads(df.to_json(orient="records", force_ascii=False))}
        js = out / f"{name}.json"
        js.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        written += [csv, js]
    index = {name: {"method": df.attrs.get("method", name), "rows": len(df)}
             for name, df in tables.items()}
    (out / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False), "utf-8")
    return written + [out / "index.json"]
