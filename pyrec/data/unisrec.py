"""Loader for the text-rich Amazon sets in the UniSRec release format.

Source: Yupeng Hou, Shanlei Mu, Wayne Xin Zhao, Yaliang Li, Bolin Ding, Ji-Rong Wen. *Towards
Universal Sequence Representation Learning for Recommender Systems.* KDD 2022.
https://github.com/RUCAIBox/UniSRec (data: Amazon Review Data 2018, Ni, Li and McAuley).

STATS ("Scientific"): 8,442 users, 4,385 items, 59,427 interactions (59,136 distinct pairs).

Files (tab-separated, RecBole atomic style): ``<name>.text`` (``item_id:token  text:token_seq``,
keyed by ASIN), ``<name>.item2index`` / ``<name>.user2index`` (``raw id  index``, no header) and
``<name>.{train,valid,test}.inter`` (``user_id:token  item_id_list:token_seq  item_id:token``:
a user, up to 50 earlier items, the target).

Each user's full sequence is rebuilt as the release's README describes: the user's train rows in
reverse file order (shortest first); the first history item of the shortest row, then each row's
target, then the valid target, then the test target. The test row's history is never used for this
(it is cut to 50 items) but every row's history is checked against the rebuilt sequence. The
position in the sequence (0-based) becomes the timestamp (``meta["timestamp_unit"] = "position"``).
``meta["released"]`` keeps each user's sequence length so that ``split_data(data, "released")``
returns the release's own leave-one-out split (last item test, second-to-last valid).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from pyrec.data._build import build_interactions, read_fields, require_file
from pyrec.data._types import InteractionData
from pyrec.diagnostics import DataError

__all__ = ["load_unisrec", "MAX_HISTORY"]

#: the release truncates every history to the last 50 items
MAX_HISTORY = 50
INTER_HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token"


def _read_inter(path: Path) -> list[tuple[int, str, list[str], str]]:
    """Rows ``(line, user, history, target)`` of one ``.inter`` file (str ids)."""
    require_file(path, "UniSRec .inter")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise DataError(f"{path}: the file is empty; expected header {INTER_HEADER!r}.")
    if lines[0].split("\t") != INTER_HEADER.split("\t"):
        raise DataError(
            f"{path}, line 1: expected header {INTER_HEADER!r} (tab-separated), "
            f"got {lines[0][:80]!r}."
        )
    rows = []
    for ln, line in enumerate(lines[1:], 2):
        if not line:
            continue
        f = line.split("\t")
        if len(f) != 3:
            raise DataError(
                f"{path}, line {ln}: expected 3 tab-separated fields (user, history, target), "
                f"found {len(f)}."
            )
        rows.append((ln, f[0], f[1].split(), f[2]))
    if not rows:
        raise DataError(f"{path}: the file has no data rows.")
    return rows


def _read_index(path: Path, what: str) -> pd.Series:
    """``index (str) -> raw id`` from a ``.item2index`` / ``.user2index`` file."""
    df = read_fields(path, "\t", ("raw id", "index"))
    if df["index"].duplicated().any():
        dup = df["index"][df["index"].duplicated()].iloc[0]
        raise DataError(f"{path}: {what} index {dup!r} is listed twice.")
    return pd.Series(df["raw id"].to_numpy(object), index=df["index"].to_numpy(object))


def _rebuild(train, valid, test, paths) -> dict[str, list[str]]:
    """Full item sequence of every user (str indices), checked against every row's history."""
    by_user = defaultdict(list)
    for row in train:
        by_user[row[1]].append(row)
    v = {r[1]: r for r in valid}
    t = {r[1]: r for r in test}
    for part, rows, path in (("valid", v, paths[1]), ("test", t, paths[2])):
        if len(rows) != len(valid if part == "valid" else test):
            raise DataError(f"{path}: a user has more than one {part} row.")
    if set(v) != set(t):
        u = next(iter(set(v) ^ set(t)))
        raise DataError(f"{paths[1]} / {paths[2]}: user {u} is in only one of the two files.")
    seqs: dict[str, list[str]] = {}
    for u in t:
        rows = by_user.get(u, [])[::-1]  # shortest first
        if rows:
            seq = [rows[0][2][0]] + [r[3] for r in rows]
        else:
            seq = list(v[u][2])
        seq += [v[u][3], t[u][3]]
        for (ln, _, hist, _), path, end in [
            *((r, paths[0], j + 1) for j, r in enumerate(rows)),
            (v[u], paths[1], len(seq) - 2),
            (t[u], paths[2], len(seq) - 1),
        ]:
            if hist != seq[max(0, end - MAX_HISTORY) : end]:
                raise DataError(
                    f"{path}, line {ln}: history of user {u} does not match the sequence rebuilt "
                    "from the train/valid/test targets; the release files are inconsistent."
                )
        seqs[u] = seq
    extra = set(by_user) - set(t)
    if extra:
        raise DataError(f"{paths[0]}: user {next(iter(extra))} has train rows but no test row.")
    return seqs


