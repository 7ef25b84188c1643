"""topk_stable: the tie rule (higher score, then lower item index) and the score checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError, DataError
from pyrec.metrics import topk_stable


def reference_topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Slow reference: per row, lexsort by (item index asc) within (score desc)."""
    n = scores.shape[1]
    return np.stack([np.lexsort((np.arange(n), -row))[:k] for row in scores])


def test_all_equal_scores_give_lowest_indices():
    # every item ties, so the rule leaves only the index: 0, 1, 2, 3
    out = topk_stable(torch.full((3, 10), 0.5), 4)
    assert out.tolist() == [[0, 1, 2, 3]] * 3


def test_ties_within_and_at_the_boundary():
    s = torch.tensor([[1.0, 2.0, 2.0, 1.0, 2.0, 0.0, 2.0]])
    # scores 2 at items 1,2,4,6 -> in index order; k=3 cuts the tie group after item 4
    assert topk_stable(s, 3).tolist() == [[1, 2, 4]]
    # k=6: the four 2s, then the 1s at items 0 and 3
    assert topk_stable(s, 6).tolist() == [[1, 2, 4, 6, 0, 3]]


def test_neg_inf_is_the_mask_and_sorts_last_in_index_order():
    s = torch.tensor([[-float("inf"), 0.1, -float("inf"), 0.3]])
    assert topk_stable(s, 4).tolist() == [[3, 1, 0, 2]]


@pytest.mark.parametrize("levels", [3, 50, 10_000])
def test_matches_reference_on_random_float32_with_many_ties(levels):
    g = torch.Generator().manual_seed(levels)
    s = (torch.rand(64, 300, generator=g) * levels).floor().to(torch.float32) / levels
    s[::7] = 0.25  # some all-equal rows
    for k in (1, 5, 37, 300):
        assert np.array_equal(topk_stable(s, k).numpy(), reference_topk(s.numpy(), k))


@pytest.mark.parametrize("levels", [3, 50, 10_000])
def test_one_row_numpy_path_matches_reference_with_ties_and_masks(levels):
    """A single row (the serving case) takes the numpy path; it follows the same rule."""
    g = torch.Generator().manual_seed(levels)
    s = (torch.rand(40, 300, generator=g) * levels).floor().to(torch.float32) / levels
    s[::5, ::3] = -float("inf")  # masked items
    s[::7] = 0.25
    for row in s:
        for k in (1, 5, 37, 300):
            got = topk_stable(row.unsqueeze(0).clone(), k).numpy()
            assert np.array_equal(got, reference_topk(row.numpy()[None], k))
    with pytest.raises(DataError, match="user 7"):
        topk_stable(torch.tensor([[0.1, float("nan")]]), 1, users=np.array([7]))


def test_equals_full_stable_sort():
    s = torch.randint(0, 4, (20, 50)).float()
    full = torch.sort(s, dim=1, descending=True, stable=True).indices[:, :10]
    assert torch.equal(topk_stable(s, 10), full)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_pos_inf_raise_naming_model_and_user(bad):
    s = torch.zeros(4, 6)
    s[2, 3] = bad
    s[3, 1] = bad
    with pytest.raises(DataError, match=r"lightgcn.*user 12 \(item 3"):
        topk_stable(s, 2, model_name="lightgcn", users=np.array([10, 11, 12, 13]))
    with pytest.raises(DataError, match="row 2"):
        topk_stable(s, 2)


@pytest.mark.parametrize("k", [0, -1, 7, 2.0, True])
def test_bad_k_raises_config_error(k):
    with pytest.raises(ConfigError, match="'k' parameter of topk_stable"):
        topk_stable(torch.zeros(2, 6), k)


def test_bad_scores_type_raises():
    with pytest.raises(ConfigError, match="'scores'"):
        topk_stable(torch.zeros(6, dtype=torch.long), 2)
