"""The bridge itself: locating the R scripts, lazy rpy2, install hints, R errors as RBridgeError."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from pyrec.diagnostics import RBridgeError


def test_import_pyrec_stats_does_not_start_r():
    code = ("import sys, pyrec, pyrec.stats; "
            "print(any(m.startswith(('rpy2', 'statsmodels')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


def test_missing_rpy2_says_how_to_install(monkeypatch):
    from pyrec.stats import _bridge, _rpy2

    monkeypatch.setattr(_bridge, "_state", {})
    monkeypatch.setattr(_rpy2, "_state", {})
    monkeypatch.setitem(sys.modules, "rpy2", None)  # makes `import rpy2...` raise ImportError
    monkeypatch.setitem(sys.modules, "rpy2.robjects", None)
    with pytest.raises(RBridgeError, match="bash scripts/setup.sh.*rpy2==3.5.17") as info:
        _rpy2.import_rpy2()
    assert "ModuleNotFoundError" in str(info.value)
    with pytest.raises(RBridgeError, match="need R and the rpy2 package"):
        from pyrec.stats import anova

        anova(pd.DataFrame({"metric": ["ndcg@10"] * 4, "value": [1.0, 2, 3, 4],
                            "architecture": list("aabb"), "optimization": "none",
                            "backend": "cpu"}))


def test_r_scripts_dir_from_env_and_default(monkeypatch, tmp_path):
    from pyrec.stats import r_scripts_dir

    monkeypatch.delenv("PYREC_R_SCRIPTS", raising=False)
    default = r_scripts_dir()
    assert (default / "utils_stats.R").is_file() and default.name == "r_scripts"
    monkeypatch.setenv("PYREC_R_SCRIPTS", str(default))
    assert r_scripts_dir() == default
    monkeypatch.setenv("PYREC_R_SCRIPTS", str(tmp_path))
    with pytest.raises(RBridgeError, match=r"r_scripts/ folder \(with utils_stats.R\) was not found.*Set PYREC_R_SCRIPTS"):
        r_scripts_dir()


@pytest.mark.r
def test_r_error_surfaces_with_the_r_message(r_ready):
    from pyrec.stats import anova, call_r

    runs = pd.DataFrame({"metric": "ndcg@10", "value": [0.1, 0.2, 0.3, 0.4],
                         "architecture": ["gnn", "gnn", "llm", "llm"], "optimization": "none",
                         "backend": "cpu"})
    with pytest.raises(RBridgeError, match="factor 'optimization' has only one level \\('none'\\)"):
        anova(runs, drop_single=False)
    with pytest.raises(RBridgeError, match="R pyrec_tukey\\(\\) failed: 'data' has no column"):
        call_r("pyrec_tukey", data=runs, factor="nope")
    all_na = runs.assign(value=float("nan"))
    with pytest.raises(RBridgeError, match="metric 'ndcg@10' has only missing \\(NA\\) values"):
        anova(all_na, factors=["architecture"])


@pytest.mark.r
def test_child_python_processes_still_work_after_r_started(r_ready):
    """rpy2 sets LD_LIBRARY_PATH; inherited, it made a child python lose its site-packages."""
    from pyrec.stats import call_r

    call_r("pyrec_tukey", data=pd.DataFrame({"g": list("aabb"), "value": [1.0, 2, 3, 5]}),
           factor="g")
    out = subprocess.run([sys.executable, "-c", "import pandas, pyrec.stats; print('ok')"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.r
def test_r_warnings_become_data_warnings(r_ready):
    from pyrec.diagnostics import DataWarning
    from pyrec.stats import call_r
    from pyrec.stats._bridge import r_env

    r_env()
    with pytest.warns(DataWarning, match="R pyrec_py_call_probe\\(\\): careful"):
        from pyrec.stats._rpy2 import import_rpy2

        ro = import_rpy2()
        ro.r["assign"]("pyrec_py_call_probe", ro.r("function() { warning('careful'); "
                                                   "data.frame(x = 1) }"), envir=r_env())
        out = call_r("pyrec_py_call_probe")
    assert out["x"].tolist() == [1.0]
