"""Dataset description files (.toml): a CSV + text CSV named once, counts exact, errors named."""

from __future__ import annotations

import warnings

import pytest
from _own_data import N_AT_LEAST_3, N_ROWS, write_csv

from pyrec.data import default_min_rating, load_dataset, split_data
from pyrec.data.description import read_description
from pyrec.diagnostics import ConfigError, DataError, DataWarning

DESC = """name = "my-shop"
[interactions]
path = "ratings.csv"
user = "user_id"
item = "item_id"
{extra}
[item_text]
path = "items.csv"
fields = ["title", "genres", "description"]
"""


def test_csv_description_counts_text_and_threshold(tmp_path):
    desc = write_csv(tmp_path)
    with pytest.warns(DataWarning) as rec:
        data = load_dataset(str(desc))
    msgs = [str(w.message) for w in rec]
    assert any("1 of 10 interacted item(s) have empty text" in m and "'i3'" in m for m in msgs)
    assert any("1 text row(s) name items with no interaction" in m for m in msgs)
    assert (data.name, data.n_users, data.n_items, data.n_interactions) == ("my-shop", 12, 10, N_ROWS)
    assert sum(1 for t in data.item_text if t) == 9
    text = dict(zip(data.item_ids, data.item_text))
    assert text["i1"] == "Toy & Co. Animation. Fun & games"  # tags stripped, entities decoded
    assert text["i0"] == "Item 0. Genre 0"  # the empty description is skipped in the join
    assert text["i3"] == ""
    m = data.meta
    assert (m["format"], m["timestamp_unit"], m["items_with_empty_text"], m["empty_text_examples"]) == (
        "csv", "s", 1, ["i3"])
    assert (m["items_without_text"], m["text_rows_without_interactions"]) == (0, 1)
    assert m["description"] == str(desc) and m["default_min_rating"] == 3.0
    # the description's min_rating is the dataset's default threshold
    assert default_min_rating(str(desc)) == 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        kept = load_dataset(str(desc), min_rating=default_min_rating(str(desc)))
    assert kept.n_interactions == N_AT_LEAST_3 and kept.meta["below_threshold_dropped"] == N_ROWS - N_AT_LEAST_3
    assert kept.n_items == 10  # the threshold keeps the item index


def test_registered_thresholds_and_pipeline_delegate(tmp_path):
    from pyrec.pipeline import default_min_rating as pipeline_default

    assert default_min_rating("ml-100k") == 3.0 == pipeline_default("ml-100k")
    assert default_min_rating("ml-1m") == 3.0
    assert default_min_rating("amazon-gift_cards") is None
    assert default_min_rating("amazon2018:Beauty") is None
    assert default_min_rating(str(tmp_path / "x.csv")) is None  # a plain table: keep all
    with pytest.raises(DataError, match="Unknown dataset 'nope'"):
        default_min_rating("nope")


def test_position_order_is_recorded_and_temporal_split_says_so(tmp_path):
    extra = 'rating = "rating"\norder = "timestamp"\norder_kind = "position"'
    desc = write_csv(tmp_path, description=DESC.format(extra=extra))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = load_dataset(str(desc))
    assert data.meta["timestamp_unit"] == "position" and data.meta["order_kind"] == "position"
    assert default_min_rating(str(desc)) is None
    with pytest.warns(DataWarning, match="sequence positions, not times"):
        split_data(data, "temporal")


def test_description_without_order_uses_file_order(tmp_path):
    desc = write_csv(tmp_path, description=DESC.format(extra=""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = load_dataset(str(desc))
    assert data.meta["timestamp_unit"] == "row" and data.timestamps.tolist() == list(range(N_ROWS))
    assert data.n_interactions == N_ROWS and data.ratings.tolist()[0] != data.ratings.tolist()[0]  # NaN


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('order = "timestamp"\norder_kind = "seconds"', "interactions.order_kind", "'timestamp' or 'position'"),
        ('colour = "red"', "interactions.colour", "known keys: ['path', 'user', 'item', 'rating'"),
        ('order_kind = "position"', "interactions.order_kind", "needs interactions.order"),
        ("min_rating = inf", "interactions.min_rating", "finite"),
    ],
)
def test_bad_keys_name_file_key_and_expectation(tmp_path, extra, key, words):
    desc = write_csv(tmp_path, description=DESC.format(extra=extra))
    with pytest.raises(ConfigError) as err:
        load_dataset(str(desc))
    msg = str(err.value)
    assert f"{desc}: key {key!r}" in msg and words in msg, msg


