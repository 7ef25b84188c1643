"""Common public formats written by the test: RecBole atomic files and the .inter.json/.item.json
pair; the shared text cleaner; which loader a path reaches."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _own_data import N_AT_LEAST_3, N_ROWS, write_json_pair, write_recbole

from pyrec.data import dataset_label, default_min_rating, load_dataset, split_data
from pyrec.data.jsonpair import field_text, load_json_pair
from pyrec.data.recbole import load_recbole
from pyrec.data.registry import file_format
from pyrec.data.text import clean_text, join_parts
from pyrec.diagnostics import ConfigError, DataError, DataWarning


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------------------ text
@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("x &amp;#39; y", "x ' y"),  # double-escaped
        ("<b>Bold</b> text<br/>more", "Bold text more"),
        ("&lt;i&gt;escaped markup&lt;/i&gt;", "escaped markup"),
        ("<script>var x = 1;</script><style>p {}</style>Hi", "Hi"),
        ('Card <span class="a-size"', "Card"),  # a tag cut short at the end
        ("5 < 6 and a <3 b", "5 < 6 and a <3 b"),  # '<' that starts no tag is text
        ("AT&T  \n spaced\tout ", "AT&T spaced out"),
        ("<!-- note -->ok", "ok"),
        (None, ""),
        (float("nan"), ""),
        (["a &amp; b", "", "<p>c</p>"], "a & b c"),
    ],
)
def test_clean_text(raw, text):
    assert clean_text(raw) == text


def test_join_parts_skips_empty_and_doubled_punctuation():
    assert join_parts(["Toy Story.", "", "Animation", ""], ". ") == "Toy Story. Animation"
    assert join_parts(["", ""], ". ") == ""
    assert join_parts(["a", "b"], " | ") == "a | b"


def test_field_text_categories():
    assert field_text("categories", [["Toys", "Toys", "Dolls"], ["Gifts"]]) == "Toys > Dolls, Gifts"
    assert field_text("categories", ["Beauty", "Skin &amp; Care"]) == "Beauty > Skin & Care"
    assert field_text("categories", "Beauty,Skin Care") == "Beauty,Skin Care"
    assert field_text("description", ["p1", "p2"]) == "p1 p2"


# ------------------------------------------------------------------------------ dispatching
def test_file_format_and_label():
    assert [file_format(n) for n in ("a/my.toml", "x.inter", "x.inter.json", "r.csv", "r.parquet",
                                     "ml-100k", "amazon2018:Beauty")] == [
        "description", "recbole", "json-pair", "table", "table", None, None]
    assert [dataset_label(n) for n in ("data/shop.toml", "/d/Beauty.inter.json", "x/ml.inter",
                                       "r.csv", "amazon2018:Beauty")] == [
        "shop", "Beauty", "ml", "r", "amazon2018_Beauty"]


def test_item_files_are_refused_with_the_file_to_pass(tmp_path):
    write_recbole(tmp_path)
    with pytest.raises(DataError, match=r"shop.item: this is an item file; pass the interactions file .*\.inter\)"):
        load_dataset(str(tmp_path / "shop.item"))
    with pytest.raises(DataError, match=r"\.inter\.json\)"):
        load_dataset(str(tmp_path / "shop.item.json"))


# ------------------------------------------------------------------------------------ RecBole
def test_recbole_atomic_files_counts_text_and_threshold(tmp_path):
    inter = write_recbole(tmp_path)
    with pytest.warns(DataWarning) as rec:
        data = load_dataset(str(inter))
    assert any("1 of 10 interacted item(s) have empty text" in str(w.message) for w in rec)
    assert (data.name, data.n_users, data.n_items, data.n_interactions) == ("shop", 12, 10, N_ROWS)
    text = dict(zip(data.item_ids, data.item_text))
    assert text["i1"] == "Toy & Co Deluxe. Toys Dolls"  # token_seq fields title, categories
    assert text["i0"] == '"Item" 0. Cat0'  # no quoting in atomic files
    assert text["i3"] == "" and sum(1 for t in data.item_text if t) == 9
    m = data.meta
    assert (m["format"], m["timestamp_unit"], m["text_fields"]) == ("recbole", "s", ["title", "categories"])
    assert (m["items_with_empty_text"], m["text_rows_without_interactions"]) == (1, 1)
    assert int(data.timestamps.min()) == 1000 and np.nanmax(data.ratings) == 5.0
    assert default_min_rating(str(inter)) is None
    kept = _quiet(load_dataset, str(inter), min_rating=3)
    assert kept.n_interactions == N_AT_LEAST_3


def test_recbole_through_a_description_with_chosen_fields(tmp_path):
    write_recbole(tmp_path)
    (tmp_path / "rb.toml").write_text(
        'name = "rb"\nformat = "recbole"\n[interactions]\npath = "shop.inter"\nmin_rating = 3\n'
        '[item_text]\nfields = ["brand", "title"]\nseparator = " | "\n')
    data = _quiet(load_dataset, str(tmp_path / "rb.toml"))
    text = dict(zip(data.item_ids, data.item_text))
    assert data.name == "rb" and text["i1"] == "Acme | Toy & Co Deluxe" and text["i3"] == "Acme"
    assert data.meta["items_with_empty_text"] == 0 and default_min_rating(str(tmp_path / "rb.toml")) == 3.0


def test_recbole_errors_name_file_and_field(tmp_path):
    inter = write_recbole(tmp_path)
    with pytest.raises(DataError) as err:
        load_recbole(inter, rating="stars")
    assert f"{inter}: missing field(s) ['stars']" in str(err.value)
    assert "found ['user_id', 'item_id', 'rating', 'timestamp']" in str(err.value)
    with pytest.raises(DataError, match=r"\.item: missing field\(s\) \['plot'\]"):
        load_recbole(inter, fields=["plot"])
    plain = tmp_path / "plain.inter"
    plain.write_text("user_id,item_id\n1,2\n")
    with pytest.raises(DataError, match=r"plain.inter, line 1: header field 'user_id,item_id' is not 'name:type'"):
        load_recbole(plain)
    with pytest.raises(DataError, match=r"RecBole .inter file not found: .*none.inter"):
        load_dataset(str(tmp_path / "none.inter"))
    bad = tmp_path / "bad.inter"
    bad.write_text("user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\t-5\n")
    with pytest.raises(DataError, match=r"bad.inter, line 2, column timestamp: timestamp -5 is negative"):
        load_recbole(bad)
    seq = tmp_path / "Sci.train.inter"
    seq.write_text("user_id:token\titem_id_list:token_seq\titem_id:token\n1\t1 2\t3\n")
    with pytest.raises(DataError, match="field 'item_id_list' holds item sequences.*unisrec:<Name>"):
        load_dataset(str(seq))
    with pytest.raises(ConfigError, match="'order_kind' parameter of load_recbole"):
        load_recbole(inter, order_kind="seconds")


# ---------------------------------------------------------------------------------- JSON pair
def test_json_pair_counts_positions_and_text(tmp_path):
    inter = write_json_pair(tmp_path)
    with pytest.warns(DataWarning) as rec:
        data = load_dataset(str(inter))
    msgs = " | ".join(str(w.message) for w in rec)
    assert "2 interacted item(s) have an empty or missing title (e.g. ['i3', 'i5'])" in msgs
    assert "1 interacted item id(s) have no text row, e.g. 'i9'" in msgs
    assert "1 of 10 interacted item(s) have empty text" in msgs
    # u_none's empty list adds no user
    assert (data.name, data.n_users, data.n_items, data.n_interactions) == ("shop", 12, 10, N_ROWS)
    text = dict(zip(data.item_ids, data.item_text))
    assert text["i1"] == "Toy & Co. Acme. Toys > Dolls. Fun"  # title, brand, categories, description
    assert text["i5"] == "Only a description" and text["i3"] == "" and text["i9"] == ""
    assert sum(1 for t in data.item_text if t) == 8
    m = data.meta
    assert (m["format"], m["timestamp_unit"], m["order_kind"]) == ("json-pair", "position", "position")
    assert (m["users_without_items"], m["items_without_title"], m["items_with_empty_text"],
            m["items_without_text"]) == (1, 2, 1, 1)
    assert np.isnan(data.ratings).all()
    u0 = data.users == list(data.user_ids).index("u00")
    assert data.timestamps[u0].tolist() == [0, 1, 2, 3, 4, 5]  # the list position
    assert data.item_ids[data.items[u0][data.timestamps[u0].argsort()]].tolist() == [
        "i0", "i1", "i2", "i3", "i4", "i5"]
    with pytest.warns(DataWarning, match="sequence positions, not times"):
        split_data(data, "temporal")
    assert default_min_rating(str(inter)) is None
    with pytest.raises(DataError, match="has no ratings"):
        _quiet(load_dataset, str(inter), min_rating=3)


def test_json_pair_through_a_description(tmp_path):
    write_json_pair(tmp_path)
    (tmp_path / "js.toml").write_text(
        '[interactions]\npath = "shop.inter.json"\n[item_text]\nfields = ["description", "title"]\n')
    data = _quiet(load_dataset, str(tmp_path / "js.toml"))
    text = dict(zip(data.item_ids, data.item_text))
    assert data.name == "js" and data.meta["format"] == "json-pair"  # format from the file name
    assert text["i1"] == "Fun. Toy & Co" and text["i0"] == "Item 0"


def test_json_pair_errors_name_file_and_what_was_expected(tmp_path):
    p = tmp_path / "x.inter.json"
    p.write_text('{"u1": ["i1", "i2"],\n "u2": ["i1",]}')
    with pytest.raises(DataError, match=r"x.inter.json, line 2, column \d+: not valid JSON"):
        load_json_pair(p)
    p.write_text(json.dumps([["i1"]]))
    with pytest.raises(DataError, match=r"expected an object \{user id: \[item id, \.\.\.\]\}, found a JSON list"):
        load_json_pair(p)
    p.write_text(json.dumps({"u1": "i1"}))
    with pytest.raises(DataError, match="user 'u1' has a str; expected a list of item ids"):
        load_json_pair(p)
    p.write_text(json.dumps({"u1": ["i1", None]}))
    with pytest.raises(DataError, match="user 'u1', position 1: expected an item id"):
        load_json_pair(p)
    p.write_text(json.dumps({"u1": []}))
    with pytest.raises(DataError, match="no interactions"):
        load_json_pair(p)
    p.write_text(json.dumps({"u1": ["i1"]}))
    (tmp_path / "x.item.json").write_text(json.dumps({"i1": "just a title"}))
    with pytest.raises(DataError, match=r"x.item.json: item 'i1' has a str; expected an object"):
        load_json_pair(p)
    with pytest.raises(DataError, match=r"JSON-pair .inter.json file not found: .*gone.inter.json"):
        load_dataset(str(tmp_path / "gone.inter.json"))
