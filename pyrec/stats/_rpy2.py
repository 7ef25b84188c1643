"""Start the embedded R through rpy2, once (the lowest layer of :mod:`pyrec.stats`)."""

from __future__ import annotations

import os
import sys
from typing import Any

from pyrec.diagnostics import RBridgeError

__all__ = ["INSTALL_HINT", "import_rpy2"]

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
