"""The JSON pair of LLM-recommendation work: ``<name>.inter.json`` and ``<name>.item.json``.

Source: the data format of recent LLM-based recommendation repositories built on the Amazon
review data, e.g. LC-Rec (Zheng et al., *Adapting Large Language Models by Integrating
Collaborative Semantics for Recommendation*, ICDE 2024; https://github.com/RUCAIBox/LC-Rec),
whose preprocessing writes both files from the Amazon 2014/2018 reviews and metadata::

    Beauty.inter.json   {"<user>": ["<item>", "<item>", ...], ...}   each user's items, oldest first
    Beauty.item.json    {"<item>": {"title": "...", "description": "...", "brand": "...",
                                    "categories": [["Beauty", "Skin Care"]] or "Beauty,Skin Care"},
                         ...}

Ids are strings (or integers, read as strings). The interactions have no ratings and no times:
an item's place in its user's list is its order (``meta["timestamp_unit"] = "position"``, 0 =
oldest), so a temporal split says it cuts positions. The item text joins, in this order,
``title``, ``brand``, ``categories`` (each path's levels joined by ``" > "``, paths by ``", "``)
and ``description`` with ``". "``: the short fields first, so a text model that truncates cuts
the description only. Every field is cleaned by :func:`pyrec.data.text.clean_text` (HTML entities
decoded, tags removed). Interacted items without a title are counted in
``meta["items_without_title"]`` and warned about, as are empty texts.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from pyrec.data._build import build_interactions, report_item_text, require_file
from pyrec.data._types import InteractionData
from pyrec.data.text import clean_text, join_parts
from pyrec.diagnostics import DataError, DataWarning

__all__ = ["load_json_pair", "JSON_PAIR_FIELDS", "field_text"]

#: the item fields joined into the text, in this order
JSON_PAIR_FIELDS = ("title", "brand", "categories", "description")
_CATEGORY_FIELDS = ("categories", "category")


def _read_json(path: Path, what: str, expected: str):
    require_file(path, what)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(
            f"{path}, line {e.lineno}, column {e.colno}: not valid JSON ({e.msg}); expected "
            f"{expected}."
        ) from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason}).") from None


def field_text(name: str, value) -> str:
    """Cleaned text of one ``.item.json`` field.

    A category field (``categories``/``category``) given as a list is a path (``["Beauty",
    "Skin Care"]`` -> ``"Beauty > Skin Care"``) or a list of paths (joined by ``", "``); repeated
    levels are dropped. Any other value goes through :func:`pyrec.data.text.clean_text`.
    """
    if isinstance(value, (list, tuple)) and (
        name in _CATEGORY_FIELDS or any(isinstance(v, (list, tuple)) for v in value)
    ):
        paths = value if any(isinstance(v, (list, tuple)) for v in value) else [value]
        out: list[str] = []
        for path in paths:
            levels: list[str] = []
            for level in path if isinstance(path, (list, tuple)) else [path]:
                level = clean_text(level)
                if level and level not in levels:
                    levels.append(level)
            joined = " > ".join(levels)
            if joined and joined not in out:
                out.append(joined)
        return ", ".join(out)
    return clean_text(value)


def load_json_pair(
    inter_path: str | Path,
    item_path: str | Path | None = None,
    *,
    fields: list[str] | tuple[str, ...] = JSON_PAIR_FIELDS,
    separator: str = ". ",
    name: str | None = None,
) -> InteractionData:
    """Interactions (and item text) from an ``.inter.json`` / ``.item.json`` pair, raw.

    Args:
        inter_path: the ``<name>.inter.json`` file: ``{user: [item, ...]}``, oldest first.
        item_path: the ``.item.json`` file; None: ``<name>.item.json`` beside ``inter_path`` when
            it exists (else no item text).
        fields: item fields joined into the text, in this order (see :func:`field_text`).
        separator: put between the fields' texts.
        name: dataset name (default: the file name without ``.inter.json``).

    Returns:
        InteractionData, one row per listed item (a user's repeated item kept; ``load_dataset``
        keeps the latest); ratings NaN; timestamps = 0-based position in the user's list.
        ``meta``: ``users_without_items`` (empty lists), ``items_without_title``,
        ``items_with_empty_text``, ``items_without_text`` (absent from ``.item.json``).

    Raises:
        DataError: a file is missing or not JSON (naming the line), or not shaped as above
            (naming the user or item and what was found); no interactions at all.
    """
    inter_path = Path(inter_path)
    shape = "an object {user id: [item id, ...]}"
    raw = _read_json(inter_path, "JSON-pair .inter.json", shape)
    if not isinstance(raw, dict):
        raise DataError(f"{inter_path}: expected {shape}, found a JSON {type(raw).__name__}.")
    users, items, positions, empty_users = [], [], [], 0
    for u, seq in raw.items():
        if not isinstance(seq, list):
            raise DataError(
                f"{inter_path}: user {u!r} has a {type(seq).__name__}; expected a list of item ids."
            )
        if not seq:
            empty_users += 1
            continue
        for j, it in enumerate(seq):
            if isinstance(it, bool) or not isinstance(it, (str, int)) or str(it) == "":
                raise DataError(
                    f"{inter_path}: user {u!r}, position {j}: expected an item id (a non-empty "
                    f"string or an integer), got {it!r}."
                )
        users += [u] * len(seq)
        items += [str(it) for it in seq]
        positions += range(len(seq))
    if not users:
        raise DataError(f"{inter_path}: no interactions (every user's list is empty or absent).")
    stem = inter_path.name.removesuffix(".json").removesuffix(".inter")
    if item_path is None and (inter_path.parent / f"{stem}.item.json").is_file():
        item_path = inter_path.parent / f"{stem}.item.json"
    meta = {
        "source": str(inter_path),
        "format": "json-pair",
        "timestamp_unit": "position",
        "order_kind": "position",
        "users_without_items": empty_users,
    }
    texts = None
    if item_path is not None:
        item_path = Path(item_path)
        ishape = "an object {item id: {\"title\": ..., ...}}"
        records = _read_json(item_path, "JSON-pair .item.json", ishape)
        if not isinstance(records, dict):
            raise DataError(f"{item_path}: expected {ishape}, found a JSON {type(records).__name__}.")
        wanted = set(items)
        joined, no_title = {}, []
        for i, rec in records.items():
            if not isinstance(rec, dict):
                raise DataError(
                    f"{item_path}: item {i!r} has a {type(rec).__name__}; expected an object of "
                    f"fields such as {list(JSON_PAIR_FIELDS)}."
                )
            joined[i] = join_parts((field_text(f, rec.get(f)) for f in fields), separator)
            if i in wanted and not field_text("title", rec.get("title")):
                no_title.append(i)
        texts = pd.Series(joined, dtype=object)
        meta.update(text_source=str(item_path), text_fields=list(fields),
                    items_without_title=len(no_title))  # fmt: skip
        if no_title:
            warnings.warn(
                f"{item_path}: {len(no_title)} interacted item(s) have an empty or missing title "
                f"(e.g. {sorted(no_title)[:3]}); their text is built from the other fields.",
                DataWarning,
                stacklevel=2,
            )
    data = build_interactions(
        name or stem, np.asarray(users, dtype=object), np.asarray(items, dtype=object),
        np.full(len(users), np.nan), np.asarray(positions, dtype=np.int64),
        item_text=texts, text_source=item_path or "", missing_text="warn", meta=meta,
    )  # fmt: skip
    if texts is not None:
        report_item_text(data, item_path)
    return data
