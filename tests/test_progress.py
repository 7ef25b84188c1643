"""Progress when stdout is not a terminal: `pyrec evaluate` writes one flushed line per run and
`pyrec train` a line per epoch to a pipe; on a terminal only the bars (no lines twice)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyrec import _progress
from pyrec._progress import BAR, LINES, OFF, Heartbeat, fmt_duration, progress_mode
from pyrec.diagnostics import ConfigError

REPO = Path(__file__).resolve().parents[1]


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _env(**extra) -> dict:
    # as a user's shell has it: stdout to a pipe block-buffered (no PYTHONUNBUFFERED)
    env = {k: v for k, v in os.environ.items() if k not in (_progress.ENV, "PYTHONUNBUFFERED")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(OMP_NUM_THREADS="1", **extra)
    return env


def test_mode_follows_stdout_unless_off_or_forced(monkeypatch):
    monkeypatch.delenv(_progress.ENV, raising=False)
    monkeypatch.setattr(sys, "stdout", _Stream(tty=True))
    assert progress_mode() == BAR and progress_mode(False) == OFF
    monkeypatch.setattr(sys, "stdout", _Stream(tty=False))
    assert progress_mode() == LINES and progress_mode(False) == OFF
    monkeypatch.setenv(_progress.ENV, "bar")
    assert progress_mode() == BAR and progress_mode(False) == OFF
    monkeypatch.setenv(_progress.ENV, "sometimes")
    with pytest.raises(ConfigError, match="PYREC_PROGRESS.*'sometimes'"):
        progress_mode()


def test_durations_and_heartbeat():
    assert [fmt_duration(s) for s in (0.041, 3.26, 412, 41 * 60, 2.3 * 3600)] == [
        "0.04 s", "3.3 s", "412 s", "41 min", "2.3 h"]
    beat = Heartbeat(interval=3600)
    assert not beat.due() and beat.due(force=True) and not beat.due()
    assert Heartbeat(interval=0).due()


def test_trainer_lines_per_epoch_and_inside_long_epochs(monkeypatch, capsys):
    from pyrec.models.mf import MF
    from pyrec.testing import tiny_split
    from pyrec.train import TrainConfig, Trainer

    monkeypatch.delenv(_progress.ENV, raising=False)
    split = tiny_split()
    cfg = TrainConfig(epochs=3, batch_size=32, learning_rate=0.05, patience=None, seed=0)
    Trainer(MF(split.n_users, split.n_items, embedding_size=8), split, cfg, desc="tiny").fit()
    out = capsys.readouterr()
    lines = out.out.splitlines()  # stdout is captured, no terminal: first and last epoch only
    assert [ln.split(" tiny:")[0] for ln in lines] == ["[epoch 1/3]", "[epoch 3/3]"]
    assert "loss" in lines[0] and "ndcg@10" in lines[1] and "best" in lines[1]
    assert "\r" not in out.err + out.out  # no bar written to the pipe

    monkeypatch.setattr(_progress, "HEARTBEAT_S", 0.0)  # every epoch, and batches in between
    Trainer(MF(split.n_users, split.n_items, embedding_size=8), split, cfg, desc="tiny").fit()
    lines = capsys.readouterr().out.splitlines()
    assert sum(" tiny: loss" in ln for ln in lines) == 3 and any(" tiny: batch 1/" in ln for ln in lines)

    Trainer(MF(split.n_users, split.n_items, embedding_size=8), split, cfg, progress=False).fit()
    assert capsys.readouterr().out == ""


def _config(ml100k_dir, seeds=(0,), lora=False) -> dict:
    confs = [{"architecture": "baseline", "model": "pop"}, {"architecture": "baseline", "model": "mf"}]
    if lora:  # an impossible combination: listed as skipped
        confs.append({"architecture": "gnn", "optimization": "lora"})
    return {"name": "progress", "data_dir": str(ml100k_dir.parent), "seeds": list(seeds),
            "configurations": confs,
            "models": {"mf": {"epochs": 1, "batch_size": 8192, "embedding_size": 16}},
            "bench": {"latency_requests": 10, "warmup": 1, "throughput_repeats": 1}}


# the real CLI, with the second run's training held until the test has read the first run's
# line; if that line never comes (not flushed), the process dies after 30 s, its buffer unwritten
_GATED = """
import os, sys, time
from pyrec.experiment import _steps
real, calls = _steps.train_model, []
def gated(spec, split, seed, ctx):
    calls.append(spec.label)
    if len(calls) == 2:
        deadline = time.time() + 30
        while not os.path.exists(os.environ["GATE"]):
            if time.time() > deadline:
                os._exit(3)
            time.sleep(0.02)
    return real(spec, split, seed, ctx)