def load_unisrec(folder: str | Path, release_name: str, name: str | None = None) -> InteractionData:
    """Read one UniSRec-format dataset (raw, before any preprocessing).

    Args:
        folder: directory holding ``<release_name>.text``, ``.item2index`` and
            ``.{train,valid,test}.inter`` (``.user2index`` optional: raw user ids default to
            the release's indices).
        release_name: file stem, e.g. ``"Scientific"``.
        name: dataset name to record (default ``amazon-<release_name lower>``).

    Returns:
        InteractionData (n = 59,427 for Scientific; repeated pairs kept); ratings all NaN;
        timestamps = 0-based position in the user's sequence; raw ids are ASINs / reviewer ids.

    Raises:
        DataError: a file is missing, empty or malformed; rows disagree with each other; an item
            index is absent from ``.item2index``; an interacted item has no text.
    """
    folder = Path(folder)
    name = name or f"amazon-{release_name.lower()}"
    paths = [folder / f"{release_name}.{p}.inter" for p in ("train", "valid", "test")]
    train, valid, test = (_read_inter(p) for p in paths)
    seqs = _rebuild(train, valid, test, paths)
    lengths = np.fromiter((len(s) for s in seqs.values()), dtype=np.int64, count=len(seqs))
    user_idx = np.repeat(np.asarray(list(seqs), dtype=object), lengths)
    item_idx = np.asarray([i for s in seqs.values() for i in s], dtype=object)
    pos = np.arange(len(item_idx)) - np.repeat(np.cumsum(lengths) - lengths, lengths)

    ipath = folder / f"{release_name}.item2index"
    item_map = _read_index(ipath, "item")
    got = item_map.index.get_indexer(pd.Index(item_idx))
    if (got < 0).any():
        bad = item_idx[np.flatnonzero(got < 0)[0]]
        raise DataError(f"{ipath}: item index {bad} used in the .inter files is not listed.")
    raw_items = item_map.to_numpy()[got]
    upath = folder / f"{release_name}.user2index"
    raw_users = user_idx
    if upath.is_file():
        user_map = _read_index(upath, "user")
        got_u = user_map.index.get_indexer(pd.Index(user_idx))
        if (got_u < 0).any():
            bad = user_idx[np.flatnonzero(got_u < 0)[0]]
            raise DataError(f"{upath}: user index {bad} used in the .inter files is not listed.")
        raw_users = user_map.to_numpy()[got_u]

    tpath = folder / f"{release_name}.text"
    tdf = read_fields(tpath, "\t", ("item_id:token", "text:token_seq"), header=True)
    texts = pd.Series(
        tdf["text:token_seq"].str.strip().to_numpy(object), index=tdf["item_id:token"]
    )
    uid_order = raw_users[np.cumsum(lengths) - 1]
    meta = {
        "source": str(folder),
        "format": "unisrec",
        "release_name": release_name,
        "timestamp_unit": "position",
        "released": {"user_ids": np.asarray(uid_order, dtype=object), "seq_len": lengths},
    }
    return build_interactions(
        name, raw_users, raw_items, np.full(len(pos), np.nan), pos,
        item_text=texts, text_source=tpath, meta=meta,
    )  # fmt: skip
