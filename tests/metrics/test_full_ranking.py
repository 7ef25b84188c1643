"""evaluate_full_ranking on hand-built splits: masking, exclusions, errors, tidy output."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from metrics_helpers import make_split

from pyrec.diagnostics import ConfigError, DataError, DataWarning
from pyrec.metrics import EvalResult, evaluate_full_ranking

N_USERS, N_ITEMS = 3, 6


def toy_split(test_ratings=None):
    # user 0: train {0, 1}, valid {2}, test {3, 4}
    # user 1: train {5},    valid {},  test {0}
    # user 2: train {0},    valid {1}, test {}   -> has nothing to find: skipped
    return make_split(
        train=[(0, 0), (0, 1), (1, 5), (2, 0)],
        valid=[(0, 2), (2, 1)],
        test=[(0, 3), (0, 4), (1, 0)],
        n_users=N_USERS, n_items=N_ITEMS, test_ratings=test_ratings,
    )


def descending(users):
    """Score item i as 10 - i for everyone: preference 0 > 1 > 2 > ... (no ties)."""
    return torch.tensor([[10.0 - i for i in range(N_ITEMS)]] * len(users))


def test_hand_computed_full_ranking():
    with pytest.warns(DataWarning, match="1 of 3 users"):
        res = evaluate_full_ranking(descending, toy_split(), ks=(2,), model_name="desc")
    # user 0: train 0,1 and valid 2 masked -> top 2 = [3, 4] = both test items: all metrics 1
    # user 1: train 5 masked -> top 2 = [0, 1]; test {0} at rank 1
    #   recall 1, precision 1/2, ndcg 1, hit 1, mrr 1, map 1/min(2,1) = 1
    assert res.n_users == 2 and res.n_skipped == 1
    assert res.summary["recall@2"] == 1.0
    assert res.summary["precision@2"] == pytest.approx((1.0 + 0.5) / 2)
    assert res.summary["ndcg@2"] == 1.0 and res.summary["mrr@2"] == 1.0
    assert res.protocol == "full-ranking" and isinstance(res, EvalResult)
    pu = res.per_user
    assert list(pu.columns) == ["user", "metric", "k", "value"]
    assert set(pu["user"]) == {0, 1}  # the skipped user has no rows, never NaN
    assert not pu["value"].isna().any()
    assert len(pu) == 2 * 6
    frame = res.to_frame()
    families = ("ndcg", "recall", "precision", "hit", "mrr", "map")
    assert set(frame["metric"]) == {f"{m}@2" for m in families}
    assert (frame["protocol"] == "full-ranking").all()


def test_valid_part_masks_only_train():
    # part="valid": user 0 train {0,1} masked -> top 1 = [2] = the valid item; user 2 -> [1]
    with pytest.warns(DataWarning):
        res = evaluate_full_ranking(descending, toy_split(), part="valid", ks=(1,), metrics=["hit"])
    assert res.summary == {"hit@1": 1.0} and res.n_users == 2


def test_seen_items_never_in_top_k():
    # Each user: 8 train + 4 valid items, and EVERY other item (28) is a test item. The model
    # scores train and valid items far above everything else, so precision@28 = 1.0 holds only if
    # no train/valid item ever enters the top 28 (one leaked item would give 27/28).
    rng = np.random.default_rng(0)
    n_users, n_items = 50, 40
    train, valid, test = [], [], []
    for u in range(n_users):
        perm = rng.permutation(n_items)
        train += [(u, int(i)) for i in perm[:8]]
        valid += [(u, int(i)) for i in perm[8:12]]
        test += [(u, int(i)) for i in perm[12:]]
    split = make_split(train, valid, test, n_users, n_items)
    seen = torch.zeros(n_users, n_items)
    for u, i in train + valid:
        seen[u, i] = 1.0
    noise = torch.from_numpy(rng.random((n_users, n_items)).astype(np.float32))

    def cheater(users):
        u = torch.as_tensor(users)
        return seen[u] * 100 + noise[u]

    res = evaluate_full_ranking(cheater, split, ks=(28, 40), metrics=["precision", "recall"])
    assert res.summary["precision@28"] == 1.0 and res.summary["recall@28"] == 1.0
    # at k=40 the last 12 positions hold only masked items: they are padding, not hits
    assert res.summary["precision@40"] == pytest.approx(28 / 40)
    assert res.n_skipped == 0


def test_masking_changes_the_answer():
    # user 1's train item 5 is scored highest; masked, it cannot take rank 1
    def prefers_5(users):
        s = descending(users)
        s[:, 5] = 100.0
        return s

    with pytest.warns(DataWarning):
        res = evaluate_full_ranking(prefers_5, toy_split(), ks=(1,), metrics=["hit"])
    # user 0: items 0,1,2 masked, 5 unmasked -> top1 = 5 (miss); user 1: 5 masked -> 0 (hit)
    pu = res.per_user.set_index("user")["value"]
    assert pu[0] == 0.0 and pu[1] == 1.0


def test_graded_relevance_from_ratings():
    # user 0 test ratings: item 3 -> 1, item 4 -> 5; user 1: item 0 -> 4
    split = toy_split(test_ratings=[1.0, 5.0, 4.0])
    with pytest.warns(DataWarning):
        res = evaluate_full_ranking(
            descending, split, ks=(2,), metrics=["ndcg"], relevance="rating"
        )
    # user 0 list [3, 4]: DCG = 1/1 + 5/log2 3; IDCG = 5/1 + 1/log2 3
    u0 = (1 + 5 / math.log2(3)) / (5 + 1 / math.log2(3))
    assert res.per_user.set_index("user").loc[0, "value"] == pytest.approx(u0)
    assert res.summary["ndcg@2"] == pytest.approx((u0 + 1.0) / 2)


def test_nan_scores_name_model_and_first_bad_user():
    def broken(users):
        s = descending(users)
        s[users == 1, 2] = float("nan")
        return s

    with pytest.raises(DataError, match=r"broken-mf .*user 1"):
        evaluate_full_ranking(broken, toy_split(), model_name="broken-mf")


def test_pos_inf_scores_raise():
    def inf_model(users):
        s = descending(users)
        s[:, 0] = float("inf")
        return s

    with pytest.raises(DataError, match=r"inf_model.*user 0"):
        evaluate_full_ranking(inf_model, toy_split())


def test_wrong_shape_raises():
    with pytest.raises(DataError, match=r"shape \(2, 5\)"):
        evaluate_full_ranking(lambda u: torch.zeros(len(u), 5), toy_split(), model_name="m")


@pytest.mark.parametrize(
    "kwargs, param",
    [({"part": "train"}, "part"), ({"ks": (0,)}, "k"), ({"metrics": ["auc"]}, "metric"),
     ({"batch_size": 0}, "batch_size"), ({"relevance": "stars"}, "relevance")],
)
def test_bad_arguments(kwargs, param):
    with pytest.raises(ConfigError, match=f"'{param}' parameter"):
        evaluate_full_ranking(descending, toy_split(), **kwargs)


def test_batching_does_not_change_results():
    rng = np.random.default_rng(3)
    n_users, n_items = 37, 20
    pairs = [(u, i) for u in range(n_users) for i in range(n_items) if rng.random() < 0.3]
    rng.shuffle(pairs)
    cut = len(pairs) * 7 // 10
    split = make_split(pairs[:cut], [], pairs[cut:], n_users, n_items)
    table = torch.from_numpy(rng.integers(0, 3, (n_users, n_items)).astype(np.float32))  # ties

    def fn(users):
        return table[torch.as_tensor(users)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        a = evaluate_full_ranking(fn, split, ks=(5, 10), batch_size=4)
        b = evaluate_full_ranking(fn, split, ks=(5, 10), batch_size=1000)
    assert a.summary == b.summary
    assert a.per_user.equals(b.per_user)


def test_leaky_split_warns():
    split = make_split([(0, 1)], [], [(0, 1), (0, 2)], 1, 4)
    with pytest.warns(DataWarning, match="also occur in the masked parts"):
        res = evaluate_full_ranking(descending_4, split, ks=(1,), metrics=["recall"])
    assert res.info["n_masked_overlap"] == 1


def descending_4(users):
    return torch.tensor([[4.0, 3.0, 2.0, 1.0]] * len(users))


def test_graded_protocol_agrees_with_generic_metrics():
    # random split with ratings 1..5 and tied scores; the protocol's CSR-based ideal list must
    # match the generic hit_matrix path on the same masked top-k
    from pyrec.metrics import compute_metrics, topk_stable

    rng = np.random.default_rng(5)
    n_users, n_items, k = 25, 30, 7
    pairs = [(u, i) for u in range(n_users) for i in range(n_items) if rng.random() < 0.4]
    rng.shuffle(pairs)
    cut = len(pairs) * 6 // 10
    train, test = pairs[:cut], pairs[cut:]
    ratings = rng.integers(1, 6, len(test)).astype(np.float32)
    split = make_split(train, [], test, n_users, n_items, test_ratings=ratings)
    table = torch.from_numpy(rng.integers(0, 5, (n_users, n_items)).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = evaluate_full_ranking(lambda u: table[torch.as_tensor(u)], split, ks=(k,),
                                    relevance="rating")
    masked = table.clone()
    grades = torch.zeros(n_users, n_items)
    for u, i in train:
        masked[u, i] = -float("inf")
    for (u, i), g in zip(test, ratings):
        grades[u, i] = float(g)
    top = topk_stable(masked, k)
    top = top.masked_fill(torch.isneginf(masked.gather(1, top)), -1)
    want = compute_metrics(top, grades, ks=(k,))
    got = res.per_user.pivot(index="user", columns="metric", values="value")
    users = got.index.to_numpy()
    for name in ("ndcg", "recall", "precision", "hit", "mrr", "map"):
        np.testing.assert_allclose(got[name].to_numpy(), want[f"{name}@{k}"].numpy()[users],
                                   rtol=0, atol=1e-12)
