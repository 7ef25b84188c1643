"""Run r_scripts/tests/testthat/test-reticulate.R (pyrec from R through reticulate) from pytest.

The R test trains MF-BPR for one epoch on the real MovieLens-100K through ``pyrec_evaluate()``
and checks the returned data.frame's columns and types. reticulate is pointed at this very
interpreter (RETICULATE_PYTHON), so R and pytest use the same pyrec.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_dataset

REPO = Path(__file__).resolve().parents[2]
TEST_FILE = REPO / "r_scripts" / "tests" / "testthat" / "test-reticulate.R"
SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
res <- as.data.frame(testthat::test_file(args[1], reporter = "silent", stop_on_failure = FALSE))
cat(sprintf("PYREC_TESTTHAT tests=%d expectations=%d failed=%d errors=%d skipped=%d\n",
            nrow(res), sum(res$nb), sum(res$failed), sum(res$error), sum(res$skipped)))
bad <- res[res$failed > 0 | res$error | res$skipped, c("test", "failed", "error", "skipped")]
if (nrow(bad)) print(bad)
"""


@pytest.mark.r
@pytest.mark.realdata
def test_reticulate_testthat_file_passes(rscript_or_skip):
    require_dataset("ml-100k")
    env = {**os.environ, "RETICULATE_PYTHON": sys.executable, "PYREC_R_SCRIPTS": str(REPO / "r_scripts")}
    env.pop("PYREC_PYTHON", None)
    proc = subprocess.run([rscript_or_skip, "-e", SCRIPT, str(TEST_FILE)], check=False, cwd=TEST_FILE.parent,
                          capture_output=True, text=True, timeout=540, env=env)
    text = proc.stdout + proc.stderr
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("PYREC_TESTTHAT")), None)
    assert proc.returncode == 0 and line is not None, text[-3000:]
    counts = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    assert counts["failed"] == 0 and counts["errors"] == 0, text[-3000:]
    # every test ran: nothing skipped (pyrec importable, data present), real expectations made
    assert counts["skipped"] == 0 and counts["tests"] >= 6 and counts["expectations"] >= 40, text[-3000:]
