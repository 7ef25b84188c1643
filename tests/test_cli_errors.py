"""Every ``pyrec`` command reports bad input the same way: ``error: ...`` on stderr, exit code 2,
no traceback (pyrec.cli._errors)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pyrec.cli import app


@pytest.mark.parametrize("args, says", [
    (["data", "info", "no-such-dataset"], "no-such-dataset"),
    (["train", "--model", "no-such-model"], "'--model'"),
    (["evaluate", "--config", "no-such-file.toml"], "does not exist"),
    (["stats", "no-such-folder"], "does not exist"),
    (["report", "no-such-folder"], "does not exist"),
    (["benchmark", "--backend", "tpu"], "'backend'"),
])
def test_bad_input_is_one_line_exit_2(args, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and says in res.output
    assert "Traceback" not in res.output


def test_interrupt_says_what_is_kept(monkeypatch):
    import typer

    from pyrec.cli._errors import EXIT_INTERRUPTED, user_errors

    with pytest.raises(typer.Exit) as info, user_errors():
        raise KeyboardInterrupt
    assert info.value.exit_code == EXIT_INTERRUPTED == 130
