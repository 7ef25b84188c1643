"""Independent Python computations (statsmodels / scipy) of the R building blocks (ANOVA, Tukey,
paired tests, Friedman), for the tests only: the oracle does not ship in the package.

These do not replace the R tables; the tests compare them to R to a tight tolerance. Known,
legitimate differences:

- **Empty cells** (skipped configurations): statsmodels' ``anova_lm(typ=2)`` on a rank-deficient
  design reports the full interaction df and wrong sums of squares; ``car::Anova`` computes Type II
  SS by model comparison and reports the reduced df. Compare only designs without empty cells.
- **Wilcoxon signed-rank**: R uses the exact distribution when n < 50 without ties or zeros, else
  the normal approximation with continuity correction; scipy's ``method="auto"`` switches at
  n = 50 too but treats ties differently. :func:`paired_scipy` therefore takes R's choice
  explicitly: ``exact`` when R would use it, else ``method="approx", correction=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["anova_statsmodels", "tukey_statsmodels", "paired_scipy", "friedman_scipy"]


def _q(name: str) -> str:
    return f'C(Q("{name}"), Sum)'


def anova_statsmodels(data: pd.DataFrame, factors: Sequence[str], response: str = "value",
                      typ: int = 2, interactions: bool = True) -> pd.DataFrame:
    """ANOVA table from ``statsmodels.stats.anova.anova_lm`` (OLS with sum-to-zero contrasts).

    Args:
        data: one row per observation; ``factors`` are cast to str categories.
        factors: grouping columns.
        response: numeric column.
        typ: sums of squares type (1, 2 or 3).
        interactions: cross the factors (``a * b``) instead of adding them.

    Returns:
        DataFrame ``term`` ("a", "a:b", "Residuals"), ``df, sum_sq, statistic, p_value``.
    """
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    d = data[[response, *factors]].copy()
    for f in factors:
        d[f] = d[f].astype(str)
    rhs = (" * " if interactions else " + ").join(_q(f) for f in factors)
    table = anova_lm(smf.ols(f'Q("{response}") ~ {rhs}', data=d).fit(), typ=typ)
    names = {_q(f): f for f in factors}
    terms = [":".join(names.get(p, p) for p in t.split(":")) for t in table.index]
    out = pd.DataFrame({"term": ["Residuals" if t == "Residual" else t for t in terms],
                        "df": table["df"].to_numpy(), "sum_sq": table["sum_sq"].to_numpy(),
                        "statistic": table["F"].to_numpy(), "p_value": table["PR(>F)"].to_numpy()})
    return out[out["term"] != "Intercept"].reset_index(drop=True)


def tukey_statsmodels(data: pd.DataFrame, factor: str, response: str = "value",
                      alpha: float = 0.05) -> pd.DataFrame:
    """Tukey HSD from ``statsmodels.stats.multicomp.pairwise_tukeyhsd``.

    Returns:
        DataFrame ``group1, group2, estimate`` (mean group1 - mean group2, statsmodels' group2
        first so it reads like R), ``CI_low, CI_high, p_adj``.
    """
    from statsmodels.stats.multicomp import pairwise_tukeyhsd

    res = pairwise_tukeyhsd(data[response].to_numpy(float), data[factor].astype(str).to_numpy(),
                            alpha=alpha)
    g = res.groupsunique[np.array(list(zip(*np.triu_indices(len(res.groupsunique), 1))))]
    return pd.DataFrame({"group1": g[:, 1], "group2": g[:, 0], "estimate": res.meandiffs,
                         "CI_low": res.confint[:, 0], "CI_high": res.confint[:, 1],
                         "p_adj": res.pvalues})


def paired_scipy(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Paired t-test (``scipy.stats.ttest_rel``), Wilcoxon signed-rank as R computes it, d_z.

    Args:
        x, y: float [n] matched observations.

    Returns:
        dict ``t, df, p_t, V`` (sum of positive ranks, R's statistic), ``p_w, exact, d_z``.
    """
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    d = x - y
    t = stats.ttest_rel(x, y)
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    exact = len(nz) < 50 and len(np.unique(np.abs(nz))) == len(nz) and len(nz) == len(d)
    w = stats.wilcoxon(x, y, zero_method="wilcox", correction=not exact,
                       method="exact" if exact else "approx")
    return {"t": float(t.statistic), "df": float(t.df), "p_t": float(t.pvalue),
            "V": float(ranks[nz > 0].sum()), "p_w": float(w.pvalue), "exact": bool(exact),
            "d_z": float(d.mean() / d.std(ddof=1))}


def friedman_scipy(matrix: np.ndarray) -> tuple[float, float]:
    """Friedman chi-squared and p (``scipy.stats.friedmanchisquare``) of a blocks x groups array."""
    from scipy import stats

    res = stats.friedmanchisquare(*np.asarray(matrix, float).T)
    return float(res.statistic), float(res.pvalue)
