"""A dataset description: one TOML file naming a user's own interactions and item-text files.

Written once, it makes a folder of files a dataset every command accepts by path
(``pyrec data info my.toml``, ``pyrec train -d my.toml -m hybrid``, ``dataset = "my.toml"`` in an
experiment config, ``load_dataset("my.toml")`` from Python or R)::

    name = "my-shop"                 # optional; default: the TOML file's name
    format = "csv"                   # optional: "csv" (also .tsv/.parquet), "recbole", "json-pair";
                                     # default from the interactions file name
    [interactions]
    path = "ratings.csv"             # relative to this file's folder
    user = "user_id"                 # id columns (required for csv)
    item = "item_id"
    rating = "rating"                # optional
    order = "timestamp"              # optional order column
    order_kind = "timestamp"         # "timestamp" (Unix s) or "position" (index in the user's sequence)
    min_rating = 3                   # optional: this dataset's default rating threshold
    sep = ","                        # optional (csv; default by suffix)
    [item_text]                      # optional
    path = "items.csv"
    item = "item_id"                 # default: interactions.item
    fields = ["title", "genres", "description"]   # joined in this order
    separator = ". "

Each text field is cleaned by :func:`pyrec.data.text.clean_text` (HTML tags removed, entities
decoded, whitespace collapsed); empty fields are skipped in the join, and interacted items whose
whole text is empty are counted (``meta["items_with_empty_text"]``) and warned about. With
``order_kind = "position"`` the order is recorded as positions (``meta["timestamp_unit"]``), so a
temporal split warns that it cuts sequence positions, not times.

For ``format = "recbole"`` (:mod:`pyrec.data.recbole`) the columns default to RecBole's
``user_id``/``item_id``/``rating``/``timestamp`` fields, ``[item_text]`` to the ``.item`` file
beside the ``.inter`` file and its ``token_seq`` fields. For ``format = "json-pair"``
(:mod:`pyrec.data.jsonpair`) only ``path`` is read from ``[interactions]`` (the order is always a
position, there are no ratings) and ``[item_text]`` defaults to the ``.item.json`` beside it.

Errors name the description file and the dotted key (``interactions.order_kind``); an unknown key
is refused with the keys its section knows; a missing data file or column is a
:class:`~pyrec.diagnostics.DataError` naming the file (and column).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from pyrec.data._types import InteractionData
from pyrec.diagnostics import ConfigError, DataError, validation_message

__all__ = [
    "DatasetDescription",
    "InteractionsSection",
    "ItemTextSection",
    "FORMATS",
    "format_of",
    "read_description",
    "load_description",
]

#: the interaction-file formats a description can name
FORMATS = ("csv", "recbole", "json-pair")


def format_of(path: str | Path) -> str:
    """The format a file name implies: ``*.inter.json`` -> ``"json-pair"``, ``*.inter`` ->
    ``"recbole"``, anything else (``.csv``, ``.tsv``, ``.txt``, ``.parquet``) -> ``"csv"``."""
    n = str(path).lower()
    if n.endswith(".inter.json"):
        return "json-pair"
    if n.endswith(".inter"):
        return "recbole"
    return "csv"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InteractionsSection(_Strict):
    """``[interactions]``: the interactions file and its columns."""

    path: str = Field(min_length=1)
    """the interactions file, relative to the description's folder (or absolute)."""
    user: str | None = Field(None, min_length=1)
    """user-id column (csv: required; recbole: default ``user_id``)."""
    item: str | None = Field(None, min_length=1)
    """item-id column (csv: required; recbole: default ``item_id``)."""
    rating: str | None = Field(None, min_length=1)
    """rating column (optional; recbole: ``rating`` when present)."""
    order: str | None = Field(None, min_length=1)
    """order column (optional; recbole: ``timestamp`` when present; csv without it: file order)."""
    order_kind: Literal["timestamp", "position"] | None = None
    """what ``order`` holds: ``timestamp`` (Unix seconds, the default) or ``position`` (the
    interaction's index in its user's sequence)."""
    min_rating: float | None = None
    """this dataset's default rating threshold (keep ratings >= it); None keeps all."""
    sep: str | None = Field(None, min_length=1)
    """csv separator (default by suffix: ``,`` for .csv, tab for .tsv/.txt)."""

    @field_validator("min_rating")
    @classmethod
    def _finite(cls, v):
        if v is not None and not math.isfinite(v):
            raise ValueError(f"min_rating must be a finite number, got {v!r}")
        return v


