"""The runner on the real MovieLens-100K: tidy outputs, resume after a kill, failures, --force.

Models are the cheap real ones (popularity, MF-BPR for one epoch) so each test takes seconds; the
full presets are exercised by the slow test at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from pyrec.experiment import _steps, run_experiment
from pyrec.experiment._store import PER_USER_COLUMNS, RUN_COLUMNS

pytestmark = pytest.mark.realdata

BENCH = {"latency_requests": 20, "warmup": 2, "throughput_repeats": 1}
QUALITY = {"ndcg@10", "recall@10", "hit@10", "mrr@10", "map@10"}
PERF = {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_mean_ms", "throughput_users_s",
        "train_time_s", "peak_rss_mib", "peak_rss_delta_mib", "model_size_mib"}


def _config(ml100k_dir, seeds=(0, 1), mf=True, extra=()):
    confs = [{"architecture": "baseline", "model": "pop"}]
    if mf:
        confs.append({"architecture": "baseline", "model": "mf"})
    return {
        "name": "test", "data_dir": str(ml100k_dir.parent), "seeds": list(seeds),
        "configurations": confs + list(extra),
        "models": {"mf": {"epochs": 1, "batch_size": 8192, "embedding_size": 16}},
        "bench": BENCH,
    }


@pytest.fixture
def count_trainings(monkeypatch):
    """Wrap the training adapter; optionally make the n-th call raise."""
    calls: list[tuple[str, int]] = []
    state = {"raise_on": None, "exc": None}
    real = _steps.train_model

    def wrapped(spec, split, seed, ctx):
        calls.append((spec.label, seed))
        if state["raise_on"] is not None and len(calls) == state["raise_on"]:
            raise state["exc"]
        return real(spec, split, seed, ctx)

    monkeypatch.setattr(_steps, "train_model", wrapped)
    return calls, state


def test_resume_after_interrupt_redoes_nothing(tmp_path, ml100k_dir, count_trainings):
    calls, state = count_trainings
    cfg, out = _config(ml100k_dir), tmp_path / "res"
    state.update(raise_on=3, exc=KeyboardInterrupt())  # killed while the 3rd run trains
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, out=out, progress=False, stats=False)
    first = pd.read_parquet(out / "runs.parquet")
    assert sorted(set(zip(first["config"], first["seed"]))) == [("mf@cpu", 0), ("pop@cpu", 0)]
    assert len(list((out / "parts").glob("*.runs.parquet"))) == 2

    calls.clear()
    state.update(raise_on=None)
    result = run_experiment(cfg, out=out, progress=False, stats=False)
    assert calls == [("pop@cpu", 1), ("mf@cpu", 1)]  # finished runs were not trained again
    assert (result.n_planned, result.n_resumed, result.n_ran) == (4, 2, 2)
    runs = result.runs
    assert list(runs.columns) == RUN_COLUMNS
    # MF is an inner product of embeddings: its latency has the bare-arithmetic reference beside it
    bare = {"latency_bare_p50_ms", "serving_overhead_ratio"}
    assert set(runs["metric"]) == QUALITY | PERF | bare | {"epochs_trained", "best_epoch", "seconds_per_epoch"}
    assert set(runs.loc[runs.metric.isin(bare), "config"]) == {"mf@cpu"}
    assert (runs.loc[runs.metric.isin(bare), "value"] > 0).all()
    assert (runs.groupby("run_id")["metric"].apply(lambda m: (QUALITY | PERF) <= set(m))).all()
    assert runs.loc[runs.metric == "epochs_trained", "value"].tolist() == [1.0, 1.0]  # mf, 1 epoch
    again = runs[runs["run_id"].isin(first["run_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, first)  # earlier results intact, byte for byte
    assert runs.loc[runs.metric.isin(QUALITY), "value"].between(0, 1).all()
    assert (runs.loc[runs.metric.isin(PERF - {"train_time_s", "peak_rss_delta_mib"}), "value"] > 0).all()
    assert (runs.loc[runs.metric == "peak_rss_delta_mib", "value"] >= 0).all()
    per_user = pd.read_parquet(out / "per_user.parquet")
    assert list(per_user.columns) == PER_USER_COLUMNS
    assert set(per_user["run_id"]) == set(runs["run_id"])
    # the per-user mean reproduces the summary (users without test items have no rows)
    rid = runs["run_id"].iloc[0]
    pu = per_user[(per_user.run_id == rid) & (per_user.metric == "ndcg")]["value"].mean()
    assert pu == pytest.approx(runs[(runs.run_id == rid) & (runs.metric == "ndcg@10")]["value"].item())
    assert not (runs["simulated"]).any()
    # a third run of the same command trains nothing
    calls.clear()
    assert run_experiment(cfg, out=out, progress=False, stats=False).n_ran == 0 and calls == []


def test_failed_run_recorded_grid_goes_on_and_is_retried(tmp_path, ml100k_dir, count_trainings):
    calls, state = count_trainings
    lora_on_gnn = {"architecture": "gnn", "optimization": "lora"}
    cfg, out = _config(ml100k_dir, seeds=(0, 1, 2), mf=False, extra=[lora_on_gnn]), tmp_path / "res"
    state.update(raise_on=2, exc=RuntimeError("out of memory (simulated by the test)"))
    result = run_experiment(cfg, out=out, progress=False, stats=False)
    assert (result.n_ran, len(result.failed)) == (2, 1)
    failed = pd.read_csv(out / "failed.csv")
    assert failed[["config", "seed"]].values.tolist() == [["pop@cpu", 1]]
    assert failed["error"].item() == "RuntimeError: out of memory (simulated by the test)"
    assert "Traceback" in (out / "logs" / f"{failed['run_id'].item()}.log").read_text()
    skipped = pd.read_csv(out / "skipped.csv")
    assert skipped["config"].tolist() == ["lightgcn+lora@cpu"]
    assert "no text encoder" in skipped["reason"].item()
    assert sorted(result.runs["seed"].unique()) == [0, 2]

    calls.clear()
    state.update(raise_on=None)
    result = run_experiment(cfg, out=out, progress=False, stats=False)
    assert calls == [("pop@cpu", 1)] and result.failed.empty
    assert pd.read_csv(out / "failed.csv").empty


def test_cli_refuses_other_config_unless_forced(tmp_path, ml100k_dir, monkeypatch):
    import tomllib  # noqa: F401  (the config file below is TOML)
    from typer.testing import CliRunner

    from pyrec.cli import app

    cfg_file = tmp_path / "exp.toml"
    cfg_file.write_text(
        f'name = "cli"\ndata_dir = "{ml100k_dir.parent}"\n[bench]\nlatency_requests = 10\nwarmup = 1\n'
        'throughput_repeats = 1\n[[configurations]]\narchitecture = "baseline"\nmodel = "pop"\n'
    )
    out = tmp_path / "res"
    runner = CliRunner()
    ok = runner.invoke(app, ["evaluate", "-c", str(cfg_file), "--out", str(out), "--seeds", "0", "--no-stats"])
    assert ok.exit_code == 0, ok.output
    assert "pop@cpu" in ok.output and "mean ± sd" in ok.output

    more = runner.invoke(app, ["evaluate", "-c", str(cfg_file), "--out", str(out), "--seeds", "0,1", "--no-stats"])
    assert more.exit_code == 0, more.output  # seeds added: the seed-0 run is kept, seed 1 runs
    assert "Resuming" in more.output and "1/2 runs already finished" in " ".join(more.output.split())
    assert sorted(pd.read_parquet(out / "runs.parquet")["seed"].unique().tolist()) == [0, 1]

    cfg_file.write_text(cfg_file.read_text().replace('name = "cli"', 'name = "cli"\nmin_rating = 4'))
    refused = runner.invoke(app, ["evaluate", "-c", str(cfg_file), "--out", str(out), "--seeds", "1", "--no-stats"])
    assert refused.exit_code == 2
    assert "different experiment config" in refused.output and "min_rating: 3.0 -> 4.0" in refused.output
    assert sorted(pd.read_parquet(out / "runs.parquet")["seed"].unique().tolist()) == [0, 1]

    forced = runner.invoke(app, ["evaluate", "-c", str(cfg_file), "--out", str(out), "--seeds", "1", "--force",
                                 "--no-stats"])
    assert forced.exit_code == 0, forced.output
    assert pd.read_parquet(out / "runs.parquet")["seed"].unique().tolist() == [1]

    bad = runner.invoke(app, ["evaluate", "-c", str(cfg_file), "--quick"])
    assert bad.exit_code == 2 and "--quick or --config" in bad.output


@pytest.mark.slow
def test_quick_preset_killed_mid_grid_resumes(tmp_path, ml100k_dir):
    """The acceptance check: `pyrec evaluate --quick` killed (SIGKILL) after its first run, re-run."""
    out = tmp_path / "quick"
    cmd = [sys.executable, "-m", "pyrec", "evaluate", "--quick", "--out", str(out), "--no-stats",
           "--data-dir", str(ml100k_dir.parent)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if len(list((out / "parts").glob("*.runs.parquet"))) >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the quick preset finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in (out / "parts").glob("*.runs.parquet")}
    assert 1 <= len(done)
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(done)}/" in rerun.stderr and "runs already finished" in rerun.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "parts").glob("*.runs.parquet")}
    assert all(after[name] == mtime for name, mtime in done.items())  # not redone
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["run_id"].nunique() == len(after) > len(done)


def test_bad_settings_and_missing_data_stop_before_anything_is_written(tmp_path, ml100k_dir):
    from pyrec.diagnostics import ConfigError, DataError

    bad = _config(ml100k_dir, seeds=(0,))
    bad["models"]["mf"]["epochz"] = 3
    with pytest.raises(ConfigError, match=r"configuration 'mf@cpu' \(models\.mf\).*epochz"):
        run_experiment(bad, out=tmp_path / "a", progress=False, stats=False)
    assert not (tmp_path / "a").exists()  # fixing the typo later is not a "different config"

    ds = _config(ml100k_dir, seeds=(0,), mf=False)
    ds["backends"] = {"fpga-sim": {"clock_mhz": 200}}
    ds["configurations"].append({"architecture": "gnn", "backend": "fpga-sim"})
    with pytest.raises(ConfigError, match=r"backends\.fpga-sim.*clock_mhz"):
        run_experiment(ds, out=tmp_path / "b", progress=False, stats=False)

    missing = {**_config(ml100k_dir, seeds=(0,), mf=False), "data_dir": str(tmp_path / "nowhere")}
    with pytest.raises(DataError):
        run_experiment(missing, out=tmp_path / "c", progress=False, stats=False)
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
def test_hybrid_strategies_and_backends_share_one_training_per_backend(tmp_path, ml100k_dir, count_trainings):
    """Quantization, distillation, DeepSpeed and fpga-sim through the real pyrec parts (minutes)."""
    calls, _ = count_trainings
    cfg = {
        "name": "strategies", "data_dir": str(ml100k_dir.parent), "seeds": [0],
        "configurations": [
            {"architecture": "hybrid"}, {"architecture": "hybrid", "optimization": "quantization"},
            {"architecture": "hybrid", "optimization": "distillation"},
            {"architecture": "hybrid", "backend": "deepspeed+fpga-sim"},
        ],
        "models": {"hybrid": {"epochs": 1}},
        "optimizations": {"distillation": {"student": {"epochs": 1, "embedding_size": 16}}},
        "bench": BENCH,
    }
    result = run_experiment(cfg, out=tmp_path / "res", progress=False, stats=False)
    assert result.failed.empty, result.failed.to_dict("records")
    assert len(calls) == 4  # train_model is asked 4 times...
    runs = result.runs
    value = runs.set_index(["config", "metric"])["value"]
    # ...but the quantized copy and the teacher reuse the cpu hybrid: same training time
    assert value[("lightgcn+distillation@cpu", "teacher_train_time_s")] == value[("hybrid@cpu", "train_time_s")]
    assert value[("hybrid+quantization@cpu", "train_time_s")] > value[("hybrid@cpu", "train_time_s")]
    assert value[("hybrid+quantization@cpu", "encoder_size_mib")] < 0.8 * value[("hybrid@cpu", "encoder_size_mib")]
    assert value[("lightgcn+distillation@cpu", "model_size_mib")] < value[("hybrid@cpu", "model_size_mib")]
    fpga = runs[runs.config == "hybrid@deepspeed+fpga-sim"]
    assert fpga["simulated"].all() and not runs[runs.config != "hybrid@deepspeed+fpga-sim"]["simulated"].any()
    assert value[("hybrid@deepspeed+fpga-sim", "ndcg@10")] > 0.05


@pytest.mark.r
def test_target_mde_extends_the_seeds_from_the_pilot(tmp_path, ml100k_dir):
    """`pyrec evaluate --target-mde`: the seeds the blocked model needs, estimated from the pilot
    seeds in --out, are run on top of them (finished runs kept)."""
    import json

    from typer.testing import CliRunner

    from pyrec.cli import app

    pytest.importorskip("rpy2")
    cfg = {**_config(ml100k_dir, seeds=(0, 1)), "analysis": {"bootstrap": 100, "contrasts": [
        {"question": "Q1", "config": "mf@cpu", "baseline": "pop@cpu", "test": "superiority"}]}}
    cfg_file = tmp_path / "exp.json"
    cfg_file.write_text(json.dumps(cfg))
    toml = tmp_path / "exp.toml"
    from pyrec.experiment._toml import dumps_toml

    toml.write_text(dumps_toml(cfg, "test"))
    out = tmp_path / "res"
    runner = CliRunner()
    no_pilot = runner.invoke(app, ["evaluate", "-c", str(toml), "--out", str(out), "--target-mde", "0.01"])
    assert no_pilot.exit_code == 2 and "pilot results" in no_pilot.output
    assert runner.invoke(app, ["evaluate", "-c", str(toml), "--out", str(out), "--no-stats"]).exit_code == 0
    res = runner.invoke(app, ["evaluate", "-c", str(toml), "--out", str(out), "--no-stats",
                              "--target-mde", "1e-9", "--max-seeds", "3"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Q1 mf@cpu vs pop@cpu (superiority): MDE now" in text
    assert "Capped at --max-seeds 3" in text and "Running seeds 0-2" in text
    assert sorted(pd.read_parquet(out / "runs.parquet")["seed"].unique()) == [0, 1, 2]
