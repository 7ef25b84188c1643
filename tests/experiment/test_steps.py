"""The runner's adapters in isolation: settings mapping, sizes, summary statistics."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from pyrec.experiment import _steps, summary_table
from pyrec.experiment._measure import model_size_mib, peak_rss


def test_lora_settings_split_adapter_and_training_keys():
    out = _steps.lora_settings({"epochs": 20, "embedding_size": 64},
                               {"r": 8, "alpha": 16, "epochs": 1, "max_length": 16})
    assert out == {"epochs": 1, "embedding_size": 64, "max_length": 16, "encoder_mode": "lora",
                   "lora": {"r": 8, "alpha": 16}}


def test_distill_settings_default_student_and_seed():
    name, cfg = _steps.distill_settings({"top_k": 20, "student": {"embedding_size": 16}}, seed=4)
    assert name == "lightgcn"
    assert cfg == {"top_k": 20, "student": {"embedding_size": 16, "seed": 4}}
    name, cfg = _steps.distill_settings({"student_model": "mf", "student": {"seed": 9}}, seed=4)
    assert name == "mf" and cfg["student"]["seed"] == 9  # an explicit student seed wins


def test_fit_options_are_declared_not_probed():
    """Which fit options a model can use is a declared attribute, checked by fit itself."""
    from pyrec.diagnostics import ConfigError
    from pyrec.models import get_model, get_model_class
    from pyrec.models.base import FitOptions
    from pyrec.testing import tiny_split

    assert get_model_class("lightgcn").supports("backend") and get_model_class("llm").supports("init_state")
    assert get_model_class("pop").supports("progress") and not get_model_class("pop").supports("backend")
    with pytest.raises(ConfigError, match=r"pop cannot use fit option\(s\) \['backend'\]"):
        get_model("pop").fit(tiny_split(), FitOptions(backend=object()))
    assert get_model("pop").fit(tiny_split(), progress=False).n_items_ > 0


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_sparse_tensors_are_shared_by_the_quantization_copy():
    """torch cannot deep-copy a sparse CSR tensor (the graph adjacency); the copy shares it."""
    class Holder:
        pass

    h = Holder()
    dense = torch.ones(3)
    csr = torch.eye(3).to_sparse_csr()
    h.module = torch.nn.Linear(2, 2)
    h.graph = {"adj": [csr]}
    h.dense = dense
    c = copy.deepcopy(h, memo=_steps._sparse_memo(h, {}))
    assert c.graph["adj"][0] is csr and c.dense is not dense and c.module is not h.module


def test_model_size_counts_tensors_and_arrays_not_seen_items():
    class NoSave:
        def __init__(self):
            self.table = torch.zeros(256, 1024)  # 1 MiB
            self.counts = np.zeros(2**18, dtype=np.float32)  # 1 MiB
            self.alias = self.table
            self.seen_ = np.zeros(2**20, dtype=np.float64)  # data, not model

        def save(self, path):
            raise NotImplementedError

    assert model_size_mib(NoSave()) == pytest.approx(2.0)


def test_peak_rss_sees_a_block_allocation():
    with peak_rss() as mem:
        start = mem.peak_mib
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block.sum()
    assert mem.peak_mib - start > 40
    del block


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim")
def test_peak_rss_starts_from_live_memory_not_what_an_earlier_run_freed():
    # in a fresh interpreter, so what earlier tests left in this process's heap cannot interfere
    import subprocess

    code = """
import numpy as np, psutil
from pyrec.experiment._measure import peak_rss
earlier = [np.ones(1000) for _ in range(40_000)]  # ~300 MiB in small heap chunks
del earlier  # freed, but glibc keeps the pages: the process's RSS stays high
held = psutil.Process().memory_info().rss / 2**20
with peak_rss() as mem:
    pass
print(held, mem.start_mib)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    held, start = map(float, out.stdout.split())
    assert start < held - 150  # handed back before the block's baseline was taken


