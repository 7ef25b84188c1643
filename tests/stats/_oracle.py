"""Independent Python references for the planned analysis (``pyrec.stats.analysis``).

Every function here recomputes one table of R's ``pyrec_analysis`` (r_scripts/stats_design.R)
from the raw runs / per-user tables with numpy, scipy and statsmodels only; nothing here calls R
or ``_crosscheck.py``. The tests in ``test_analysis.py`` compare R's tables against them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import linalg, optimize, stats
from statsmodels.stats.multitest import multipletests

# ---- small helpers ---------------------------------------------------------------------------


def dummies(values: np.ndarray, levels: list) -> np.ndarray:
    """Treatment-coded indicators of ``values`` for ``levels[1:]`` (levels[0] = reference)."""
    values = np.asarray(values, dtype=object)
    return np.column_stack([(values == lv).astype(float) for lv in levels[1:]]) \
        if len(levels) > 1 else np.zeros((len(values), 0))


def config_design(cfg: np.ndarray, configs: list, extra: list[np.ndarray] = ()) -> np.ndarray:
    """Design matrix [1, config dummies, extra columns...]."""
    return np.column_stack([np.ones(len(cfg)), dummies(cfg, configs), *extra])


def contrast_vector(n_coef: int, configs: list, a: str, b: str) -> np.ndarray:
    """L with L @ beta = (config a) - (config b), treatment coding (columns 1.. = configs[1:])."""
    L = np.zeros(n_coef)
    for cfg, sign in ((a, 1.0), (b, -1.0)):
        j = configs.index(cfg)
        if j > 0:
            L[j] += sign
    return L


def contrast_test(est: float, se: float, df: float, test: str, margin: float,
                  alpha: float) -> dict:
    """Superiority: two-sided t and (1-alpha) CI; equivalence: TOST p = max of the two one-sided
    p-values, (1-2alpha) CI; non-inferiority: one-sided p against -margin, (1-2alpha) CI."""
    t = stats.t(df)
    if test == "superiority":
        stat = est / se
        h = t.ppf(1 - alpha / 2) * se
        return {"statistic": stat, "p_value": 2 * t.sf(abs(stat)), "CI_low": est - h,
                "CI_high": est + h, "ci_level": 1 - alpha}
    t_low, t_up = (est + margin) / se, (est - margin) / se
    p_low = t.sf(t_low)     # H0: diff <= -margin (reject for large t_low)
    p_up = t.cdf(t_up)      # H0: diff >= +margin (reject for small t_up)
    h = t.ppf(1 - alpha) * se
    if test == "equivalence":
        return {"statistic": t_low if p_low >= p_up else t_up, "p_value": max(p_low, p_up),
                "CI_low": est - h, "CI_high": est + h, "ci_level": 1 - 2 * alpha}
    return {"statistic": t_low, "p_value": p_low, "CI_low": est - h, "CI_high": est + h,
            "ci_level": 1 - 2 * alpha}


def adjust_by(p: np.ndarray, groups: np.ndarray, method: str) -> np.ndarray:
    """p-values adjusted within each group (question): holm / BH / bonferroni / none."""
    sm_method = {"holm": "holm", "BH": "fdr_bh", "bonferroni": "bonferroni"}.get(method)
    p = np.asarray(p, dtype=float)
    groups = np.asarray(groups, dtype=object)
    out = np.full(len(p), np.nan)
    for g in pd.unique(groups):
        i = (groups == g) & ~np.isnan(p)
        if not i.any():
            continue
        out[i] = p[i] if sm_method is None else multipletests(p[i], method=sm_method)[1]
    return out


def mde(se: float, df: float, test: str, alpha: float, power: float) -> float:
    """Minimal detectable effect (normal-theory formula with t quantiles)."""
    q = stats.t(df).ppf
    if test == "superiority":
        return (q(1 - alpha / 2) + q(power)) * se
    if test == "noninferiority":
        return (q(1 - alpha) + q(power)) * se
    return (q(1 - alpha) + q(1 - (1 - power) / 2)) * se


def seeds_needed(target: float, sigma2: float, n_configs: int, test: str, alpha: float,
                 power: float, max_seeds: int = 1000) -> float:
    """Smallest S >= 2 with MDE(se = sqrt(2 sigma2 / S), df = (C-1)(S-1)) <= target (else NaN)."""
    for s in range(2, max_seeds + 1):
        if mde(np.sqrt(2 * sigma2 / s), (n_configs - 1) * (s - 1), test, alpha, power) <= target:
            return s
    return np.nan


# ---- seed level ------------------------------------------------------------------------------


def seed_level(r: pd.DataFrame, contrasts: list[dict], alpha: float) -> tuple[pd.DataFrame, dict]:
    """OLS ``value ~ C(config) + C(seed)`` on run means; planned contrasts; blocking diagnostics.

    ``r``: one row per (config, seed) of the configurations in the model (config, seed, value).
    Returns (table with estimate/relative/SE/df/statistic/p_value/CI per contrast, blocking dict).
    """
    configs = list(pd.unique(r["config"]))
    seeds = sorted(pd.unique(r["seed"]))
    cfg = r["config"].to_numpy(dtype=object)
    y = r["value"].to_numpy(dtype=float)
    X1 = config_design(cfg, configs, [dummies(r["seed"].to_numpy(), seeds)])
    X0 = config_design(cfg, configs)
    fit1 = sm.OLS(y, X1).fit()
    fit0 = sm.OLS(y, X0).fit()
    df = fit1.df_resid
    rows = []
    for c in contrasts:
        L = contrast_vector(X1.shape[1], configs, c["config_m"], c["baseline_m"])
        tt = fit1.t_test(L[None, :])
        est, se = float(np.squeeze(tt.effect)), float(np.squeeze(tt.sd))
        base_mean = y[cfg == c["baseline_m"]].mean()
        rows.append(dict(question=c["question"], config=c["config"], baseline=c["baseline"],
                         test=c["test"], estimate=est, relative=est / base_mean, SE=se, df=df,
                         **contrast_test(est, se, df, c["test"], c["margin"], alpha)))
    tab = pd.DataFrame(rows)
    # type I (sequential) F tests: config first, then seed
    rss_int = np.sum((y - y.mean()) ** 2)
    n_cfg, n_seed = len(configs) - 1, len(seeds) - 1
    seed_f = (fit0.ssr - fit1.ssr) / n_seed / fit1.mse_resid
    cfg_f1 = (rss_int - fit0.ssr) / n_cfg / fit1.mse_resid
    cfg_f0 = (rss_int - fit0.ssr) / n_cfg / fit0.mse_resid
    blocking = {
        "df_residual": [fit1.df_resid, fit0.df_resid],
        "ms_residual": [fit1.mse_resid, fit0.mse_resid],
        "seed_F": seed_f, "seed_df": n_seed, "seed_p": stats.f.sf(seed_f, n_seed, fit1.df_resid),
        "config_F": [cfg_f1, cfg_f0],
        "config_p": [stats.f.sf(cfg_f1, n_cfg, fit1.df_resid),
                     stats.f.sf(cfg_f0, n_cfg, fit0.df_resid)],
        "shapiro": [stats.shapiro(fit1.resid), stats.shapiro(fit0.resid)],
        "sigma2": fit1.mse_resid, "n_configs": len(configs)}
    return tab, blocking


# ---- matched per-user differences -------------------------------------------------------------


def user_diffs(pu: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """(user, seed, a, b, d = a - b) over the (user, seed) pairs both configurations have."""
    x = pu.loc[pu["config"] == a, ["user", "seed", "value"]]
    y = pu.loc[pu["config"] == b, ["user", "seed", "value"]]
    m = x.merge(y, on=["user", "seed"], suffixes=("_a", "_b")).sort_values(["user", "seed"])
    return pd.DataFrame({"user": m["user"].to_numpy(), "seed": m["seed"].to_numpy(),
                         "a": m["value_a"].to_numpy(), "b": m["value_b"].to_numpy(),
                         "d": m["value_a"].to_numpy() - m["value_b"].to_numpy()})


# ---- user level: mixed models ------------------------------------------------------------------


def _codes(x) -> np.ndarray:
    return pd.factorize(pd.Series(np.asarray(x)).astype(str), sort=True)[0]


def pair_frame(pu: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """The per-user rows of configurations a and b (R fits each contrast on its two configs),
    with integer codes: cfg (1 = a), user, seed, us (user x seed), cu (config x user)."""
    sub = pu[pu["config"].isin([a, b])]
    user, seed = sub["user"].astype(str).to_numpy(), sub["seed"].astype(str).to_numpy()
    cfg = (sub["config"] == a).to_numpy().astype(int)
    return pd.DataFrame({"value": sub["value"].to_numpy(float), "cfg": cfg,
                         "user": _codes(user), "seed": _codes(seed),
                         "us": _codes(np.char.add(np.char.add(user, "\t"), seed)),
                         "cu": _codes(np.char.add(np.char.add(user, "\t"), cfg.astype(str))),
                         "g": 0})


def paired_user_means(pu: pd.DataFrame, a: str, b: str) -> dict:
    """The paired t-test on the users' seed-averaged differences: estimate, SE, df = U - 1 (what
    the crossed mixed model gives in a balanced design with interior variance components)."""
    m = user_diffs(pu, a, b)
    dbar = m.groupby("user")["d"].mean().to_numpy()
    return {"estimate": dbar.mean(), "SE": np.std(dbar, ddof=1) / np.sqrt(len(dbar)),
            "df": len(dbar) - 1}


def balanced_reml(pu: pd.DataFrame, a: str, b: str) -> dict:
    """Exact REML of a balanced two-configuration design through its ANOVA strata.

    Model (several seeds): value ~ config + (1|user) + (1|seed) + (1|seed:user) +
    (1|config:user); one seed: value ~ config + (1|user). In a balanced layout (U users x S seeds
    x 2 configurations) the restricted likelihood factors over the orthogonal strata k, each with
    sum of squares SS_k, df_k and expected mean square lambda_k (a linear function of the
    variances): REML maximises -1/2 sum_k (df_k log lambda_k + SS_k / lambda_k) over variances
    >= 0 (boundaries included). Var(estimate) = 2 lambda_CU / (S U).
    """
    wide = pu[pu["config"].isin([a, b])].pivot_table(index="user", columns=["config", "seed"],
                                                      values="value", aggfunc="first")
    y = np.stack([wide[a].to_numpy(float), wide[b].to_numpy(float)])  # 2 x U x S
    assert not np.isnan(y).any(), "not balanced"
    _, n_u, n_s = y.shape
    g = y.mean()
    c_, u_, s_ = y.mean((1, 2)), y.mean((0, 2)), y.mean((0, 1))
    cu, cs, us = y.mean(2), y.mean(1), y.mean(0)
    ss_u = 2 * n_s * np.sum((u_ - g) ** 2)
    ss_cu = n_s * np.sum((cu - c_[:, None] - u_[None, :] + g) ** 2)
    if n_s == 1:
        # theta = (user, residual)
        strata = [(n_u - 1, ss_u, [2, 1]), (n_u - 1, ss_cu, [0, 1])]
        names = ("user", "residual")
    else:
        ss_s = 2 * n_u * np.sum((s_ - g) ** 2)
        ss_us = 2 * np.sum((us - u_[:, None] - s_[None, :] + g) ** 2)
        ss_cs = n_u * np.sum((cs - c_[:, None] - s_[None, :] + g) ** 2)
        ss_cus = np.sum((y - cu[:, :, None] - cs[:, None, :] - us[None] + c_[:, None, None]
                         + u_[None, :, None] + s_[None, None, :] - g) ** 2)
        # theta = (user, seed, seed:user, config:user, residual)
        strata = [(n_u - 1, ss_u, [2 * n_s, 0, 2, n_s, 1]),
                  (n_s - 1, ss_s, [0, 2 * n_u, 2, 0, 1]),
                  ((n_u - 1) * (n_s - 1), ss_us, [0, 0, 2, 0, 1]),
                  (n_u - 1, ss_cu, [0, 0, 0, n_s, 1]),
                  (n_u * (n_s - 1), ss_cs + ss_cus, [0, 0, 0, 0, 1])]
        names = ("user", "seed", "us", "cu", "residual")
    df_k = np.array([s[0] for s in strata], float)
    ss_k = np.array([s[1] for s in strata], float)
    C = np.array([s[2] for s in strata], float)
    scale = ss_k.sum() / df_k.sum()

    def nll(theta):
        lam = C @ theta
        return float(np.sum(df_k * np.log(lam) + ss_k / (lam * 1.0)))

    k = C.shape[1]
    # REML over variances >= 0 (residual > 0): on each face of the constraint set (a subset of
    # the components fixed at 0) the strata whose expected mean squares coincide pool; where the
    # pooled system is square the face's optimum is closed form (expected = observed pooled mean
    # squares), else numerical (log variances). The best feasible face is the REML estimate.
    cands = []
    for zero in itertools.chain.from_iterable(
            itertools.combinations(range(k - 1), r) for r in range(k)):
        free = [j for j in range(k) if j not in zero]
        Cf = C[:, free]
        groups: dict = {}
        for i, row in enumerate(map(tuple, Cf)):
            groups.setdefault(row, []).append(i)
        theta = np.zeros(k)
        if len(groups) == len(free):
            G = np.array(list(groups), float)
            ms = np.array([ss_k[ix].sum() / df_k[ix].sum() for ix in groups.values()])
            try:
                theta[free] = np.linalg.solve(G, ms)
            except np.linalg.LinAlgError:
                continue
            if np.any(theta[free] < 0):
                continue
        else:
            def f(lt, free=free):
                t = np.zeros(k)
                t[free] = np.exp(lt)
                return nll(t)
            x0 = np.log(np.full(len(free), scale / len(free)))
            res = optimize.minimize(f, x0, method="BFGS", options={"gtol": 1e-10})
            res = optimize.minimize(f, res.x, method="Nelder-Mead",
                                    options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 5000})
            theta[free] = np.exp(res.x)
        cands.append((nll(theta), len(zero), theta))
    _, n_zero, theta = min(cands, key=lambda c: (c[0], c[1]))
    var = dict(zip(names, theta))
    lam_cu = var["residual"] + (n_s * var["cu"] if n_s > 1 else 0.0)
    # a zero seed variance does not touch the contrast (its stratum is orthogonal to it)
    boundary = any(var[n] == 0 for n in names if n != "seed")
    return {"estimate": float((y[0] - y[1]).mean()),
            "SE": float(np.sqrt(2 * lam_cu / (n_s * n_u))), "variances": var, "n_users": n_u,
            "n_seeds": n_s, "boundary": boundary, "any_zero": n_zero > 0}


def is_complete(pu: pd.DataFrame, a: str, b: str) -> bool:
    """Every user in every seed under both configurations (a full users x seeds x 2 layout)."""
    sub = pu[pu["config"].isin([a, b])]
    return bool(len(sub) == 2 * sub["user"].nunique() * sub["seed"].nunique()
                and not sub.duplicated(["config", "user", "seed"]).any())


class OneWayREML:
    """REML of the matched differences d_us = a - b as a one-way random-effects model over users:
    d_us = beta + delta_u + eps_us, Var(delta) = 2 var_cu, Var(eps) = 2 var_res.

    When every (user, seed) pair has both configurations, the sums a + b and the differences a - b
    of R's model value ~ config + (1|user) + (1|seed) + (1|seed:user) + (1|config:user) are
    independent; the sums' likelihood depends on var_cu and var_res only through 4 var_user +
    2 var_cu and 4 var_seed:user + 2 var_res, so (with those two interior) the REML estimates of
    var_cu and var_res, the estimate of config and its variance, and the Satterthwaite df all come
    from the differences alone (with unequal numbers of seeds per user: not in closed form).
    Closed-form per-user blocks: any size.
    """

    def __init__(self, m: pd.DataFrame):
        g = m.groupby("user")["d"]
        self.n = g.size().to_numpy(float)
        self.s = g.sum().to_numpy(float)
        self.ss = g.apply(lambda x: float(np.sum(np.asarray(x) ** 2))).to_numpy(float)
        dbar = self.s / self.n
        within = max(np.sum(self.ss - self.s ** 2 / self.n) / max(np.sum(self.n - 1), 1), 1e-12)
        between = max(np.var(dbar, ddof=1) - within / self.n.mean(), 1e-3 * within)
        res = optimize.minimize(self.deviance, np.log([within, between]), method="BFGS",
                                options={"gtol": 1e-11})
        res = optimize.minimize(self.deviance, res.x, method="Nelder-Mead",
                                options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 4000})
        self.logp = res.x
        a, b = np.exp(self.logp)
        self.variances = {"residual": a / 2, "cu": b / 2}
        w = self.n / (a + self.n * b)
        self.estimate = float(np.sum(self.s / (a + self.n * b)) / np.sum(w))

    def _w(self, logp):
        a, b = np.exp(logp)
        return a, b, self.n / (a + self.n * b)

    def deviance(self, logp) -> float:
        a, b, w = self._w(logp)
        t = self.s / (a + self.n * b)
        beta = t.sum() / w.sum()
        logdet = np.sum((self.n - 1) * np.log(a) + np.log(a + self.n * b))
        quad = np.sum(self.ss - b * self.s ** 2 / (a + self.n * b)) / a - beta ** 2 * w.sum()
        return float(logdet + np.log(w.sum()) + quad)

    def var_estimate(self, logp) -> float:
        return float(1.0 / self._w(logp)[2].sum())

    def contrast(self, h: float = 1e-4) -> tuple[float, float, float]:
        """(estimate, SE, Satterthwaite df)."""
        x, E = self.logp, np.eye(2) * h
        f, D = self.var_estimate, self.deviance
        grad = np.array([(f(x + e) - f(x - e)) / (2 * h) for e in E])
        H = np.array([[(D(x + E[i] + E[j]) - D(x + E[i] - E[j]) - D(x - E[i] + E[j])
                        + D(x - E[i] - E[j])) / (4 * h * h) for j in range(2)] for i in range(2)])
        fv = f(x)
        df = 2 * fv ** 2 / (grad @ (2 * np.linalg.inv(H)) @ grad)
        return self.estimate, float(np.sqrt(fv)), float(df)


def mixedlm_diffs(m: pd.DataFrame) -> dict:
    """statsmodels MixedLM (REML) of d ~ 1 with a random intercept per user: the variance
    components of the one-way model on the differences, and the GLS SE they give."""
    model = sm.MixedLM(m["d"].to_numpy(float), np.ones((len(m), 1)), groups=m["user"].to_numpy())
    fit = _best_fit(model)
    a, b = float(fit.scale), float(np.asarray(fit.cov_re)[0, 0])
    n = m.groupby("user").size().to_numpy(float)
    return {"estimate": float(fit.fe_params[0]), "SE": float(np.sqrt(1 / np.sum(n / (a + n * b)))),
            "variances": {"residual": a / 2, "cu": b / 2}}


def _best_fit(model):
    """REML fit of a statsmodels MixedLM, the best of several optimisers (one of them alone can
    stop at a worse local optimum of the restricted likelihood)."""
    import warnings

    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("lbfgs", "bfgs"):
            try:
                fits.append(model.fit(reml=True, method=method, maxiter=2000))
            except (np.linalg.LinAlgError, ValueError):
                continue
    return max(fits, key=lambda f: f.llf)


def mixedlm_user_crossed(pu: pd.DataFrame, a: str, b: str, single_seed=False) -> dict:
    """statsmodels MixedLM (REML) with R's crossed structure, (1|user) + (1|seed) + (1|seed:user)
    + (1|config:user), as variance components of one single group (one seed: (1|user) only).

    Returns estimate, SE (statsmodels': from the inverse of the joint observed information of the
    fixed effects and the variance parameters; lme4 uses (X' V^-1 X)^-1, which is the same only
    in balanced designs), and the variance components (user, seed, us, cu, residual).
    """
    d = pair_frame(pu, a, b)
    vc = {"user": "0 + C(user)"} if single_seed else {
        "user": "0 + C(user)", "seed": "0 + C(seed)", "us": "0 + C(us)", "cu": "0 + C(cu)"}
    model = sm.MixedLM.from_formula("value ~ cfg", data=d, groups="g", re_formula="0",
                                    vc_formula=vc)
    fit = _best_fit(model)
    var = dict(zip(model.exog_vc.names, np.asarray(fit.vcomp, dtype=float)))
    var["residual"] = float(fit.scale)
    return {"estimate": float(fit.fe_params["cfg"]),
            "SE": float(np.sqrt(fit.cov_params().loc["cfg", "cfg"])), "variances": var}


class CrossedREML:
    """Dense REML fit of value ~ config + (1|user) + (1|seed) + (1|seed:user) + (1|config:user)
    on the rows of two configurations a, b, written out (variance components as log variances).

    For the Satterthwaite df of the contrast (Satterthwaite 1946; Kuznetsova et al. 2017):
    df = 2 f(theta)^2 / (grad f' A grad f), f = Var(beta_config) = [(X' V^-1 X)^-1]_11,
    A = 2 H^-1 with H the Hessian of the REML deviance (-2 log restricted likelihood) at the
    optimum; at an interior optimum the df does not depend on how the variance parameters are
    written. Small data only (dense n x n).
    """

    COMPONENTS = ("user", "seed", "us", "cu")

    def __init__(self, pu: pd.DataFrame, a: str, b: str, start: dict | None = None):
        d = pair_frame(pu, a, b)
        self.y = d["value"].to_numpy(float)
        self.X = np.column_stack([np.ones(len(d)), d["cfg"].to_numpy(float)])
        self.ZZ = []
        for comp in self.COMPONENTS:
            codes = d[comp].to_numpy()
            Z = np.zeros((len(codes), codes.max() + 1))
            Z[np.arange(len(codes)), codes] = 1.0
            self.ZZ.append(Z @ Z.T)
        self.n = len(self.y)
        self.fit(start)

    def V(self, logv: np.ndarray) -> np.ndarray:
        v = np.exp(logv)
        out = v[-1] * np.eye(self.n)
        for vi, zz in zip(v[:-1], self.ZZ):
            out = out + vi * zz
        return out

    def _xtvix(self, logv):
        """(log|V|, X' V^-1 y, X' V^-1 X, y' V^-1 y) at log variances ``logv``."""
        cf = linalg.cho_factor(self.V(logv), lower=True, check_finite=False)
        Xy = np.column_stack([self.X, self.y])
        M = Xy.T @ linalg.cho_solve(cf, Xy, check_finite=False)
        k = self.X.shape[1]
        return 2 * np.sum(np.log(np.diag(cf[0]))), M[:k, k], M[:k, :k], M[k, k]

    def deviance(self, logv) -> float:
        logdet, Xty, XtViX, yty = self._xtvix(logv)
        beta = np.linalg.solve(XtViX, Xty)
        return float(logdet + np.linalg.slogdet(XtViX)[1] + yty - Xty @ beta)

    def fit(self, start: dict | None = None):
        """Minimise the REML deviance over log variances: from ``start`` (e.g. another fit's
        variance components) or a rough start refined by Nelder-Mead; then BFGS to gtol 1e-10."""
        k = len(self.COMPONENTS) + 1
        if start is not None:
            v0 = np.log([max(start[c], 1e-8) for c in (*self.COMPONENTS, "residual")])
        else:
            v0 = np.log(np.full(k, np.var(self.y) / k))
            v0 = optimize.minimize(self.deviance, v0, method="Nelder-Mead",
                                   options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 5000}).x
        res = optimize.minimize(self.deviance, v0, method="BFGS", options={"gtol": 1e-10})
        self.logv = res.x
        self.variances = dict(zip((*self.COMPONENTS, "residual"), np.exp(self.logv)))
        _, Xty, XtViX, _ = self._xtvix(self.logv)
        self.cov_beta = np.linalg.inv(XtViX)
        self.beta = self.cov_beta @ Xty

    def _var_contrast(self, logv) -> float:
        return float(np.linalg.inv(self._xtvix(logv)[2])[1, 1])

    def contrast(self, h: float = 1e-3) -> tuple[float, float, float]:
        """(estimate, SE, Satterthwaite df) of config a - config b."""
        x, k = self.logv, len(self.logv)
        E = np.eye(k) * h
        f = self._var_contrast
        grad = np.array([(f(x + E[i]) - f(x - E[i])) / (2 * h) for i in range(k)])
        H = np.zeros((k, k))
        D = self.deviance
        for i in range(k):
            for j in range(i, k):
                H[i, j] = H[j, i] = (D(x + E[i] + E[j]) - D(x + E[i] - E[j])
                                     - D(x - E[i] + E[j]) + D(x - E[i] - E[j])) / (4 * h * h)
        A = 2 * np.linalg.inv(H)
        fv = f(x)
        return float(self.beta[1]), float(np.sqrt(fv)), float(2 * fv ** 2 / (grad @ A @ grad))


