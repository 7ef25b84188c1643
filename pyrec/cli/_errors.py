"""The one way a ``pyrec`` command reports a problem and exits.

Exit codes: 2 for bad input (a :class:`~pyrec.diagnostics.PyrecError`: the message names the file,
option or value and what was expected), 1 for work that ran but failed (e.g. failed runs of
``pyrec evaluate``), 130 when interrupted (finished work is kept; re-running resumes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

__all__ = ["EXIT_FAILED", "EXIT_INPUT", "EXIT_INTERRUPTED", "fail", "user_errors"]

EXIT_INPUT = 2  #: bad input (the same code typer/click use for bad options)
EXIT_FAILED = 1  #: the command ran, but some of its work failed
EXIT_INTERRUPTED = 130  #: Ctrl-C


def fail(err: Exception | str, code: int = EXIT_INPUT) -> NoReturn:
    """Print ``error: <message>`` on stderr (one line per line of the message) and exit."""
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a PyrecError into :func:`fail` and Ctrl-C into exit 130 with a one-line note."""
    from pyrec.diagnostics import PyrecError

    try:
        yield
    except PyrecError as exc:
        fail(exc)
    except KeyboardInterrupt:
        from rich.console import Console

        Console(stderr=True).print("interrupted: finished work is kept; run the same command again "
                                   "to resume.", highlight=False)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
