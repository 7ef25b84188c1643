"""Preprocessing (dedup, threshold, k-core) and the ratio / loo / temporal splits."""

from __future__ import annotations

import numpy as np
import pytest

from pyrec.data import (
    InteractionData,
    Split,
    binarize,
    check_split,
    dedup,
    kcore_filter,
    load_dataset,
    split_data,
)
from pyrec.diagnostics import ConfigError, DataError


def make(users, items, ts=None, ratings=None, n_users=None, n_items=None) -> InteractionData:
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    nu = n_users or int(users.max()) + 1
    ni = n_items or int(items.max()) + 1
    return InteractionData(
        name="toy",
        users=users,
        items=items,
        ratings=np.asarray(ratings if ratings is not None else np.ones(len(users)), np.float32),
        timestamps=np.asarray(ts if ts is not None else np.arange(len(users)), np.int64),
        user_ids=np.arange(nu).astype(object),
        item_ids=np.array([f"i{i}" for i in range(ni)], dtype=object),
        item_text=[f"text {i}" for i in range(ni)],
    )


@pytest.fixture(scope="module")
def ml100k(ml100k_dir):
    return load_dataset("ml-100k", ml100k_dir.parent)


# ---- preprocessing ----------------------------------------------------------------------------


def test_dedup_keeps_latest_and_counts():
    d = make([0, 0, 1, 0], [1, 1, 1, 1], ts=[5, 9, 1, 7], ratings=[1, 2, 3, 4])
    out = dedup(d)
    assert out.meta["duplicates_dropped"] == 2
    assert out.ratings.tolist() == [2, 3]  # user 0's latest (t=9) rating, then user 1


def test_dedup_tie_keeps_later_row():
    out = dedup(make([0, 0], [1, 1], ts=[5, 5], ratings=[1, 2]))
    assert out.ratings.tolist() == [2]


def test_binarize_threshold_and_errors():
    d = make([0, 0, 1], [0, 1, 1], ratings=[3, 4, 5])
    out = binarize(d, 4)
    assert out.n_interactions == 2 and out.meta["below_threshold_dropped"] == 1
    assert out.n_items == 2  # index space unchanged
    with pytest.raises(ConfigError, match="'min_rating' parameter of binarize"):
        binarize(d, float("nan"))
    no_ratings = make([0], [0], ratings=[np.nan])
    with pytest.raises(DataError, match="has no ratings"):
        binarize(no_ratings, 4)


def test_kcore_is_iterative_and_compacts():
    # users 0,1 each have items 0,1; user 2 has items 0 and 2 (item 2 only once)
    d = make([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 2])
    out = kcore_filter(d, 2)
    # drop item 2 -> user 2 has 1 left -> drop user 2; items 0, 1 keep 2 each
    assert (out.n_users, out.n_items, out.n_interactions) == (2, 2, 4)
    assert out.meta["kcore_removed_interactions"] == 2 and out.meta["kcore_iterations"] >= 2
    assert out.item_text == ["text 0", "text 1"] and list(out.item_ids) == ["i0", "i1"]
    with pytest.raises(ConfigError, match="'k' parameter of kcore_filter"):
        kcore_filter(d, 0)


# ---- splits on toy data -----------------------------------------------------------------------


def test_split_refuses_repeated_pairs():
    with pytest.raises(DataError, match="repeated"):
        split_data(make([0, 0, 0, 0], [1, 1, 2, 3]), "ratio")


def test_unknown_protocol_and_bad_ratios():
    d = make([0, 0, 0], [0, 1, 2])
    with pytest.raises(ConfigError, match="'protocol' parameter of split_data"):
        split_data(d, "random")
    with pytest.raises(ConfigError, match="'ratios' parameter"):
        split_data(d, "ratio", ratios=(0.5, 0.5))


def test_released_needs_a_release():
    with pytest.raises(DataError, match="no released split"):
        split_data(make([0, 0, 0], [0, 1, 2]), "released")


def test_loo_small_users_train_only():
    # user 0: 4 items; user 1: 2 items (too few) -> train only
    d = make([0, 0, 0, 0, 1, 1], [0, 1, 2, 3, 0, 1], ts=[40, 10, 30, 20, 1, 2])
    s = split_data(d, "loo")
    assert s.test.items.tolist() == [0] and s.valid.items.tolist() == [2]
    assert s.info["users_train_only"] == 1 and 1 not in s.test.users
    assert s.seed is None


