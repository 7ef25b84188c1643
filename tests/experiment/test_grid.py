"""Design expansion: impossible combinations are skipped with a reason, never dropped or crashed on."""

from __future__ import annotations

import pytest

from pyrec.experiment import expand_design, load_config, preset_path, validate_config
from pyrec.experiment._config import ConfigurationEntry
from pyrec.experiment._grid import static_skip_reason


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"architecture": "gnn", "optimization": "lora"}, "LoRA needs a language model"),
        ({"architecture": "gnn", "optimization": "quantization"}, "no text encoder"),
        ({"architecture": "baseline", "model": "mf", "optimization": "lora"}, "no text encoder"),
        ({"architecture": "llm", "optimization": "distillation"}, "hybrid teacher"),
        ({"architecture": "hybrid", "optimization": "quantization", "backend": "cuda"}, "CPU kernels only"),
        ({"architecture": "hybrid", "backend": "fpga-sim+cpu"}, "cannot train"),
        ({"architecture": "baseline", "model": "pop", "backend": "deepspeed"}, "nothing to train"),
    ],
)
def test_static_skip_reasons(entry, words):
    reason = static_skip_reason(ConfigurationEntry(**entry))
    assert reason is not None and words in reason


@pytest.mark.parametrize(
    "entry",
    [
        {"architecture": "hybrid", "optimization": "lora", "backend": "deepspeed+fpga-sim"},
        {"architecture": "hybrid", "optimization": "distillation"},
        {"architecture": "llm", "optimization": "quantization"},
        {"architecture": "gnn", "backend": "fpga-sim"},
    ],
)
def test_possible_combinations_are_not_skipped(entry):
    assert static_skip_reason(ConfigurationEntry(**entry)) is None


def test_grid_lists_every_combination_as_run_or_skipped():
    cfg = validate_config({
        "grid": {"architecture": ["gnn", "llm", "hybrid"],
                 "optimization": ["none", "quantization", "lora", "distillation"],
                 "backend": ["cpu", "cuda", "deepspeed+fpga-sim"]},
    })
    specs, skipped = expand_design(cfg, lambda b: "no GPU here" if b == "cuda" else None)
    assert len(specs) + len(skipped) == 3 * 4 * 3  # nothing silently dropped
    by_label = {s.config: s.reason for s in skipped}
    assert by_label["lightgcn+lora@cpu"].startswith("LoRA needs a language model")
    assert by_label["hybrid@cuda"] == "no GPU here"
    assert by_label["llm+distillation@cpu"].startswith("distillation needs a trained hybrid teacher")
    assert "hybrid+lora@deepspeed+fpga-sim" in {s.label for s in specs}
    # distillation runs come after their teacher's configuration
    opts = [s.optimization for s in specs]
    assert opts.index("distillation") > max(i for i, o in enumerate(opts) if o != "distillation")
    fpga = next(s for s in specs if s.backend == "deepspeed+fpga-sim")
    assert (fpga.train_backend, fpga.serve_backend, fpga.simulated) == ("deepspeed", "fpga-sim", True)


def test_duplicates_kept_once_and_labels_unique():
    cfg = validate_config({
        "configurations": [{"architecture": "gnn"}, {"architecture": "gnn", "model": "lightgcn"}],
        "grid": {"architecture": ["gnn"]},
    })
    specs, skipped = expand_design(cfg)
    assert [s.label for s in specs] == ["lightgcn@cpu"] and not skipped
    from pyrec.diagnostics import ConfigError

    clash = validate_config({"configurations": [
        {"architecture": "gnn", "label": "x"}, {"architecture": "llm", "label": "x"}]})
    with pytest.raises(ConfigError, match="unique"):
        expand_design(clash)


def test_run_id_depends_on_settings_and_seed_only():
    base = {"configurations": [{"architecture": "gnn"}], "models": {"lightgcn": {"epochs": 3}}}
    a = expand_design(validate_config(base))[0][0]
    b = expand_design(validate_config({**base, "data_dir": "/elsewhere", "name": "other"}))[0][0]
    c = expand_design(validate_config({**base, "models": {"lightgcn": {"epochs": 4}}}))[0][0]
    assert a.run_id(0) == b.run_id(0)  # same experiment wherever the data lives
    assert a.run_id(0) != a.run_id(1)
    assert a.run_id(0) != c.run_id(0)
    assert len(a.run_id(0)) == 12


def test_default_preset_expands_without_skips_when_backends_exist():
    specs, skipped = expand_design(load_config(preset_path("default")))
    assert not skipped
    assert {"lightgcn@cpu", "llm@cpu", "hybrid@cpu", "hybrid+quantization@cpu", "hybrid+lora@cpu",
            "lightgcn+distillation@cpu", "hybrid@deepspeed+fpga-sim"} <= {s.label for s in specs}


def test_cuda_without_a_gpu_is_skipped_with_the_backends_reason():
    import torch

    from pyrec.experiment import _steps

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; the cuda configuration would run")
    cfg = validate_config({"configurations": [{"architecture": "gnn", "backend": "cuda"},
                                              {"architecture": "gnn", "backend": "cpu"}]})
    specs, skipped = expand_design(cfg, _steps.backend_unavailable, _steps.run_unsupported)
    assert [s.label for s in specs] == ["lightgcn@cpu"]
    assert skipped[0].config == "lightgcn@cuda"
    assert skipped[0].reason.startswith("backend 'cuda' is not available on this machine")


def test_backends_carry_their_capabilities_and_the_grid_asks_them(monkeypatch):
    """A serving-only backend is told apart by its attribute, not its name."""
    from pyrec.backends import fpga_sim
    from pyrec.experiment._config import ConfigurationEntry
    from pyrec.experiment._grid import static_skip_reason

    assert not fpga_sim.FPGASimBackend.can_train and fpga_sim.FPGASimBackend.simulated
    entry = ConfigurationEntry(architecture="gnn", backend="fpga-sim+cpu")
    assert "cannot train" in static_skip_reason(entry)
    monkeypatch.setattr(fpga_sim.FPGASimBackend, "can_train", True)
    assert static_skip_reason(entry) is None
