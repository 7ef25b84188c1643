"""Render the pyrec RMarkdown report (``analysis/report.Rmd``) from a results folder.

The report is rendered by ``rmarkdown::render`` in an ``Rscript`` subprocess (R's state stays out
of the Python process, and pandoc runs as R expects). The Rmd is copied into a temporary working
folder together with CSV inputs R can read without arrow (:mod:`pyrec.report._inputs`), so neither
the results folder nor the installed ``analysis/`` folder is written to, except the output file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pyrec.diagnostics import RBridgeError, param_error
from pyrec.report._inputs import check_results_dir, write_inputs
from pyrec.report._paths import latex_engine, report_source, rscript

__all__ = ["FORMATS", "render_report"]

log = logging.getLogger("pyrec.report")

FORMATS = ("html", "pdf")
_DRIVER = Path(__file__).with_name("_render.R")


def _check_plan(folder: Path) -> None:
    """Refuse a results folder whose ``analysis.json`` `pyrec stats` would refuse too.

    Raises:
        DataError: unreadable plan. ConfigError: a setting out of range (naming it).
    """
    from pyrec.experiment._config import AnalysisConfig
    from pyrec.stats._run import read_plan

    plan = read_plan(folder)
    try:
        AnalysisConfig.model_validate(plan)
    except ValueError as exc:  # pydantic's ValidationError
        from pyrec.diagnostics import ConfigError

        first = str(exc).splitlines()
        raise ConfigError(f"{folder / 'analysis.json'}: {' '.join(first[1:3]).strip()}") from None


def _r_scripts() -> Path:
    from pyrec.stats._bridge import r_scripts_dir

    return r_scripts_dir()


def render_report(
    results_dir: str | Path,
    format: str = "html",
    out: str | Path | None = None,
    *,
    metric: str | None = None,
    latency: str = "latency_p99_ms",
    title: str | None = None,
    timeout_s: float = 900.0,
    tables_dir: str | Path | None = None,
    protocol: str | None = None,
) -> Path:
    """Render the experiment report of a ``pyrec evaluate`` results folder.

    Contents: design and protocol (dataset, split, evaluation protocol, seeds, hardware, R and
    package versions), results table (mean ± sd and t-based 95% CI per configuration), the R
    planned analysis (R ``pyrec_analysis``: the study's questions as contrasts over splits and over
    users, equivalence, power, costs; the same tables as `pyrec stats`), ggplot2 figures (the
    contrasts with their CIs, ``metric`` vs ``latency`` with the measured Pareto front, training
    time by component, per-user paired differences), simulated
    (fpga-sim) rows marked, and the study's (arXiv 2507.01035) figures beside pyrec's.

    Args:
        results_dir: folder written by ``pyrec evaluate`` (runs.csv or runs.parquet, ...).
        format: ``"html"`` (self-contained, works offline) or ``"pdf"`` (needs a LaTeX engine).
        out: output file; default ``<results_dir>/report.html`` (or ``.pdf``).
        metric: quality metric analysed, e.g. ``"ndcg@10"``; default: the results' planned
            metric (``analysis.json``, as `pyrec stats`), else ``"ndcg@10"``.
        latency: latency metric of the quality-latency figure, e.g. ``"latency_p99_ms"`` (ms).
        title: report title; default ``"pyrec report: <results folder name>"``.
        timeout_s: limit for the R process, s.
        tables_dir: also write the analysis tables the report shows (CSV, one per table) here.
        protocol: the evaluation protocol reported (default: full-ranking when present, else
            the first); a report never pools protocols.

    Returns:
        Path of the rendered file.

    Raises:
        ConfigError: bad ``format`` or ``metric``, or ``analysis/report.Rmd`` not found.
        DataError: the results folder or its runs table is missing.
        BackendUnavailable: no Rscript, or ``format="pdf"`` without a LaTeX engine (the message
            says how to install one).
        RBridgeError: R failed; carries R's error output.
    """
    if format not in FORMATS:
        raise param_error("format", "render_report", f"one of {list(FORMATS)}", format)
    folder = check_results_dir(results_dir).resolve()
    _check_plan(folder)
    if metric is None:
        from pyrec.stats._run import read_plan

        metric = str(read_plan(folder).get("metric") or "ndcg@10")
    engine = latex_engine() if format == "pdf" else None
    exe = rscript()
    source = report_source()
    r_scripts = _r_scripts()
    target = Path(out) if out is not None else folder / f"report.{format}"
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pyrec-report-") as tmp:
        work = Path(tmp)
        rmd = work / "report.Rmd"
        shutil.copyfile(source, rmd)
        write_inputs(folder, work, metric)
        job = {
            "input": str(rmd), "output": str(target), "workdir": str(work), "format": format,
            "latex_engine": engine or "pdflatex",
            "params": {"results_dir": str(folder), "inputs_dir": str(work),
                       "r_scripts": str(r_scripts), "metric": metric, "latency": latency,
                       "title": title or f"pyrec report: {folder.name}",
                       "tables_dir": str(Path(tables_dir).resolve()) if tables_dir else "",
                       "protocol": protocol or ""},
        }
        job_file = work / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        env = {**os.environ, "PYREC_R_SCRIPTS": str(r_scripts)}
        log.info("rendering %s -> %s", source, target)
        try:
            proc = subprocess.run([exe, "--vanilla", str(_DRIVER), str(job_file)], check=False, capture_output=True,
                                  text=True, timeout=timeout_s, env=env, cwd=work)
        except subprocess.TimeoutExpired as exc:
            raise RBridgeError(f"Rendering the report took longer than {timeout_s:.0f} s and was stopped.") from exc
    if proc.returncode != 0 or not target.is_file():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise RBridgeError(f"rmarkdown::render of {source} failed (exit {proc.returncode}):\n{tail}")
    return target
