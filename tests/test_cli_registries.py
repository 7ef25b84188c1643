"""The CLI's choice lists come from the registries that own the names (models, backends, split
protocols), so adding a model is one registry entry: the CLI takes it at once."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pyrec.backends.registry import BACKENDS
from pyrec.cli import app
from pyrec.data.split import PROTOCOLS
from pyrec.experiment._config import BACKENDS as CONFIG_BACKENDS
from pyrec.models.registry import MODELS
from pyrec.pipeline import SPLITS


def _help(*args: str) -> str:
    res = CliRunner().invoke(app, [*args, "--help"], terminal_width=400)
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def test_choice_lists_are_the_registries():
    train, bench, info = _help("train"), _help("benchmark"), _help("data", "info")
    assert all(m in train and m in bench for m in MODELS)
    assert all(b in bench for b in BACKENDS)
    assert all(p in train and p in bench and p in info for p in PROTOCOLS)
    assert CONFIG_BACKENDS == tuple(BACKENDS) and SPLITS == PROTOCOLS


@pytest.mark.realdata
def test_a_registered_model_is_usable_from_the_cli_at_once(ml100k_dir, tmp_path, monkeypatch):
    from pyrec.models import register_model

    monkeypatch.setitem(MODELS, "tiny-mf", MODELS["mf"])  # undone after the test
    register_model("tiny-mf", MODELS["mf"])
    res = CliRunner().invoke(app, ["train", "--model", "tiny-mf", "--data-dir", str(ml100k_dir.parent),
                                   "--epochs", "1", "--set", "embedding_size=8", "--out",
                                   str(tmp_path / "run"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "metrics.csv").is_file()
