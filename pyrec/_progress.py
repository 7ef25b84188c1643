"""How long loops show progress: a live bar on a terminal, plain flushed lines anywhere else.

The one place that decides it, for `pyrec evaluate` (the grid of runs), the trainer's epochs
(`pyrec train`, `pyrec benchmark`, ``Recommender.fit(progress=True)``) and anything added later:

* ``bar``: stdout is a terminal (or a Jupyter kernel) -> the live bars (rich for the grid, tqdm for
  epochs), and no progress lines, so nothing is shown twice;
* ``lines``: stdout is a pipe, a file or a log -> no bar (to a pipe it writes nothing or
  carriage-return garbage) and instead one line per finished unit of work (a run, an epoch, or a
  heartbeat every :data:`HEARTBEAT_S` seconds inside a long epoch) on stdout, flushed at once, so
  ``pyrec evaluate | tee log`` or a batch job's log shows a live run;
* ``off``: progress was turned off (``progress=False``, ``--no-progress``).

The environment variable ``PYREC_PROGRESS`` (``bar``, ``lines`` or ``off``) overrides the
terminal test, e.g. to keep lines under a terminal multiplexer that records the screen.
"""

from __future__ import annotations

import os
import sys
import time

from pyrec.diagnostics import ConfigError

__all__ = ["BAR", "HEARTBEAT_S", "LINES", "OFF", "Heartbeat", "emit", "fmt_duration", "progress_mode"]

BAR, LINES, OFF = "bar", "lines", "off"
MODES = (BAR, LINES, OFF)
ENV = "PYREC_PROGRESS"

#: least seconds between two progress lines of one loop (except its first and last line)
HEARTBEAT_S = 30.0


def progress_mode(enabled: bool = True) -> str:
    """``"bar"``, ``"lines"`` or ``"off"`` (see the module docstring).

    Args:
        enabled: the caller's ``progress`` flag; False gives ``"off"`` whatever the environment.

    Raises:
        ConfigError: ``PYREC_PROGRESS`` is set to something other than bar, lines or off.
    """
    if not enabled:
        return OFF
    forced = os.environ.get(ENV, "").strip().lower()
    if forced:
        if forced not in MODES:
            raise ConfigError(f"The {ENV} environment variable must be one of {list(MODES)}. "
                              f"Got {os.environ[ENV]!r} instead.")
        return forced
    return BAR if _interactive(sys.stdout) else LINES


def _interactive(stream) -> bool:
    try:
        if stream is not None and stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):  # a replaced or closed stream
        pass
    return _in_notebook()


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (whose stdout is no terminal but shows tqdm's widget bars)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - any trouble here just means "not a notebook"
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def emit(message: str) -> None:
    """Write one progress line to stdout and flush it now (stdout to a pipe is block-buffered)."""
    stream = sys.stdout
    if stream is None:  # pythonw, a detached process
        return
    print(message, file=stream, flush=True)


def fmt_duration(seconds: float) -> str:
    """``"0.04 s"``, ``"412 s"``, ``"41 min"`` or ``"2.3 h"`` (seconds below 10 min, minutes
    below 2 h)."""
    if seconds != seconds:  # NaN
        return "? s"
    if seconds < 600:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.{1 if seconds >= 1 else 2}f} s"
    if seconds < 120 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Heartbeat:
    """Says when a loop in ``lines`` mode should print: when the caller forces it (its first and
    last step) and otherwise once ``interval`` seconds have passed since the last line (so a
    1000-epoch loop of 0.1 s epochs writes two lines a minute, and a 10-minute epoch still shows
    that it is alive). The clock starts when the heartbeat is made."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = HEARTBEAT_S if interval is None else interval
        self.last = time.monotonic()

    def due(self, *, force: bool = False) -> bool:
        """True when a line should be printed now (then counted as printed)."""
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            self.last = now
            return True
        return False
