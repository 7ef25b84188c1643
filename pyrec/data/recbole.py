"""RecBole atomic files: ``<name>.inter`` interactions and the optional ``<name>.item`` item table.

Source: the RecBole documentation, "Atomic Files" (https://recbole.io/docs/user_guide/data/
atomic_files.html); Wayne Xin Zhao et al. *RecBole: Towards a Unified, Comprehensive and Efficient
Framework for Recommendation Algorithms.* CIKM 2021.

Both files are UTF-8, tab-separated, one record per line, without quoting. The first line names
each field with its type, ``name:type``, the type one of ``token`` (an id or a word),
``token_seq`` (space-separated tokens, e.g. a title), ``float`` or ``float_seq``::

    user_id:token   item_id:token   rating:float    timestamp:float
    196             242             3               881250949

    item_id:token   movie_title:token_seq   release_year:token  class:token_seq
    242             Kolya                   1996                Comedy

Fields are named without their type (``rating``, ``movie_title``). Interactions use the
``user_id`` / ``item_id`` fields and, when the file has them, ``rating`` and ``timestamp`` (Unix
s), RecBole's default field names (``USER_ID_FIELD``, ``ITEM_ID_FIELD``, ``RATING_FIELD``,
``TIME_FIELD``). The item text is the ``.item`` file's ``token_seq`` fields in file order (or the
fields named), each cleaned by :func:`pyrec.data.text.clean_text` and joined with ``". "``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pyrec.data._build import read_fields, report_item_text, require_file
from pyrec.data._types import InteractionData
from pyrec.data.table import frame_interactions
from pyrec.data.text import clean_text, join_parts
from pyrec.diagnostics import DataError

__all__ = ["load_recbole", "read_atomic", "FIELD_TYPES"]

#: the field types of RecBole atomic files
FIELD_TYPES = ("token", "token_seq", "float", "float_seq")


def read_atomic(path: str | Path, required: list[str], what: str) -> tuple[pd.DataFrame, dict]:
    """Read one atomic file.

    Args:
        path: the ``.inter`` / ``.item`` file.
        required: field names (without type) that must be present.
        what: the file's role for messages, e.g. ``"RecBole .inter"``.

    Returns:
        (DataFrame [n_records, n_fields] of str cells with columns named without types,
        ``{name: type}`` in file order).

    Raises:
        DataError: missing or empty file, a header field without a known ``:type``, a required
            field absent (the message lists the fields found), a line with another number of
            fields.
    """
    path = Path(path)
    require_file(path, what)
    with path.open(encoding="utf-8", errors="replace") as f:
        header = f.readline().rstrip("\r\n")
    if not header.strip():
        raise DataError(
            f"{path}: the file is empty; expected a header of tab-separated 'name:type' fields, "
            "e.g. 'user_id:token\\titem_id:token'."
        )
    fields = header.split("\t")
    types: dict[str, str] = {}
    for f in fields:
        name, _, typ = f.partition(":")
        if typ not in FIELD_TYPES or not name:
            raise DataError(
                f"{path}, line 1: header field {f!r} is not 'name:type' with a type in "
                f"{list(FIELD_TYPES)}; is this a RecBole atomic file (tab-separated)?"
            )
        if name in types:
            raise DataError(f"{path}, line 1: field {name!r} is named twice.")
        types[name] = typ
    missing = [c for c in required if c not in types]
    if missing:
        raise DataError(
            f"{path}: missing field(s) {missing}; expected {required}, found {list(types)} "
            "(names without their ':type')."
        )
    df = read_fields(path, "\t", tuple(fields), header=True)
    df.columns = list(types)
    if len(df) == 0:
        raise DataError(f"{path}: the file has a header but no records.")
    return df, types


def load_recbole(
    inter_path: str | Path,
    item_path: str | Path | None = None,
    *,
    user: str = "user_id",
    item: str = "item_id",
    rating: str | None = None,
    order: str | None = None,
    order_kind: str = "timestamp",
    text_item: str | None = None,
    fields: list[str] | None = None,
    separator: str = ". ",
    name: str | None = None,
) -> InteractionData:
    """Interactions (and item text) from RecBole atomic files, raw, before any preprocessing.

    Args:
        inter_path: the ``<name>.inter`` file.
        item_path: the ``.item`` file; None: ``<name>.item`` beside ``inter_path`` when it exists
            (else no item text).
        user, item: id fields of the ``.inter`` file.
        rating: rating field; None: ``rating`` when the file has it (else ratings NaN).
        order: order field; None: ``timestamp`` when the file has it (else the line order).
        order_kind: ``"timestamp"`` (Unix s) or ``"position"`` (index in the user's sequence).
        text_item: item id field of the ``.item`` file (default ``item``).
        fields: ``.item`` fields joined into the text, in this order; None: every ``token_seq``
            field in file order.
        separator: put between the fields' texts.
        name: dataset name (default: the file name without ``.inter``).

    Returns:
        InteractionData (one row per line; repeated pairs kept), ``meta["format"] = "recbole"``;
        ratings float32 (NaN without a rating field); timestamps int64 Unix s or positions.
        Interacted items absent from the ``.item`` file get ``""`` (warned, counted in
        ``meta["items_without_text"]``); empty texts are counted in
        ``meta["items_with_empty_text"]`` and warned about.

    Raises:
        DataError: a file is missing, empty or malformed; a named field is absent (naming the
            file, the field and the fields found); an id, rating or timestamp is invalid (naming
            the line); the file is a pre-augmented sequence file (an ``item_id_list`` field);
            the ``.item`` file has no text field or lists an item twice.
        ConfigError: ``order_kind`` is not ``"timestamp"`` or ``"position"``.
    """
    inter_path = Path(inter_path)
    required = [user, item] + [c for c in (rating, order) if c is not None]
    df, types = read_atomic(inter_path, required, "RecBole .inter")
    lists = [f for f, t in types.items() if t == "token_seq" and f.startswith(item)]
    if lists:
        raise DataError(
            f"{inter_path}: field {lists[0]!r} holds item sequences (a pre-augmented sequential "
            "file, one row per target item); expected one interaction per line. For the UniSRec "
            "release use the dataset name 'unisrec:<Name>'."
        )
    if rating is None and "rating" in types:
        rating = "rating"
    if order is None and "timestamp" in types:
        order = "timestamp"
    stem = inter_path.name.removesuffix(".inter")
    if item_path is None and (inter_path.parent / f"{stem}.item").is_file():
        item_path = inter_path.parent / f"{stem}.item"
    texts, tmeta = None, {}
    if item_path is not None:
        item_path = Path(item_path)
        text_item = text_item or item
        idf, itypes = read_atomic(item_path, [text_item, *(fields or [])], "RecBole .item")
        if fields is None:
            fields = [f for f, t in itypes.items() if t == "token_seq"]
            if not fields:
                raise DataError(
                    f"{item_path}: no token_seq field to take the item text from (fields: "
                    f"{itypes}); name the text fields (a dataset description's item_text.fields)."
                )
        cleaned = [idf[f].map(clean_text) for f in fields]
        joined = [join_parts(parts, separator) for parts in zip(*cleaned)]
        texts = pd.Series(joined, index=idf[text_item].to_numpy(object), dtype=object)
        tmeta = {"text_source": str(item_path), "text_fields": list(fields)}
    data = frame_interactions(
        df, inter_path, user, item, rating, order, order_kind=order_kind, item_text=texts,
        text_source=item_path or "", name=name or stem, meta={"format": "recbole", **tmeta},
        owner="load_recbole",
    )  # fmt: skip
    if texts is not None:
        report_item_text(data, item_path)
    return data
