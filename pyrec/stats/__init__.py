"""The statistical evaluation in R through rpy2, and Python cross-checks.

The statistics live in plain R functions (``r_scripts/stats_*.R``: ANOVA with Type II SS via car,
assumption checks, Tukey HSD, emmeans contrasts, per-user paired tests with Holm correction,
Friedman, effect sizes via effectsize). This package hands pyrec's tidy tables to them and returns
pandas DataFrames. rpy2 is imported on first use only, so the rest of pyrec works without R;
without R/rpy2 every call raises :class:`~pyrec.diagnostics.RBridgeError` with install steps.

Example::

    from pyrec.stats import run_all
    tables = run_all("results/ml-100k", metric="ndcg@10")
    tables["anova"]
"""

from pyrec.stats._bridge import INSTALL_HINT, call_r, r_env, r_scripts_dir
from pyrec.stats._convert import from_r, to_r
from pyrec.stats._run import read_results, run_all, save_tables
from pyrec.stats.api import (
    DEFAULT_FACTORS,
    anova,
    assumptions,
    effect_sizes,
    emmeans,
    friedman,
    friedman_posthoc,
    paired_tests,
    tukey,
)

__all__ = [
    "DEFAULT_FACTORS",
    "INSTALL_HINT",
    "anova",
    "assumptions",
    "call_r",
    "effect_sizes",
    "emmeans",
    "friedman",
    "friedman_posthoc",
    "from_r",
    "paired_tests",
    "r_env",
    "r_scripts_dir",
    "read_results",
    "run_all",
    "save_tables",
    "to_r",
    "tukey",
]
