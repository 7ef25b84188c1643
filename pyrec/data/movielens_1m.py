"""MovieLens 1M loader (``ratings.dat``, ``movies.dat``, ``users.dat``; ``::``-separated).

Source: F. Maxwell Harper and Joseph A. Konstan. 2015. *The MovieLens Datasets: History and
Context.* ACM TiiS 5(4), Article 19. https://grouplens.org/datasets/movielens/1m/

STATS (official release): 6,040 users, 3,706 rated movies (3,883 listed), 1,000,209 ratings (1-5).

Formats: ``UserID::MovieID::Rating::Timestamp``, ``MovieID::Title::Genres`` (genres
``|``-separated, Latin-1), ``UserID::Gender::Age::Occupation::Zip-code``. The ``::`` separator is
turned into a tab in memory and read by pandas' C parser, so no ``ParserWarning`` (python engine)
is emitted. Item text: ``"<title>. Genres: <g1>, <g2>"`` as for MovieLens 100K.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pyrec.data._build import (
    build_interactions,
    check_numeric,
    check_timestamps,
    read_fields,
    require_nonempty,
)
from pyrec.data._types import InteractionData
from pyrec.data.movielens_100k import movie_text

__all__ = ["load_ml1m"]

RATING_FIELDS = ("UserID", "MovieID", "Rating", "Timestamp")
MOVIE_FIELDS = ("MovieID", "Title", "Genres")
USER_FIELDS = ("UserID", "Gender", "Age", "Occupation", "Zip-code")


def _read_movies(path: Path) -> pd.Series:
    df = read_fields(path, "::", MOVIE_FIELDS, encoding="latin-1", text_fields=MOVIE_FIELDS[1:])
    ids = check_numeric(df["MovieID"], path, "MovieID", integer=True)
    texts = [
        movie_text(title, [g for g in genres.split("|") if g])
        for title, genres in zip(df["Title"], df["Genres"])
    ]
    return pd.Series(texts, index=pd.Index(ids, name="item"), dtype=object)


def load_ml1m(folder: str | Path, name: str = "ml-1m") -> InteractionData:
    """Read MovieLens 1M from ``folder`` (raw, before any preprocessing).

    Args:
        folder: directory holding ``ratings.dat`` and ``movies.dat`` (``users.dat`` optional,
            kept in ``meta["user_features"]``: DataFrame indexed by raw user id).
        name: dataset name to record.

    Returns:
        InteractionData, n = 1,000,209 on the official files; ratings float32 1..5; timestamps s.

    Raises:
        DataError: missing/empty file, wrong separator or field count, NaN/negative timestamp,
            or a rating of a movie absent from ``movies.dat``.
    """
    folder = Path(folder)
    path = folder / "ratings.dat"
    df = read_fields(path, "::", RATING_FIELDS, text_fields=())
    require_nonempty(path, len(df), "UserID::MovieID::Rating::Timestamp")
    users = check_numeric(df["UserID"], path, "UserID", integer=True)
    items = check_numeric(df["MovieID"], path, "MovieID", integer=True)
    ratings = check_numeric(df["Rating"], path, "Rating")
    ts = check_timestamps(df["Timestamp"], path, "Timestamp")
    movie_path = folder / "movies.dat"
    texts = _read_movies(movie_path)
    meta = {"source": str(folder), "format": "movielens-1m", "timestamp_unit": "s"}
    user_path = folder / "users.dat"
    if user_path.is_file():
        uf = read_fields(user_path, "::", USER_FIELDS, text_fields=("Gender", "Zip-code"))
        uf["UserID"] = check_numeric(uf["UserID"], user_path, "UserID", integer=True)
        meta["user_features"] = uf.set_index("UserID")
    return build_interactions(
        name, users, items, ratings, ts, item_text=texts, text_source=movie_path, meta=meta
    )