class ItemTextSection(_Strict):
    """``[item_text]``: the item-text file and which fields make the text."""

    path: str | None = Field(None, min_length=1)
    """the item file (csv: required; recbole/json-pair: default the file beside the
    interactions)."""
    item: str | None = Field(None, min_length=1)
    """item-id column of that file (default: the interactions' item column)."""
    fields: list[str] | None = Field(None, min_length=1)
    """fields joined into the text, in this order (csv: required)."""
    separator: str = ". "
    """put between the fields' texts."""
    sep: str | None = Field(None, min_length=1)
    """csv separator of the item file (default by suffix)."""


class DatasetDescription(_Strict):
    """A validated dataset description (see the module docstring for the file)."""

    name: str | None = Field(None, min_length=1)
    """dataset name in results (default: the description file's name without ``.toml``)."""
    format: Literal["csv", "recbole", "json-pair"] | None = None
    """interactions format (default from the file name, see :func:`format_of`)."""
    interactions: InteractionsSection
    item_text: ItemTextSection | None = None

    _source: Path = PrivateAttr(default=Path("<description>"))

    @model_validator(mode="after")
    def _default_format(self):
        self.format = self.format or format_of(self.interactions.path)
        return self

    def problems(self) -> list[tuple[str, str]]:
        """Keys that do not fit the format, as ``(dotted key, what was expected)``."""
        it, tx, out = self.interactions, self.item_text, []
        if self.format == "csv":
            out += [(f"interactions.{k}", f"required for format 'csv': the name of the {k}-id "
                     "column") for k in ("user", "item") if getattr(it, k) is None]  # fmt: skip
            if it.order_kind is not None and it.order is None:
                out.append(("interactions.order_kind",
                            "needs interactions.order, the column it describes"))  # fmt: skip
            if tx is not None:
                out += [(f"item_text.{k}", "required for format 'csv' (the item file and the "
                         "columns joined into the text)")
                        for k in ("path", "fields") if getattr(tx, k) is None]  # fmt: skip
        elif self.format == "recbole":
            if it.sep is not None:
                out.append(("interactions.sep", "does not apply to format 'recbole' (atomic "
                            "files are tab-separated); remove it"))  # fmt: skip
        else:  # json-pair: ids are the JSON keys and list entries, the order the list position
            why = ("does not apply to format 'json-pair' (ids are the JSON keys and list entries, "
                   "the order is the list position, there are no ratings); remove it")
            out += [(f"interactions.{k}", why) for k in
                    ("user", "item", "rating", "order", "sep", "min_rating")
                    if getattr(it, k) is not None]  # fmt: skip
            if it.order_kind == "timestamp":
                out.append(("interactions.order_kind", why))
            if tx is not None:
                out += [(f"item_text.{k}", why) for k in ("item", "sep")
                        if getattr(tx, k) is not None]  # fmt: skip
        return out

    @property
    def source(self) -> Path:
        """The description file this was read from."""
        return self._source

    def resolve(self, path: str | None) -> Path | None:
        """A path of the description, relative to its folder (``~`` expanded)."""
        if path is None:
            return None
        p = Path(path).expanduser()
        return p if p.is_absolute() else self._source.parent / p