def test_unknown_top_level_key_and_missing_required_keys(tmp_path):
    desc = write_csv(tmp_path, description='nmae = "x"\n[interactions]\npath = "ratings.csv"\n')
    with pytest.raises(ConfigError) as err:
        read_description(desc)
    msg = str(err.value)
    assert f"{desc}: key 'nmae': unknown key" in msg
    assert "known keys: ['name', 'format', 'interactions', 'item_text']" in msg
    desc.write_text('[interactions]\npath = "ratings.csv"\n')
    with pytest.raises(ConfigError) as err:
        read_description(desc)
    msg = str(err.value)
    assert f"{desc}: key 'interactions.user': required for format 'csv'" in msg
    assert f"{desc}: key 'interactions.item': required for format 'csv'" in msg


def test_keys_that_do_not_fit_the_format_are_refused(tmp_path):
    (tmp_path / "d.toml").write_text(
        'format = "json-pair"\n[interactions]\npath = "x.inter.json"\nrating = "r"\nmin_rating = 3\n')
    with pytest.raises(ConfigError) as err:
        read_description(tmp_path / "d.toml")
    msg = str(err.value)
    assert "key 'interactions.rating': does not apply to format 'json-pair'" in msg
    assert "key 'interactions.min_rating'" in msg


def test_missing_files_and_columns_are_named(tmp_path):
    with pytest.raises(DataError, match="dataset description file not found: .*nowhere.toml"):
        load_dataset(str(tmp_path / "nowhere.toml"))
    desc = write_csv(tmp_path, description=DESC.format(extra="").replace("ratings.csv", "gone.csv"))
    with pytest.raises(DataError, match=f"table file not found: {tmp_path / 'gone.csv'}"):
        load_dataset(str(desc))
    desc = write_csv(tmp_path, description=DESC.format(extra='rating = "stars"'))
    with pytest.raises(DataError) as err:
        load_dataset(str(desc))
    assert f"{tmp_path / 'ratings.csv'}: missing column(s) ['stars']" in str(err.value)
    desc = write_csv(tmp_path, description=DESC.format(extra="").replace('"description"]', '"plot"]'))
    with pytest.raises(DataError) as err:
        load_dataset(str(desc))
    assert f"{tmp_path / 'items.csv'}: missing column(s) ['plot']" in str(err.value)


def test_toml_syntax_and_encoding_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[interactions\npath = "x"\n')
    with pytest.raises(ConfigError, match=f"{bad}: TOML syntax error"):
        read_description(bad)
    bad.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(DataError, match=f"{bad}: the dataset description is not UTF-8"):
        read_description(bad)


def test_experiment_config_takes_a_description_and_its_threshold(tmp_path):
    from pyrec.experiment import validate_config

    desc = write_csv(tmp_path)
    base = {"dataset": str(desc), "configurations": [{"architecture": "hybrid"}]}
    assert validate_config(base).min_rating == 3.0  # the description's default
    assert validate_config({**base, "min_rating": 4}).min_rating == 4.0  # a config's own wins
    assert validate_config({**base, "dataset": "ml-100k"}).min_rating == 3.0  # unchanged
    with pytest.raises(ConfigError, match=r"key 'dataset': dataset description file not found"):
        validate_config({**base, "dataset": str(tmp_path / "missing.toml")})
    (tmp_path / "bad.toml").write_text('[interactions]\npath = "r.csv"\nuser = "u"\nitem = "i"\nx = 1\n')
    with pytest.raises(ConfigError, match=r"key 'dataset': Invalid dataset description"):
        validate_config({**base, "dataset": str(tmp_path / "bad.toml")})


def test_readme_example_is_a_valid_description(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    body = readme.split("cat > my.toml <<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    write_csv(tmp_path, description=body)  # the README's column names are those of write_csv
    desc = read_description(tmp_path / "shop.toml")
    assert (desc.format, desc.interactions.min_rating, desc.item_text.fields) == (
        "csv", 3.0, ["title", "genres", "description"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert load_dataset(str(tmp_path / "shop.toml")).n_interactions == N_ROWS