# ---- bootstrap, paired tests -----------------------------------------------------------------


def cluster_boot(m: pd.DataFrame, index: np.ndarray) -> np.ndarray:
    """Bootstrap means of d with users resampled by ``index`` (0-based into sorted users)."""
    users = np.sort(pd.unique(m["user"]))
    pos = np.searchsorted(users, m["user"].to_numpy())
    s = np.bincount(pos, weights=m["d"].to_numpy(), minlength=len(users))
    n = np.bincount(pos, minlength=len(users)).astype(float)
    return s[index].sum(axis=1) / n[index].sum(axis=1)


def boot_row(boot: np.ndarray, test: str, margin: float, alpha: float) -> dict:
    lv = 1 - alpha if test == "superiority" else 1 - 2 * alpha
    lo, hi = np.quantile(boot, [(1 - lv) / 2, 1 - (1 - lv) / 2], method="linear")
    if test == "superiority":
        verdict = "better" if lo > 0 else "worse" if hi < 0 else "inconclusive"
    elif test == "equivalence":
        verdict = "equivalent" if (lo > -margin and hi < margin) else "not shown equivalent"
    else:
        verdict = "non-inferior" if lo > -margin else "not shown non-inferior"
    return {"boot_SE": np.std(boot, ddof=1), "CI_low": lo, "CI_high": hi, "ci_level": lv,
            "verdict": verdict}


