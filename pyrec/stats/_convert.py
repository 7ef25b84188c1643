"""pandas <-> R data.frame conversion for the rpy2 bridge, column by column and NA-safe.

pyrec does not use ``rpy2.robjects.pandas2ri`` for this: its handling of pandas' nullable dtypes,
of pandas 3's ``str`` dtype and of 64-bit integers depends on the rpy2 and pandas versions. The
rules here are explicit and tested (``tests/stats/test_convert.py``):

=============================  =====================================  ===========================
pandas column                  R column                               missing values
=============================  =====================================  ===========================
float (``float32/64``,         ``double``                             NaN / ``pd.NA`` -> ``NA``
``Float64``)
int (``int8..int64``,          ``integer`` when every value is in     ``pd.NA`` -> ``NA_integer_``
``uint*``, ``Int*``)           ``[-(2**31 - 1), 2**31 - 1]``;
                               else ``double`` with a
                               :class:`~pyrec.diagnostics.DataWarning`
                               when every value is exact in a double
                               (``|x| <= 2**53``), else
                               :class:`~pyrec.diagnostics.DataError`
bool / ``boolean``             ``logical``                            ``pd.NA`` -> ``NA``
``category``                   ``factor`` (``ordered`` when ordered),  code -1 -> ``NA``
                               levels = the categories as text
str / ``string`` / object      ``character`` (UTF-8)                  None/NaN/``pd.NA`` -> ``NA``
of str
``datetime64``                 ``POSIXct`` (seconds, ``tzone``)       NaT -> ``NA``
                               naive: the same wall clock in
                               ``tzone = "UTC"`` (marked
                               ``pyrec_naive``), on any machine
=============================  =====================================  ===========================

R ``integer`` has no 64-bit form and reserves ``-2**31`` for ``NA``, hence the integer range.
Other dtypes (complex, timedelta, period, object columns that mix types) raise
:class:`~pyrec.diagnostics.DataError` naming the column. The pandas index is not sent.

Back from R: ``factor`` -> ``category``; ``character`` -> pandas' default string dtype (``str``
with NaN for ``NA`` on pandas 3, object with None on pandas 2); ``integer`` -> ``int64`` (``Int64``
when it has ``NA``); ``logical`` -> ``bool`` (``boolean`` with ``NA``); ``double`` -> ``float64``
(``NA`` -> NaN); ``POSIXct`` -> ``datetime64`` (in its ``tzone``; naive when
marked ``pyrec_naive`` or without ``tzone``). Scalar attributes of the R data.frame (method,
notes, ...) land in ``DataFrame.attrs``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from pyrec.diagnostics import DataError, DataWarning

__all__ = ["to_r", "from_r", "R_INT_MAX", "DOUBLE_EXACT_MAX"]

R_INT_MAX = 2**31 - 1  #: largest R integer; -2**31 is R's NA_integer_
DOUBLE_EXACT_MAX = 2**53  #: every integer up to this magnitude is exact in a float64 / R double
_NA_INT = -(2**31)
_PANDAS_MAJOR = int(pd.__version__.split(".")[0])

_R_HELPERS = """
list(
  frame = function(cols, names, n) {
    names(cols) <- names
    structure(cols, class = "data.frame", row.names = .set_row_names(as.integer(n)))
  },
  factor = function(codes, levels, ordered) {
    structure(codes, levels = levels, class = if (ordered) c("ordered", "factor") else "factor")
  },
  posixct = function(x, tz, naive) {
    x <- structure(x, class = c("POSIXct", "POSIXt"), tzone = tz)
    if (naive) attr(x, "pyrec_naive") <- TRUE
    x
  },
  set_na = function(x, na) {
    x[na] <- NA
    x
  }
)
"""
_helpers: dict[str, Any] = {}


def _helpers_loaded(ro) -> None:
    """Define the R helpers once (the caller holds :func:`~pyrec.stats._rpy2.r_calls`)."""
    if not _helpers:
        h = ro.r(_R_HELPERS)
        _helpers.update({name: h.rx2(name) for name in ("frame", "factor", "posixct", "set_na")})


def _int_column(name: str, s: pd.Series, ro):
    mask = s.isna().to_numpy()
    valid = s[~mask]
    lo, hi = (int(valid.min()), int(valid.max())) if len(valid) else (0, 0)
    if lo >= -R_INT_MAX and hi <= R_INT_MAX:
        out = s.to_numpy(dtype="int64", na_value=0).astype(np.int32)
        out[mask] = _NA_INT
        return ro.vectors.IntVector(out)
    worst = lo if abs(lo) > abs(hi) else hi
    if abs(worst) > DOUBLE_EXACT_MAX:
        raise DataError(
            f"Column {name!r} holds integers beyond 2**53 (e.g. {worst}) that an R double cannot "
            "represent exactly, and R has no 64-bit integer type; convert the column to strings "
            "(df[col].astype(str)) before sending it to R."
        )
    warnings.warn(
        f"Column {name!r} holds integers beyond R's 32-bit integer range (e.g. {worst}); it is "
        "sent to R as double (exact, since every value is within 2**53).",
        DataWarning,
        stacklevel=4,
    )
    return _float_vector(s.to_numpy(dtype="float64", na_value=np.nan), mask, ro)


def _float_vector(values: np.ndarray, mask: np.ndarray, ro):
    vec = ro.vectors.FloatVector(np.ascontiguousarray(values, dtype=np.float64))
    if mask.any():  # NaN -> R's NA_real_ (a different NaN payload), vectorised in R
        vec = _helpers["set_na"](vec, ro.vectors.BoolVector(mask.tolist()))
    return vec


def _str_values(name: str, s: pd.Series) -> list:
    mask = s.isna().to_numpy()
    out = []
    for v, m in zip(s.tolist(), mask):
        if m:
            out.append(None)
        elif isinstance(v, str):
            out.append(v)
        else:
            raise DataError(
                f"Column {name!r} mixes text with {type(v).__name__} values (e.g. {v!r}); R needs "
                "one type per column: cast it first, e.g. df[col].astype(str)."
            )
    return out


def _str_vector(values: list, ro):
    return ro.vectors.StrVector([ro.NA_Character if v is None else v for v in values])


def _column(name: str, s: pd.Series, ro):
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [str(c) for c in dtype.categories]
        if len(set(cats)) != len(cats):
            raise DataError(f"Column {name!r} has categories that are equal as text: {cats}.")
        codes = s.cat.codes.to_numpy().astype(np.int32) + 1
        codes[codes == 0] = _NA_INT
        return _helpers["factor"](ro.vectors.IntVector(codes), ro.vectors.StrVector(cats),
                                  bool(dtype.ordered))
    if pd.api.types.is_bool_dtype(dtype):
        mask = s.isna().to_numpy()
        vals = s.to_numpy(dtype=object)
        return ro.vectors.BoolVector([ro.NA_Logical if m else bool(v) for v, m in zip(vals, mask)])
    if pd.api.types.is_integer_dtype(dtype):
        return _int_column(name, s, ro)
    if pd.api.types.is_float_dtype(dtype):
        mask = s.isna().to_numpy()
        return _float_vector(s.to_numpy(dtype="float64", na_value=np.nan), mask, ro)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        # naive = a wall-clock value: sent as that clock in UTC with tzone "UTC", so R shows the
        # same clock on any machine (tzone "" would make R shift it into the local time zone)
        aware = getattr(dtype, "tz", None) is not None
        tz = str(dtype.tz) if aware else "UTC"
        mask = s.isna().to_numpy()
        secs = (s.dt.tz_convert("UTC") if aware else s).to_numpy(
            dtype="datetime64[ns]").astype("int64") / 1e9
        secs[mask] = np.nan
        return _helpers["posixct"](_float_vector(secs, mask, ro), tz, not aware)
    if pd.api.types.is_string_dtype(dtype) or dtype == np.dtype(object):
        return _str_vector(_str_values(name, s), ro)
    raise DataError(
        f"Column {name!r} has dtype {dtype} that the R bridge does not convert; supported: "
        "float, int, bool, category, str, datetime64."
    )


def to_r(df: pd.DataFrame):
    """Convert a pandas DataFrame to an R ``data.frame`` (an ``rpy2`` object).

    Args:
        df: DataFrame of ``n`` rows; column names become R names unchanged (no ``make.names``).

    Returns:
        ``rpy2.robjects.vectors.DataFrame`` with ``n`` rows, one R column per column (see the
        module docstring for the dtype rules).

    Raises:
        DataError: unsupported dtype, mixed-type object column, duplicated column names,
            or integers beyond 2**53.
        RBridgeError: R or rpy2 is not installed.

    Warns:
        DataWarning: an integer column beyond R's 32-bit range was sent as double.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"to_r needs a pandas DataFrame. Got {type(df).__name__} instead.")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"to_r: duplicated column names {dup}; R data.frames need unique names.")
    from pyrec.stats._rpy2 import r_calls

    with r_calls() as ro:
        _helpers_loaded(ro)
        cols = [_column(n, df.iloc[:, i], ro) for i, n in enumerate(names)]
        return _helpers["frame"](ro.vectors.ListVector.from_length(0) if not cols
                                 else ro.r["list"](*cols), ro.vectors.StrVector(names), len(df))


