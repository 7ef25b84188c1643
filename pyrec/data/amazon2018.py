"""Amazon Review Data (2018) loader: ``<Category>_5.json.gz`` reviews + ``meta_<Category>.json.gz``.

Source: Jianmo Ni, Jiacheng Li, Julian McAuley. *Justifying recommendations using
distantly-labeled reviews and fine-grained aspects.* EMNLP-IJCNLP 2019.
https://nijianmo.github.io/amazon/index.html

STATS ("Gift Cards", shared copy): 2,972 review rows, 458 users, 148 items, 2,965 distinct
(user, item) pairs (5 pairs twice, 1 pair three times: deduplicate before use).

Both files are gzip'd JSON lines (one object per line, UTF-8). Interactions come from the review
fields ``reviewerID``, ``asin``, ``overall`` (rating 1-5) and ``unixReviewTime`` (s). Item text is
``"<title>. Category: <c1> > <c2>. Brand: <brand>. <description>"`` built from the metadata, each
field cleaned by :func:`pyrec.data.text.clean_text` (tags stripped, including a tag left unclosed
at the end, as in titles that are cut-off HTML fragments; entities decoded); empty parts are left
out. A title that is empty once cleaned is replaced by the description (counted in
``meta["items_title_from_description"]``). Metadata rows that repeat an asin are counted (all of
them, reviewed or not, in ``meta["meta_duplicate_asins"]``); the first row of each asin is used.
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from pyrec.data._build import build_interactions, check_timestamps, require_file
from pyrec.data._types import InteractionData
from pyrec.data.text import clean_text
from pyrec.diagnostics import DataError, DataWarning

__all__ = ["load_amazon2018", "clean_text", "amazon_item_text"]

REVIEW_FIELDS = ("reviewerID", "asin", "unixReviewTime")


def _item_text(meta: dict) -> tuple[str, bool]:
    """(item text, whether the description stood in for a title that is empty once cleaned)."""
    title = clean_text(meta.get("title"))
    desc = clean_text(meta.get("description"))
    from_desc = not title and bool(desc)
    if from_desc:
        title, desc = desc, ""
    cats: list[str] = []
    for c in meta.get("category") or []:
        c = clean_text(c)
        if c and (not cats or cats[-1] != c):
            cats.append(c)
    brand = clean_text(meta.get("brand"))
    parts = [title]
    if cats:
        parts.append("Category: " + " > ".join(cats))
    if brand:
        parts.append("Brand: " + brand)
    parts.append(desc)
    return ". ".join(p.rstrip(".") for p in parts if p), from_desc


def amazon_item_text(meta: dict) -> str:
    """Item text from one metadata record: title (else the description), category path, brand,
    description."""
    return _item_text(meta)[0]


def _json_lines(path: Path):
    """Yield ``(line_number, record)`` from a gzip'd JSON-lines file; DataError on bad lines."""
    require_file(path, "Amazon 2018 gzip'd JSON-lines")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for ln, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield ln, json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(
                        f"{path}, line {ln}: not a JSON object ({e.msg}); expected one review or "
                        "product record per line."
                    ) from None
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read as gzip ({e}).") from None


def load_amazon2018(folder: str | Path, category: str, name: str | None = None) -> InteractionData:
    """Read one Amazon 2018 category from ``folder`` (raw, before any preprocessing).

    Args:
        folder: directory holding ``<category>_5.json.gz`` and ``meta_<category>.json.gz``.
        category: the publisher's file-name category, e.g. ``"Gift_Cards"``.
        name: dataset name to record (default ``amazon-<category lower>``).

    Returns:
        InteractionData, one row per review (repeated pairs kept; ``meta["raw_rows"]``);
        ratings float32 1..5 (NaN where ``overall`` is missing); timestamps s.

    Raises:
        DataError: a file is missing, empty or not gzip'd JSON lines; a review lacks
            ``reviewerID``/``asin``/``unixReviewTime``; a timestamp is NaN or negative.

    Warns:
        DataWarning: metadata rows that repeat an asin (all counted, reviewed or not); reviewed
            items without a metadata row, or whose metadata gives no text once cleaned.
    """
    folder = Path(folder)
    name = name or f"amazon-{category.lower()}"
    rpath = folder / f"{category}_5.json.gz"
    users, items, ratings, times = [], [], [], []
    for ln, rec in _json_lines(rpath):
        missing = [f for f in REVIEW_FIELDS if f not in rec]
        if missing:
            raise DataError(
                f"{rpath}, line {ln}: review lacks field(s) {missing}; "
                f"expected {list(REVIEW_FIELDS)}."
            )
        users.append(rec["reviewerID"])
        items.append(rec["asin"])
        ratings.append(rec.get("overall", np.nan))
        times.append(rec["unixReviewTime"])
    if not users:
        raise DataError(f"{rpath}: the file has no review rows.")
    ts = check_timestamps(np.asarray(times, dtype=object), rpath, "unixReviewTime")
    rating_arr = pd.to_numeric(pd.Series(ratings), errors="coerce").to_numpy(np.float32)

    mpath = folder / f"meta_{category}.json.gz"
    wanted = set(items)
    texts: dict[str, str] = {}
    seen: set[str] = set()
    repeated: set[str] = set()
    dup_meta = n_meta = from_desc = 0
    for ln, rec in _json_lines(mpath):
        n_meta += 1
        asin = rec.get("asin")
        if asin is None:
            raise DataError(f"{mpath}, line {ln}: product record lacks field 'asin'.")
        if asin in seen:
            dup_meta += 1
            repeated.add(asin)
            continue
        seen.add(asin)
        if asin in wanted:
            texts[asin], used_desc = _item_text(rec)
            from_desc += used_desc
    if n_meta == 0:
        raise DataError(f"{mpath}: the file has no product rows.")
    if dup_meta:
        n_rev = len(repeated & wanted)
        warnings.warn(
            f"{mpath}: {dup_meta:,} of the {n_meta:,} metadata rows repeat an asin of an earlier "
            f"row ({len(repeated):,} asin(s) have more than one row, {n_rev:,} of them reviewed); "
            "the first row of each asin is used.",
            DataWarning,
            stacklevel=2,
        )
    empty = sorted(a for a, t in texts.items() if not t)
    if empty:
        warnings.warn(
            f"{mpath}: {len(empty):,} reviewed item(s) have no text once HTML is stripped (no "
            f"title, description, category or brand), e.g. asin {empty[0]!r}; their text is ''.",
            DataWarning,
            stacklevel=2,
        )
    meta = {
        "source": str(folder),
        "format": "amazon2018",
        "category": category,
        "timestamp_unit": "s",
        "meta_rows": n_meta,
        "meta_duplicate_asins": dup_meta,
        "items_title_from_description": from_desc,
        "items_with_empty_text": len(empty),
    }
    return build_interactions(
        name,
        np.asarray(users, dtype=object),
        np.asarray(items, dtype=object),
        rating_arr,
        ts,
        item_text=pd.Series(texts, dtype=object),
        text_source=mpath,
        missing_text="warn",
        meta=meta,
    )
