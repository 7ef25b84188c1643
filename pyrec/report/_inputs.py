"""Prepare a results folder for the R report: CSV inputs R can read without the arrow package.

R reads only CSV here (arrow is not a dependency of the R side), so the report's working folder
gets, when the results folder lacks them: ``runs.csv.gz`` (from ``runs.parquet``),
``per_user.csv.gz`` (the per-user rows of the report metric, from ``per_user.parquet``) and
``design.csv`` (each configuration's text-encoder mode, read from ``config.resolved.toml``, so the
report can tell LoRA from full fine-tuning).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from pyrec.diagnostics import DataError, param_error

__all__ = ["check_results_dir", "design_table", "write_inputs"]

log = logging.getLogger("pyrec.report")

_TEXT_ARCHS = ("llm", "hybrid")


def check_results_dir(results_dir: str | Path) -> Path:
    """Return the folder as a Path after checking it holds ``runs.csv`` or ``runs.parquet``.

    Raises:
        DataError: the folder or its runs table is missing.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise DataError(f"The results folder {str(folder)!r} does not exist; run `pyrec evaluate` first.")
    if not any((folder / f).is_file() for f in ("runs.csv", "runs.csv.gz", "runs.parquet")):
        raise DataError(f"{str(folder)!r} holds no runs.csv or runs.parquet; is it a "
                        "`pyrec evaluate` results folder?")
    return folder


def _split_metric(metric: str) -> tuple[str, int | None]:
    m = re.fullmatch(r"([a-z_]+)@(\d+)", metric)
    if not m:
        raise param_error("metric", "render_report", "a ranking metric like 'ndcg@10'", metric)
    return m.group(1), int(m.group(2))


def design_table(results_dir: Path) -> pd.DataFrame | None:
    """Each configuration's factors and text-encoder mode, from ``config.resolved.toml``.

    Returns:
        DataFrame(config, architecture, model, optimization, backend, train_backend,
        serve_backend, encoder_mode) with encoder_mode in {"frozen", "full", "lora", ""} ("" for
        models without a text encoder); None when the config is missing or unreadable.
    """
    path = results_dir / "config.resolved.toml"
    if not path.is_file():
        return None
    try:
        from pyrec.experiment import expand_design, load_config

        specs, _ = expand_design(load_config(path, check_data=False))  # the report needs no data
    except Exception as exc:  # noqa: BLE001 - the report must still render; the gap is noted in it
        log.warning("cannot read %s for the report's design table: %s", path, exc)
        return None
    rows = []
    for s in specs:
        if s.optimization == "lora":
            mode = "lora"
        elif s.architecture in _TEXT_ARCHS:
            mode = str(s.model_settings.get("encoder_mode", "frozen"))
        else:
            mode = ""
        rows.append({"config": s.label, "architecture": s.architecture, "model": s.model,
                     "optimization": s.optimization, "backend": s.backend,
                     "train_backend": s.train_backend, "serve_backend": s.serve_backend,
                     "encoder_mode": mode})
    return pd.DataFrame(rows)


def write_inputs(results_dir: Path, workdir: Path, metric: str = "ndcg@10") -> list[Path]:
    """Write the CSV inputs the report needs into ``workdir`` (see the module docstring).

    Args:
        results_dir: a checked results folder (:func:`check_results_dir`).
        workdir: the report's working folder (the Rmd is rendered there).
        metric: the report metric, e.g. ``"ndcg@10"``; per-user rows of other metrics are dropped.

    Returns:
        the files written.
    """
    name, k = _split_metric(metric)
    written: list[Path] = []
    from pyrec.stats._run import read_table as read_parquet

    if not any((results_dir / f).is_file() for f in ("runs.csv", "runs.csv.gz")):
        out = workdir / "runs.csv.gz"
        read_parquet(results_dir / "runs.parquet").to_csv(out, index=False)
        written.append(out)
    has_pu_csv = any((results_dir / f).is_file() for f in ("per_user.csv", "per_user.csv.gz"))
    if not has_pu_csv and (results_dir / "per_user.parquet").is_file():
        pu = read_parquet(results_dir / "per_user.parquet")
        if len(pu):
            keep = (pu["metric"].astype(str) == name) & (pu["k"] == k) if "k" in pu else \
                pu["metric"].astype(str) == metric
            out = workdir / "per_user.csv.gz"
            pu[keep].to_csv(out, index=False)
            written.append(out)
    design = design_table(results_dir)
    if design is not None and len(design):
        out = workdir / "design.csv"
        design.to_csv(out, index=False)
        written.append(out)
    return written
