"""Errors, paths and the R data exchange of pyrec.report (no rendering)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from pyrec.cli import app
from pyrec.diagnostics import BackendUnavailable, ConfigError, DataError
from pyrec.report import analysis_dir, frame_for_r, render_report
from pyrec.report._inputs import design_table, write_inputs


def test_missing_results_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        render_report(tmp_path / "nope")
    with pytest.raises(DataError, match="no runs.csv or runs.parquet"):
        render_report(tmp_path)


def test_bad_format_names_the_parameter(tmp_path):
    with pytest.raises(ConfigError, match="'format' parameter of render_report must be one of"):
        render_report(tmp_path, format="docx")


@pytest.mark.skipif(any(shutil.which(e) for e in ("pdflatex", "xelatex", "lualatex", "tectonic")),
                    reason="a LaTeX engine is installed")
def test_pdf_without_latex_says_how_to_install(tmp_path):
    (tmp_path / "runs.csv").write_text("run_id\n", encoding="utf-8")
    with pytest.raises(BackendUnavailable, match="apt-get install texlive"):
        render_report(tmp_path, format="pdf")


def test_analysis_dir_from_env(tmp_path, monkeypatch):
    assert (analysis_dir() / "report.Rmd").is_file()
    monkeypatch.setenv("PYREC_ANALYSIS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="PYREC_ANALYSIS_DIR"):
        analysis_dir()


def test_cli_reports_errors_with_exit_code_2(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_frame_for_r_kinds_and_na():
    df = pd.DataFrame({"s": ["café", None], "i": [1, 2**40], "n": pd.array([3, None], dtype="Int64"),
                       "b": [True, False], "f": [0.5, float("nan")],
                       "c": pd.Categorical(["hybrid+lora", None])})
    out = frame_for_r(df)
    cols = dict(zip(out["names"], out["columns"]))
    assert [cols[c]["kind"] for c in "sinbfc"] == ["character", "double", "integer", "logical",
                                                   "double", "factor"]
    assert cols["s"]["values"] == ["café", ""] and cols["s"]["na"] == [False, True]
    assert cols["i"]["values"] == [1.0, float(2**40)]
    assert cols["n"]["values"] == [3, 0] and cols["n"]["na"] == [False, True]
    assert cols["c"]["levels"] == ["hybrid+lora"] and cols["c"]["na"] == [False, True]


@pytest.mark.realdata
def test_write_inputs_from_parquet_only(tiny_results, tmp_path):
    folder = tmp_path / "res"
    folder.mkdir()
    for f in ("runs.parquet", "per_user.parquet", "config.resolved.toml"):
        shutil.copy(tiny_results / f, folder / f)
    work = tmp_path / "work"
    work.mkdir()
    written = {p.name for p in write_inputs(folder, work, "ndcg@10")}
    assert written == {"runs.csv.gz", "per_user.csv.gz", "design.csv"}
    runs = pd.read_csv(work / "runs.csv.gz")
    assert len(runs) == len(pd.read_parquet(folder / "runs.parquet"))
    pu = pd.read_csv(work / "per_user.csv.gz")
    assert set(pu["metric"]) == {"ndcg"} and set(pu["k"]) == {10}
    assert set(pu["config"]) == set(runs["config"])


@pytest.mark.realdata
def test_design_table_reads_the_resolved_config(tiny_results):
    design = design_table(tiny_results)
    runs = pd.read_csv(tiny_results / "runs.csv").drop_duplicates("config")
    assert set(design["config"]) >= set(runs["config"])
    merged = runs.merge(design, on="config", suffixes=("", "_design"))
    assert (merged["backend"] == merged["backend_design"]).all()
    assert (merged["serve_backend"] == "fpga-sim").tolist() == merged["simulated"].tolist()
    text = merged["architecture"].isin(["llm", "hybrid"])
    assert (merged.loc[~text, "encoder_mode"].fillna("") == "").all()  # no text encoder
    assert merged.loc[text, "encoder_mode"].isin(["frozen", "full", "lora"]).all()


def test_design_table_needs_no_data_at_hand(tmp_path, monkeypatch):
    """A results folder whose config names an own-data description by a path relative to another
    working folder (or copied to a machine without the data) still gets its design table: the
    report reads the resolved config without checking the dataset (#16 fresh-clone finding)."""
    from pyrec.report._inputs import design_table

    (tmp_path / "config.resolved.toml").write_text(
        'dataset = "../elsewhere/my.toml"\nmin_rating = 3.0\n'
        '[[configurations]]\narchitecture = "baseline"\nmodel = "pop"\n'
        '[[configurations]]\narchitecture = "hybrid"\n')
    monkeypatch.chdir(tmp_path)
    table = design_table(tmp_path)
    assert table is not None and list(table["config"]) == ["pop@cpu", "hybrid@cpu"]
    assert list(table["encoder_mode"]) == ["", "frozen"]
