"""Hand pandas DataFrames to R through reticulate, exactly.

reticulate 1.28 (Debian 12) converts neither pandas 3 DataFrames (their class moved from
``pandas.core.frame`` to ``pandas``) nor numpy 2 arrays, and turns Python ints beyond 2^31 - 1
into garbage. Plain Python lists of one scalar type do convert exactly (to double, integer,
logical and character vectors), so :func:`frame_for_r` splits a DataFrame into such lists plus
NA masks, and ``r_scripts/pyrec.R`` rebuilds the data.frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["frame_for_r", "frames_for_r"]

_INT32_MAX = 2**31 - 1


def _column(s: pd.Series) -> tuple[str, list, list[bool], list[str] | None]:
    na = s.isna().to_numpy(dtype=bool)
    levels = None
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in s.cat.categories]
        codes = s.cat.codes.to_numpy()
        return "factor", [int(c) + 1 if c >= 0 else 1 for c in codes], na.tolist(), levels
    kind = s.dtype.kind if isinstance(s.dtype, np.dtype) else getattr(s.dtype, "kind", "O")
    if pd.api.types.is_bool_dtype(s.dtype):
        return "logical", [bool(v) if not m else False for v, m in zip(s.tolist(), na)], na.tolist(), None
    if kind in "iu":
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = vals[~na]
        if finite.size and (finite.max() > _INT32_MAX or finite.min() < -_INT32_MAX):
            return "double", [0.0 if m else float(v) for v, m in zip(vals, na)], na.tolist(), None
        return "integer", [0 if m else int(v) for v, m in zip(vals, na)], na.tolist(), None
    if kind == "f":
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        return "double", [0.0 if m else float(v) for v, m in zip(vals, na)], na.tolist(), None
    if kind == "M":
        return "character", ["" if m else str(v) for v, m in zip(s.tolist(), na)], na.tolist(), None
    return "character", ["" if m else str(v) for v, m in zip(s.tolist(), na)], na.tolist(), None


def frame_for_r(df: pd.DataFrame) -> dict[str, Any]:
    """Split a DataFrame into R-convertible columns.

    Args:
        df: any DataFrame (index is dropped).

    Returns:
        ``{"names": [str], "nrow": int, "columns": [{"kind", "values", "na", "levels"}]}`` where
        kind is "double" | "integer" | "logical" | "character" | "factor"; ``values`` is a list of
        that Python scalar type with placeholders where ``na`` is True; ints beyond 2^31 - 1
        become "double"; ``levels`` (factors only) the categories, with 1-based codes as values.
    """
    cols = []
    for name in df.columns:
        kind, values, na, levels = _column(df[name])
        cols.append({"kind": kind, "values": values, "na": na, "levels": levels})
    return {"names": [str(c) for c in df.columns], "nrow": len(df), "columns": cols,
            "attrs": {k: v for k, v in df.attrs.items() if isinstance(v, (str, list))}}


def frames_for_r(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """:func:`frame_for_r` of every table of a dict (e.g. ``pyrec.stats.run_all``'s result)."""
    return {str(k): frame_for_r(v) for k, v in tables.items()}
