"""Behaviour kept across the pipeline refactor: `train_and_evaluate` on ML-100K, seed 0, gives the
metrics the code gave before it (commit 5a27997, `pyrec.train.run.train_and_evaluate`)."""

from __future__ import annotations

import pytest

PINNED = {  # model -> (ndcg@10, recall@10) measured at commit 5a27997 with the same call
    "mf": (0.008716382288942453, 0.007893767527128974),
    "lightgcn": (0.13246289271150735, 0.13748217425158782),
}


@pytest.mark.realdata
@pytest.mark.parametrize("model", sorted(PINNED))
def test_same_metrics_as_before_the_refactor(model, ml100k_dir):
    from pyrec.pipeline import train_and_evaluate

    run = train_and_evaluate(model=model, dataset="ml-100k", data_dir=ml100k_dir.parent, seed=0,
                             config={"epochs": 2, "embedding_size": 16}, progress=False)
    got = run.metrics.set_index("metric")["value"]
    ndcg, recall = PINNED[model]
    assert got["ndcg@10"] == pytest.approx(ndcg, rel=1e-9)
    assert got["recall@10"] == pytest.approx(recall, rel=1e-9)


@pytest.mark.realdata
def test_top_level_recommend_and_score_from_a_run_folder(ml100k_dir, tmp_path):
    """pyrec.recommend / pyrec.score: one call from a `pyrec train` run folder (scripts and R)."""
    import numpy as np

    import pyrec
    from pyrec.pipeline import train_and_evaluate

    train_and_evaluate(model="pop", dataset="ml-100k", data_dir=ml100k_dir.parent, seed=0,
                       out=tmp_path / "run", progress=False)
    recs = pyrec.recommend(tmp_path / "run", [0, 5], k=3)
    assert list(recs.columns) == ["user", "rank", "item", "score"]
    assert recs.groupby("user")["rank"].apply(list).tolist() == [[1, 2, 3], [1, 2, 3]]
    scores = pyrec.score(tmp_path / "run", [0, 5])
    assert scores.shape[0] == 2 and scores.dtype == np.float32
    first = recs[recs["user"] == 0]
    assert np.allclose(first["score"], scores[0, first["item"]])
    assert (np.diff(first["score"]) <= 0).all()
