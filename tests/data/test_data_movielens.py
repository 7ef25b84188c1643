"""MovieLens loaders: real ML-100K acceptance figures and malformed-input errors."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from _data_files import write_ml1m, write_ml100k

from pyrec.data import load_dataset
from pyrec.data.movielens_1m import load_ml1m
from pyrec.data.movielens_100k import load_ml100k, parse_title_year
from pyrec.data.preprocess import count_duplicates
from pyrec.diagnostics import DataError

# ---- real files -------------------------------------------------------------------------------


@pytest.mark.realdata
def test_ml100k_real_counts(ml100k_dir):
    d = load_dataset("ml-100k", ml100k_dir.parent)
    assert (d.n_interactions, d.n_users, d.n_items) == (100_000, 943, 1_682)
    assert count_duplicates(d) == 0
    assert d.meta["raw_rows"] == 100_000 and d.meta["duplicates_dropped"] == 0
    assert d.users.dtype == np.int64 and d.items.dtype == np.int64
    assert d.users.min() == 0 and d.users.max() == 942 and d.items.max() == 1681
    assert sorted(np.unique(d.ratings).tolist()) == [1, 2, 3, 4, 5]
    # timestamps in 1997-09-20 .. 1998-04-22 (README)
    assert 874_700_000 < d.timestamps.min() and d.timestamps.max() < 893_300_000
    assert len(d.item_text) == 1_682 and all(d.item_text)
    assert d.meta["user_features"].shape == (943, 4)


@pytest.mark.realdata
def test_ml100k_real_threshold_4(ml100k_dir):
    d = load_dataset("ml-100k", ml100k_dir.parent, min_rating=4)
    assert d.n_interactions == 55_375  # 34,174 fours + 21,201 fives
    assert d.meta["below_threshold_dropped"] == 100_000 - 55_375
    assert d.n_items == 1_682  # the catalogue keeps items without a positive


@pytest.mark.realdata
def test_ml100k_real_texts(ml100k_dir):
    d = load_dataset("ml-100k", ml100k_dir.parent)
    text = dict(zip(d.item_ids.tolist(), d.item_text))
    assert text[1] == "Toy Story (1995). Genres: Animation, Children's, Comedy"
    assert text[267] == "unknown. Genres: unknown"
    assert text[1583] == "Invitation, The (Zaproszenie) (1986). Genres: Drama"
    assert any(t.startswith("Misérables, Les (1995)") for t in d.item_text)


@pytest.mark.realdata
def test_ml100k_real_loads_fast(ml100k_dir):
    load_ml100k(ml100k_dir)  # warm the page cache and imports
    t0 = time.perf_counter()
    load_dataset("ml-100k", ml100k_dir.parent)
    assert time.perf_counter() - t0 < 1.0


# ---- bad input: each its own test ---------------------------------------------------------------


def test_latin1_title_decodes(tmp_path):
    d = load_ml100k(write_ml100k(tmp_path / "ml"))
    assert d.item_text[list(d.item_ids).index(1)] == "Misérables, Les (1995). Genres: Drama"


def test_year_is_last_parenthesised_group():
    assert parse_title_year("Invitation, The (Zaproszenie) (1986)") == 1986
    assert parse_title_year("Misérables, Les (1995)") == 1995
    assert parse_title_year("unknown") is None


def test_item_267_unknown_without_date_loads(tmp_path):
    d = load_ml100k(write_ml100k(tmp_path / "ml"))
    assert 267 in list(d.item_ids)
    assert d.item_text[list(d.item_ids).index(267)] == "unknown. Genres: unknown"


def test_ml1m_double_colon_parses_without_warning(tmp_path):
    folder = write_ml1m(tmp_path / "ml-1m")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pandas ParserWarning (python engine) would fail here
        d = load_ml1m(folder)
    assert (d.n_interactions, d.n_users, d.n_items) == (4, 2, 3)
    assert d.timestamps.tolist() == [978300760, 978302109, 978298413, 978300275]
    assert d.item_text[list(d.item_ids).index(3408)] == "Misérables, Les (1998). Genres: Drama"
    assert d.meta["user_features"].loc[2, "Zip-code"] == "70072"


def test_wrong_separator_names_file_and_format(tmp_path):
    folder = write_ml100k(tmp_path / "ml", data_lines=["1,1,5,881250949", "1,2,3,881250950"])
    with pytest.raises(DataError) as e:
        load_ml100k(folder)
    msg = str(e.value)
    assert "u.data" in msg and "expected 4 fields" in msg and "'\\t'" in msg and "found 1" in msg


def test_ml1m_wrong_separator_raises(tmp_path):
    folder = write_ml1m(tmp_path / "ml-1m", ratings=["1\t1193\t5\t978300760"])
    with pytest.raises(DataError, match=r"ratings\.dat.*expected 4 fields"):
        load_ml1m(folder)


def test_missing_column_names_file_and_line(tmp_path):
    folder = write_ml100k(tmp_path / "ml", data_lines=["1\t1\t5\t881250949", "1\t2\t3"])
    with pytest.raises(DataError, match=r"u\.data, line 2, column timestamp"):
        load_ml100k(folder)


def test_nan_timestamp_raises(tmp_path):
    folder = write_ml100k(tmp_path / "ml", data_lines=["1\t1\t5\t881250949", "1\t2\t3\tnan"])
    with pytest.raises(DataError, match=r"u\.data, line 2, column timestamp: timestamp is missing"):
        load_ml100k(folder)


def test_negative_timestamp_raises(tmp_path):
    folder = write_ml100k(tmp_path / "ml", data_lines=["1\t1\t5\t-5", "1\t2\t3\t881250950"])
    with pytest.raises(DataError, match=r"line 1, column timestamp: timestamp -5 is negative"):
        load_ml100k(folder)


def test_non_numeric_rating_raises(tmp_path):
    folder = write_ml100k(tmp_path / "ml", data_lines=["1\t1\tfive\t881250949"])
    with pytest.raises(DataError, match=r"line 1, column rating: expected a number, got 'five'"):
        load_ml100k(folder)


def test_empty_file_raises(tmp_path):
    folder = write_ml100k(tmp_path / "ml", data_lines=[])
    with pytest.raises(DataError, match=r"u\.data: the file is empty"):
        load_ml100k(folder)


def test_unknown_item_in_ratings_raises(tmp_path):
    folder = write_ml100k(
        tmp_path / "ml", data_lines=["1\t1\t5\t881250949", "1\t999\t3\t881250950"]
    )
    with pytest.raises(
        DataError, match=r"u\.item: 1 interacted item id\(s\) have no text row, e\.g\. 999"
    ):
        load_ml100k(folder)


def test_text_rows_without_interactions_are_reported(tmp_path):
    folder = write_ml100k(tmp_path / "ml", data_lines=["1\t1\t5\t881250949"])
    d = load_ml100k(folder)
    assert d.meta["text_rows_without_interactions"] == 3  # items 2, 3, 267 have no rating


def test_bad_genre_flag_raises(tmp_path):
    folder = write_ml100k(tmp_path / "ml", item_lines=["1|A (1995)|||x|" + "|".join(["2"] * 19)])
    with pytest.raises(DataError, match=r"u\.item, line 1, column genre:unknown"):
        load_ml100k(folder)
