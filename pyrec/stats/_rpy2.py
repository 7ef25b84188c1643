"""Start the embedded R through rpy2, once (the lowest layer of :mod:`pyrec.stats`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyrec.diagnostics import RBridgeError

__all__ = ["INSTALL_HINT", "import_rpy2", "r_calls"]

INSTALL_HINT = (
    "Install R and rpy2 with `bash scripts/setup.sh`, or by hand: "
    "`apt-get install r-base-core r-cran-car r-cran-emmeans r-cran-effectsize r-cran-jsonlite "
    "r-cran-lme4 r-cran-lmertest` and "
    "`pip install rpy2==3.5.17` (for R < 4.5; `pip install 'rpy2>=3.6,<3.7'` for R >= 4.5)."
)
_state: dict[str, Any] = {}  #: the imported rpy2.robjects, once R has started


def import_rpy2():
    """Import and return ``rpy2.robjects`` (starting the embedded R on first use).

    Returns:
        module: ``rpy2.robjects``.

    Raises:
        RBridgeError: rpy2 is not installed, or it cannot find/load R; the message says how to
            install both.
    """
    if "ro" in _state:
        return _state["ro"]
    if "rpytools" in sys.modules:  # reticulate's helper module: this Python runs inside R
        raise RBridgeError(
            "pyrec's Python side is running inside an R session (reticulate), where rpy2 cannot "
            "start a second R. Run the statistics in R directly: source('r_scripts/pyrec.R') and "
            "call pyrec_stats(results_dir), or pass stats=False to evaluate()."
        )
    # rpy2 prepends R's library folders (and /usr/lib/<arch>) to LD_LIBRARY_PATH when it starts R.
    # Child processes inherit that, and a Python child then loads the system libpython and loses
    # its site-packages. The dynamic loader reads LD_LIBRARY_PATH only at process start, so R,
    # already loaded, does not need it: restore the caller's value.
    saved = os.environ.get("LD_LIBRARY_PATH")
    try:
        import rpy2.robjects as ro
    except Exception as exc:  # ImportError, or R_HOME / libR load failures inside rpy2
        raise RBridgeError(
            f"The R statistics need R and the rpy2 package, which could not be loaded "
            f"({type(exc).__name__}: {exc}). {INSTALL_HINT}"
        ) from exc
    finally:
        if saved is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = saved
    _state["ro"] = ro
    return ro


@contextmanager
def r_calls() -> Iterator[Any]:
    """Hold rpy2's R lock and its default conversion rules for a block of R calls, on any thread.

    rpy2 (3.5+) keeps its conversion rules in a ``contextvars.ContextVar`` that is set only in the
    thread that imported ``rpy2.robjects``; a call from another thread would fail with rpy2's
    ``NotImplementedError: Conversion rules ... missing``. Every pyrec entry point into R runs
    inside this block, so the rules are the same (``robjects.default_converter``, whatever a caller
    has activated) on every thread, and two threads never run R at the same time (the embedded R
    is single-threaded; ``openrlib.rlock`` is the re-entrant lock rpy2 itself uses for that).

    Yields:
        module: ``rpy2.robjects``.

    Raises:
        RBridgeError: as :func:`import_rpy2`.
    """
    ro = import_rpy2()
    from rpy2.rinterface_lib import openrlib

    with openrlib.rlock, ro.default_converter.context():
        yield ro