def _series(vec, ro) -> pd.Series:
    cls = list(vec.rclass) if vec.rclass is not None else []
    if isinstance(vec, ro.vectors.FactorVector) or "factor" in cls:
        codes = np.asarray(vec, dtype=np.int64)
        codes = np.where(codes == _NA_INT, -1, codes - 1)
        levels = [str(x) for x in vec.do_slot("levels")]
        return pd.Series(pd.Categorical.from_codes(codes, categories=levels,
                                                   ordered="ordered" in cls))
    if isinstance(vec, ro.vectors.StrVector):
        values = [None if x is ro.NA_Character else str(x) for x in vec]
        return pd.Series(values, dtype="str" if _PANDAS_MAJOR >= 3 else object)
    if isinstance(vec, ro.vectors.BoolVector):
        arr = np.asarray(vec, dtype=np.int64)
        mask = arr == _NA_INT
        if mask.any():
            return pd.Series(pd.arrays.BooleanArray(arr.astype(bool), mask))
        return pd.Series(arr.astype(bool))
    if isinstance(vec, ro.vectors.IntVector):
        arr = np.asarray(vec, dtype=np.int64)
        mask = arr == _NA_INT
        if mask.any():
            return pd.Series(pd.arrays.IntegerArray(arr, mask))
        return pd.Series(arr)
    if isinstance(vec, ro.vectors.FloatVector):
        arr = np.array(vec, dtype=np.float64)
        if "POSIXct" in cls:
            attrs = list(vec.list_attrs())
            tz = vec.do_slot("tzone")[0] if "tzone" in attrs else ""
            if "pyrec_naive" in attrs:  # a naive column sent by to_r: the UTC clock, naive again
                tz = ""
            out = pd.to_datetime(arr, unit="s", utc=bool(tz))
            return pd.Series(out.tz_convert(tz) if tz else out)
        if "Date" in cls:
            return pd.Series(pd.to_datetime(arr, unit="D"))
        return pd.Series(arr)
    if vec is ro.NULL or len(vec) == 0:
        return pd.Series([], dtype=float)
    raise DataError(f"R column of class {cls or type(vec).__name__} has no pandas conversion.")


