"""Data-parallel training: batch shards, per-rank negatives, the process launcher (errors, timeout),
ZeRO-0/1/2 in two gloo processes on CPU, ``pyrec train --nproc 2``, and (slow) the ML-100K
acceptance check: two-process LightGCN within 0.005 NDCG@10 of one process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time

import numpy as np
import pytest
import torch
from backends_helpers import block_split
from typer.testing import CliRunner

from pyrec.diagnostics import ConfigError, DistributedError

needs_ds = pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed not installed")


# ---------------------------------------------------------------- shards and seeds (no processes)
@pytest.mark.parametrize("size,world", [(4096, 2), (4095, 2), (7, 3), (1, 2), (2, 4), (10, 1)])
def test_batch_shard_splits_a_batch_disjointly_and_evenly(size, world):
    from pyrec.train.trainer import batch_shard

    start = 100
    shards = [batch_shard(start, start + size, r, world) for r in range(world)]
    rows = [i for sl, count in shards if count for i in range(sl.start, sl.stop)]
    assert rows == list(range(start, start + size))  # disjoint, in order, the whole batch
    counts = [count for _, count in shards]
    assert sum(counts) == size and max(counts) - min(counts) <= 1
    for sl, count in shards:
        assert (sl.stop - sl.start) == max(count, 1)  # an empty share stands in with 1 row, weight 0


def test_rank_generators_are_distinct_and_reproducible():
    from pyrec.train.seed import make_rank_generator

    def draw(seed, rank, epoch):
        return torch.randint(0, 1000, (16,), generator=make_rank_generator(seed, rank, epoch))

    assert torch.equal(draw(0, 1, 2), draw(0, 1, 2))
    assert not torch.equal(draw(0, 0, 2), draw(0, 1, 2))
    assert not torch.equal(draw(0, 1, 2), draw(0, 1, 3)) and not torch.equal(draw(0, 1, 2), draw(1, 1, 2))


def test_deepspeed_local_rank_argument_is_dropped():
    from pyrec.cli import _drop_local_rank

    assert _drop_local_rank(["--local_rank=1", "train", "-m", "mf"]) == ["train", "-m", "mf"]
    assert _drop_local_rank(["--local_rank", "0", "train"]) == ["train"]
    assert _drop_local_rank(["train", "--epochs", "2"]) == ["train", "--epochs", "2"]


class _TwoRanks:
    """Stands for a backend of rank 0 in 2 processes (only what Trainer reads before training)."""

    rank, world_size, zero_stage = 0, 2, 0


def test_trainer_refuses_resume_with_several_processes(tmp_path):
    from pyrec.models import get_model
    from pyrec.train.trainer import Trainer

    model = get_model("mf", epochs=1)
    split = block_split()
    module = model.build_module(split.n_users, split.n_items, split.train.csr(), split)
    (tmp_path / "last.pt").write_bytes(b"")  # a checkpoint to resume from
    with pytest.raises(ConfigError, match="'resume'.*data-parallel"):
        Trainer(module, split, model.config, checkpoint_dir=tmp_path, resume=True, backend=_TwoRanks())


def test_nproc_needs_a_data_parallel_backend():
    from pyrec.pipeline import train_and_evaluate

    with pytest.raises(ConfigError, match="'nproc'"):
        train_and_evaluate("mf", "ml-100k", nproc=2)
    with pytest.raises(ConfigError, match="'nproc'"):
        train_and_evaluate("mf", "ml-100k", nproc=0, backend="deepspeed")


# ---------------------------------------------------------------- the launcher (spawned processes)
def _rank_facts():
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), os.environ["MASTER_PORT"]


def _fail_on_rank_1():
    if os.environ["RANK"] == "1":
        raise ValueError("boom on rank 1")
    time.sleep(60)  # rank 0 would wait: the launcher must stop it, not hang


def _sleep():
    time.sleep(60)


def test_launcher_returns_rank0_result_and_surfaces_a_child_error():
    from pyrec.backends.launch import run_data_parallel

    rank, world, port = run_data_parallel(_rank_facts, nproc=2, timeout_s=120)
    assert (rank, world) == (0, 2) and int(port) > 0
    t0 = time.monotonic()
    with pytest.raises(DistributedError, match=r"rank 1 of 2 failed: ValueError: boom on rank 1"):
        run_data_parallel(_fail_on_rank_1, nproc=2, timeout_s=120)
    assert time.monotonic() - t0 < 50  # rank 0's sleep was cut short


def test_launcher_stops_a_run_past_its_timeout():
    from pyrec.backends.launch import run_data_parallel

    t0 = time.monotonic()
    with pytest.raises(DistributedError, match="did not finish within 3 s"):
        run_data_parallel(_sleep, nproc=2, timeout_s=3)
    assert time.monotonic() - t0 < 40


# ---------------------------------------------------------------- DeepSpeed in two processes


def _fit_mf_stages(stages):
    """Every rank: MF on the tiny split, once per ZeRO stage (one process group, one engine per
    fit); rank 0 returns per stage the epoch losses, the user embeddings and the engine's micro
    batch, the world size and the rank's first shard."""
    from pyrec.backends import get_backend
    from pyrec.models import get_model
    from pyrec.pipeline import fit_model

    out = {}
    for stage in stages:
        backend = get_backend("deepspeed", zero_stage=stage, threads=1)
        model = get_model("mf", embedding_size=8, epochs=6, learning_rate=0.05, batch_size=64, seed=0,
                          patience=None)
        fit_model(model, block_split(), backend=backend)
        out[stage] = {"losses": [h["loss"] for h in model.train_result_.history],
                      "user_emb": model.user_emb_.clone(), "world": backend.world_size}
    return out


