"""Negative sampling: never a positive of that user, uniform over the rest, seeded, vectorised."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError, DataError
from pyrec.train import NegativeSampler, sample_negatives


def test_negatives_are_never_positives_of_their_user():
    rng = np.random.default_rng(0)
    n_users, n_items = 50, 40
    users = np.repeat(np.arange(n_users), 30)  # each user has ~30 of 40 items: many collisions
    items = np.concatenate([rng.choice(n_items, 30, replace=False) for _ in range(n_users)])
    sampler = NegativeSampler(users, items, n_items)
    neg = sampler.sample(torch.from_numpy(users), num=3, generator=torch.Generator().manual_seed(1))
    assert neg.shape == (len(users), 3)
    pos = set(zip(users.tolist(), items.tolist()))
    assert not any((u, int(j)) in pos for u, row in zip(users.tolist(), neg) for j in row)
    assert int(neg.min()) >= 0 and int(neg.max()) < n_items


def test_exact_fallback_for_a_user_with_one_free_item():
    # user 0 has every item but 7; rejection alone would need ~10 rounds per row
    users, items = np.zeros(9, dtype=np.int64), np.array([0, 1, 2, 3, 4, 5, 6, 8, 9])
    sampler = NegativeSampler(users, items, 10, max_rounds=1)
    neg = sampler.sample(
        torch.zeros(500, dtype=torch.long), generator=torch.Generator().manual_seed(0)
    )
    assert set(neg.tolist()) == {7}


def test_negatives_are_uniform_over_non_positives():
    sampler = NegativeSampler([0, 0], [1, 3], 5)
    neg = sampler.sample(
        torch.zeros(20000, dtype=torch.long), generator=torch.Generator().manual_seed(0)
    )
    counts = np.bincount(neg.numpy(), minlength=5)
    assert counts[1] == counts[3] == 0
    # three free items, each expected 20000/3 = 6667; 5 sigma ~ 5 * sqrt(20000 * 1/3 * 2/3) = 333
    assert np.all(np.abs(counts[[0, 2, 4]] - 20000 / 3) < 333)


def test_same_generator_seed_same_negatives():
    args = ([0, 1, 1], [0, 1, 2], 6)
    a = sample_negatives(
        torch.tensor([0, 1] * 10), *args, generator=torch.Generator().manual_seed(3)
    )
    b = sample_negatives(
        torch.tensor([0, 1] * 10), *args, generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(a, b) and a.shape == (20,)


def test_user_with_every_item_raises_data_error_naming_it():
    with pytest.raises(DataError, match="user 2"):
        NegativeSampler([2, 2, 2], [0, 1, 2], 3)


def test_bad_arguments_raise_typed_errors():
    with pytest.raises(ConfigError, match="'n_items'"):
        NegativeSampler([0], [0], 0)
    with pytest.raises(DataError, match="item indices"):
        NegativeSampler([0], [5], 3)
    with pytest.raises(ConfigError, match="'num'"):
        NegativeSampler([0], [0], 3).sample(torch.tensor([0]), num=0)
