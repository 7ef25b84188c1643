"""The rpy2 bridge: find the R scripts, load them once, call them, turn R errors into Python ones.

rpy2 is imported lazily (inside :func:`import_rpy2`), so ``import pyrec`` and ``import
pyrec.stats`` work without R. The R scripts (``r_scripts/utils_stats.R`` and
``r_scripts/stats_*.R``) are sourced into one private R environment, not R's global one.

The scripts are found by :func:`pyrec._resources.resource_dir` (``$PYREC_R_SCRIPTS``, the
repository's ``r_scripts/``, or ``<prefix>/share/pyrec/r_scripts``). Imports flow one way:
``_rpy2`` (starting R) <- ``_convert`` (pandas <-> R) <- ``_bridge`` (calling the scripts).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pyrec.diagnostics import DataWarning, RBridgeError
from pyrec.stats._rpy2 import INSTALL_HINT, import_rpy2, r_calls

__all__ = ["INSTALL_HINT", "R_PACKAGES", "import_rpy2", "r_scripts_dir", "r_env", "call_r"]

log = logging.getLogger("pyrec.stats")

R_PACKAGES = ("car", "emmeans", "effectsize", "jsonlite")  #: R packages the scripts load with
_state: dict[str, Any] = {}


def r_scripts_dir() -> Path:
    """The folder holding pyrec's R scripts (:func:`pyrec._resources.resource_dir`).

    Returns:
        Path: ``$PYREC_R_SCRIPTS`` when set, else ``<repo>/r_scripts`` beside the package
        (editable install), else ``<prefix>/share/pyrec/r_scripts`` (``pip install .``).

    Raises:
        RBridgeError: the folder (or its ``utils_stats.R``) is missing.
    """
    from pyrec._resources import resource_dir

    try:
        return resource_dir("r_scripts")
    except FileNotFoundError as exc:
        raise RBridgeError(str(exc)) from None


def r_env():
    """The R environment holding the sourced pyrec statistics functions (loaded once).

    Returns:
        ``rpy2`` environment with ``pyrec_anova``, ``pyrec_tukey``, ``pyrec_paired_tests``, ...

    Raises:
        RBridgeError: R/rpy2 missing, an R package in :data:`R_PACKAGES` missing, or a script
            failed to load (with the R message).
    """
    if "env" in _state:
        return _state["env"]
    with r_calls() as ro:
        if "env" in _state:  # another thread loaded it while this one waited for the R lock
            return _state["env"]
        folder = r_scripts_dir()
        missing = [p for p in R_PACKAGES
                   if not ro.r["requireNamespace"](p, quietly=True)[0]]
        if missing:
            raise RBridgeError(
                f"The R statistics need the R package(s) {', '.join(missing)}, not installed in "
                f"{ro.r('R.home()')[0]}. {INSTALL_HINT}"
            )
        files = [folder / "utils_stats.R", *sorted(folder.glob("stats_*.R"))]
        env = ro.r["new.env"]()
        for f in files:
            try:
                ro.r["sys.source"](str(f), envir=env, keep_source=False)
            except Exception as exc:  # RRuntimeError: a syntax or load error in the script
                raise RBridgeError(f"Loading the R script {str(f)!r} failed: {exc}") from exc
        _state["env"] = env
    return env


def _to_r_arg(key: str, value: Any, ro):
    from pyrec.stats._convert import to_r

    if isinstance(value, pd.DataFrame):
        return to_r(value)
    if key == "formula":
        return ro.Formula(str(value))
    if isinstance(value, bool):
        return ro.vectors.BoolVector([value])
    if isinstance(value, int):
        return ro.vectors.IntVector([value])
    if isinstance(value, float):
        return ro.vectors.FloatVector([value])
    if isinstance(value, str):
        return ro.vectors.StrVector([value])
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return ro.vectors.StrVector(list(value))
    raise RBridgeError(f"internal: argument {key!r} of type {type(value).__name__} has no R form")


def _invoke(fun: str, kwargs: dict[str, Any]):
    """Run R ``fun(**kwargs)`` through ``pyrec_py_call``: (R value, messages); warnings re-warned.

    Callers that read the returned R value with rpy2 do so inside :func:`r_calls` too."""
    env = r_env()
    with r_calls() as ro:
        args = {k: _to_r_arg(k, v, ro) for k, v in kwargs.items() if v is not None}
        res = env["pyrec_py_call"](fun, ro.vectors.ListVector(args) if args else ro.r("list()"))
        error = res.rx2("error")
        error = None if error is ro.NULL else str(error[0])
        r_warnings = [str(w) for w in res.rx2("warnings")]
        messages = [str(m) for m in res.rx2("messages")]
        value = res.rx2("value")
    for w in r_warnings:
        warnings.warn(f"R {fun}(): {w}", DataWarning, stacklevel=4)
    for m in messages:
        log.info("R %s(): %s", fun, m)
    if error is not None:
        raise RBridgeError(f"R {fun}() failed: {error}")
    return value, messages


def call_r(fun: str, **kwargs: Any) -> pd.DataFrame:
    """Call one of the R statistics functions and return its table as pandas.

    Arguments whose value is ``None`` are not passed (R uses its default). DataFrames go through
    :func:`~pyrec.stats.to_r`; ``formula`` strings become R formulas.

    Args:
        fun: R function name, e.g. ``"pyrec_anova"``.
        **kwargs: its arguments, with R's names.

    Returns:
        DataFrame (via :func:`~pyrec.stats.from_r`); R attributes (method, note, ...) in
        ``.attrs``, R messages in ``.attrs["r_messages"]``.

    Raises:
        RBridgeError: R/rpy2 missing, or the R function stopped; carries the R error message.

    Warns:
        DataWarning: for each R warning.
    """
    from pyrec.stats._convert import from_r

    value, messages = _invoke(fun, kwargs)
    out = from_r(value)
    if messages:
        out.attrs["r_messages"] = messages
    return out


def call_r_tables(fun: str, **kwargs: Any) -> dict[str, pd.DataFrame]:
    """Call an R function that returns a named list of tables; see :func:`call_r`.

    Returns:
        dict name -> DataFrame, in R's order; the list's ``notes`` attribute (design messages)
        is in every table's ``attrs["design_notes"]``.

    Raises:
        RBridgeError: as :func:`call_r`.
    """
    from pyrec.stats._convert import from_r

    value, _ = _invoke(fun, kwargs)
    out = {}
    with r_calls() as ro:
        notes_r = ro.r["attr"](value, "notes", exact=True)
        notes = [] if notes_r is ro.NULL else [str(n) for n in notes_r]
        for name in (list(value.names) if value.names is not ro.NULL else []):
            df = from_r(value.rx2(name))
            note = df.attrs.get("note")
            df.attrs["note"] = [note] if isinstance(note, str) else list(note or [])
            df.attrs["design_notes"] = notes
            out[str(name)] = df
    return out


def as_str_list(value: str | Sequence[str] | Mapping, name: str, owner: str) -> list[str]:
    """A str or sequence of str as a list (for factor names); ConfigError otherwise."""
    from pyrec.diagnostics import param_error

    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Mapping) or not all(isinstance(v, str) for v in value) or not value:
        raise param_error(name, owner, "a non-empty sequence of column names", value)
    return list(value)
