"""Shared helpers of the loaders: checked numeric columns and assembly of :class:`InteractionData`.

Every loader parses its own file format, then hands raw id / rating / timestamp columns to
:func:`build_interactions`, which assigns contiguous 0-based indices (sorted raw ids, the order
``numpy.unique`` gives) and attaches one text string per item. Checks raise
:class:`pyrec.diagnostics.DataError` naming the file, the line and the column.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from pyrec.data._types import InteractionData
from pyrec.diagnostics import DataError, DataWarning

__all__ = [
    "build_interactions",
    "check_timestamps",
    "check_numeric",
    "report_item_text",
    "require_file",
    "require_nonempty",
]


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise :class:`DataError` naming it and its role."""
    if not path.is_file():
        raise DataError(f"{what} file not found: {path}")
    return path


def require_nonempty(path: Path, n_rows: int, expected: str) -> None:
    """Raise :class:`DataError` when a parsed file has no data rows (never "0 rows loaded")."""
    if n_rows == 0:
        raise DataError(f"{path}: the file has no data rows; expected {expected}.")


def check_numeric(
    values, path: Path, column: str, *, first_line: int = 1, integer: bool = False
) -> np.ndarray:
    """Convert a column to float64 (or int64), raising on text that is not a number.

    Args:
        values: 1-D array-like [n] read from ``path``.
        path: the file, for the message.
        column: column name or description, for the message.
        first_line: 1-based file line of ``values[0]`` (2 when the file has a header).
        integer: require whole numbers and return int64.

    Returns:
        np.ndarray float64 [n] (NaN kept) or int64 [n].

    Raises:
        DataError: naming the file, line, column and the offending value.
    """
    s = pd.Series(values)
    if s.dtype.kind in "iufb":
        arr = s.to_numpy(dtype=np.float64)
    else:
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}, line {i + first_line}, column {column}: expected a number, "
                f"got {s.iloc[i]!r}."
            )
        arr = num.to_numpy(dtype=np.float64, na_value=np.nan)
    if integer:
        nan = np.isnan(arr)
        if nan.any():
            i = int(np.flatnonzero(nan)[0])
            raise DataError(f"{path}, line {i + first_line}, column {column}: value is missing.")
        frac = arr != np.floor(arr)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise DataError(
                f"{path}, line {i + first_line}, column {column}: expected an integer, "
                f"got {arr[i]!r}."
            )
        if s.dtype.kind in "iu":
            return s.to_numpy(dtype=np.int64)
        return arr.astype(np.int64)
    return arr


def check_timestamps(values, path: Path, column: str, *, first_line: int = 1) -> np.ndarray:
    """Parse Unix timestamps (s) and reject missing, negative or fractional values.

    Returns:
        np.ndarray int64 [n].

    Raises:
        DataError: ``<file>, line <l>, column <c>: timestamp is missing (NaN)`` or ``... negative``.
    """
    arr = check_numeric(values, path, column, first_line=first_line)
    nan = np.isnan(arr)
    if nan.any():
        i = int(np.flatnonzero(nan)[0])
        raise DataError(
            f"{path}, line {i + first_line}, column {column}: timestamp is missing (NaN); "
            f"{int(nan.sum())} row(s) affected. Expected Unix seconds >= 0."
        )
    neg = arr < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise DataError(
            f"{path}, line {i + first_line}, column {column}: timestamp {arr[i]:g} is negative; "
            f"{int(neg.sum())} row(s) affected. Expected Unix seconds >= 0."
        )
    return arr.astype(np.int64)


