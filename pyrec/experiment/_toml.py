"""A small TOML writer for resolved experiment configs (``tomllib`` only reads TOML).

Covers what :class:`~pyrec.experiment.ExperimentConfig` dumps: str, int, float, bool, lists of
scalars, nested tables and arrays of tables. ``None`` values are omitted (TOML has no null), so a
written file read back with ``tomllib`` and validated gives the same config.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps_toml"]


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None)
        return "{" + items + "}"
    raise TypeError(f"cannot write {type(v).__name__} value {v!r} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def _emit(table: dict, prefix: str, out: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if v is not None and not isinstance(v, dict) and not _is_table_array(v)}
    for k, v in scalars.items():
        out.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        if isinstance(v, dict):
            out.append("")
            out.append(f"[{name}]")
            _emit(v, name, out)
        elif _is_table_array(v):
            for item in v:
                out.append("")
                out.append(f"[[{name}]]")
                _emit(item, name, out)


def dumps_toml(data: dict, header: str = "") -> str:
    """Serialise a nested dict to TOML text.

    Args:
        data: mapping of str keys to TOML-representable values (see module docstring).
        header: comment lines placed at the top (each prefixed with ``# ``).

    Returns:
        str: TOML document; ``tomllib.loads`` of it equals ``data`` with ``None`` values removed.

    Raises:
        TypeError: a value that has no TOML form.
    """
    out: list[str] = [f"# {line}" for line in header.splitlines()]
    _emit(data, "", out)
    return "\n".join(out).strip("\n") + "\n"
