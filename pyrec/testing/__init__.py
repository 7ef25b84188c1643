"""pyrec.testing: the shared recommender contract suite and tiny test data.

* :class:`RecommenderTests` — subclass with ``model_class`` and a tiny ``config``; checks default
  construction, config round trip, typed config errors, NotFitted, fit → score shape, NaN for
  unknown users, recommend excludes seen items, save/load and pickle give identical scores, and
  seed determinism.
* :func:`tiny_split` — a small structured :class:`~pyrec.data.Split` for fast tests.
* :func:`movielens_subset` — a small real ML-100K split with item text.
"""

from pyrec.testing._data import movielens_subset, tiny_split
from pyrec.testing._recommender_tests import RecommenderTests

__all__ = ["RecommenderTests", "movielens_subset", "tiny_split"]