_steps.train_model = gated
from pyrec.cli import app
sys.argv = ["pyrec", *sys.argv[1:]]
app()
"""


@pytest.mark.realdata
def test_evaluate_piped_prints_each_run_line_as_it_finishes(tmp_path, ml100k_dir):
    from pyrec.experiment._toml import dumps_toml

    cfg_file = tmp_path / "exp.toml"
    cfg_file.write_text(dumps_toml(_config(ml100k_dir, lora=True), "test"))
    gate = tmp_path / "gate"
    cmd = [sys.executable, "-c", _GATED, "evaluate", "-c", str(cfg_file), "--out", str(tmp_path / "res"),
           "--no-stats"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(GATE=str(gate)), cwd=tmp_path)
    try:
        early = []
        for line in proc.stdout:  # read while it runs: the lines must arrive before the end
            early.append(line.rstrip("\n"))
            if line.startswith("[1/2]"):
                break
        assert early and early[-1].startswith("[1/2]"), f"no line while the second run waited: {early}"
        gate.touch()
        rest = [ln.rstrip("\n") for ln in proc.stdout]
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
    assert early[0].startswith("pyrec evaluate: 2 runs (2 configurations x 1 seed), 0 finished earlier")
    assert early[1] == "[skip] lightgcn+lora@cpu: LoRA needs a language model; lightgcn (gnn) has no text encoder"
    assert early[2].startswith("[1/2] pop@cpu seed 0: ndcg@10 0.1") and "(eta " in early[2]
    runs = [ln for ln in early + rest if ln.startswith("[") and "/2]" in ln]
    assert len(runs) == 2 and rest[0].startswith("[2/2] mf@cpu seed 0: ndcg@10 0.0")
    assert "(eta" not in rest[0]  # nothing left to run
    assert "\r" not in "".join(early + rest) + err and "FAILED" not in err


@pytest.mark.realdata
def test_evaluate_lines_for_failed_and_resumed_runs_none_on_a_terminal(tmp_path, ml100k_dir, monkeypatch, capsys):
    from rich.console import Console

    from pyrec.experiment import _steps, run_experiment

    monkeypatch.delenv(_progress.ENV, raising=False)
    real = _steps.train_model

    def fail_pop_seed0(spec, split, seed, ctx):
        if spec.label == "pop@cpu" and seed == 0:
            raise RuntimeError("out of memory\n(simulated)")
        return real(spec, split, seed, ctx)

    cfg, out = {**_config(ml100k_dir, seeds=(0, 1)), "configurations": [
        {"architecture": "baseline", "model": "pop"}]}, tmp_path / "res"
    monkeypatch.setattr(_steps, "train_model", fail_pop_seed0)
    console = Console(file=io.StringIO())
    run_experiment(cfg, out=out, stats=False, console=console)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("[1/2] pop@cpu seed 0: FAILED RuntimeError: out of memory (simulated), ")
    assert lines[2].startswith("[2/2] pop@cpu seed 1: ndcg@10 0.1") and len(lines) == 3
    assert "FAILED" not in console.file.getvalue()  # said once, on stdout

    monkeypatch.setattr(_steps, "train_model", real)
    run_experiment(cfg, out=out, stats=False, console=Console(file=io.StringIO()))
    lines = capsys.readouterr().out.splitlines()
    assert "1 finished earlier, 1 to run" in lines[0]
    assert lines[1].startswith("[1/2] pop@cpu seed 0: ndcg@10 0.1")
    assert lines[2].startswith("[2/2] pop@cpu seed 1: ndcg@10 0.1") and lines[2].endswith("(finished earlier, kept)")

    # stdout a terminal: the rich bar (here into the console's file) and no line on stdout
    monkeypatch.setattr(sys, "stdout", _Stream(tty=True))
    console = Console(file=io.StringIO())
    run_experiment({**cfg, "seeds": [2]}, out=tmp_path / "tty", stats=False, console=console)
    assert sys.stdout.getvalue() == "" and "pop@cpu" in console.file.getvalue()


@pytest.mark.realdata
def test_train_piped_prints_epoch_lines(tmp_path, ml100k_dir):
    cmd = [sys.executable, "-m", "pyrec", "train", "-m", "mf", "--epochs", "2", "--out", str(tmp_path / "mf"),
           "--data-dir", str(ml100k_dir.parent), "--set", "embedding_size=16", "--batch-size", "8192",
           "--threads", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("[epoch 1/2] mf: loss 0.") and lines[1].startswith("[epoch 2/2] mf: loss 0.")
    assert "ndcg@10" in lines[1] and "NDCG@10" in res.stdout  # then the closing table
    assert "\r" not in res.stdout + res.stderr
