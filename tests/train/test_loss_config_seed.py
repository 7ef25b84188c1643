"""BPR loss and L2 by hand, config validation, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pyrec.diagnostics import ConfigError
from pyrec.train import (
    BPRLoss,
    TrainConfig,
    bpr_loss,
    build_config,
    embedding_l2,
    make_generators,
    parse_metric,
    seed_everything,
)


def test_bpr_loss_by_hand():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    # -log sigmoid(1) and -log sigmoid(-1), averaged
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(1))) / 2
    assert bpr_loss(pos, neg).item() == pytest.approx(expected, rel=1e-6)
    # two negatives per row: mean over the 2 x 2 pairs
    neg2 = torch.tensor([[1.0, 2.0], [1.0, 0.0]])
    exp2 = (math.log(1 + math.exp(-1)) + math.log(2) + math.log(1 + math.exp(1)) + math.log(2)) / 4
    assert bpr_loss(pos, neg2).item() == pytest.approx(exp2, rel=1e-6)


def test_embedding_l2_is_half_squared_norm_over_batch():
    eu, ei, ej = torch.ones(2, 3), 2 * torch.ones(2, 3), torch.zeros(2, 3)
    # (6 + 24 + 0) / 2 / 2
    assert embedding_l2(eu, ei, ej, batch_size=2).item() == pytest.approx(7.5)
    loss = BPRLoss(reg=0.1)(torch.zeros(2), torch.zeros(2), (eu, ei, ej))
    assert loss.item() == pytest.approx(math.log(2) + 0.75)


def test_config_validation_names_field_and_value():
    with pytest.raises(ConfigError, match="'learning_rate'.*-1"):
        build_config(TrainConfig, None, {"learning_rate": -1}, "X")
    with pytest.raises(ConfigError, match="val_metric.*'auc@3'"):
        build_config(TrainConfig, {"val_metric": "auc@3"}, {}, "X")
    with pytest.raises(
        ValueError, match="val_metric"
    ):  # pydantic's ValidationError when built directly
        TrainConfig(val_metric="auc@3")
    with pytest.raises(ConfigError, match="'config' parameter of X"):
        build_config(TrainConfig, 3, {}, "X")
    assert parse_metric("Recall@20") == ("recall", 20)
    assert TrainConfig(val_metric="NDCG@5").val_metric == "ndcg@5"


def test_generators_are_reproducible_and_independent():
    g1, r1 = make_generators(7)
    g2, r2 = make_generators(7)
    assert torch.equal(torch.rand(5, generator=g1), torch.rand(5, generator=g2))
    assert np.array_equal(r1.random(3), r2.random(3))
    g3, _ = make_generators(8)
    assert not torch.equal(
        torch.rand(5, generator=make_generators(7)[0]), torch.rand(5, generator=g3)
    )
    seed_everything(1)
    a = torch.rand(2)
    seed_everything(1)
    assert torch.equal(a, torch.rand(2))
    with pytest.raises(ConfigError, match="'seed'"):
        seed_everything(-1)


def test_val_metric_parses_like_every_other_metric_name():
    """One parser: hr@10, HR@10 and hit@10 are the same metric for training, config and stats."""
    from pyrec.metrics import parse_metric
    from pyrec.train import TrainConfig

    for name in ("hr@10", "HR@10", "hit@10", "HitRate@10"):
        assert TrainConfig(val_metric=name).val_metric == str(parse_metric(name)) == "hit@10"
    assert TrainConfig(val_metric="NDCG@10").val_metric == "ndcg@10"
