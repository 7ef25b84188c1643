"""MFRecommender (MF-BPR): the shared contract plus learning on structured data."""

from __future__ import annotations

import numpy as np
import torch

from pyrec.models import MFRecommender
from pyrec.models.mf import MF
from pyrec.testing import RecommenderTests, tiny_split

TINY = {"epochs": 3, "embedding_size": 8, "batch_size": 64, "patience": None}


class TestMF(RecommenderTests):
    model_class = MFRecommender
    config = TINY


def test_mf_scores_are_inner_products():
    torch.manual_seed(0)
    mf = MF(4, 5, embedding_size=3)
    users, items = mf.get_embedding()
    s = mf.scorer()(torch.tensor([1, 2]))
    torch.testing.assert_close(s, users.detach()[[1, 2]] @ items.detach().T)
    torch.testing.assert_close(
        mf(torch.tensor([1]), torch.tensor([4])), (users[1] * items[4]).sum().reshape(1)
    )


def test_mf_learns_group_structure():
    split = tiny_split()
    model = MFRecommender(
        epochs=40, embedding_size=8, batch_size=32, learning_rate=0.05, patience=None
    ).fit(split, progress=False)
    scores = model.score(np.arange(split.n_users)).numpy()
    block = split.n_items // 2
    own = np.array(
        [scores[u, (u % 2) * block : (u % 2 + 1) * block].mean() for u in range(split.n_users)]
    )
    other = np.array(
        [scores[u, (1 - u % 2) * block : (2 - u % 2) * block].mean() for u in range(split.n_users)]
    )
    assert (own > other).mean() > 0.9
