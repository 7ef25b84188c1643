"""Metric names are parsed in one place."""

from __future__ import annotations

import pytest

from pyrec.diagnostics import ConfigError
from pyrec.metrics import MetricSpec, expand_metrics, parse_metric


@pytest.mark.parametrize(
    "name, spec",
    [("ndcg@10", ("ndcg", 10)), ("Recall@20", ("recall", 20)), ("hr@5", ("hit", 5)),
     ("hitrate@1", ("hit", 1)), ("MAP@3", ("map", 3)), ("mrr@ 7", ("mrr", 7))],
)
def test_parse(name, spec):
    assert parse_metric(name) == MetricSpec(*spec)


def test_default_k_and_str():
    assert str(parse_metric("precision", default_k=4)) == "precision@4"


@pytest.mark.parametrize("name", ["ndcg@0", "ndcg@-1", "ndcg@x", "auc@10", "ndcg", 10])
def test_bad_names(name):
    with pytest.raises(ConfigError):
        parse_metric(name)


def test_expand_crosses_and_dedups():
    specs = expand_metrics(["recall", "ndcg", "ndcg@5"], ks=(10, 5))
    assert [str(s) for s in specs] == ["ndcg@5", "ndcg@10", "recall@5", "recall@10"]
    with pytest.raises(ConfigError, match="'k' parameter"):
        expand_metrics(["ndcg"], ks=(0,))
