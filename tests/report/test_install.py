"""A regular (non-editable) install finds its R scripts, report template and presets: `pip install`
of the built wheel into a fresh virtual environment runs `pyrec stats` and `pyrec report`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.r

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "stats" / "data" / "ml100k-default"


def test_wheel_install_runs_stats_and_report(tmp_path, rscript_or_skip):
    pytest.importorskip("rpy2")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist"), str(REPO)],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    shutil.rmtree(REPO / "build", ignore_errors=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("pyrec-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    inst = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert inst.returncode == 0, inst.stderr[-2000:]

    results = tmp_path / "results"
    results.mkdir()
    pd.read_csv(FIXTURE / "runs.csv.gz").to_parquet(results / "runs.parquet", index=False)
    pd.read_csv(FIXTURE / "per_user_ndcg10.csv.gz").to_parquet(results / "per_user.parquet", index=False)
    plan = json.loads((FIXTURE / "analysis.json").read_text()) | {"bootstrap": 200}
    (results / "analysis.json").write_text(json.dumps(plan))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYREC_R_SCRIPTS", "PYREC_ANALYSIS_DIR", "PYTHONPATH")}
    where = subprocess.run([str(py), "-c", "import pyrec, pyrec.stats; print(pyrec.__file__); "
                            "print(pyrec.stats.r_scripts_dir())"], capture_output=True, text=True,
                           cwd=tmp_path, env=env, check=True).stdout.split()
    assert where[0].startswith(str(venv)) and where[1].startswith(str(venv)), where
    stats = subprocess.run([str(venv / "bin" / "pyrec"), "stats", str(results)], capture_output=True,
                           text=True, cwd=tmp_path, env=env, timeout=600)
    assert stats.returncode == 0, (stats.stdout + stats.stderr)[-3000:]
    answers = pd.read_csv(results / "stats" / "ndcg@10" / "contrasts.csv")
    assert set(answers["question"]) == {"Q1", "Q2", "Q3"}
    report = subprocess.run([str(venv / "bin" / "pyrec"), "report", str(results)], capture_output=True,
                            text=True, cwd=tmp_path, env=env, timeout=600)
    assert report.returncode == 0, (report.stdout + report.stderr)[-3000:]
    assert "Planned contrasts of ndcg@10" in (results / "report.html").read_text(encoding="utf-8")
