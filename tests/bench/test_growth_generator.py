"""The growth benchmark's generator: shapes, distinct pairs, per-user floor, Zipf head, seeding."""

from __future__ import annotations

import numpy as np
import pytest

from pyrec.bench.synthetic import scaled_shape, zipf_interactions


@pytest.fixture(scope="module")
def data():
    return zipf_interactions(20_000, seed=3)


def test_counts_and_shape(data):
    assert data.n_interactions == 20_000
    assert (data.n_users, data.n_items) == scaled_shape(20_000)
    assert data.users.dtype == data.items.dtype == np.int64
    assert data.users.min() >= 0 and data.users.max() < data.n_users
    assert data.items.min() >= 0 and data.items.max() < data.n_items
    assert len(data.item_text) == data.n_items and np.isnan(data.ratings).all()


def test_distinct_pairs_and_min_per_user(data):
    keys = data.users * data.n_items + data.items
    assert len(np.unique(keys)) == len(keys)
    per_user = np.bincount(data.users, minlength=data.n_users)
    assert per_user.min() >= 5
    assert per_user.max() <= 0.25 * data.n_items


def test_zipf_popularity(data):
    pop = np.sort(np.bincount(data.items, minlength=data.n_items))[::-1]
    assert pop[0] > 5 * np.median(pop)
    # the top 10% of items hold far more than 10% of the interactions
    assert pop[: data.n_items // 10].sum() > 0.3 * data.n_interactions
    flat = np.sort(np.bincount(zipf_interactions(20_000, zipf_a=0.0, seed=3).items))[::-1]
    assert flat[0] < pop[0]


def test_scaled_shape_follows_ml1m():
    assert scaled_shape(1_000_000) == (6061, 3704)  # ML-1M: 6,040 x 3,706
    u, i = scaled_shape(1_000)
    assert u >= 20 and i >= 20


def test_deterministic_by_seed():
    a, b = zipf_interactions(5_000, seed=7), zipf_interactions(5_000, seed=7)
    c = zipf_interactions(5_000, seed=8)
    assert np.array_equal(a.users, b.users) and np.array_equal(a.items, b.items)
    assert not (np.array_equal(a.users, c.users) and np.array_equal(a.items, c.items))


def test_splits_with_pyrec():
    from pyrec.data import split_data

    split = split_data(zipf_interactions(3_000, seed=0), "ratio", seed=0)
    assert split.train.n_interactions + split.valid.n_interactions + split.test.n_interactions == 3_000


def test_refuses_impossible_shape():
    with pytest.raises(ValueError):
        zipf_interactions(100, n_users=50, n_items=4)