def _attr_value(v, ro):
    if isinstance(v, (ro.vectors.StrVector, ro.vectors.FloatVector, ro.vectors.IntVector,
                      ro.vectors.BoolVector)):
        vals = []
        for x in v:
            if x is ro.NA_Character or x is ro.NA_Logical or x is ro.NA_Integer:
                vals.append(None)
            elif isinstance(x, (bool, np.bool_)) or isinstance(v, ro.vectors.BoolVector):
                vals.append(bool(x))
            elif isinstance(x, (int, np.integer)):
                vals.append(int(x))
            elif isinstance(x, (float, np.floating)):
                vals.append(None if np.isnan(x) else float(x))
            else:
                vals.append(str(x))
        return vals[0] if len(vals) == 1 else vals
    return None


def from_r(obj) -> pd.DataFrame | pd.Series:
    """Convert an R ``data.frame`` (or a single R vector) to pandas.

    Args:
        obj: ``rpy2`` data.frame with ``n`` rows, or an atomic vector / factor.

    Returns:
        DataFrame with ``n`` rows and the R column names (a Series for a vector); scalar
        attributes of the data.frame other than names/class/row.names are in ``df.attrs``.

    Raises:
        DataError: a column has no pandas conversion (list columns, complex).
        RBridgeError: R or rpy2 is not installed.
    """
    from pyrec.stats._rpy2 import r_calls

    with r_calls() as ro:
        _helpers_loaded(ro)
        cls = list(obj.rclass) if getattr(obj, "rclass", None) is not None else []
        if "data.frame" not in cls:
            return _series(obj, ro)
        names = list(obj.names) if obj.names is not ro.NULL else []
        cols = {}
        for i, name in enumerate(names):
            s = _series(obj[i], ro)
            cols[str(name)] = s.reset_index(drop=True)
        n = int(ro.r["nrow"](obj)[0])
        attrs = {}
        for key in obj.list_attrs():
            if key in ("names", "class", "row.names"):
                continue
            value = _attr_value(ro.r["attr"](obj, key, exact=True), ro)
            if value is not None:
                attrs[str(key)] = value
    df = pd.DataFrame(cols, index=pd.RangeIndex(n))
    df.attrs.update(attrs)
    return df
