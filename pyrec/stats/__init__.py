"""The statistical evaluation in R through rpy2 (the independent Python oracles live in tests/stats/).

The planned analysis (``r_scripts/stats_design.R``: the study's questions as contrasts over splits
and over users, equivalence, power) is :func:`analysis` / :func:`run_all`. The building blocks live
in plain R functions (``r_scripts/stats_*.R``: ANOVA with Type II SS via car,
assumption checks, Tukey HSD, emmeans contrasts, per-user paired tests with Holm correction,
Friedman, effect sizes via effectsize). This package hands pyrec's tidy tables to them and returns
pandas DataFrames. rpy2 is imported on first use only, so the rest of pyrec works without R;
without R/rpy2 every call raises :class:`~pyrec.diagnostics.RBridgeError` with install steps.

Example::

    from pyrec.stats import run_all
    tables = run_all("results/ml-100k", metric="ndcg@10")
    tables["contrasts"]   # Q1-Q3: the verdicts
"""

from pyrec.stats._bridge import INSTALL_HINT, call_r, r_env, r_scripts_dir
from pyrec.stats._convert import from_r, to_r
from pyrec.stats._run import read_plan, read_results, run_all, save_tables, stats_dir
from pyrec.stats.api import (
    DEFAULT_FACTORS,
    analysis,
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
    "analysis",
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
    "read_plan",
    "read_results",
    "run_all",
    "save_tables",
    "stats_dir",
    "to_r",
    "tukey",
]
