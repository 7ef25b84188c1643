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
    "param_error",
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
