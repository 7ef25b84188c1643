"""MovieLens 100K loader (``u.data``, ``u.item``, ``u.user`` in their original formats).

Source: F. Maxwell Harper and Joseph A. Konstan. 2015. *The MovieLens Datasets: History and
Context.* ACM TiiS 5(4), Article 19. https://grouplens.org/datasets/movielens/100k/

STATS (the shared copy): 943 users, 1,682 items, 100,000 ratings (1-5), 0 repeated pairs;
55,375 ratings >= 4.

Item text: ``"<title>. Genres: <g1>, <g2>"`` where the title keeps its release year, e.g.
``"Toy Story (1995). Genres: Animation, Children's, Comedy"``. ``u.item`` is Latin-1.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from pyrec.data._build import (
    build_interactions,
    check_numeric,
    check_timestamps,
    read_fields,
    require_nonempty,
)
from pyrec.data._types import InteractionData
from pyrec.diagnostics import DataError

__all__ = ["load_ml100k", "parse_title_year", "GENRES_100K", "movie_text"]

#: the 19 genre flags of ``u.item``, in file order (as listed in ``u.genre``)
GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_YEAR = re.compile(r"\((\d{4})\)")

DATA_FIELDS = ("user id", "item id", "rating", "timestamp")
ITEM_FIELDS = ("movie id", "movie title", "release date", "video release date", "IMDb URL") + tuple(
    f"genre:{g}" for g in GENRES_100K
)
USER_FIELDS = ("user id", "age", "gender", "occupation", "zip code")


def parse_title_year(title: str) -> int | None:
    """Release year of a MovieLens title: the last parenthesised 4-digit group, else None.

    ``"Invitation, The (Zaproszenie) (1986)"`` -> 1986; ``"unknown"`` -> None.
    """
    found = _YEAR.findall(title)
    return int(found[-1]) if found else None


def movie_text(title: str, genres: list[str], date_year: int | None = None) -> str:
    """The item text a language model reads: ``"<title> (<year>). Genres: a, b"``.

    The year is taken from the title (:func:`parse_title_year`); when the title has none but the
    release date has one (``date_year``), it is appended in parentheses.
    """
    title = title.strip()
    if parse_title_year(title) is None and date_year is not None:
        title = f"{title} ({date_year})"
    return f"{title}. Genres: {', '.join(genres) if genres else 'none'}"


def _read_items(path: Path) -> pd.Series:
    df = read_fields(path, "|", ITEM_FIELDS, encoding="latin-1", text_fields=ITEM_FIELDS[1:])
    ids = check_numeric(df["movie id"], path, "movie id", integer=True)
    flags = df[[f"genre:{g}" for g in GENRES_100K]].to_numpy()
    bad = ~np.isin(flags, ("0", "1"))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"{path}, line {r + 1}, column {ITEM_FIELDS[5 + c]}: expected a 0/1 genre flag, "
            f"got {flags[r, c]!r}."
        )
    date_year = pd.to_datetime(df["release date"], format="%d-%b-%Y", errors="coerce").dt.year
    texts = []
    for title, row, dy in zip(df["movie title"], flags == "1", date_year):
        genres = [g for g, on in zip(GENRES_100K, row) if on]
        texts.append(movie_text(title, genres, None if pd.isna(dy) else int(dy)))
    return pd.Series(texts, index=pd.Index(ids, name="item"), dtype=object)


def _read_users(path: Path) -> pd.DataFrame:
    df = read_fields(path, "|", USER_FIELDS, text_fields=USER_FIELDS[2:])
    df["user id"] = check_numeric(df["user id"], path, "user id", integer=True)
    df["age"] = check_numeric(df["age"], path, "age", integer=True)
    return df.set_index("user id")


def load_ml100k(folder: str | Path, name: str = "ml-100k") -> InteractionData:
    """Read MovieLens 100K from ``folder`` (raw, before any preprocessing).

    Args:
        folder: directory holding ``u.data`` and ``u.item`` (``u.user`` optional, kept in
            ``meta["user_features"]``: DataFrame indexed by raw user id).
        name: dataset name to record.

    Returns:
        InteractionData with n = 100,000 on the official files; ratings float32 in 1..5;
        timestamps Unix s; raw ids are ints.

    Raises:
        DataError: a file is missing, empty, has the wrong separator or field count, a
            timestamp is NaN/negative, or ``u.data`` references an item absent from ``u.item``.
    """
    folder = Path(folder)
    data_path = folder / "u.data"
    df = read_fields(data_path, "\t", DATA_FIELDS, text_fields=())
    require_nonempty(data_path, len(df), "tab-separated user id, item id, rating, timestamp")
    users = check_numeric(df["user id"], data_path, "user id", integer=True)
    items = check_numeric(df["item id"], data_path, "item id", integer=True)
    ratings = check_numeric(df["rating"], data_path, "rating")
    ts = check_timestamps(df["timestamp"], data_path, "timestamp")
    item_path = folder / "u.item"
    texts = _read_items(item_path)
    meta = {"source": str(folder), "format": "movielens-100k", "timestamp_unit": "s"}
    user_path = folder / "u.user"
    if user_path.is_file():
        meta["user_features"] = _read_users(user_path)
    return build_interactions(
        name, users, items, ratings, ts, item_text=texts, text_source=item_path, meta=meta
    )
