"""PopRecommender: the shared contract plus hand-checked counts."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from pyrec.models import PopRecommender
from pyrec.testing import RecommenderTests, tiny_split


class TestPop(RecommenderTests):
    model_class = PopRecommender
    config: ClassVar[dict] = {}


def test_pop_scores_are_training_counts():
    split = tiny_split()
    model = PopRecommender().fit(split)
    counts = np.bincount(split.train.items, minlength=split.n_items).astype(np.float32)
    np.testing.assert_array_equal(model.score([0, 1]).numpy(), np.stack([counts, counts]))
    # the top recommendation of a user is the most popular item they have not seen
    seen = set(split.train.csr()[0].indices)
    order = sorted(range(split.n_items), key=lambda i: (-counts[i], i))
    assert int(model.recommend([0], k=1)[0, 0]) == next(i for i in order if i not in seen)