def test_ratio_recbole_counts_per_user():
    # n=3 -> 1/1/1; n=10 -> 8/1/1; n=25 -> 21/2/2; n=2 -> train only
    sizes = {0: 3, 1: 10, 2: 25, 3: 2}
    users = np.repeat(list(sizes), list(sizes.values()))
    items = np.concatenate([np.arange(n) for n in sizes.values()])
    s = split_data(make(users, items), "ratio", seed=3)
    got = {u: [int((p.users == u).sum()) for p in (s.train, s.valid, s.test)] for u in sizes}
    assert got == {0: [1, 1, 1], 1: [8, 1, 1], 2: [21, 2, 2], 3: [2, 0, 0]}
    assert s.info["users_train_only"] == 1


def test_temporal_cutoff_on_toy():
    d = make(np.arange(10) % 3, np.arange(10), ts=np.arange(10) * 10)
    s = split_data(d, "temporal")
    assert s.train.timestamps.max() < s.info["cutoff_valid"] <= s.valid.timestamps.min()
    assert s.valid.timestamps.max() < s.info["cutoff_test"] <= s.test.timestamps.min()
    assert (len(s.train), len(s.valid), len(s.test)) == (8, 1, 1)


def test_check_split_catches_overlap_and_range():
    d = make([0, 0, 1], [0, 1, 1])
    part = d.subset(np.array([True, False, False]))
    with pytest.raises(
        DataError, match=r"in more than one part, e\.g\. user 0, item 'i0' in \['train', 'test'\]"
    ):
        check_split(Split(part, d.subset(np.zeros(3, bool)), part, name="bad"))
    from dataclasses import replace

    bad = replace(part, items=np.array([7]))
    with pytest.raises(DataError, match=r"item index\(es\) outside \[0, 2\)"):
        check_split(
            Split(bad, part.subset(np.zeros(1, bool)), part.subset(np.zeros(1, bool)), name="x")
        )


# ---- splits on the real ML-100K ---------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("protocol", ["ratio", "loo", "temporal"])
def test_real_split_is_sound_and_complete(ml100k, protocol):
    s = split_data(ml100k, protocol, seed=0)
    info = check_split(s)
    assert info["n_train"] + info["n_valid"] + info["n_test"] == 100_000
    assert info["n_pairs"] == 100_000


@pytest.mark.realdata
def test_real_ratio_reproducible_and_close_to_811(ml100k):
    a, b = split_data(ml100k, "ratio", seed=7), split_data(ml100k, "ratio", seed=7)
    c = split_data(ml100k, "ratio", seed=8)
    for pa, pb in ((a.train, b.train), (a.valid, b.valid), (a.test, b.test)):
        assert np.array_equal(pa.users, pb.users) and np.array_equal(pa.items, pb.items)
    assert not np.array_equal(a.test.items, c.test.items)
    frac = np.array([len(a.train), len(a.valid), len(a.test)]) / 100_000
    assert np.allclose(frac, [0.8, 0.1, 0.1], atol=0.01), frac
    assert a.name == "ratio-0.8:0.1:0.1" and a.seed == 7


@pytest.mark.realdata
def test_real_loo_one_test_item_per_user(ml100k):
    s = split_data(ml100k, "loo")
    assert np.all(np.bincount(s.test.users, minlength=943) == 1)  # every user has >= 20
    assert np.all(np.bincount(s.valid.users, minlength=943) == 1)
    # the test item is the user's latest interaction
    last = np.zeros(943, np.int64)
    np.maximum.at(last, ml100k.users, ml100k.timestamps)
    assert np.array_equal(s.test.timestamps[np.argsort(s.test.users)], last)
    assert split_data(ml100k, "loo").test.items.tolist() == s.test.items.tolist()


@pytest.mark.realdata
def test_real_temporal_respects_cutoff(ml100k):
    s = split_data(ml100k, "temporal")
    assert s.train.timestamps.max() < s.valid.timestamps.min()
    assert s.valid.timestamps.max() < s.test.timestamps.min()
    assert abs(len(s.test) / 100_000 - 0.1) < 0.01
    assert s.info["test_users_without_train"] > 0  # new users after the cut-off are counted


@pytest.mark.realdata
def test_real_kcore_10(ml100k):
    out = kcore_filter(ml100k, 10)
    assert np.bincount(out.users).min() >= 10 and np.bincount(out.items).min() >= 10
    assert out.n_interactions + out.meta["kcore_removed_interactions"] == 100_000
