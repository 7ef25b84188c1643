"""Amazon Review 2018 and UniSRec-release loaders: real acceptance figures and malformed input."""

from __future__ import annotations

import numpy as np
import pytest
from _data_files import write_gz_jsonl, write_unisrec

from pyrec.data import check_split, load_dataset, split_data
from pyrec.data.amazon2018 import amazon_item_text, clean_text, load_amazon2018
from pyrec.data.preprocess import count_duplicates
from pyrec.data.unisrec import load_unisrec
from pyrec.diagnostics import DataError, DataWarning

# ---- real files -------------------------------------------------------------------------------


@pytest.mark.realdata
def test_giftcards_real_rows_and_pairs(giftcards_dir):
    raw = load_dataset("amazon-gift_cards", giftcards_dir.parent, dedup=False)
    assert raw.n_interactions == 2_972
    assert (raw.n_users, raw.n_items) == (458, 148)
    assert count_duplicates(raw) == 7
    d = load_dataset("amazon-gift_cards", giftcards_dir.parent)
    assert d.n_interactions == 2_965
    assert d.meta["raw_rows"] == 2_972 and d.meta["duplicates_dropped"] == 7
    assert count_duplicates(d) == 0


@pytest.mark.realdata
def test_giftcards_real_text_clean(giftcards_dir):
    d = load_dataset("amazon-gift_cards", giftcards_dir.parent)
    assert all(d.item_text), "every reviewed item has metadata with a title"
    for t in d.item_text:
        assert "&#" not in t and "&amp;" not in t and "<" not in t
    assert d.meta["meta_rows"] == 1_547
    assert sorted(np.unique(d.ratings).tolist()) == [1, 2, 3, 4, 5]


@pytest.mark.realdata
def test_scientific_real_counts(scientific_dir):
    raw = load_dataset("amazon-scientific", scientific_dir.parent, dedup=False)
    assert (raw.n_users, raw.n_items, raw.n_interactions) == (8_442, 4_385, 59_427)
    assert all(t.strip() for t in raw.item_text), "every interacted item has non-empty text"
    assert np.isnan(raw.ratings).all()
    d = load_dataset("amazon-scientific", scientific_dir.parent)
    assert d.meta["raw_rows"] == 59_427 and d.meta["duplicates_dropped"] == 291
    assert d.n_interactions == 59_136


@pytest.mark.realdata
def test_scientific_real_released_split(scientific_dir):
    d = load_dataset("amazon-scientific", scientific_dir.parent)
    s = split_data(d, "released")
    check_split(s)
    assert len(s.test) == 8_442  # one test row per user, the release's test target
    # 8,443-line valid file = 8,442 rows; 16 users' valid target equals their test target,
    # which dedup keeps (latest), so their valid row is gone.
    assert len(s.valid) == 8_442 - s.info["users_without_valid"]
    assert np.all(np.bincount(s.test.users, minlength=d.n_users) == 1)
    # the released test target is each user's last position
    last = np.zeros(d.n_users, np.int64)
    np.maximum.at(last, d.users, d.timestamps)
    assert np.array_equal(np.sort(s.test.timestamps), np.sort(last))


@pytest.mark.realdata
def test_scientific_real_first_user_sequence(scientific_dir):
    """User index 0's sequence is 0..13 in the release (its test row: history 0..12, target 13)."""
    d = load_dataset("amazon-scientific", scientific_dir.parent, dedup=False)
    uid = (scientific_dir / "Scientific.user2index").read_text().splitlines()[0].split("\t")[0]
    u = list(d.user_ids).index(uid)
    rows = np.flatnonzero(d.users == u)
    seq = d.items[rows[np.argsort(d.timestamps[rows])]]
    i2i = dict(
        ln.split("\t") for ln in (scientific_dir / "Scientific.item2index").read_text().splitlines()
    )
    release_idx = [int(i2i[d.item_ids[i]]) for i in seq]
    assert release_idx == list(range(14))


# ---- helpers ----------------------------------------------------------------------------------


def test_clean_text_unescapes_and_strips_tags():
    assert (
        clean_text("Caf&eacute; &amp;#39;s <b>best</b>&#x2019;") == "Café 's best \u2019"
    )  # a tag becomes a space
    assert clean_text(["a &amp; b", "", "<p>c</p>"]) == "a & b c"
    assert clean_text(None) == ""


def test_amazon_item_text_parts():
    rec = {"title": "Card &amp; Box", "category": ["Gift Cards", "Gift Cards", "Restaurants"],
           "brand": "Acme", "description": ["<p>Nice.</p>"]}  # fmt: skip
    assert (
        amazon_item_text(rec) == "Card & Box. Category: Gift Cards > Restaurants. Brand: Acme. Nice"
    )


# ---- malformed Amazon files -------------------------------------------------------------------


def _review(u, i, t=1_500_000_000, r=5.0):
    return {"reviewerID": u, "asin": i, "overall": r, "unixReviewTime": t}


def test_amazon_missing_field_raises(tmp_path):
    write_gz_jsonl(tmp_path / "X_5.json.gz", [_review("u", "a"), {"reviewerID": "u2", "asin": "b"}])
    write_gz_jsonl(tmp_path / "meta_X.json.gz", [{"asin": "a", "title": "A"}])
    with pytest.raises(
        DataError, match=r"X_5\.json\.gz, line 2: review lacks field\(s\) \['unixReviewTime'\]"
    ):
        load_amazon2018(tmp_path, "X")


