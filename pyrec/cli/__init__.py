"""The ``pyrec`` command line (typer + rich).

Each sub-module registers its commands on the one :data:`app`; heavy libraries are imported inside
the command functions so ``pyrec --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="pyrec",
    help="Train, optimize, benchmark and statistically evaluate hybrid GNN + LLM recommenders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# one module per command group; each defines register(app)
_COMMAND_MODULES = ("data", "train", "benchmark", "evaluate", "stats", "report")

for _name in _COMMAND_MODULES:
    importlib.import_module(f"pyrec.cli.{_name}").register(app)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """pyrec's data warnings (:class:`~pyrec.diagnostics.DataWarning`) as one ``warning:`` line on stderr,
    without Python's source-line echo; other libraries' warnings keep Python's format."""
    import sys
    import warnings

    from pyrec.diagnostics import DataWarning

    if issubclass(category, DataWarning):
        print(f"warning: {message}", file=file or sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _drop_local_rank(argv: list[str]) -> list[str]:
    """``argv`` without the ``--local_rank=N`` (or ``--local_rank N``) that DeepSpeed's launcher
    adds after the script (``deepspeed/launcher/launch.py``, unless ``--no_local_rank``); the
    rank is read from ``LOCAL_RANK`` instead."""
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg.startswith("--local_rank="):
            continue
        elif arg == "--local_rank" and i + 1 < len(argv):
            skip = True
        else:
            out.append(arg)
    return out


def main() -> None:
    """Console-script entry point (``pyrec``; ``python -m pyrec``; ``deepspeed --module pyrec``)."""
    import sys
    import warnings

    warnings.showwarning = _show_warning
    app(args=_drop_local_rank(sys.argv[1:]))


__all__ = ["app", "main"]