def test_summary_table_mean_sd_per_config_in_order():
    rows = []
    for config, vals in (("b@cpu", [0.2, 0.4]), ("a@cpu", [0.1, 0.1])):
        for seed, v in enumerate(vals):
            rows += [{"config": config, "seed": seed, "protocol": "full-ranking", "metric": "ndcg@10", "value": v},
                     {"config": config, "seed": seed, "protocol": "sampled-100", "metric": "ndcg@10", "value": 9.0}]
    table = summary_table(pd.DataFrame(rows))
    assert table.index.tolist() == ["b@cpu", "a@cpu"]
    assert table.loc["b@cpu", "ndcg@10_mean"] == pytest.approx(0.3)
    assert table.loc["b@cpu", "ndcg@10_sd"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert table.loc["a@cpu", "ndcg@10_sd"] == 0.0 and table["n_seeds"].tolist() == [2, 2]


def test_trained_models_are_kept_only_while_a_pending_run_needs_them():
    import logging
    from collections import Counter
    from pathlib import Path

    from pyrec.experiment import validate_config
    from pyrec.experiment._context import RunContext, Trained

    ctx = RunContext(validate_config({"grid": {"architecture": ["gnn"]}}), Path("."), logging.getLogger("t"))
    ctx.pending = Counter({"hybrid": 2, "llm": 1})
    hybrid, llm = Trained("hybrid-model", 1.0), Trained("llm-model", 1.0)
    ctx.put_trained("llm", llm)  # nobody else needs it
    ctx.put_trained("hybrid", hybrid)  # the quantization run will
    assert ctx.get_trained("llm") is None and ctx.get_trained("hybrid") is hybrid
    ctx.release("llm")
    ctx.release("hybrid")
    assert ctx.get_trained("hybrid") is hybrid  # one more run to go
    ctx.release("hybrid")
    assert ctx.get_trained("hybrid") is None and not ctx.pending


def test_training_key_shares_the_base_model_of_transformations_only():
    from pyrec.experiment import expand_design, validate_config

    cfg = validate_config({"configurations": [
        {"architecture": "hybrid"}, {"architecture": "hybrid", "optimization": "quantization"},
        {"architecture": "hybrid", "optimization": "distillation"}, {"architecture": "hybrid", "optimization": "lora"},
        {"architecture": "hybrid", "backend": "deepspeed"}, {"architecture": "hybrid", "backend": "deepspeed+fpga-sim"},
    ]})
    specs = {s.label: s for s in expand_design(cfg)[0]}
    key = {label: _steps.training_key(s, 0) for label, s in specs.items()}
    assert key["hybrid@cpu"] == key["hybrid+quantization@cpu"] == key["lightgcn+distillation@cpu"]
    assert key["hybrid+lora@cpu"] != key["hybrid@cpu"]
    assert key["hybrid@deepspeed"] == key["hybrid@deepspeed+fpga-sim"] != key["hybrid@cpu"]
    assert _steps.training_key(specs["hybrid@cpu"], 1) != key["hybrid@cpu"]


def test_warm_started_lora_run_needs_its_base_model_and_a_key_of_its_own():
    from pyrec.experiment import expand_design, validate_config

    def specs(warm):
        cfg = validate_config({"configurations": [{"architecture": "hybrid"},
                                                  {"architecture": "hybrid", "optimization": "lora"}],
                               "optimizations": {"lora": {"r": 4, **warm}}})
        return {s.label: s for s in expand_design(cfg)[0]}

    warm, cold = specs({}), specs({"warm_start": False})
    base = _steps.training_key(warm["hybrid@cpu"], 0)
    assert _steps.training_keys(warm["hybrid+lora@cpu"], 0) == [base, _steps.training_key(warm["hybrid+lora@cpu"], 0)]
    assert _steps.training_keys(cold["hybrid+lora@cpu"], 0) == [_steps.training_key(cold["hybrid+lora@cpu"], 0)]
    # same LoRA settings, other starting point: other weights, other key
    assert _steps.training_key(warm["hybrid+lora@cpu"], 0) != _steps.training_key(cold["hybrid+lora@cpu"], 0)
    with pytest.raises(Exception, match="warm_start must be true or false"):
        _steps.preflight(specs({"warm_start": "no"})["hybrid+lora@cpu"])
