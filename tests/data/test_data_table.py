"""Generic CSV / Parquet loader: named columns, item-text table, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from pyrec.data import load_dataset, load_table
from pyrec.diagnostics import DataError, DataWarning

CSV = "user,item,rating,ts\nu1,i1,5,100\nu1,i2,3,200\nu2,i1,4,150\n"


def test_csv_loads_with_named_columns(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text(CSV)
    d = load_table(p, "user", "item", "rating", "ts")
    assert (d.n_users, d.n_items, d.n_interactions) == (2, 2, 3)
    assert d.ratings.tolist() == [5, 3, 4] and d.timestamps.tolist() == [100, 200, 150]
    assert list(d.user_ids) == ["u1", "u2"] and d.item_text == ["", ""]


def test_parquet_and_text_table(tmp_path):
    frame = pd.DataFrame({"user": ["u1", "u1", "u2"], "item": ["i1", "i2", "i1"],
                          "rating": [5.0, 3.0, 4.0], "ts": [100, 200, 150]})  # fmt: skip
    frame.to_parquet(tmp_path / "inter.parquet")
    (tmp_path / "text.csv").write_text("item,text\ni1,First item\ni2,Second item\n")
    d = load_table(
        tmp_path / "inter.parquet", "user", "item", "rating", "ts", tmp_path / "text.csv"
    )
    assert d.item_text == ["First item", "Second item"]


def test_missing_column_names_file_and_columns(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text(CSV)
    with pytest.raises(DataError) as e:
        load_table(p, "user", "item", "rating", "timestamp")
    msg = str(e.value)
    assert "inter.csv" in msg and "missing column(s) ['timestamp']" in msg and "'ts'" in msg


def test_wrong_separator_is_named(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text(CSV.replace(",", ";"))
    with pytest.raises(DataError, match=r"inter\.csv: .*separated by ';', not ','; pass sep=';'"):
        load_table(p, "user", "item")


def test_empty_file_raises(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text("")
    with pytest.raises(DataError, match=r"inter\.csv: the file is empty"):
        load_table(p, "user", "item")


def test_header_only_is_not_zero_rows_loaded(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text("user,item\n")
    with pytest.raises(DataError, match=r"inter\.csv: the file has a header but no data rows"):
        load_table(p, "user", "item")


def test_nan_timestamp_raises(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text("user,item,ts\nu1,i1,100\nu1,i2,\n")
    with pytest.raises(DataError, match=r"inter\.csv, line 3, column ts: timestamp is missing"):
        load_table(p, "user", "item", timestamp_col="ts")


def test_negative_timestamp_raises(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text("user,item,ts\nu1,i1,-7\n")
    with pytest.raises(DataError, match=r"line 2, column ts: timestamp -7 is negative"):
        load_table(p, "user", "item", timestamp_col="ts")


def test_missing_id_raises(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text("user,item\nu1,i1\n,i2\n")
    with pytest.raises(DataError, match=r"line 3, column user: id is missing"):
        load_table(p, "user", "item")


def test_unknown_items_in_text_table_are_reported(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text(CSV)
    (tmp_path / "text.csv").write_text("item,text\ni1,First\nzzz,Ghost\n")
    with pytest.warns(DataWarning) as rec:
        d = load_table(p, "user", "item", item_text=tmp_path / "text.csv")
    msgs = " ".join(str(w.message) for w in rec)
    assert "1 interacted item id(s) have no text row, e.g. 'i2'" in msgs
    assert "1 text row(s) name items with no interaction" in msgs
    assert d.meta["items_without_text"] == 1 and d.meta["text_rows_without_interactions"] == 1


def test_duplicate_text_rows_raise(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text(CSV)
    (tmp_path / "text.csv").write_text("item,text\ni1,A\ni1,B\ni2,C\n")
    with pytest.raises(DataError, match=r"text\.csv: item id 'i1' has more than one text row"):
        load_table(p, "user", "item", item_text=tmp_path / "text.csv")


def test_load_dataset_accepts_a_csv_path(tmp_path):
    p = tmp_path / "inter.csv"
    p.write_text("user_id,item_id,rating,timestamp\na,x,5,10\na,x,4,20\nb,y,3,5\n")
    d = load_dataset(str(p), min_rating=4)
    assert d.meta["duplicates_dropped"] == 1 and d.n_interactions == 1
    assert d.ratings.tolist() == [4.0]  # the latest of the repeated pair is kept
