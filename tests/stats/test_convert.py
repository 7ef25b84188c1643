"""pandas <-> R conversion of the rpy2 bridge: one test per tricky column type, both directions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pyrec.diagnostics import DataError, DataWarning

pytestmark = pytest.mark.r


@pytest.fixture(scope="module")
def R(r_ready):
    """Small R helpers that inspect a converted column."""
    from pyrec.stats._rpy2 import import_rpy2

    ro = import_rpy2()
    return {
        "class": lambda df, col: list(ro.r("function(d, c) class(d[[c]])")(df, col)),
        "na": lambda df, col: list(ro.r("function(d, c) is.na(d[[c]])")(df, col)),
        "typeof": lambda df, col: ro.r("function(d, c) typeof(d[[c]])")(df, col)[0],
        "get": lambda df, col: list(ro.r("function(d, c) as.character(d[[c]])")(df, col)),
        "nrow": lambda df: ro.r["nrow"](df)[0],
        "ro": ro,
    }


def _roundtrip(df):
    from pyrec.stats import from_r, to_r

    return to_r(df), from_r(to_r(df))


def test_categorical_with_na_becomes_factor_and_back(R):
    cat = pd.Categorical(["LightGCN-INT8", None, "café", "LightGCN-INT8"],
                         categories=["café", "LightGCN-INT8", "hybrid+lora"])
    r, back = _roundtrip(pd.DataFrame({"config": cat}))
    assert R["class"](r, "config") == ["factor"]
    assert R["na"](r, "config") == [False, True, False, False]
    assert list(R["ro"].r("function(d) levels(d$config)")(r)) == ["café", "LightGCN-INT8",
                                                                  "hybrid+lora"]
    assert isinstance(back["config"].dtype, pd.CategoricalDtype)
    assert list(back["config"].cat.categories) == ["café", "LightGCN-INT8", "hybrid+lora"]
    assert back["config"].isna().tolist() == [False, True, False, False]
    assert back["config"].iloc[2] == "café"


def test_ordered_categorical_keeps_order(R):
    cat = pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True)
    r, back = _roundtrip(pd.DataFrame({"x": cat}))
    assert R["class"](r, "x") == ["ordered", "factor"]
    assert back["x"].cat.ordered


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_string_with_na_and_non_ascii(R, dtype):
    s = pd.Series(["hybrid+lora", None, "café ü 日本", "gnn cpu"], dtype=dtype)
    r, back = _roundtrip(pd.DataFrame({"s": s}))
    assert R["typeof"](r, "s") == "character"
    assert R["na"](r, "s") == [False, True, False, False]
    nchar = R["ro"].r("function(d) nchar(d$s[3])")(r)[0]
    assert nchar == len("café ü 日本")  # UTF-8 intact: characters, not bytes
    assert back["s"].isna().tolist() == [False, True, False, False]
    assert back["s"].iloc[2] == "café ü 日本"
    assert pd.api.types.is_string_dtype(back["s"])


def test_object_column_mixing_types_is_rejected(R):
    from pyrec.stats import to_r

    with pytest.raises(DataError, match="Column 'mixed' mixes text with int"):
        to_r(pd.DataFrame({"mixed": ["a", 3]}))


def test_nullable_boolean_na_becomes_logical_na(R):
    b = pd.array([True, None, False], dtype="boolean")
    r, back = _roundtrip(pd.DataFrame({"b": b, "plain": [True, False, True]}))
    assert R["typeof"](r, "b") == "logical"
    assert R["na"](r, "b") == [False, True, False]
    assert R["get"](r, "b")[0::2] == ["TRUE", "FALSE"]
    assert str(back["b"].dtype) == "boolean"
    assert back["b"].isna().tolist() == [False, True, False]
    assert back["b"][0] and not back["b"][2]
    assert back["plain"].dtype == bool


def test_int64_within_r_range_stays_integer_with_na(R):
    r, back = _roundtrip(pd.DataFrame({"seed": pd.array([0, None, 2**31 - 1], dtype="Int64"),
                                       "k": np.array([10, 20, 10], dtype=np.int64)}))
    assert R["typeof"](r, "seed") == "integer"
    assert R["na"](r, "seed") == [False, True, False]
    assert str(back["seed"].dtype) == "Int64"
    assert back["seed"][2] == 2**31 - 1
    assert back["k"].dtype == np.int64


def test_int64_beyond_2_31_becomes_double_with_warning(R):
    big = pd.DataFrame({"user": np.array([1, 2**31, 2**53], dtype=np.int64)})
    with pytest.warns(DataWarning, match="Column 'user' holds integers beyond R's 32-bit"):
        r, back = _roundtrip(big)
    assert R["typeof"](r, "user") == "double"
    assert back["user"].tolist() == [1.0, 2.0**31, 2.0**53]  # exact


def test_int_min_is_not_confused_with_r_na(R):
    with pytest.warns(DataWarning):  # -2**31 is NA_integer_ in R, so it must go as double
        r, back = _roundtrip(pd.DataFrame({"x": np.array([-(2**31), 0], dtype=np.int64)}))
    assert R["na"](r, "x") == [False, False]
    assert back["x"].tolist() == [-(2.0**31), 0.0]


def test_int64_beyond_2_53_is_an_error(R):
    from pyrec.stats import to_r

    with pytest.raises(DataError, match="beyond 2\\*\\*53 .*9007199254740993"):
        to_r(pd.DataFrame({"id": np.array([1, 2**53 + 1], dtype=np.int64)}))


def test_float_nan_becomes_r_na(R):
    r, back = _roundtrip(pd.DataFrame({"v": [0.5, np.nan, np.inf],
                                       "F": pd.array([1.5, None, 2.0], dtype="Float64")}))
    assert R["na"](r, "v") == [False, True, False]
    assert list(R["ro"].r("function(d) is.na(d$v) & !is.nan(d$v)")(r)) == [False, True, False]
    assert R["na"](r, "F") == [False, True, False]
    assert np.isnan(back["v"][1]) and np.isinf(back["v"][2])


def test_datetime_roundtrip(R):
    t = pd.Series(pd.to_datetime(["2024-01-01 00:00:00", None, "2024-01-02 12:30:00"]))
    r, back = _roundtrip(pd.DataFrame({"t": t}))
    assert R["class"](r, "t") == ["POSIXct", "POSIXt"]
    assert back["t"].isna().tolist() == [False, True, False]
    assert back["t"][2] == pd.Timestamp("2024-01-02 12:30:00")


def test_bad_inputs_are_rejected(R):
    from pyrec.stats import to_r

    with pytest.raises(DataError, match="duplicated column names \\['a'\\]"):
        to_r(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(DataError, match="Column 'c' has dtype complex128"):
        to_r(pd.DataFrame({"c": [1 + 2j]}))
    with pytest.raises(DataError, match="needs a pandas DataFrame"):
        to_r([1, 2])


def test_empty_and_zero_row_frames(R):
    r, back = _roundtrip(pd.DataFrame({"a": pd.Series([], dtype=float),
                                       "s": pd.Series([], dtype=str)}))
    assert R["nrow"](r) == 0
    assert list(back.columns) == ["a", "s"] and len(back) == 0


def test_r_data_frame_back_to_pandas(R):
    from pyrec.stats import from_r

    rdf = R["ro"].r("""structure(data.frame(
        f = factor(c("LightGCN-INT8", NA, "caf\\u00e9")), s = c("a", NA, "\\u00fc"),
        i = c(1L, NA, 3L), l = c(TRUE, NA, FALSE), d = c(1.5, NA, NaN),
        stringsAsFactors = FALSE), method = "test method", note = c("n1", "n2"))""")
    df = from_r(rdf)
    assert list(df.columns) == ["f", "s", "i", "l", "d"]
    assert isinstance(df["f"].dtype, pd.CategoricalDtype)
    assert df["f"].isna().tolist() == [False, True, False] and df["f"][2] == "café"
    assert df["s"].isna().tolist() == [False, True, False] and df["s"][2] == "ü"
    assert str(df["i"].dtype) == "Int64" and df["i"][2] == 3
    assert str(df["l"].dtype) == "boolean" and bool(df["l"][0]) is True
    assert df["d"].isna().tolist() == [False, True, True]
    assert df.attrs == {"method": "test method", "note": ["n1", "n2"]}


def test_warpbreaks_from_r_is_faithful(rdata):
    wb = rdata("warpbreaks")
    assert wb.shape == (54, 3)
    assert list(wb["tension"].cat.categories) == ["L", "M", "H"]
    assert wb["breaks"].sum() == 1520  # sum(warpbreaks$breaks)


def test_runs_table_roundtrip_keeps_every_value(R, ml100k_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no conversion warnings on a normal runs table
        _, back = _roundtrip(ml100k_runs)
    pd.testing.assert_frame_equal(back, ml100k_runs.reset_index(drop=True), check_dtype=False)
