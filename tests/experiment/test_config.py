"""Experiment config: TOML/YAML parsing, validation errors that name the file and key, presets."""

from __future__ import annotations

import pytest
import tomllib

from pyrec.diagnostics import ConfigError
from pyrec.experiment import (
    ExperimentConfig,
    load_config,
    preset_path,
    resolve_config,
    validate_config,
)
from pyrec.experiment._toml import dumps_toml

MINIMAL_TOML = """
name = "tiny"
seeds = [0, 1]
[split]
ratios = [0.8, 0.1, 0.1]
[[configurations]]
architecture = "gnn"
[[configurations]]
architecture = "hybrid"
optimization = "lora"
backend = "deepspeed+fpga-sim"
[models.lightgcn]
epochs = 3
"""


def test_toml_and_yaml_give_the_same_config(tmp_path):
    (tmp_path / "e.toml").write_text(MINIMAL_TOML)
    (tmp_path / "e.yaml").write_text(
        "name: tiny\nseeds: [0, 1]\nsplit: {ratios: [0.8, 0.1, 0.1]}\n"
        "configurations:\n  - {architecture: gnn}\n"
        "  - {architecture: hybrid, optimization: lora, backend: deepspeed+fpga-sim}\n"
        "models: {lightgcn: {epochs: 3}}\n"
    )
    a, b = load_config(tmp_path / "e.toml"), load_config(tmp_path / "e.yaml")
    assert a == b
    assert a.configurations[0].model == "lightgcn"  # default model of the gnn architecture
    assert a.configurations[1].default_label() == "hybrid+lora@deepspeed+fpga-sim"
    assert a.model_settings("gnn", "lightgcn") == {"epochs": 3}
    assert a.protocols == ["full-ranking"] and a.min_rating == 3


@pytest.mark.parametrize(
    ("snippet", "key", "words"),
    [
        ('[split]\nratios = [0.5, 0.5, 0.5]', "split.ratios", "summing to 1"),
        ('[[configurations]]\narchitecture = "gnn"\nbackend = "tpu"', "configurations[0].backend", "'tpu'"),
        ('[[configurations]]\narchitecture = "gnn"\nmodel = "llm"', "configurations[0]", "is of architecture 'llm', not 'gnn'"),
        ('[[configurations]]\narchitecture = "quantum"', "configurations[0].architecture", "gnn"),
        ('seeds = [1, 1]\n[grid]\narchitecture = ["gnn"]', "seeds", "distinct"),
        ('protocols = ["sampled"]\n[grid]\narchitecture = ["gnn"]', "protocols", "sampled-<N>"),
        ('metrics = ["ndgc"]\n[grid]\narchitecture = ["gnn"]', "metrics", "ndgc"),
        ('epochs = 3\n[grid]\narchitecture = ["gnn"]', "epochs", "unknown key"),
        ('[grid]\narchitecture = ["gnn"]\n[models.transformer]\nx = 1', "<top level>", "transformer"),
        ('name = "x"', "<top level>", "configurations"),
    ],
)
def test_invalid_values_name_file_and_key(tmp_path, snippet, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(snippet)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert f"{path}: key {key!r}" in msg
    assert words in msg


def test_syntax_errors_name_file_and_line(tmp_path):
    bad_toml = tmp_path / "s.toml"
    bad_toml.write_text('name = "x"\nseeds = 0 1\n')
    with pytest.raises(ConfigError, match=r"s\.toml: TOML syntax error.*line"):
        load_config(bad_toml)
    bad_yaml = tmp_path / "s.yaml"
    bad_yaml.write_text("name: x\nseeds: [0, 1\n")
    with pytest.raises(ConfigError, match=r"s\.yaml: YAML syntax error at line \d+"):
        load_config(bad_yaml)
    (tmp_path / "s.json").write_text("{}")
    with pytest.raises(ConfigError, match="must end in .toml"):
        load_config(tmp_path / "s.json")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_overrides_and_quick_exclusive(tmp_path):
    (tmp_path / "e.toml").write_text(MINIMAL_TOML)
    cfg, source = resolve_config(tmp_path / "e.toml", seeds="3,4,5", data_dir="/data")
    assert cfg.seeds == [3, 4, 5] and cfg.data_dir == "/data" and source.endswith("e.toml")
    with pytest.raises(ConfigError, match="'seeds' option"):
        resolve_config(tmp_path / "e.toml", seeds="0,x")
    with pytest.raises(ConfigError, match="--quick or --config"):
        resolve_config(tmp_path / "e.toml", quick=True)


@pytest.mark.parametrize("name", ["default", "quick", "baselines"])
def test_shipped_presets_validate_and_round_trip(name):
    cfg = load_config(preset_path(name))
    assert cfg.dataset == "ml-100k" and cfg.min_rating == 3
    assert cfg.split.protocol == "ratio" and cfg.split.ratios == (0.8, 0.1, 0.1)
    assert "full-ranking" in cfg.protocols
    text = dumps_toml(cfg.model_dump(mode="json"), header="round trip")
    again = validate_config(tomllib.loads(text), "<round trip>")
    assert again == cfg
    assert again.fingerprint_dict() == cfg.fingerprint_dict()


def test_default_preset_has_three_seeds_and_the_headline_configurations():
    cfg = load_config(preset_path("default"))
    assert len(cfg.seeds) >= 3
    labels = {(c.architecture, c.optimization, c.backend) for c in cfg.configurations}
    for needed in [
        ("gnn", "none", "cpu"), ("llm", "none", "cpu"), ("hybrid", "none", "cpu"),
        ("hybrid", "quantization", "cpu"), ("hybrid", "lora", "cpu"), ("hybrid", "distillation", "cpu"),
        ("hybrid", "none", "deepspeed+fpga-sim"),
    ]:
        assert needed in labels


def test_fingerprint_ignores_data_dir_seeds_and_the_analysis_plan():
    base = {"grid": {"architecture": ["gnn"]}}
    a = validate_config({**base, "data_dir": "/a"}).fingerprint_dict()
    b = validate_config({**base, "data_dir": "/b", "seeds": [0, 1, 2, 3],
                         "analysis": {"margin": 0.01}}).fingerprint_dict()
    c = validate_config({**base, "min_rating": 4}).fingerprint_dict()
    assert a == b and a != c
    assert isinstance(validate_config(base), ExperimentConfig)
