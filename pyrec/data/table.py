"""Generic CSV / Parquet interactions: columns named by the user, optional item-text table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pyrec.data._build import (
    build_interactions,
    check_numeric,
    check_timestamps,
    report_item_text,
    require_file,
)
from pyrec.data._types import InteractionData
from pyrec.diagnostics import DataError, param_error

__all__ = ["load_table", "read_table", "frame_interactions", "ORDER_KINDS"]

_PARQUET = (".parquet", ".pq")
_SEPARATORS = (",", "\t", ";", "|", "::")


def read_table(path: str | Path, columns: list[str], *, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV (``.csv``: ``,``; ``.tsv``/``.txt``: tab; or ``sep``) or Parquet file and
    check that ``columns`` are present.

    Raises:
        DataError: the file is missing or empty, or a column is missing; when the header looks
            like it was split on the wrong separator the message says so and names the one found.
    """
    path = Path(path)
    require_file(path, "table")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; expected a header with columns {columns}.")
    if path.suffix.lower() in _PARQUET:
        try:
            df = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several types for a corrupt file
            raise DataError(f"{path}: cannot read as Parquet ({e}).") from None
    else:
        if sep is None:
            sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
        if len(sep) > 1:
            text = path.read_text(encoding="utf-8").replace(sep, "\t")
            import io

            src, sep = io.StringIO(text), "\t"
        else:
            src = path
        try:
            df = pd.read_csv(src, sep=sep, engine="c", dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty; expected columns {columns}.") from None
        except pd.errors.ParserError as e:
            raise DataError(f"{path}: malformed CSV ({e}).") from None
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text ({e.reason}).") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = [str(c) for c in df.columns]
        hint = ""
        if len(found) == 1:
            other = [s for s in _SEPARATORS if s != sep and s in found[0]]
            if other:
                hint = (
                    f" The header has a single column {found[0]!r}: the file seems to be separated "
                    f"by {other[0]!r}, not {sep!r}; pass sep={other[0]!r}."
                )
        raise DataError(
            f"{path}: missing column(s) {missing}; expected {columns}, found {found}.{hint}"
        )
    if len(df) == 0:
        raise DataError(
            f"{path}: the file has a header but no data rows; expected columns {columns}."
        )
    return df


ORDER_KINDS = ("timestamp", "position")


def load_table(
    path: str | Path,
    user_col: str,
    item_col: str,
    rating_col: str | None = None,
    timestamp_col: str | None = None,
    item_text: str | Path | pd.Series | None = None,
    *,
    text_item_col: str | None = None,
    text_col: str = "text",
    sep: str | None = None,
    name: str | None = None,
    order_kind: str = "timestamp",
) -> InteractionData:
    """Interactions from a CSV or Parquet file with named columns.

    Args:
        path: ``.csv``/``.tsv``/``.txt`` (see ``sep``) or ``.parquet``/``.pq``; one row per
            interaction with a header.
        user_col, item_col: columns of raw user and item ids (read as strings).
        rating_col: explicit rating column (float); None -> ratings NaN.
        timestamp_col: order column: Unix seconds (int >= 0) or, with ``order_kind="position"``,
            each row's position in its user's sequence (int >= 0); None -> the row number
            (file order, ``meta["timestamp_unit"] = "row"``).
        item_text: a second table (path) with columns ``text_item_col`` and ``text_col``, or a
            Series ``raw item id (str) -> text``; interacted items it lacks get ``""`` with a
            :class:`DataWarning` (counted in ``meta["items_without_text"]``); text rows of items
            without interactions are counted in ``meta["text_rows_without_interactions"]`` and
            empty texts in ``meta["items_with_empty_text"]`` (both warned about).
        text_item_col: item id column of the text table (default ``item_col``).
        text_col: text column of the text table.
        sep: CSV separator (default by suffix).
        name: dataset name (default: the file stem).
        order_kind: ``"timestamp"`` or ``"position"``; recorded as ``meta["timestamp_unit"]``
            (``"s"`` / ``"position"``), so that a temporal split warns that it cuts positions.

    Returns:
        InteractionData; indices follow the sorted raw ids (as strings).

    Raises:
        DataError: missing/empty file, missing column (the message names the file, the expected
            and the found columns, and a likely wrong separator), empty id, non-numeric rating,
            NaN/negative timestamp or position, repeated item in the text table.
        ConfigError: ``order_kind`` is not one of ``ORDER_KINDS``.
    """
    path = Path(path)
    cols = [c for c in (user_col, item_col, rating_col, timestamp_col) if c is not None]
    df = read_table(path, cols, sep=sep)
    texts, text_source = None, ""
    if isinstance(item_text, pd.Series):
        texts = pd.Series(item_text.to_numpy(object), index=item_text.index.astype(str))
        text_source = "item_text"
    elif item_text is not None:
        text_source = Path(item_text)
        icol = text_item_col or item_col
        tdf = read_table(text_source, [icol, text_col], sep=sep)
        texts = pd.Series(
            tdf[text_col].astype(str).to_numpy(object), index=tdf[icol].astype(str).to_numpy(object)
        )
    data = frame_interactions(
        df, path, user_col, item_col, rating_col, timestamp_col, order_kind=order_kind,
        item_text=texts, text_source=text_source, name=name or path.stem, meta={"format": "table"},
    )  # fmt: skip
    if texts is not None:
        report_item_text(data, text_source)
    return data


def frame_interactions(
    df: pd.DataFrame,
    path: Path,
    user_col: str,
    item_col: str,
    rating_col: str | None = None,
    order_col: str | None = None,
    *,
    order_kind: str = "timestamp",
    item_text: pd.Series | None = None,
    text_source: str | Path = "",
    name: str,
    meta: dict | None = None,
    first_line: int = 2,
    owner: str = "load_table",
) -> InteractionData:
    """Interactions from a table already read (one row per interaction, string cells).

    The checks every table-shaped loader shares (CSV/Parquet, RecBole atomic files, a dataset
    description): ids present, ratings numeric, the order column a Unix time or a position.

    Args:
        df: [n rows] with the named columns (str cells; ``""`` is missing).
        path: the file ``df`` came from, for messages.
        user_col, item_col, rating_col, order_col: column names (rating/order optional).
        order_kind: ``"timestamp"`` (Unix s) or ``"position"`` (index in the user's sequence).
        item_text, text_source: as in :func:`pyrec.data._build.build_interactions`.
        name: dataset name.
        meta: further provenance, merged into ``meta``.
        first_line: file line of ``df``'s first row (2 below a header).
        owner: the public function, for the message of a bad ``order_kind``.

    Returns:
        InteractionData with ``meta["source"]``, ``meta["timestamp_unit"]`` (``"s"``,
        ``"position"``, or ``"row"`` without an order column), ``meta["order_kind"]`` and
        ``meta["columns"]``.

    Raises:
        DataError: ``<file>, line <l>, column <c>: ...`` for a missing id, a non-numeric rating,
            a missing or negative timestamp, or a position that is not an int >= 0.
        ConfigError: ``order_kind`` is not one of ``ORDER_KINDS``.
    """
    if order_kind not in ORDER_KINDS:
        raise param_error("order_kind", owner, f"one of {list(ORDER_KINDS)}", order_kind)
    users = df[user_col].astype(str).to_numpy(object)
    items = df[item_col].astype(str).to_numpy(object)
    for col, vals in ((user_col, users), (item_col, items)):
        empty = (vals == "") | (vals == "nan") | (vals == "None")
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataError(f"{path}, line {i + first_line}, column {col}: id is missing.")
    ratings = (
        check_numeric(df[rating_col].replace("", None), path, rating_col, first_line=first_line)
        if rating_col
        else np.full(len(df), np.nan)
    )
    if order_col is None:
        ts, unit = np.arange(len(df), dtype=np.int64), "row"
    elif order_kind == "position":
        ts, unit = _positions(df[order_col].replace("", None), path, order_col, first_line), "position"
    else:
        ts = check_timestamps(df[order_col].replace("", None), path, order_col, first_line=first_line)
        unit = "s"
    full_meta = {
        "source": str(path),
        "timestamp_unit": unit,
        "order_kind": order_kind if order_col is not None else "row",
        "columns": {"user": user_col, "item": item_col, "rating": rating_col, "timestamp": order_col},
        **(meta or {}),
    }
    return build_interactions(
        name, users, items, ratings, ts,
        item_text=item_text, text_source=text_source, missing_text="warn", meta=full_meta,
    )  # fmt: skip


def _positions(values, path: Path, column: str, first_line: int) -> np.ndarray:
    """Sequence positions: int64 [n] >= 0; DataError naming the line otherwise."""
    arr = check_numeric(values, path, column, first_line=first_line)
    bad = np.isnan(arr) | (arr < 0) | (arr != np.floor(arr))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}, line {i + first_line}, column {column}: expected a sequence position "
            f"(an int >= 0), got {values.iloc[i] if hasattr(values, 'iloc') else values[i]!r}."
        )
    return arr.astype(np.int64)
