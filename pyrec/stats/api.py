"""Python entry points of the R statistical evaluation (thin wrappers over ``r_scripts/stats_*.R``).

Every function takes pyrec's tidy tables (``runs.parquet``: one row per run x metric;
``per_user.parquet``: one row per run x user x metric, see ``docs/architecture.md``), sends only
the needed columns of the needed metric to R, and returns the R table as a pandas DataFrame whose
``attrs`` hold the method, notes (list of str) and settings. The statistics themselves (car,
emmeans, effectsize, stats) are documented in the R files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pyrec.diagnostics import DataError, param_error
from pyrec.stats._bridge import as_str_list, call_r, call_r_tables

__all__ = [
    "DEFAULT_FACTORS",
    "analysis",
    "anova",
    "assumptions",
    "effect_sizes",
    "tukey",
    "emmeans",
    "paired_tests",
    "friedman",
    "friedman_posthoc",
]

DEFAULT_FACTORS = ("architecture", "optimization", "backend")  #: the experiment factors
_DESIGN_COLUMNS = ("dataset", "split", "protocol")


def _select(results: pd.DataFrame, metric: str, columns: Sequence[str], owner: str,
            factors: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of ``metric`` and only ``columns`` + metric/value; checks one dataset/split/protocol."""
    if not isinstance(results, pd.DataFrame):
        raise param_error("results", owner, "a pandas DataFrame", type(results).__name__)
    if not isinstance(metric, str) or not metric:
        raise param_error("metric", owner, "a metric name such as 'ndcg@10'", metric)
    # config always travels: R refuses a factorial whose cells pool several configurations
    need = list(dict.fromkeys([*columns, *(["config"] if "config" in results.columns else []),
                               "metric", "value"]))
    missing = [c for c in need if c not in results.columns]
    if missing:
        raise DataError(f"{owner}: the results table has no column(s) {missing}; it has "
                        f"{list(results.columns)}.")
    rows = results[_metric_rows(results, metric)]  # per-user tables: metric "ndcg", k 10
    if rows.empty:
        have = sorted(results["metric"].dropna().astype("str").unique())
        raise DataError(f"{owner}: metric {metric!r} is not in the results; available: {have}.")
    for col in _DESIGN_COLUMNS:
        if col in rows.columns and col not in factors and rows[col].nunique(dropna=True) > 1:
            raise DataError(
                f"{owner}: the {metric!r} rows span {rows[col].nunique()} values of {col!r} "
                f"({sorted(rows[col].dropna().astype(str).unique())}); analyse one at a time "
                f"(filter results[{col!r}]) or add {col!r} to the factors."
            )
    out = rows[need].reset_index(drop=True).copy()
    out["metric"] = metric
    return out


def _formula(factors: Sequence[str], interactions: bool) -> str:
    return "value ~ " + (" * " if interactions else " + ").join(f"`{f}`" for f in factors)


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    note = df.attrs.get("note")
    if isinstance(note, str):
        df.attrs["note"] = [note]
    return df