def read_description(path: str | Path) -> DatasetDescription:
    """Read and validate a dataset description file.

    Args:
        path: the ``.toml`` file.

    Returns:
        DatasetDescription (``format`` resolved; ``source`` = ``path``).

    Raises:
        DataError: the file does not exist or is not UTF-8.
        ConfigError: a TOML syntax error (with line and column), or invalid contents: each
            problem on its own line naming the file and the dotted key; an unknown key lists the
            known ones.
    """
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset description file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: the dataset description is not UTF-8 text ({e.reason}).") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: TOML syntax error: {e}") from None
    try:
        desc = DatasetDescription.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(
            validation_message(e, str(path), "dataset description", DatasetDescription)
        ) from None
    bad = desc.problems()
    if bad:
        raise ConfigError("Invalid dataset description:\n  " + "\n  ".join(
            f"{path}: key {key!r}: {msg} (format {desc.format!r})" for key, msg in bad))
    desc._source = path
    return desc


def load_description(path: str | Path) -> InteractionData:
    """The raw interactions (before dedup / threshold / k-core) a description names.

    Args:
        path: the description ``.toml`` file.

    Returns:
        InteractionData named ``name``; ``meta`` adds ``description`` (the file),
        ``default_min_rating`` and, from the format's loader, ``format``, ``timestamp_unit``
        (``"s"``, ``"position"`` or ``"row"``) and the text counts.

    Raises:
        DataError / ConfigError: see :func:`read_description`, :func:`pyrec.data.load_table`,
            :func:`pyrec.data.recbole.load_recbole`, :func:`pyrec.data.jsonpair.load_json_pair`.
    """
    desc = read_description(path)
    it, tx = desc.interactions, desc.item_text
    name = desc.name or Path(path).name.removesuffix(".toml")
    inter = desc.resolve(it.path)
    text_path = desc.resolve(tx.path) if tx is not None else None
    if desc.format == "recbole":
        from pyrec.data.recbole import load_recbole

        data = load_recbole(
            inter, text_path, user=it.user or "user_id", item=it.item or "item_id",
            rating=it.rating, order=it.order, order_kind=it.order_kind or "timestamp",
            text_item=tx.item if tx else None, fields=tx.fields if tx else None,
            separator=tx.separator if tx else ". ", name=name,
        )  # fmt: skip
    elif desc.format == "json-pair":
        from pyrec.data.jsonpair import JSON_PAIR_FIELDS, load_json_pair

        data = load_json_pair(
            inter, text_path, fields=(tx.fields if tx and tx.fields else JSON_PAIR_FIELDS),
            separator=tx.separator if tx else ". ", name=name,
        )  # fmt: skip
    else:
        data = _load_csv(desc, inter, text_path, name)
    data.meta.update(description=str(path), default_min_rating=it.min_rating)
    return data


def _load_csv(desc: DatasetDescription, inter: Path, text_path: Path | None, name: str):
    from pyrec.data._build import report_item_text
    from pyrec.data.table import frame_interactions, read_table
    from pyrec.data.text import clean_text, join_parts

    it, tx = desc.interactions, desc.item_text
    cols = [c for c in (it.user, it.item, it.rating, it.order) if c is not None]
    df = read_table(inter, cols, sep=it.sep)
    texts = None
    if tx is not None:
        icol = tx.item or it.item
        tdf = read_table(text_path, [icol, *tx.fields], sep=tx.sep)
        cleaned = [tdf[f].map(clean_text) for f in tx.fields]
        texts = pd.Series(
            [join_parts(parts, tx.separator) for parts in zip(*cleaned)],
            index=tdf[icol].astype(str).to_numpy(object), dtype=object,
        )  # fmt: skip
    meta = {"format": "csv"}
    if texts is not None:
        meta.update(text_source=str(text_path), text_fields=list(tx.fields))
    data = frame_interactions(
        df, inter, it.user, it.item, it.rating, it.order, order_kind=it.order_kind or "timestamp",
        item_text=texts, text_source=text_path or "", name=name, meta=meta,
        owner=f"the dataset description {desc.source}",
    )  # fmt: skip
    if texts is not None:
        report_item_text(data, text_path, stacklevel=4)
    return data
