"""Errors and warnings raised by pyrec, with one message template.

Every user-facing check raises one of these typed exceptions. Messages name the parameter (or the
file, line and column), the allowed set or range, and the value received, e.g.::

    The 'k' parameter of ndcg must be an int in [1, inf). Got 0 instead.

Degenerate data (a user with nothing to find, an empty file section) warns with :class:`DataWarning`;
misuse raises. pyrec never uses ``assert`` for user input.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PyrecError",
    "DataError",
    "DataWarning",
    "ConfigError",
    "BackendUnavailable",
    "RBridgeError",
    "NotFittedError",
    "DistributedError",
    "param_error",
    "validation_message",
]


class PyrecError(Exception):
    """Base class of every exception pyrec raises on purpose."""


class DataError(PyrecError, ValueError):
    """Input data is missing, malformed or inconsistent (names the file, line and column)."""


class DataWarning(UserWarning):
    """Data is degenerate but usable (e.g. users without test items are excluded from a mean)."""


class ConfigError(PyrecError, ValueError):
    """A parameter or configuration value is outside its allowed set or range."""


class BackendUnavailable(PyrecError, RuntimeError):
    """A requested backend (cuda, deepspeed, fpga-sim, R) is not available on this machine."""


class RBridgeError(PyrecError, RuntimeError):
    """R or rpy2 is missing, or an R function failed; carries the R error message."""


class NotFittedError(PyrecError, RuntimeError):
    """A model was asked to score or recommend before ``fit`` (or ``load``) was called."""


class DistributedError(PyrecError, RuntimeError):
    """A process of a data-parallel run failed or timed out (carries the failing rank's message)."""


def param_error(name: str, owner: str, expected: str, got: Any) -> ConfigError:
    """Build the standard error for a bad parameter value.

    Args:
        name: parameter name, e.g. ``"k"``.
        owner: the function, class or command it belongs to, e.g. ``"ndcg"``.
        expected: the allowed set or range in words, e.g. ``"an int in [1, inf)"``.
        got: the value received.

    Returns:
        ConfigError: ``The 'k' parameter of ndcg must be an int in [1, inf). Got 0 instead.``
    """
    return ConfigError(f"The {name!r} parameter of {owner} must be {expected}. Got {got!r} instead.")


def validation_message(exc: Any, source: str, what: str, model: Any = None) -> str:
    """One line per problem of a pydantic ``ValidationError``, naming the file and the key.

    Args:
        exc: the ``pydantic.ValidationError`` (only its ``errors()`` is used).
        source: the file (or ``"<dict>"``) that was validated.
        what: what it is, e.g. ``"experiment config"`` (the first line says "Invalid <what>:").
        model: the root pydantic model class; when given, an unknown key's line lists the keys
            its section knows.

    Returns:
        str: ``Invalid <what>:`` then lines ``<source>: key 'split.ratios': <problem> (got ...)``.
    """
    lines = []
    for err in exc.errors():
        key = ""
        for part in err["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        key = key or "<top level>"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not a setting of this section)"
            known = _section_keys(model, err["loc"][:-1])
            if known:
                msg += f"; known keys: {known}"
        got = err.get("input")
        quiet = isinstance(got, dict) or err["type"] in ("missing", "value_error")
        got_txt = "" if quiet else f" (got {got!r})"
        lines.append(f"{source}: key {key!r}: {msg}{got_txt}")
    return f"Invalid {what}:\n  " + "\n  ".join(lines)


def _section_keys(model: Any, loc: tuple) -> list[str]:
    """Field names of the pydantic model reached from ``model`` along ``loc`` ([] if unknown)."""
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = next((a for a in (field.annotation, *_flat_args(field.annotation))
                      if hasattr(a, "model_fields")), None)  # fmt: skip
    return list(getattr(model, "model_fields", {})) if model is not None else []


def _flat_args(tp: Any) -> list:
    """Every type argument nested in ``tp`` (``list[X] | None`` -> ``[list[X], X, None]``)."""
    from typing import get_args

    out = []
    for a in get_args(tp):
        out += [a, *_flat_args(a)]
    return out