def rank_biserial(d: np.ndarray, ci: float = 0.95) -> tuple[float, float, float]:
    """Matched-pairs rank-biserial of the non-zero differences with its Fisher-z CI."""
    nz = d[d != 0]
    n = len(nz)
    if n == 0:
        return np.nan, np.nan, np.nan
    if len(np.unique(nz)) == 1:
        return float(np.sign(nz[0])), np.nan, np.nan
    ranks = stats.rankdata(np.abs(nz))  # average ranks of |d|
    total = n * (n + 1) / 2
    r = (ranks[nz > 0].sum() - ranks[nz < 0].sum()) / total
    se = np.sqrt((2 * n ** 3 + 3 * n ** 2 + n) / 6) / total
    z = stats.norm.ppf(1 - (1 - ci) / 2)
    return r, np.tanh(np.arctanh(r) - z * se), np.tanh(np.arctanh(r) + z * se)


def paired(d: np.ndarray, alpha: float) -> dict:
    """Paired t, Wilcoxon signed-rank (V = sum of positive ranks, normal approximation with
    continuity correction, zeros dropped), d_z and the rank-biserial of the differences."""
    out = {"n": len(d), "mean": d.mean(), "median": np.median(d), "zeros": int(np.sum(d == 0))}
    sd = np.std(d, ddof=1)
    if sd > 0:
        t = stats.ttest_1samp(d, 0.0)
        out.update(t=t.statistic, df=len(d) - 1, p_t=t.pvalue, d_z=d.mean() / sd)
    else:  # constant differences: no t statistic (R's t.test keeps df = n - 1 then)
        out.update(t=np.nan, df=len(d) - 1, p_t=np.nan, d_z=np.nan)
    nz = d[d != 0]
    if len(nz):
        ranks = stats.rankdata(np.abs(nz))
        out["V"] = ranks[nz > 0].sum()
        # R's wilcox.test: exact only for n < 50 non-zero differences without ties or zeros;
        # else the normal approximation with tie-corrected variance and continuity correction
        exact = len(nz) < 50 and len(nz) == len(d) and len(np.unique(np.abs(nz))) == len(nz)
        out["exact"] = exact
        out["p_w"] = stats.wilcoxon(d, zero_method="wilcox", correction=not exact,
                                    method="exact" if exact else "approx").pvalue
    else:
        out["V"], out["p_w"] = 0.0, np.nan  # no non-zero difference: V = 0 (empty sum), no p
        out["exact"] = False
    out["rb"] = rank_biserial(d, 1 - alpha)
    return out


