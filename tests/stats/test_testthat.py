"""Run the R-side testthat suite (r_scripts/tests/testthat) from pytest, so CI runs it too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
res <- as.data.frame(testthat::test_dir(args[1], reporter = "silent",
                                        stop_on_failure = FALSE))
cat(sprintf("PYREC_TESTTHAT tests=%d expectations=%d failed=%d errors=%d skipped=%d\n",
            nrow(res), sum(res$nb), sum(res$failed), sum(res$error), sum(res$skipped)))
bad <- res[res$failed > 0 | res$error, c("file", "test")]
if (nrow(bad)) cat(paste("FAILED:", bad$file, "::", bad$test), sep = "\n")
"""


def run_testthat(test_dir: Path) -> tuple[dict[str, int], str]:
    """Run testthat on ``test_dir``; returns its counts and the full output."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript not on PATH (install R: bash scripts/setup.sh)")
    out = subprocess.run([rscript, "-e", SCRIPT, str(test_dir)], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("PYREC_TESTTHAT")), None)
    assert out.returncode == 0 and line is not None, text[-3000:]
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}, text


@pytest.mark.r
def test_testthat_suite_passes():
    counts, text = run_testthat(REPO / "r_scripts" / "tests" / "testthat")
    assert counts["failed"] == 0 and counts["errors"] == 0, text[-3000:]
    assert counts["tests"] >= 15 and counts["expectations"] >= 90, counts


@pytest.mark.r
def test_a_failing_expectation_is_reported(tmp_path):
    (tmp_path / "test-broken.R").write_text(
        'test_that("broken", { expect_equal(1, 2) })\n'
        'test_that("erroring", { stop("boom") })\n', encoding="utf-8")
    counts, text = run_testthat(tmp_path)
    assert counts["failed"] == 1 and counts["errors"] == 1, text
    assert "FAILED: test-broken.R :: broken" in text and ":: erroring" in text