def test_amazon_negative_timestamp_raises(tmp_path):
    write_gz_jsonl(tmp_path / "X_5.json.gz", [_review("u", "a", t=-1)])
    write_gz_jsonl(tmp_path / "meta_X.json.gz", [{"asin": "a", "title": "A"}])
    with pytest.raises(DataError, match=r"line 1, column unixReviewTime: timestamp -1 is negative"):
        load_amazon2018(tmp_path, "X")


def test_amazon_not_json_raises(tmp_path):
    import gzip

    with gzip.open(tmp_path / "X_5.json.gz", "wt") as f:
        f.write("{'reviewerID': 'u'}\n")  # python literal, not JSON
    write_gz_jsonl(tmp_path / "meta_X.json.gz", [{"asin": "a"}])
    with pytest.raises(DataError, match=r"X_5\.json\.gz, line 1: not a JSON object"):
        load_amazon2018(tmp_path, "X")


def test_amazon_empty_reviews_raises(tmp_path):
    write_gz_jsonl(tmp_path / "X_5.json.gz", [])
    write_gz_jsonl(tmp_path / "meta_X.json.gz", [{"asin": "a"}])
    with pytest.raises(DataError, match=r"X_5\.json\.gz: the file has no review rows"):
        load_amazon2018(tmp_path, "X")


def test_amazon_item_without_metadata_is_reported(tmp_path):
    write_gz_jsonl(tmp_path / "X_5.json.gz", [_review("u", "a"), _review("u", "b")])
    write_gz_jsonl(tmp_path / "meta_X.json.gz", [{"asin": "a", "title": "A"}])
    with pytest.warns(DataWarning, match="1 interacted item id"):
        d = load_amazon2018(tmp_path, "X")
    assert d.meta["items_without_text"] == 1 and d.item_text == ["A", ""]


# ---- UniSRec release format -------------------------------------------------------------------


def test_unisrec_rebuilds_sequences_beyond_50(tmp_path):
    seqs = {0: list(range(60)), 1: [3, 1, 2, 3, 0]}  # user 0: longer than the 50-item cut
    write_unisrec(tmp_path, "T", seqs, [f"A{i}" for i in range(60)])
    d = load_unisrec(tmp_path, "T")
    assert d.n_interactions == 65
    for u, s in seqs.items():
        rows = np.flatnonzero(d.users == list(d.user_ids).index(f"U{u}"))
        got = [int(d.item_ids[i][1:]) for i in d.items[rows[np.argsort(d.timestamps[rows])]]]
        assert got == s
    assert d.item_text[0] == "Text of A0."


def test_unisrec_inconsistent_history_raises(tmp_path):
    write_unisrec(tmp_path, "T", {0: [0, 1, 2, 3, 4]}, [f"A{i}" for i in range(5)])
    p = tmp_path / "T.test.inter"
    p.write_text(p.read_text().replace("0 1 2 3\t4", "0 1 9 3\t4"))
    with pytest.raises(
        DataError, match=r"T\.test\.inter, line 2: history of user 0 does not match"
    ):
        load_unisrec(tmp_path, "T")


def test_unisrec_unknown_item_index_raises(tmp_path):
    write_unisrec(tmp_path, "T", {0: [0, 1, 2, 3, 4]}, [f"A{i}" for i in range(4)])
    with pytest.raises(DataError, match=r"T\.item2index: item index 4 used in the \.inter files"):
        load_unisrec(tmp_path, "T")


def test_unisrec_item_without_text_raises(tmp_path):
    write_unisrec(tmp_path, "T", {0: [0, 1, 2, 3, 4]}, [f"A{i}" for i in range(5)])
    p = tmp_path / "T.text"
    p.write_text("".join(ln + "\n" for ln in p.read_text().splitlines() if not ln.startswith("A2")))
    with pytest.raises(DataError, match=r"T\.text: 1 interacted item id\(s\) have no text row"):
        load_unisrec(tmp_path, "T")


def test_unisrec_bad_header_raises(tmp_path):
    write_unisrec(tmp_path, "T", {0: [0, 1, 2, 3, 4]}, [f"A{i}" for i in range(5)])
    (tmp_path / "T.valid.inter").write_text("user,items,item\n0,0 1 2,3\n")
    with pytest.raises(DataError, match=r"T\.valid\.inter, line 1: expected header"):
        load_unisrec(tmp_path, "T")


def test_unisrec_released_split_matches_files(tmp_path):
    write_unisrec(tmp_path, "T", {0: [0, 1, 2, 3, 4], 1: [4, 3, 2, 1]}, [f"A{i}" for i in range(5)])
    s = split_data(load_unisrec(tmp_path, "T"), "released")
    check_split(s)

    def ids(part):
        return sorted(zip(part.user_ids[part.users], part.item_ids[part.items]))

    assert ids(s.test) == [("U0", "A4"), ("U1", "A1")]
    assert ids(s.valid) == [("U0", "A3"), ("U1", "A2")]
    assert len(s.train) == 3 + 2