# ---- design ------------------------------------------------------------------------------------


def identical_configs(configs: list, r: pd.DataFrame, pu: pd.DataFrame | None) -> dict:
    """config -> the earlier configuration whose (seed, user, value) rows (or, without per-user
    rows, whose per-seed run values) are exactly equal."""
    def key(cfg):
        if pu is not None:
            d = pu.loc[pu["config"] == cfg, ["seed", "user", "value"]]
            if not len(d):
                return None
            return d.sort_values(["seed", "user"]).to_numpy(dtype=float)
        return r.loc[r["config"] == cfg, ["seed", "value"]].sort_values("seed").to_numpy(float)

    keys = [key(c) for c in configs]
    out: dict = {}
    for i, ci in enumerate(configs):
        if keys[i] is None or ci in out:
            continue
        for j in range(i + 1, len(configs)):
            cj = configs[j]
            if cj in out or keys[j] is None:
                continue
            if keys[i].shape == keys[j].shape and np.array_equal(keys[i], keys[j]):
                out[cj] = ci
    return out


def is_balanced(pu: pd.DataFrame) -> bool:
    """Every (user, seed) pair observed exactly once under every configuration."""
    n_cfg = pu["config"].nunique()
    counts = pu.groupby(["user", "seed"])["config"].agg(["nunique", "size"])
    return bool(((counts["nunique"] == n_cfg) & (counts["size"] == n_cfg)).all())
