"""Strategy selection (`pyrec.optim.strategies`): option parsing, settings, the teacher check."""

from __future__ import annotations

import pytest

from pyrec.diagnostics import ConfigError, DataError
from pyrec.models import get_model
from pyrec.optim.strategies import Strategies, apply_to_settings, load_teacher, parse_options
from pyrec.testing import tiny_split


def test_parse_options_reads_json_values_lists_and_empty():
    assert parse_options("r=8,alpha=16,dropout=0.05", "--lora") == {"r": 8, "alpha": 16, "dropout": 0.05}
    assert parse_options("target_modules=query+value", "--lora") == {"target_modules": ["query", "value"]}
    assert parse_options('target_modules=["query","key"],r=4', "--lora") == {
        "target_modules": ["query", "key"], "r": 4}
    assert parse_options("exclude_seen=false", "--distill-set") == {"exclude_seen": False}
    assert parse_options("", "--lora") == {}


@pytest.mark.parametrize("text", ["r", "r=8,alpha", "=3"])
def test_parse_options_names_the_option_and_the_bad_part(text):
    with pytest.raises(ConfigError, match="'--lora'.*key=value"):
        parse_options(text, "--lora")


def test_strategy_labels_follow_the_order_they_act_in():
    assert Strategies().label == "none"
    assert Strategies(quantize="none").names == []
    s = Strategies(quantize="int8", lora={"r": 8}, distill_from="x")
    assert s.names == ["lora", "distillation", "quantization"]
    assert s.label == "lora+distillation+quantization"
    assert s.to_dict()["distill_from"] == "x"


def test_strategies_reject_unknown_quantization_and_settings_without_teacher():
    with pytest.raises(ConfigError, match="'quantize'.*int4"):
        Strategies(quantize="int4")
    with pytest.raises(ConfigError, match="without a teacher"):
        Strategies(distill={"top_k": 5})


def test_apply_to_settings_maps_lora_and_quantization_onto_text_models():
    out = apply_to_settings("hybrid", {"epochs": 2}, Strategies(quantize="int8", lora={"r": 4, "epochs": 1}))
    assert out == {"epochs": 1, "encoder_mode": "lora", "lora": {"r": 4}, "inference_quantization": "int8"}
    assert apply_to_settings("mf", {"epochs": 2}, Strategies()) == {"epochs": 2}


@pytest.mark.parametrize("kwargs, option", [({"lora": {}}, "--lora"), ({"quantize": "int8"}, "--quantize")])
def test_apply_to_settings_refuses_models_without_text_encoder(kwargs, option):
    with pytest.raises(ConfigError, match=rf"'{option}'.*lightgcn \(gnn\) has no text encoder"):
        apply_to_settings("lightgcn", {}, Strategies(**kwargs))


def test_apply_to_settings_refuses_conflicting_settings():
    with pytest.raises(ConfigError, match="encoder_mode='full'"):
        apply_to_settings("llm", {"encoder_mode": "full"}, Strategies(lora={}))
    with pytest.raises(ConfigError, match="inference_quantization='bf16'"):
        apply_to_settings("llm", {"inference_quantization": "bf16"}, Strategies(quantize="int8"))


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    split = tiny_split(seed=0)
    path = tmp_path_factory.mktemp("teacher") / "model"
    get_model("mf", embedding_size=8, epochs=2, seed=0).fit(split, progress=False).save(path)
    return path


def test_load_teacher_accepts_its_own_split_and_a_run_folder(teacher_dir):
    split = tiny_split(seed=0)
    t1 = load_teacher(teacher_dir, split)
    t2 = load_teacher(teacher_dir.parent, split)  # the run folder holding model/
    assert (t1.score([0, 1]) == t2.score([0, 1])).all()


def test_load_teacher_refuses_other_training_interactions(teacher_dir):
    other = tiny_split(seed=1)  # same sizes, other train/valid/test assignment
    with pytest.raises(ConfigError, match="pairs differ.*validation/test"):
        load_teacher(teacher_dir, other)
    with pytest.raises(ConfigError, match="24 users x 30 items"):
        load_teacher(teacher_dir, tiny_split(n_users=26, seed=0))
    with pytest.raises(DataError):
        load_teacher(teacher_dir.parent / "missing", tiny_split(seed=0))


def test_lora_and_distill_settings_name_their_option():
    with pytest.raises(ConfigError, match="'--lora' option has unknown setting.*'rank'"):
        apply_to_settings("llm", {}, Strategies(lora={"rank": 8}))
    assert apply_to_settings("llm", {}, Strategies(lora={"epochs": 1}))["epochs"] == 1  # a model setting
    with pytest.raises(ConfigError, match="'student' cannot be a distillation setting"):
        Strategies(distill_from="x", distill={"student": 3})