def _factorize(raw) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique raw ids (object [k]) and the int64 [n] code of each row."""
    codes, uniques = pd.factorize(pd.Series(raw), sort=True)
    ids = np.asarray(uniques.to_numpy(), dtype=object)
    return codes.astype(np.int64), ids


def build_interactions(
    name: str,
    raw_users,
    raw_items,
    ratings,
    timestamps,
    *,
    item_text: pd.Series | None = None,
    text_source: str | Path = "",
    missing_text: str = "error",
    meta: dict | None = None,
) -> InteractionData:
    """Assemble an :class:`InteractionData` from raw columns.

    Args:
        name: dataset name.
        raw_users, raw_items: array-like [n] raw ids (int or str).
        ratings: float [n] (NaN where the dataset has none).
        timestamps: int64 [n], already checked.
        item_text: text per raw item id (a Series indexed by raw id), or None for no text.
        text_source: file the texts come from, for messages.
        missing_text: what to do when an interacted item has no text: ``"error"`` raises
            :class:`DataError`, ``"warn"`` uses ``""``, warns with :class:`DataWarning` and
            counts it in ``meta["items_without_text"]``.
        meta: provenance facts to store.

    Returns:
        InteractionData whose item index space is the set of interacted items. With
        ``item_text``, ``meta["items_with_empty_text"]`` counts interacted items whose text row
        is empty or blank (``meta["empty_text_examples"]``: up to 3 of their raw ids); see
        :func:`report_item_text` for the warning.

    Raises:
        DataError: an interacted item is absent from the text table (``missing_text="error"``).
    """
    meta = dict(meta or {})
    users, user_ids = _factorize(raw_users)
    items, item_ids = _factorize(raw_items)
    texts = [""] * len(item_ids)
    if item_text is not None:
        if item_text.index.has_duplicates:
            dup = item_text.index[item_text.index.duplicated()][0]
            raise DataError(f"{text_source}: item id {dup!r} has more than one text row.")
        pos = item_text.index.get_indexer(pd.Index(item_ids))
        missing = pos < 0
        if missing.any():
            msg = (
                f"{text_source}: {int(missing.sum())} interacted item id(s) have no text row, "
                f"e.g. {item_ids[np.flatnonzero(missing)[0]]!r}."
            )
            if missing_text == "error":
                raise DataError(msg + " Expected every interacted item to be listed.")
            warnings.warn(msg + " Their text is ''.", DataWarning, stacklevel=3)
        meta["items_without_text"] = int(missing.sum())
        unknown = len(item_text) - int((~missing).sum())
        if unknown:
            meta["text_rows_without_interactions"] = unknown
        values = item_text.to_numpy(dtype=object)
        texts = ["" if p < 0 or values[p] is None else str(values[p]) for p in pos]
        empty = [i for i, (p, t) in enumerate(zip(pos, texts)) if p >= 0 and not t.strip()]
        meta["items_with_empty_text"] = len(empty)
        if empty:
            meta["empty_text_examples"] = [item_ids[i] for i in empty[:3]]
    return InteractionData(
        name=name,
        users=users,
        items=items,
        ratings=np.asarray(ratings, dtype=np.float32),
        timestamps=np.asarray(timestamps, dtype=np.int64),
        user_ids=user_ids,
        item_ids=item_ids,
        item_text=texts,
        meta=meta,
    )


def report_item_text(data: InteractionData, text_source: str | Path, *, stacklevel: int = 3) -> None:
    """Warn (:class:`DataWarning`) about text that will not reach a model, from the counts
    :func:`build_interactions` stored: text rows naming items without interactions
    (``meta["text_rows_without_interactions"]``) and interacted items whose text is empty
    (``meta["items_with_empty_text"]``, with up to 3 example ids). Silent when both are 0."""
    extra = data.meta.get("text_rows_without_interactions", 0)
    if extra:
        warnings.warn(
            f"{text_source}: {extra} text row(s) name items with no interaction; they are not in "
            "the item index.",
            DataWarning,
            stacklevel=stacklevel,
        )
    empty = data.meta.get("items_with_empty_text", 0)
    if empty:
        warnings.warn(
            f"{text_source}: {empty} of {data.n_items} interacted item(s) have empty text after "
            f"cleaning (e.g. {data.meta['empty_text_examples']}); a text model sees '' for them.",
            DataWarning,
            stacklevel=stacklevel,
        )


def read_fields(
    path: Path,
    sep: str,
    fields: tuple[str, ...],
    *,
    encoding: str = "utf-8",
    header: bool = False,
    min_fields: int | None = None,
    text_fields: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Read a delimited text file whose lines have a fixed number of fields.

    Separators of more than one character (MovieLens 1M's ``::``) are replaced by a tab in memory
    so that pandas' fast C parser reads them; the regex/python engine (and its
    ``ParserWarning``) is never used.

    Args:
        path: the file.
        sep: field separator, e.g. ``"\\t"``, ``"|"`` or ``"::"``.
        fields: the expected field names in order (used for messages and columns).
        encoding: text encoding (MovieLens ``u.item`` / ``movies.dat``: ``"latin-1"``).
        header: the first line is a header to skip.
        min_fields: accept lines with at least this many fields (default: exactly ``len(fields)``).
        text_fields: fields kept as str (default: all); the others are parsed by pandas' C
            parser (int64/float64, or left as text when a value is not a number, which
            :func:`check_numeric` then reports with its line).

    Returns:
        DataFrame [n_lines, len(fields)] with columns named ``fields``.

    Raises:
        DataError: empty file, wrong separator or wrong number of fields (names file and line).
    """
    import csv
    import io

    require_file(path, f"{len(fields)}-field {sep!r}-separated")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty; expected lines of {_fmt(fields, sep)}.")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: cannot decode as {encoding} ({e.reason}).") from None
    lines = text.splitlines()
    start = 1 if header else 0
    first = next((ln for ln in lines[start:] if ln.strip()), None)
    if first is None:
        raise DataError(
            f"{path}: the file has no data rows; expected lines of {_fmt(fields, sep)}."
        )
    n_found = first.count(sep) + 1
    lo = len(fields) if min_fields is None else min_fields
    if not lo <= n_found <= len(fields):
        raise DataError(
            f"{path}, line {lines.index(first) + 1}: expected {len(fields)} fields separated by "
            f"{sep!r} ({_fmt(fields, sep)}), found {n_found}: {first[:80]!r}. "
            "Is the separator or the file format wrong?"
        )
    if len(sep) > 1:
        text = text.replace(sep, "\t")
        sep = "\t"
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            skiprows=start,
            names=list(fields),
            dtype=str if text_fields is None else {f: str for f in text_fields},
            keep_default_na=False,
            na_values={f: _NA for f in fields if text_fields is not None and f not in text_fields},
            quoting=csv.QUOTE_NONE,
            engine="c",
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as e:
        raise DataError(f"{path}: malformed line ({e}); expected {_fmt(fields, sep)}.") from None
    return df


_NA = ["", "nan", "NaN", "NAN", "NA", "null", "None"]


def _fmt(fields: tuple[str, ...], sep: str) -> str:
    return sep.join(fields).replace("\t", "<TAB>")