@needs_ds
def test_zero_stages_0_1_2_train_alike_in_two_processes(monkeypatch):
    from pyrec.backends.launch import run_data_parallel

    res = run_data_parallel(_fit_mf_stages, ((0, 1, 2),), nproc=2, timeout_s=300)
    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)  # this process: a one-process group of its own
    one = _fit_mf_stages((0,))[0]
    assert one["world"] == 1 and all(res[s]["world"] == 2 for s in (0, 1, 2))
    for stage in (0, 1, 2):
        losses = res[stage]["losses"]
        assert len(losses) == 6 and losses[-1] < losses[0] - 0.1  # trained
        # ZeRO-1/2 partition optimizer states / gradients, not the arithmetic: same numbers
        torch.testing.assert_close(res[stage]["user_emb"], res[0]["user_emb"], atol=1e-4, rtol=1e-3)
        # same global batch and epochs as one process; only the negatives differ (per rank)
        assert abs(losses[-1] - one["losses"][-1]) < 0.05
        assert np.allclose(losses, one["losses"], atol=0.08)


def _write_csv(path):
    split_rows = [(u, (u % 4) * 10 + i) for u in range(30) for i in range(8)]
    path.write_text("user_id,item_id\n" + "".join(f"u{u},i{i}\n" for u, i in split_rows))
    return path


@needs_ds
def test_cli_two_processes_only_rank0_writes(tmp_path):
    from pyrec.cli import app

    data, out = _write_csv(tmp_path / "tiny.csv"), tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "-m", "mf", "-d", str(data), "--backend", "deepspeed",
                                   "--nproc", "2", "--zero-stage", "2", "--epochs", "3", "--batch-size", "64",
                                   "--embedding-size", "8", "--threads", "2", "--no-progress", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "NDCG@10" in res.output and "deepspeed ZeRO-2 · 2 processes" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "config.json", "history.csv", "metrics.csv",
                                                     "metrics.parquet", "model", "per_user.parquet"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["backend"]["world_size"] == 2 and cfg["backend"]["zero_stage"] == 2
    assert cfg["backend"]["threads"] == 1  # --threads 2 shared by 2 processes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "tiny.csv"]  # nothing else written


def test_cli_reports_a_failed_process_with_exit_code_1(monkeypatch):
    import pyrec.pipeline
    from pyrec.cli import app

    def failing(*args, **kwargs):
        raise DistributedError("rank 1 of 2 failed: ValueError: boom")

    monkeypatch.setattr(pyrec.pipeline, "train_and_evaluate", failing)
    res = CliRunner().invoke(app, ["train", "-m", "mf", "--backend", "deepspeed", "--nproc", "2"])
    assert res.exit_code == 1 and "rank 1 of 2 failed: ValueError: boom" in res.output
    bad = CliRunner().invoke(app, ["train", "-m", "mf", "--nproc", "2"])
    assert bad.exit_code == 2 and "needs --backend deepspeed" in bad.output


# ---------------------------------------------------------------- acceptance (slow, real data)
@needs_ds
@pytest.mark.slow
@pytest.mark.realdata
def test_two_process_lightgcn_matches_one_process_on_ml100k(ml100k_dir, monkeypatch):
    """LightGCN, ML-100K (ratings >= 3, ratio split seed 0), 10 epochs, global batch 4,096: two
    gloo processes (2,048 rows each per step) reach the one-process test NDCG@10 within 0.005."""
    from pyrec.pipeline import train_and_evaluate

    kwargs = dict(data_dir=ml100k_dir.parent, seed=0, config={"epochs": 10}, progress=False,
                  backend="deepspeed", backend_settings={"threads": 1})
    two = train_and_evaluate("lightgcn", "ml-100k", nproc=2, **kwargs)
    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    one = train_and_evaluate("lightgcn", "ml-100k", **kwargs)
    assert two.model.train_result_.epochs_run == one.model.train_result_.epochs_run == 10
    assert two.info["backend"]["world_size"] == 2 and one.info["backend"]["world_size"] == 1
    assert abs(two.summary["ndcg@10"] - one.summary["ndcg@10"]) <= 0.005, (two.summary, one.summary)
