"""``RecommenderTests``: the contract every pyrec recommender must pass (lkpy's ``ScorerTests``).

Use it by subclassing in a test module::

    class TestLightGCN(RecommenderTests):
        model_class = LightGCNRecommender
        config = {"epochs": 3, "embedding_size": 8}

Every test fits on :func:`tiny_split` with ``config`` (keep it tiny: a few epochs), so the whole
suite runs in seconds per model.
"""

from __future__ import annotations

import json
import pickle
from typing import ClassVar

import numpy as np
import pytest

from pyrec.diagnostics import ConfigError, NotFittedError
from pyrec.testing._data import tiny_split

__all__ = ["RecommenderTests"]


class RecommenderTests:
    """Contract tests; subclasses set :attr:`model_class` and :attr:`config`."""

    #: the Recommender subclass under test
    model_class: type | None = None
    #: small config (dict) used for every fit
    config: ClassVar[dict] = {}
    #: whether two fits with the same seed must give identical scores
    deterministic: bool = True
    #: fit kwargs (e.g. ``{"progress": False}``)
    fit_kwargs: ClassVar[dict] = {"progress": False}

    @pytest.fixture(scope="class")
    def split(self):
        return tiny_split()

    @pytest.fixture(scope="class")
    def fitted(self, split):
        return self.make().fit(split, **self.fit_kwargs)

    def make(self, **overrides):
        return self.model_class(dict(self.config), **overrides)

    # ---------------------------------------------------------------- construction and config
    def test_default_construction_does_no_work(self):
        model = self.model_class()
        assert model.n_items_ is None
        json.dumps(model.get_config())
        assert isinstance(repr(model), str)

    def test_config_round_trip(self):
        model = self.make()
        cfg = model.get_config()
        again = self.model_class(**json.loads(json.dumps(cfg)))
        assert again.get_config() == cfg
        assert self.model_class(model.config).get_config() == cfg

    def test_declares_what_callers_ask(self):
        """The registry-level contract: a config with a ``seed`` (the run's seed is always
        passed), an architecture level, and fit options that are :class:`FitOptions` fields."""
        from dataclasses import fields

        from pyrec.models.base import FitOptions

        assert "seed" in self.model_class.config_class.model_fields
        assert self.model_class.architecture in ("gnn", "llm", "hybrid", "baseline")
        assert self.model_class.fit_options <= {f.name for f in fields(FitOptions)}

    def test_unknown_fit_option_raises(self, split):
        with pytest.raises(ConfigError, match="not_an_option"):
            self.make().fit(split, not_an_option=1)

    def test_unknown_config_field_raises(self):
        with pytest.raises(ConfigError, match="not_a_field"):
            self.model_class(not_a_field=1)

    def test_score_before_fit_raises(self):
        with pytest.raises(NotFittedError):
            self.make().score(np.array([0]))

    # ---------------------------------------------------------------- fitted behaviour
    def test_fit_sets_state_and_score_shape(self, fitted, split):
        assert fitted.n_users_ == split.n_users and fitted.n_items_ == split.n_items
        assert fitted.seen_.shape == (split.n_users, split.n_items)
        users = np.array([0, 3, 5])
        scores = fitted.score(users)
        assert tuple(scores.shape) == (3, split.n_items)
        assert str(scores.dtype) == "torch.float32"
        assert bool(scores.isfinite().all())

    def test_unknown_users_score_nan(self, fitted, split):
        scores = fitted.score(np.array([0, split.n_users, -1]))
        assert bool(scores[0].isfinite().all())
        assert bool(scores[1:].isnan().all())

    def test_recommend_excludes_seen(self, fitted, split):
        users = np.arange(split.n_users)
        recs = fitted.recommend(users, k=5).numpy()
        assert recs.shape == (split.n_users, 5)
        seen = split.train.csr()
        for u in users:
            assert not set(recs[u]) & set(seen[u].indices), f"user {u} was recommended a seen item"
            assert len(set(recs[u])) == 5

    def test_save_load_identical_scores(self, fitted, split, tmp_path):
        users = np.arange(split.n_users)
        path = fitted.save(tmp_path / "m")
        loaded = type(fitted).load(path)
        assert loaded.get_config() == fitted.get_config()
        np.testing.assert_array_equal(loaded.score(users).numpy(), fitted.score(users).numpy())
        from pyrec.models import load_model

        np.testing.assert_array_equal(
            load_model(path).score(users).numpy(), fitted.score(users).numpy()
        )

    def test_pickle_round_trip(self, fitted, split):
        users = np.arange(split.n_users)
        again = pickle.loads(pickle.dumps(fitted))
        np.testing.assert_array_equal(again.score(users).numpy(), fitted.score(users).numpy())

    def test_seed_determinism(self, fitted, split):
        if not self.deterministic:
            pytest.skip("model declared non-deterministic")
        users = np.arange(split.n_users)
        again = self.make().fit(split, **self.fit_kwargs)
        np.testing.assert_array_equal(again.score(users).numpy(), fitted.score(users).numpy())