def analysis(runs: pd.DataFrame, per_user: pd.DataFrame | None = None,
             plan: Mapping[str, Any] | None = None, *,
             boot_index: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
    """The planned analysis of an experiment: the study's questions over splits and over users.

    Source: R ``pyrec_analysis`` (``r_scripts/stats_design.R``): the seed-level cell-means model
    ``value ~ config + seed`` (``stats::lm``), the user-level mixed model ``value ~ config +
    (1|user) + (1|seed) + (1|seed:user)`` (lme4 + lmerTest, Satterthwaite df), a user-cluster
    bootstrap, per-user paired tests, TOST equivalence, Holm/BH within each question, and the MDE
    of every contrast. Configurations identical by construction are reported, never tested;
    protocols are never pooled.

    Args:
        runs: tidy runs table (every metric: cost ratios use ``train_time_s`` etc.).
        per_user: per-user table (rows of other metrics are dropped before R); None: no
            user-level analysis.
        plan: settings (``metric``, ``alpha``, ``power``, ``p_adjust``, ``margin``,
            ``bootstrap``, ``boot_seed``, ``ddf``, ``target_mde``, ``contrasts`` = list of
            ``{question, config, baseline, test, margin}``); missing ones take R's defaults.
        boot_index: B x U array of resampled user positions (0-based, into the sorted users of
            each contrast) instead of R's random draws; for exact cross-checks.

    Returns:
        dict table name -> DataFrame: ``contrasts``, ``design``, ``seed_level``, ``blocking``,
        ``user_level``, ``bootstrap``, ``paired``, ``power``, ``costs``, ``skipped``; each
        ``attrs`` holds method, note and the design notes (``design_notes``).

    Raises:
        DataError: a table lacks the needed columns.
        RBridgeError: R (with lme4/lmerTest) unavailable, or R refused the data.
    """
    import json

    if not isinstance(runs, pd.DataFrame):
        raise param_error("runs", "analysis", "a pandas DataFrame", type(runs).__name__)
    plan = dict(plan or {})
    metric = str(plan.get("metric", "ndcg@10"))
    cols = [c for c in ("run_id", "dataset", "split", "protocol", "seed", "architecture", "model",
                        "optimization", "backend", "config", "simulated", "metric", "value")
            if c in runs.columns]
    pu = None
    if per_user is not None and len(per_user):
        need = ["config", "seed", "user", "metric", "value"]
        missing = [c for c in need if c not in per_user.columns]
        if missing:
            raise DataError(f"analysis: the per-user table has no column(s) {missing}; it has "
                            f"{list(per_user.columns)}.")
        keep = [c for c in ("run_id", "protocol", *need) if c in per_user.columns]
        pu = per_user.loc[_metric_rows(per_user, metric), keep].reset_index(drop=True)
        pu["metric"] = metric
    index = None
    if boot_index is not None:
        arr = np.asarray(boot_index, dtype=np.int64) + 1  # R positions are 1-based
        index = pd.DataFrame(arr, columns=[f"u{i}" for i in range(arr.shape[1])])
    return call_r_tables("pyrec_analysis", runs=runs[cols].copy(), per_user=pu,
                         plan=json.dumps(plan), boot_index=index)


def _metric_rows(results: pd.DataFrame, metric: str) -> pd.Series:
    """Boolean mask of the rows of ``metric`` (``ndcg@10``, or ``metric == "ndcg"`` and ``k == 10``)."""
    m = results["metric"].astype("str")
    mask = m == metric
    if not mask.any() and "@" in metric and "k" in results.columns:
        name, _, k = metric.partition("@")
        mask = (m == name) & (pd.to_numeric(results["k"], errors="coerce") == float(k or "nan"))
    return mask


def anova(results: pd.DataFrame, metric: str = "ndcg@10",
          factors: Sequence[str] = DEFAULT_FACTORS, *, type: int = 2, interactions: bool = True,
          alpha: float = 0.05, ci: float = 0.95, drop_single: bool = True) -> pd.DataFrame:
    """Factorial (or one-way, with one factor) ANOVA of one metric, seeds as replicates.

    Source: R ``pyrec_anova`` (``car::Anova`` Type II SS by default; effect sizes from
    ``effectsize``). Grouping columns are always factors; one-level factors are dropped (and
    listed in ``attrs["dropped_factors"]``) unless ``drop_single=False``.

    Args:
        results: tidy runs table (``metric``, ``value`` and the factor columns).
        metric: metric to analyse, e.g. ``"ndcg@10"`` or ``"latency_p50_ms"``.
        factors: grouping columns; crossed (``a * b * c``) when ``interactions``, else additive.
        type: sums of squares type, 1, 2 or 3.
        interactions: include all interactions.
        alpha: significance level used in the notes.
        ci: confidence level of the partial eta-squared interval.
        drop_single: drop one-level factors instead of failing.

    Returns:
        DataFrame, one row per term plus ``Residuals``: ``term, df, sum_sq, statistic`` (F),
        ``p_value, eta2, eta2_partial, omega2, omega2_partial, CI_low, CI_high``; ``attrs`` has
        ``ss_type``, ``balanced``, ``empty_cells``, ``note``.

    Raises:
        DataError: missing columns, unknown metric, several datasets/splits/protocols mixed.
        RBridgeError: R unavailable, or R refused the data (one-level factor, all-NA metric, too
            few replicates) - the message names the factor or metric.
    """
    factors = as_str_list(factors, "factors", "anova")
    data = _select(results, metric, factors, "anova", factors)
    return _tidy(call_r("pyrec_anova", data=data, formula=_formula(factors, interactions),
                        metric=metric, type=int(type), alpha=float(alpha), ci=float(ci),
                        drop_single=bool(drop_single)))


def assumptions(results: pd.DataFrame, metric: str = "ndcg@10",
                factors: Sequence[str] = DEFAULT_FACTORS, *, interactions: bool = True,
                alpha: float = 0.05) -> pd.DataFrame:
    """Shapiro-Wilk (residuals), Levene (Brown-Forsythe), classical/Welch ANOVA, Kruskal-Wallis.

    Source: R ``pyrec_assumptions`` (``stats::shapiro.test``, ``car::leveneTest``,
    ``stats::oneway.test``, ``stats::kruskal.test``).

    Returns:
        DataFrame with ``test, statistic, df, df_error, p_value, violated, note`` (5 rows).

    Raises:
        DataError, RBridgeError: as :func:`anova`.
    """
    factors = as_str_list(factors, "factors", "assumptions")
    data = _select(results, metric, factors, "assumptions", factors)
    return _tidy(call_r("pyrec_assumptions", data=data, formula=_formula(factors, interactions),
                        metric=metric, alpha=float(alpha)))


def effect_sizes(results: pd.DataFrame, metric: str = "ndcg@10",
                 factors: Sequence[str] = DEFAULT_FACTORS, *, type: int = 2,
                 interactions: bool = True, ci: float = 0.95) -> pd.DataFrame:
    """eta², partial eta², omega² and partial omega² of every ANOVA term, each with its CI.

    Source: R ``pyrec_effect_sizes`` (``effectsize::eta_squared`` / ``omega_squared``).

    Returns:
        DataFrame with ``term, effect, value, CI_low, CI_high, ci`` (4 rows per term).

    Raises:
        DataError, RBridgeError: as :func:`anova`.
    """
    factors = as_str_list(factors, "factors", "effect_sizes")
    data = _select(results, metric, factors, "effect_sizes", factors)
    return _tidy(call_r("pyrec_effect_sizes", data=data, formula=_formula(factors, interactions),
                        metric=metric, type=int(type), ci=float(ci)))


def tukey(results: pd.DataFrame, metric: str = "ndcg@10", factor: str | Sequence[str] = "config",
          *, conf_level: float = 0.95) -> pd.DataFrame:
    """Tukey HSD between the levels of one factor (or of combined factors).

    Source: R ``pyrec_tukey`` (``stats::TukeyHSD``; level names round-trip intact).

    Returns:
        DataFrame with ``group1, group2, estimate`` (mean group1 - mean group2),
        ``CI_low, CI_high, p_adj``.

    Raises:
        DataError, RBridgeError: as :func:`anova`.
    """
    factor = as_str_list([factor] if isinstance(factor, str) else factor, "factor", "tukey")
    data = _select(results, metric, factor, "tukey", factor)
    return _tidy(call_r("pyrec_tukey", data=data, factor=factor, metric=metric,
                        conf_level=float(conf_level)))


def emmeans(results: pd.DataFrame, metric: str = "ndcg@10",
            factors: Sequence[str] = DEFAULT_FACTORS, specs: str | Sequence[str] | None = None,
            *, by: str | Sequence[str] | None = None, adjust: str = "tukey",
            conf_level: float = 0.95, interactions: bool = True) -> pd.DataFrame:
    """Pairwise contrasts of estimated marginal means in the factorial model.

    Source: R ``pyrec_emmeans`` (``emmeans::emmeans`` + ``pairs(adjust=...)``).

    Args:
        specs: factor(s) compared (default: the first factor).
        by: factor(s) within whose levels to compare.

    Returns:
        DataFrame with ``term, by, group1, group2, estimate, SE, df, statistic, p_adj,
        CI_low, CI_high``.

    Raises:
        DataError, RBridgeError: as :func:`anova`.
    """
    factors = as_str_list(factors, "factors", "emmeans")
    specs = [factors[0]] if specs is None else ([specs] if isinstance(specs, str) else list(specs))
    by = [by] if isinstance(by, str) else (list(by) if by is not None else None)
    data = _select(results, metric, factors, "emmeans", factors)
    return _tidy(call_r("pyrec_emmeans", data=data, formula=_formula(factors, interactions),
                        specs=specs, by=by, metric=metric, adjust=adjust,
                        conf_level=float(conf_level)))


def paired_tests(per_user: pd.DataFrame, metric: str = "ndcg@10",
                 pairs: Sequence[tuple[str, str]] | None = None, *, group: str = "config",
                 match: Sequence[str] = ("user", "seed"), alternative: str = "two.sided",
                 conf_level: float = 0.95, p_adjust: str = "holm") -> pd.DataFrame:
    """Per-user paired t and Wilcoxon signed-rank tests, Holm-corrected across the pairs.

    Source: R ``pyrec_paired_tests`` (``stats::t.test``, ``stats::wilcox.test``,
    ``effectsize::cohens_d(paired = TRUE)``, ``effectsize::rank_biserial``, ``stats::p.adjust``).

    Args:
        per_user: per-user table (``config, seed, user, metric, k, value``); one dataset/split.
        metric: e.g. ``"ndcg@10"`` (matches ``metric == "ndcg"`` with ``k == 10`` too).
        pairs: ``[(config_a, config_b), ...]``; None compares every pair of configs.
        group: column with the configuration label.
        match: columns that pair observations (same user and seed).
        alternative: ``"two.sided"``, ``"less"`` or ``"greater"``.
        conf_level: confidence level.
        p_adjust: ``stats::p.adjust`` method.

    Returns:
        DataFrame, two rows per pair (paired t, Wilcoxon): ``group1, group2, test, n, mean1,
        mean2, estimate, CI_low, CI_high, statistic, df, p_value, p_adj, effect_size_type,
        effect_size, es_CI_low, es_CI_high, note``.

    Raises:
        DataError: missing columns or unknown metric.
        RBridgeError: R unavailable; unknown config, duplicated or too few matched pairs.
    """
    match = as_str_list(match, "match", "paired_tests")
    data = _select(per_user, metric, [group, *match], "paired_tests", [group, *match])
    a = b = None
    if pairs is not None:
        pairs = [tuple(p) for p in pairs]
        if not pairs or any(len(p) != 2 for p in pairs):
            raise param_error("pairs", "paired_tests", "a non-empty list of (config_a, config_b)",
                              pairs)
        a, b = [str(p[0]) for p in pairs], [str(p[1]) for p in pairs]
    return _tidy(call_r("pyrec_paired_tests", per_user=data, config_a=a, config_b=b,
                        metric=metric, group=group, match=match, alternative=alternative,
                        conf_level=float(conf_level), p_adjust=p_adjust))


def friedman(results: pd.DataFrame, metric: str = "ndcg@10", *, group: str = "config",
             block: str = "dataset") -> pd.DataFrame:
    """Friedman rank-sum test of the configurations across blocks (datasets, or users).

    Source: R ``pyrec_friedman`` (``stats::friedman.test``); seeds are averaged per block.

    Returns:
        DataFrame with one row: ``test, statistic, df, p_value, n_blocks, n_groups, kendall_w``.

    Raises:
        DataError, RBridgeError: as :func:`anova`; too few complete blocks.
    """
    data = _select(results, metric, [group, block], "friedman", [group, block])
    return _tidy(call_r("pyrec_friedman", data=data, group=group, block=block, metric=metric))


def friedman_posthoc(results: pd.DataFrame, metric: str = "ndcg@10", *, group: str = "config",
                     block: str = "dataset", p_adjust: str = "holm") -> pd.DataFrame:
    """Pairwise Wilcoxon signed-rank tests over blocks after Friedman, Holm-adjusted.

    Source: R ``pyrec_friedman_posthoc`` (Demšar 2006; Benavoli et al. 2016).

    Returns:
        DataFrame with ``group1, group2, n_blocks, median_diff, statistic, p_value, note, p_adj``.

    Raises:
        DataError, RBridgeError: as :func:`friedman`.
    """
    data = _select(results, metric, [group, block], "friedman_posthoc", [group, block])
    return _tidy(call_r("pyrec_friedman_posthoc", data=data, group=group, block=block,
                        metric=metric, p_adjust=p_adjust))
