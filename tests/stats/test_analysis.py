"""The planned analysis (R ``pyrec_analysis``) checked statistic by statistic against independent
Python computations (numpy / scipy / statsmodels, in ``_oracle.py``; no R, no pyrec.stats code).

The user-level model is R's current one: fitted per contrast on its two configurations,
value ~ config + (1|user) + (1|seed) + (1|seed:user) + (1|config:user) (one seed:
value ~ config + (1|user)).

Tolerances (relative unless said otherwise):

* 1e-6: everything with a closed form computed the same way on both sides (seed-level OLS
  contrasts, t / TOST / non-inferiority statistics, p-values and CIs, F tests, p-value
  adjustment, paired t, d_z, Wilcoxon V and p, rank-biserial and its CI, MDE, seeds needed, cost
  ratios, means). User-level t / p / CI from R's own estimate, SE and df: 1e-8.
* 1e-10 (and 1e-12 absolute): the user-cluster bootstrap with a given ``boot_index`` (the same
  arithmetic on the same draws; a type-7 quantile is numpy's "linear").
* User level, every user in every seed (complete balanced design): the REML estimates are those
  of the ANOVA strata (``_oracle.balanced_reml``, exact, boundaries included): estimate 1e-8,
  SE 1e-4 (lme4 stops its optimiser at a gradient tolerance), variance components 1e-3 (and
  1e-3 of the residual variance absolute), Satterthwaite df = U - 1 (the paired t on the users'
  seed-averaged differences) 2.5e-4 (lmerTest differentiates numerically). statsmodels MixedLM
  (REML, d ~ 1 + (1|user) on the differences, the part of the likelihood that carries the
  contrast): estimate 1e-6, SE 1e-4. Where the user x config variance is below 1e-3 of the
  residual (near the boundary, optimisers stop early): MixedLM SE 1e-3 and df 5e-2.
* User level, each (user, seed) pair under both configurations but users missing seeds: the
  one-way REML of the differences over users (``_oracle.OneWayREML``): estimate 1e-6, SE 1e-4,
  df 1e-3, variances 5e-3 (lme4's optimum of a flat REML surface moves by ~3e-3 between
  processes); MixedLM of the differences: estimate 1e-5, SE 1e-4.
* User level, unbalanced (pairs missing): a dense REML of R's crossed model written out
  (``_oracle.CrossedREML``: GLS, finite-difference Satterthwaite df): estimate, SE, df and
  variance components 1e-4; MixedLM with the crossed components of one single group: estimate
  1e-5 and variance components 1e-3, but its SE inverts the joint information of fixed and
  variance parameters (lme4 uses (X'V^-1X)^-1; equal only in balanced designs): 2e-2.
* Shapiro-Wilk: scipy and R both implement Royston's AS R94 algorithm (scipy partly in single
  precision): W 1e-5, p-value 1e-3.
* Bootstrap without ``boot_index``: R's and numpy's draws differ, so the percentile CI is compared
  with a Monte-Carlo tolerance (see the test).
"""

from __future__ import annotations

import os
from pathlib import Path

import _oracle as O
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.r

METRIC = "ndcg@10"
COSTS = ["train_time_s", "model_size_mib", "encoder_size_mib", "latency_p50_ms",
         "latency_p99_ms", "throughput_users_s"]
KEY = ("dataset", "split", "protocol")
DEFAULT_RESULTS = Path(__file__).parent / "data" / "ml100k-default"
B = 300  # bootstrap replicates in the exact cross-checks
SYN = {"dataset": "syn", "split": "ratio", "protocol": "full-ranking"}  # the synthetic unit

# config label -> (architecture, model, optimization, backend, simulated, mean per-user NDCG)
META = {
    "hybrid@cpu": ("hybrid", "hybrid", "none", "cpu", False, 0.30),
    "lightgcn@cpu": ("gnn", "lightgcn", "none", "cpu", False, 0.26),
    "llm@cpu": ("llm", "llm", "none", "cpu", False, 0.24),
    "hybrid+quantization@cpu": ("hybrid", "hybrid", "quantization", "cpu", False, 0.298),
}
Q_DEFAULT = [("Q1", "hybrid@cpu", "lightgcn@cpu", "superiority"),
             ("Q1", "hybrid@cpu", "llm@cpu", "superiority"),
             ("Q2", "hybrid+quantization@cpu", "hybrid@cpu", "equivalence")]


# ---- synthetic experiments -------------------------------------------------------------------


def make_per_user(n_users=30, seeds=(0, 1, 2), configs=tuple(META), rng=0, shift=0.0,
                  meta=META) -> pd.DataFrame:
    """Per-user NDCG: config mean + user + user:config + seed + user:seed effects + noise,
    clipped to [0, 1] and rounded to multiples of 1/32 (exact in binary: ties and zero
    differences on purpose)."""
    rng = np.random.default_rng(rng)
    ue = rng.normal(0, 0.10, n_users)
    se = rng.normal(0, 0.05, len(seeds))
    use = rng.normal(0, 0.08, (n_users, len(seeds)))
    rows = []
    for cfg in configs:
        mu = meta[cfg][5] + shift
        uc = rng.normal(0, 0.06, n_users)  # user x configuration
        for j, s in enumerate(seeds):
            v = mu + ue + uc + se[j] + use[:, j] + rng.normal(0, 0.08, n_users)
            v = np.round(np.clip(v, 0, 1) * 32) / 32
            rows.append(pd.DataFrame({"run_id": f"{cfg}-s{s}", "config": cfg, "seed": s,
                                      "user": np.arange(n_users), "metric": "ndcg", "k": 10,
                                      "value": v}))
    return pd.concat(rows, ignore_index=True)


def make_runs(pu: pd.DataFrame, meta=META, protocol="full-ranking", rng=1) -> pd.DataFrame:
    """runs.parquet-shaped rows: ndcg@10 = mean of the run's per-user values, plus cost metrics."""
    rng = np.random.default_rng(rng)
    out = []
    for (run_id, cfg, seed), g in pu.groupby(["run_id", "config", "seed"], sort=False):
        arch, model, opt, backend, sim, _ = meta[cfg]
        base = {"run_id": run_id, "dataset": "syn", "split": "ratio", "protocol": protocol,
                "seed": seed, "architecture": arch, "model": model, "optimization": opt,
                "backend": backend, "config": cfg, "simulated": sim}
        out.append({**base, "metric": METRIC, "value": g["value"].mean()})
        out.append({**base, "metric": "train_time_s", "value": rng.uniform(5, 50)})
        out.append({**base, "metric": "model_size_mib", "value": rng.uniform(1, 9)})
        if sim:
            out.append({**base, "metric": "latency_p50_ms", "value": rng.uniform(1, 2)})
    return pd.DataFrame(out)


def boot_index_for(n_users: int, rng=11, b=B) -> np.ndarray:
    return np.random.default_rng(rng).integers(0, n_users, size=(b, n_users))


def contrasts_of(spec, margin=0.005) -> list[dict]:
    return [{"question": q, "config": a, "baseline": b, "test": t,
             "margin": margin if len(x) == 4 else x[4]}
            for x in spec for q, a, b, t in [x[:4]]]


def run(runs, pu, plan, boot_index=None):
    from pyrec.stats import analysis

    return analysis(runs, pu, plan, boot_index=boot_index)


# ---- comparison helpers ----------------------------------------------------------------------


def as_float(x) -> np.ndarray:
    """Numbers (pandas NA -> NaN) as a float array."""
    return pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(x, dtype=object))),
                         errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def close(got, want, rtol=1e-6, atol=0.0, what=""):
    np.testing.assert_allclose(as_float(got), as_float(want),
                               rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def unit_rows(tab: pd.DataFrame | None, key: dict) -> pd.DataFrame:
    if tab is None:
        return pd.DataFrame()
    m = np.ones(len(tab), dtype=bool)
    for k, v in key.items():
        m &= tab[k].astype(str).to_numpy() == str(v)
    return tab[m].reset_index(drop=True)


def fmt_p(p):
    return "NA" if p is None or np.isnan(p) else "< 1e-4" if p < 1e-4 else f"{p:.3g}"


def expected_verdict(c, ps, pu_, es, eu, alpha, higher=True):
    """The intersection-union verdict of stats_design.R, rewritten."""
    def ok(p):
        return p is not None and not np.isnan(p) and p < alpha

    def ran(e):
        return e is not None and not np.isnan(e)

    why_s = "the seed-level analysis was not run (it needs 2 seeds)"
    why_u = "the user-level analysis was not run (no per-user results for this metric)"

    def one(shown, level, run_other, why_other):
        if run_other:
            other = "users" if level == "splits" else "splits"
            return f"{shown} over {level} only; not shown over {other}"
        return f"{shown} over {level}; {why_other}"

    mg = c["margin"]
    s_run, u_run = ran(es), ran(eu)
    if c["test"] == "superiority":
        ds = np.sign(es) if s_run else 0
        du = np.sign(eu) if u_run else 0
        up = ds > 0 if ds != 0 else du > 0
        word = "better" if up == higher else "worse"
        if ok(ps) and ok(pu_) and ds == du:
            return f"{word}, over splits and over users"
        if ok(ps):
            return one(word, "splits", u_run, why_u)
        if ok(pu_):
            return one(word, "users", s_run, why_s)
        tail = f"; {why_s}" if not s_run else (f"; {why_u}" if not u_run else "")
        return "no difference shown (not the same: see the equivalence margin and the MDE)" + tail
    shown = (f"equivalent within \u00b1{mg:g}" if c["test"] == "equivalence"
             else f"non-inferior (margin {mg:g})")
    if ok(ps) and ok(pu_):
        return f"{shown}, over splits and over users"
    if ok(ps):
        return one(shown, "splits", u_run, why_u)
    if ok(pu_):
        return one(shown, "users", s_run, why_s)
    return (f"not shown equivalent within \u00b1{mg:g}" if c["test"] == "equivalence"
            else f"not shown non-inferior (margin {mg:g})")


def check_unit(res: dict, runs: pd.DataFrame, pu: pd.DataFrame | None, plan: dict,
               contrasts: list[dict], *, key: dict, boot_index=None,
               unbalanced_tol=1e-4) -> dict:
    """Check every table of one analysis unit against the references; returns some facts."""
    alpha, power = plan.get("alpha", 0.05), plan.get("power", 0.8)
    padj = plan.get("p_adjust", "holm")
    r_all = runs[runs["metric"] == METRIC]
    r = r_all.groupby(["config", "seed"], sort=False, as_index=False)["value"].mean()
    configs = list(pd.unique(r_all["config"]))
    meta = r_all.drop_duplicates("config").set_index("config")
    same = O.identical_configs(configs, r, pu)
    keep = [c for c in configs if c not in same]
    seeds = sorted(pd.unique(r["seed"]))
    facts = {"identical": same, "keep": keep}

    # -- design
    des = unit_rows(res["design"], key)
    assert list(des["config"]) == configs
    for _, row in des.iterrows():
        cfg = row["config"]
        assert row["architecture"] == meta.loc[cfg, "architecture"]
        assert row["optimization"] == meta.loc[cfg, "optimization"]
        assert row["backend"] == meta.loc[cfg, "backend"]
        assert bool(row["simulated"]) == bool(meta.loc[cfg, "simulated"])
        assert row["n_seeds"] == r.loc[r["config"] == cfg, "seed"].nunique()
        if pu is not None:
            assert row["n_users"] == pu.loc[pu["config"] == cfg, "user"].nunique()
        close(row["mean"], r.loc[r["config"] == cfg, "value"].mean(), what=f"design mean {cfg}")
        want = "analysed" if cfg not in same else (
            f"identical to {same[cfg]} (bit-identical per-user results); not tested"
            if pu is not None else
            f"identical to {same[cfg]} (equal run-level values in every seed); not tested")
        assert row["status"] == want

    # -- planned contrasts and their representatives in the models
    con = []
    for c in contrasts:
        c = dict(c)
        c["config_m"] = same.get(c["config"], c["config"])
        c["baseline_m"] = same.get(c["baseline"], c["baseline"])
        c["identical"] = c["config_m"] == c["baseline_m"]
        con.append(c)
    testable = [c for c in con if not c["identical"]]
    pairs = [(c["config"], c["baseline"]) for c in testable]

    def rows_are(tab, what):
        assert list(zip(tab["config"], tab["baseline"])) == pairs, what
        assert list(tab["question"]) == [c["question"] for c in testable], what
        if "test" in tab and what != "paired":
            assert list(tab["test"]) == [c["test"] for c in testable], what

    # -- seed level and blocking
    seed_ref = blk = None
    sl = unit_rows(res.get("seed_level"), key)
    if len(seeds) >= 2 and testable:
        seed_ref, blk = O.seed_level(r[r["config"].isin(keep)], testable, alpha)
        rows_are(sl, "seed_level")
        for col in ("estimate", "relative", "SE", "df", "statistic", "p_value", "CI_low",
                    "CI_high", "ci_level"):
            close(sl[col], seed_ref[col], rtol=1e-6, atol=1e-300, what=f"seed_level {col}")
        close(sl["margin"], [np.nan if c["test"] == "superiority" else c["margin"]
                             for c in testable], what="seed_level margin")
        seed_ref["p_adj"] = O.adjust_by(seed_ref["p_value"], seed_ref["question"], padj)
        close(sl["p_adj"], seed_ref["p_adj"], rtol=1e-6, atol=1e-300, what="seed_level p_adj")
        bl = unit_rows(res["blocking"], key)
        assert len(bl) == 2 and bl["model"].iloc[0].startswith("value ~ config + seed")
        close(bl["df_residual"], blk["df_residual"], what="blocking df")
        close(bl["ms_residual"], blk["ms_residual"], what="blocking ms_residual")
        close(bl["seed_F"].iloc[0], blk["seed_F"], what="seed F")
        assert bl["seed_df"].iloc[0] == blk["seed_df"]
        close(bl["seed_p"].iloc[0], blk["seed_p"], atol=1e-300, what="seed p")
        assert np.isnan(bl["seed_F"].iloc[1]) and np.isnan(bl["seed_p"].iloc[1])
        close(bl["config_F"], blk["config_F"], what="config F")
        close(bl["config_p"], blk["config_p"], atol=1e-300, what="config p")
        close(bl["shapiro_W"], [s.statistic for s in blk["shapiro"]], rtol=1e-5, what="SW W")
        close(bl["shapiro_p"], [s.pvalue for s in blk["shapiro"]], rtol=1e-3, what="SW p")
    else:
        assert sl.empty
        if len(seeds) < 2:
            sk = res["skipped"]
            assert any((sk["table"] == "seed_level") & sk["reason"].str.contains("one seed"))
            assert unit_rows(res.get("blocking"), key).empty

    # -- user level
    ul = unit_rows(res.get("user_level"), key)
    bt = unit_rows(res.get("bootstrap"), key)
    pt = unit_rows(res.get("paired"), key)
    if pu is None or not testable:
        assert ul.empty and bt.empty and pt.empty
        return facts
    pk = pu[pu["config"].isin(keep)]
    rows_are(ul, "user_level")
    notes = notes_of(res)
    multi_seed = pk["seed"].nunique() > 1
    facts["balanced"] = []
    for i, c in enumerate(testable):
        row = ul.iloc[i]
        a, b = c["config_m"], c["baseline_m"]
        sub = pk[pk["config"].isin([a, b])]
        assert row["n_obs"] == len(sub) and row["n_users"] == sub["user"].nunique()
        what = f"user_level {a} - {b}"
        if (O.user_diffs(sub, a, b)["d"] == 0).all():
            # every matched difference is 0: no model is fitted (nothing varies), p is NA and a
            # note says why
            assert row["estimate"] == 0 and np.isnan(row["SE"]) and np.isnan(row["p_value"]), what
            assert any(n.startswith("every matched per-user difference is 0 for "
                                    f"{c['config']} vs {c['baseline']}") for n in notes), notes
            facts.setdefault("degenerate", []).append((a, b))
            continue
        assert row["ddf"] == plan.get("ddf", "Satterthwaite")
        balanced = O.is_balanced(sub)
        complete = balanced and O.is_complete(sub, a, b)
        facts["balanced"].append(balanced)
        singular_r = f"{c['config']} vs {c['baseline']}" in " ".join(
            n for n in notes if n.startswith("singular mixed-model fit"))
        scale = row["SE"]  # absolute tolerances of estimates: relative to their SE
        if complete:
            # every user in every seed: exact REML of the balanced design through its strata
            # (boundaries included), the paired t on seed-averaged differences, statsmodels MixedLM
            ref = O.balanced_reml(sub, a, b)
            # R calls a fit singular only when the exact REML optimum is on a boundary (lme4 may
            # stop just inside a boundary, theta > 1e-4, and not say so: no converse check)
            assert ref["any_zero"] or not singular_r, what + " singular fit"
            close(row["estimate"], ref["estimate"], rtol=1e-8, atol=1e-8 * scale,
                  what=what + " est")
            close(row["SE"], ref["SE"], rtol=1e-4, what=what + " SE (strata REML)")
            if multi_seed:
                mx = O.mixedlm_diffs(O.user_diffs(sub, a, b))
            else:
                mx = O.mixedlm_user_crossed(sub, a, b, single_seed=True)
            close(row["estimate"], mx["estimate"], rtol=1e-6, atol=1e-6 * scale,
                  what=what + " est (MixedLM)")
            # a user x config variance below 1e-3 of the residual one: near the boundary, where
            # the optimisers (lme4's and statsmodels') stop early and lmerTest's numerical
            # Hessian is poor: looser tolerances there (SE 1e-3, Satterthwaite df 5e-2)
            tiny = multi_seed and ref["variances"]["cu"] < 1e-3 * ref["variances"]["residual"]
            facts.setdefault("tiny", []).append(bool(tiny))
            if not ref["boundary"]:  # statsmodels' optimisers are unreliable at a boundary
                close(row["SE"], mx["SE"], rtol=1e-3 if tiny else 1e-4, what=what + " SE (MixedLM)")
            # variance components: 1e-3 relative, and 1e-3 of the residual variance absolute
            # (lme4 stops at its gradient tolerance; a variance component much smaller than the
            # residual one is known only to ~1e-3 of it in theta = sd ratio terms)
            v = ref["variances"]
            close(row["var_residual"], v["residual"], rtol=1e-3, what=what + " var_residual")
            if multi_seed:
                close(row["var_user_config"], v["cu"], rtol=1e-3, atol=1e-3 * v["residual"],
                      what=what + " var_user_config")
            else:
                assert np.isnan(row["var_user_config"])
            if ref["boundary"]:
                facts.setdefault("singular", []).append((a, b))
                assert row["df"] > 0
            else:
                pt_ref = O.paired_user_means(sub, a, b)
                close(row["SE"], pt_ref["SE"], rtol=1e-4, what=what + " SE (paired t)")
                # lmerTest differentiates the REML deviance numerically: 1e-4 at best, 2.5e-4 seen
                # on the real grid (941.90 for 942)
                close(row["df"], pt_ref["df"], rtol=5e-2 if tiny else 2.5e-4,
                      what=what + " Satterthwaite df = U - 1")
        elif balanced and multi_seed:
            # every (user, seed) pair has both configurations but users miss some seeds: the
            # contrast is the one-way REML of the differences over users (see OneWayREML), and
            # statsmodels MixedLM of d ~ 1 + (1|user)
            m = O.user_diffs(sub, a, b)
            ow = O.OneWayREML(m)
            est, se, df = ow.contrast()
            if singular_r:
                facts.setdefault("singular", []).append((a, b))
            close(row["estimate"], est, rtol=1e-6, atol=1e-6 * scale, what=what + " est (1-way)")
            close(row["SE"], se, rtol=1e-4, what=what + " SE (1-way REML)")
            close(row["df"], df, rtol=1e-3, what=what + " Satterthwaite df (1-way REML)")
            # variance components: lme4's optimum moves by up to ~3e-3 between processes on the
            # same data (a flat REML surface; seen 0.0085319 vs 0.0085565), while estimate and SE
            # stay within 1e-4: compare them at 5e-3
            close(row["var_residual"], ow.variances["residual"], rtol=5e-3, what=what + " var_res")
            close(row["var_user_config"], ow.variances["cu"], rtol=5e-3,
                  atol=1e-4 * ow.variances["residual"], what=what + " var_user_config")
            mx = O.mixedlm_diffs(m)
            close(row["estimate"], mx["estimate"], rtol=1e-5, atol=1e-5 * scale,
                  what=what + " est (MixedLM)")
            close(row["SE"], mx["SE"], rtol=1e-4, what=what + " SE (MixedLM components)")
        else:
            # unbalanced: the contrast depends on the variance components. References: MixedLM
            # with the crossed components of one single group (its estimate and variance
            # components; its SE inverts the joint information of fixed and variance parameters,
            # unlike lme4's (X'V^-1X)^-1, so it is compared loosely), and a dense REML written
            # out (CrossedREML) with (X'V^-1X)^-1 and the Satterthwaite df
            assert multi_seed, "an unbalanced single-seed case is not built here"
            mx = O.mixedlm_user_crossed(sub, a, b)
            close(row["estimate"], mx["estimate"], rtol=1e-5, atol=1e-5 * scale,
                  what=what + " est (MixedLM)")
            close(row["SE"], mx["SE"], rtol=2e-2,
                  what=what + " SE (MixedLM, differs by construction)")
            close(row["var_residual"], mx["variances"]["residual"], rtol=1e-3,
                  what=what + " var_residual (MixedLM)")
            close(row["var_user_config"], mx["variances"]["cu"], rtol=1e-3,
                  what=what + " var_user_config (MixedLM)")
            reml = O.CrossedREML(sub, a, b, start=mx["variances"])
            est, se, df = reml.contrast()
            close(row["estimate"], est, rtol=unbalanced_tol, atol=unbalanced_tol * scale,
                  what=what + " est (own REML)")
            close(row["SE"], se, rtol=unbalanced_tol, what=what + " SE (own REML)")
            close(row["df"], df, rtol=unbalanced_tol, what=what + " Satterthwaite df (own REML)")
            close(row["var_residual"], reml.variances["residual"], rtol=unbalanced_tol,
                  what=what + " var_residual (own REML)")
            close(row["var_user_config"], reml.variances["cu"], rtol=unbalanced_tol,
                  what=what + " var_user_config (own REML)")
    for i, c in enumerate(testable):
        row = ul.iloc[i]
        tt = O.contrast_test(row["estimate"], row["SE"], row["df"], c["test"], c["margin"], alpha)
        for col, v in tt.items():
            close(row[col], v, rtol=1e-8, atol=1e-300, what=f"user_level {col}")
        base = pk.loc[pk["config"] == c["baseline_m"], "value"].mean()
        close(row["relative"], row["estimate"] / base, rtol=1e-10, what="user relative")
    close(ul["p_adj"], O.adjust_by(ul["p_value"], ul["question"], padj), rtol=1e-8,
          atol=1e-300, what="user_level p_adj")

    # -- bootstrap
    rows_are(bt, "bootstrap")
    diffs = [O.user_diffs(pk, c["config_m"], c["baseline_m"]) for c in testable]
    for i, (c, m) in enumerate(zip(testable, diffs)):
        row = bt.iloc[i]
        close(row["estimate"], m["d"].mean(), rtol=1e-10, atol=1e-15, what="boot estimate")
        assert row["n_pairs"] == len(m) and row["n_users"] == m["user"].nunique()
        if boot_index is not None:
            assert boot_index.shape[1] == m["user"].nunique()
            boot = O.cluster_boot(m, boot_index)
            want = O.boot_row(boot, c["test"], c["margin"], alpha)
            assert row["replicates"] == len(boot_index)
            for col in ("boot_SE", "CI_low", "CI_high", "ci_level"):
                close(row[col], want[col], rtol=1e-10, atol=1e-12, what=f"bootstrap {col}")
            assert row["verdict"] == want["verdict"]

    # -- paired tests
    assert list(pt["test"]) == ["paired t", "Wilcoxon signed-rank"] * len(testable)
    for i, (c, m) in enumerate(zip(testable, diffs)):
        ref = O.paired(m["d"].to_numpy(), alpha)
        t, w = pt.iloc[2 * i], pt.iloc[2 * i + 1]
        assert (t["config"], t["baseline"]) == (c["config"], c["baseline"])
        assert t["n"] == w["n"] == ref["n"]
        assert t["zero_differences"] == w["zero_differences"] == ref["zeros"]
        close(t["estimate"], ref["mean"], rtol=1e-10, atol=1e-15, what="paired mean")
        close(w["estimate"], ref["median"], rtol=1e-10, atol=1e-15, what="paired median")
        close(t["statistic"], ref["t"], what="paired t")
        close(t["df"], ref["df"], what="paired t df")
        close(t["p_value"], ref["p_t"], atol=1e-300, what="paired t p")
        assert t["effect_size_type"] == "cohens_d_z" and w["effect_size_type"] == "rank_biserial"
        close(t["effect_size"], ref["d_z"], what="d_z")
        close(w["statistic"], ref["V"], what="Wilcoxon V")
        close(w["p_value"], ref["p_w"], atol=1e-300, what="Wilcoxon p")
        close([w["effect_size"], w["es_CI_low"], w["es_CI_high"]], ref["rb"],
              what="rank-biserial and CI")
    for test in ("paired t", "Wilcoxon signed-rank"):
        sub = pt[pt["test"] == test]
        close(sub["p_adj"], O.adjust_by(sub["p_value"], sub["question"], padj), rtol=1e-8,
              atol=1e-300, what=f"paired p_adj {test}")

    # -- power
    pw = unit_rows(res.get("power"), key)
    rows_are(pw, "power")
    for i, c in enumerate(testable):
        row = pw.iloc[i]
        if seed_ref is not None:
            close(row["seed_SE"], seed_ref["SE"].iloc[i], what="power seed_SE")
            close(row["seed_mde"], O.mde(seed_ref["SE"].iloc[i], seed_ref["df"].iloc[i], c["test"],
                                         alpha, power), what="seed_mde")
            close(row["observed"], seed_ref["estimate"].iloc[i], what="observed")
        else:
            assert np.isnan(row["seed_mde"])
            close(row["observed"], ul["estimate"].iloc[i], what="observed (user)")
        close(row["user_mde"], O.mde(ul["SE"].iloc[i], ul["df"].iloc[i], c["test"], alpha, power),
              what="user_mde")
        if plan.get("target_mde") is not None:
            want = (O.seeds_needed(plan["target_mde"], blk["sigma2"], blk["n_configs"], c["test"],
                                   alpha, power) if blk is not None else np.nan)
            close(row["seeds_needed"], want, what="seeds_needed")
    if plan.get("target_mde") is not None and blk is not None:
        facts["seeds_needed"] = list(pw["seeds_needed"])

    # -- costs (Q2 and Q3, identical ones included)
    ct = unit_rows(res.get("costs"), key)
    want = []
    for c in con:
        if c["question"] not in ("Q2", "Q3"):
            continue
        for mt in COSTS:
            a = runs.loc[(runs["config"] == c["config"]) & (runs["metric"] == mt)]
            b = runs.loc[(runs["config"] == c["baseline"]) & (runs["metric"] == mt)]
            if len(a) and len(b):
                want.append((c["config"], c["baseline"], mt, a["value"].mean(), b["value"].mean(),
                             min(len(a), len(b)),
                             # only serving figures (latency, throughput) are simulated
                             bool(("latency" in mt or "throughput" in mt)
                                  and (a["simulated"].any() or b["simulated"].any()))))
    assert len(ct) == len(want)
    if want:
        w = pd.DataFrame(want, columns=["config", "baseline", "metric", "ma", "mb", "n", "sim"])
        assert list(ct["metric"]) == list(w["metric"]) and list(ct["config"]) == list(w["config"])
        close(ct["mean_config"], w["ma"], what="cost mean_config")
        close(ct["mean_baseline"], w["mb"], what="cost mean_baseline")
        close(ct["ratio"], w["ma"] / w["mb"], what="cost ratio")
        assert list(ct["seeds"]) == list(w["n"]) and list(ct["simulated"]) == list(w["sim"])

    # -- verdicts
    vt = unit_rows(res["contrasts"], key)
    assert list(zip(vt["config"], vt["baseline"])) == [(c["config"], c["baseline"]) for c in con]
    for c, (_, row) in zip(con, vt.iterrows()):
        if c["identical"]:
            assert row["verdict"] == "identical by construction (bit-identical results; not tested)"
            assert row["estimate"] == 0 and row["bootstrap"] == "identical"
            assert np.isnan(row["seed_p_adj"]) and np.isnan(row["user_p_adj"])
            continue
        j = pairs.index((c["config"], c["baseline"]))
        ma = r.loc[r["config"] == c["config"], "value"].mean()
        mb = r.loc[r["config"] == c["baseline"], "value"].mean()
        ps = seed_ref["p_adj"].iloc[j] if seed_ref is not None else np.nan
        # the answer's estimate is the primary analysis's: seed level, else user level
        want_est = (seed_ref["estimate"].iloc[j] if seed_ref is not None
                    else ul["estimate"].iloc[j] if len(ul) else ma - mb)
        close(row["estimate"], want_est, rtol=1e-8, atol=1e-15, what="verdict estimate")
        close(row["relative"], want_est / mb, rtol=1e-8, atol=1e-15, what="verdict relative")
        close(row["seed_p_adj"], ps, atol=1e-300, what="verdict seed_p_adj")
        close(row["user_p_adj"], ul["p_adj"].iloc[j], rtol=1e-12, what="verdict user_p_adj")
        assert row["bootstrap"] == bt["verdict"].iloc[j]
        es = seed_ref["estimate"].iloc[j] if seed_ref is not None else np.nan
        assert row["verdict"] == expected_verdict(c, ps, ul["p_adj"].iloc[j], es,
                                                  ul["estimate"].iloc[j], alpha)
    return facts


def notes_of(res) -> list[str]:
    return res["design"].attrs["design_notes"]


# ---- hand-built cases --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def balanced():
    pu = make_per_user()
    return make_runs(pu), pu


def test_balanced_default_plan(r_ready, balanced):
    runs, pu = balanced
    plan = {"bootstrap": B, "boot_seed": 3, "target_mde": 0.01}
    res = run(runs, pu, plan, boot_index=boot_index_for(30))
    facts = check_unit(res, runs, pu, plan, contrasts_of(Q_DEFAULT),
                       key=SYN,
                       boot_index=boot_index_for(30))
    # balanced, and the user x config variance is interior in every contrast: the closed-form
    # (paired t on seed-averaged differences) reference is exact
    assert all(facts["balanced"]) and not facts["identical"] and "singular" not in facts
    assert all(s >= 2 for s in facts["seeds_needed"])
    assert "skipped" not in res


def test_bh_adjustment_and_explicit_tests(r_ready, balanced):
    """p_adjust = BH, alpha 0.1, power 0.9, per-contrast margins, a non-inferiority test and
    three contrasts in one question (so BH and Holm differ)."""
    runs, pu = balanced
    spec = [("Q1", "hybrid@cpu", "lightgcn@cpu", "superiority"),
            ("Q1", "hybrid@cpu", "llm@cpu", "superiority"),
            ("Q1", "lightgcn@cpu", "llm@cpu", "superiority"),
            ("Q2", "hybrid+quantization@cpu", "hybrid@cpu", "equivalence", 0.03),
            ("Q2", "hybrid+quantization@cpu", "lightgcn@cpu", "noninferiority", 0.01),
            ("Q4", "llm@cpu", "hybrid@cpu", "noninferiority")]
    con = contrasts_of(spec, margin=0.02)
    plan = {"p_adjust": "BH", "alpha": 0.1, "power": 0.9, "margin": 0.02, "bootstrap": B,
            "contrasts": [{k: c[k] for k in ("question", "config", "baseline", "test")}
                           | ({"margin": c["margin"]} if len(s) == 5 else {})
                           for c, s in zip(con, spec)]}
    res = run(runs, pu, plan, boot_index=boot_index_for(30, rng=5))
    check_unit(res, runs, pu, plan, con, key=SYN,
               boot_index=boot_index_for(30, rng=5))
    sl = res["seed_level"]
    q1 = sl[sl["question"] == "Q1"]
    bh = O.adjust_by(q1["p_value"], q1["question"], "BH")
    holm = O.adjust_by(q1["p_value"], q1["question"], "holm")
    assert not np.allclose(bh, holm)  # the plan's method is really used
    assert (sl.loc[sl["test"] != "superiority", "ci_level"] == 0.8).all()


def test_bootstrap_without_index_is_reproducible_and_close_to_numpy(r_ready, balanced):
    runs, pu = balanced
    plan = {"bootstrap": 2000, "boot_seed": 5}
    a = run(runs, pu, plan)["bootstrap"]
    b = run(runs, pu, plan)["bootstrap"]
    pd.testing.assert_frame_equal(a, b)
    c = run(runs, pu, dict(plan, boot_seed=6))["bootstrap"]
    assert not np.allclose(a["CI_low"], c["CI_low"])
    rng = np.random.default_rng(123)
    for i, (_, q, cfg, base, test) in enumerate([(0, *x) for x in Q_DEFAULT]):
        m = O.user_diffs(pu, cfg, base)
        boot = O.cluster_boot(m, rng.integers(0, 30, size=(2000, 30)))
        want = O.boot_row(boot, test, 0.005, 0.05)
        row = a.iloc[i]
        # Monte-Carlo: a percentile endpoint of B = 2000 draws has sd about 0.06 boot_SE (0.09 for
        # a difference of two independent bootstraps); allow 4 of those, and 10% on the SE.
        tol = 0.35 * want["boot_SE"]
        assert abs(row["CI_low"] - want["CI_low"]) < tol
        assert abs(row["CI_high"] - want["CI_high"]) < tol
        assert row["boot_SE"] == pytest.approx(want["boot_SE"], rel=0.1)
        assert row["replicates"] == 2000


def test_unbalanced_design(r_ready):
    """llm@cpu lacks seed 2; lightgcn@cpu and hybrid+quantization@cpu lack some (user, seed)
    rows (every user keeps at least one seed, so all contrasts resample the same 30 users)."""
    pu = make_per_user(rng=4)
    pu = pu[~((pu["config"] == "llm@cpu") & (pu["seed"] == 2))]
    rng = np.random.default_rng(9)
    drop = pu.index[(pu["config"] == "lightgcn@cpu") & (pu["seed"] == 1)][rng.permutation(30)[:6]]
    pu = pu.drop(drop)
    pu = pu[~((pu["config"] == "hybrid+quantization@cpu") & (pu["seed"] == 0)
              & pu["user"].isin([3, 7, 11]))].reset_index(drop=True)
    runs = make_runs(pu)
    plan = {"bootstrap": B}
    res = run(runs, pu, plan, boot_index=boot_index_for(30, rng=2))
    facts = check_unit(res, runs, pu, plan, contrasts_of(Q_DEFAULT),
                       key=SYN,
                       boot_index=boot_index_for(30, rng=2))
    assert facts["balanced"] == [False, False, False]
    assert res["seed_level"]["df"].iloc[0] == 11 - 1 - 3 - 2  # 11 runs - 6 coefficients
    d = res["design"].set_index("config")
    assert d.loc["llm@cpu", "n_seeds"] == 2 and d.loc["hybrid@cpu", "n_seeds"] == 3


def test_protocol_mix_is_never_pooled(r_ready):
    pu1 = make_per_user(rng=21)
    pu2 = make_per_user(rng=22, shift=0.2)
    pu2["run_id"] = pu2["run_id"] + "-sampled"
    runs = pd.concat([make_runs(pu1), make_runs(pu2, protocol="sampled-100", rng=2)],
                     ignore_index=True)
    pu = pd.concat([pu1.assign(protocol="full-ranking"), pu2.assign(protocol="sampled-100")],
                   ignore_index=True)
    plan = {"bootstrap": B, "target_mde": 0.02}
    idx = boot_index_for(30, rng=8)
    res = run(runs, pu, plan, boot_index=idx)
    for name in ("contrasts", "design", "seed_level", "blocking", "user_level", "bootstrap",
                 "paired", "power", "costs"):
        assert set(res[name]["protocol"]) == {"full-ranking", "sampled-100"}, name
    assert any("never pooled" in n and "full-ranking" in n and "sampled-100" in n
               for n in notes_of(res))
    for proto, p in (("full-ranking", pu1), ("sampled-100", pu2)):
        check_unit(res, runs[runs["protocol"] == proto], p, plan, contrasts_of(Q_DEFAULT),
                   key={"dataset": "syn", "split": "ratio", "protocol": proto}, boot_index=idx)
    # one protocol's rows are exactly what that protocol alone gives
    alone = run(runs[runs["protocol"] == "sampled-100"],
                pu[pu["protocol"] == "sampled-100"], plan, boot_index=idx)
    for name in ("seed_level", "user_level", "bootstrap", "paired"):
        pd.testing.assert_frame_equal(
            unit_rows(res[name], {"protocol": "sampled-100"}), alone[name], check_exact=False,
            rtol=1e-8, check_dtype=False)


def test_duplicated_run_is_identical_by_construction(r_ready):
    meta = dict(META)
    meta["hybrid@deepspeed"] = ("hybrid", "hybrid", "none", "deepspeed", False, 0.30)
    meta["hybrid@fpga"] = ("hybrid", "hybrid", "none", "fpga-sim", True, 0.295)
    pu = make_per_user(rng=31, configs=(*META, "hybrid@fpga"), meta=meta)
    dup = pu[pu["config"] == "hybrid@cpu"].assign(
        config="hybrid@deepspeed", run_id=lambda x: x["run_id"].str.replace("@cpu", "@ds"))
    pu = pd.concat([pu, dup], ignore_index=True)
    runs = make_runs(pu, meta=meta)
    plan = {"bootstrap": B}
    res = run(runs, pu, plan, boot_index=boot_index_for(30, rng=3))
    spec = [*Q_DEFAULT, ("Q3", "hybrid@fpga", "hybrid@cpu", "equivalence"),
            ("Q3", "hybrid@deepspeed", "hybrid@cpu", "equivalence")]
    facts = check_unit(res, runs, pu, plan, contrasts_of(spec),
                       key=SYN,
                       boot_index=boot_index_for(30, rng=3))
    assert facts["identical"] == {"hybrid@deepspeed": "hybrid@cpu"}
    d = res["design"].set_index("config")
    assert d.loc["hybrid@deepspeed", "status"].startswith("identical to hybrid@cpu")
    v = res["contrasts"].set_index("config")
    assert v.loc["hybrid@deepspeed", "verdict"].startswith("identical by construction")
    for name in ("seed_level", "user_level", "bootstrap", "paired", "power"):
        assert "hybrid@deepspeed" not in set(res[name]["config"]), name
    # the model has 5 configurations (the duplicate left out): (5 - 1)(3 - 1) residual df
    assert (res["seed_level"]["df"] == 8).all()
    assert any("hybrid@deepspeed" in n and "identical" in n for n in notes_of(res))
    c = res["costs"]
    assert set(c["config"]) == {"hybrid+quantization@cpu", "hybrid@fpga", "hybrid@deepspeed"}
    fpga = c[c["config"] == "hybrid@fpga"].set_index("metric")["simulated"]
    assert not fpga.any()  # its training time and size are measured; only serving is simulated


def test_single_seed(r_ready):
    pu = make_per_user(seeds=(0,), rng=41)
    runs = make_runs(pu)
    plan = {"bootstrap": B, "target_mde": 0.01}
    res = run(runs, pu, plan, boot_index=boot_index_for(30, rng=4))
    assert "seed_level" not in res and "blocking" not in res
    sk = res["skipped"]
    assert list(sk["table"]) == ["seed_level"] and "one seed" in sk["reason"].iloc[0]
    assert any("single seed" in n for n in notes_of(res))
    assert any("value ~ config + (1 | user)" in n for n in notes_of(res))
    check_unit(res, runs, pu, plan, contrasts_of(Q_DEFAULT),
               key=SYN,
               boot_index=boot_index_for(30, rng=4))
    assert res["contrasts"]["seed_p_adj"].isna().all()
    assert res["power"]["seeds_needed"].isna().all() and res["power"]["seed_mde"].isna().all()


def test_two_models_under_one_label(r_ready):
    meta = dict(META)
    meta["llm@cpu"] = ("llm", "llm-a", "none", "cpu", False, 0.24)
    meta["llm@cpu#b"] = ("llm", "llm-b", "none", "cpu", False, 0.20)
    pu = make_per_user(rng=51, configs=(*META, "llm@cpu#b"), meta=meta)
    runs = make_runs(pu, meta=meta)
    runs["config"] = runs["config"].replace({"llm@cpu#b": "llm@cpu"})
    pu["config"] = pu["config"].replace({"llm@cpu#b": "llm@cpu"})
    plan = {"bootstrap": B}
    res = run(runs, pu, plan, boot_index=boot_index_for(30, rng=6))
    assert any("'llm@cpu' holds 2 models" in n for n in notes_of(res))
    split = {"llm-a": "llm@cpu [llm-a]", "llm-b": "llm@cpu [llm-b]"}
    runs_s = runs.copy()
    lab = runs_s["config"] == "llm@cpu"
    runs_s.loc[lab, "config"] = runs_s.loc[lab, "model"].map(split)
    pu_s = pu.copy()
    by_run = runs_s.drop_duplicates("run_id").set_index("run_id")["config"]
    pu_s["config"] = pu_s["run_id"].map(by_run)
    assert set(res["design"]["config"]) == {"hybrid@cpu", "lightgcn@cpu", "hybrid+quantization@cpu",
                                            "llm@cpu [llm-a]", "llm@cpu [llm-b]"}
    spec = [("Q1", "hybrid@cpu", "lightgcn@cpu", "superiority"),
            ("Q1", "hybrid@cpu", "llm@cpu [llm-a]", "superiority"),
            ("Q2", "hybrid+quantization@cpu", "hybrid@cpu", "equivalence")]
    check_unit(res, runs_s, pu_s, plan, contrasts_of(spec),
               key=SYN,
               boot_index=boot_index_for(30, rng=6))
    # cost ratios follow the split labels too (a Q3 contrast on a split configuration)
    plan_q3 = {"bootstrap": B, "contrasts": contrasts_of(
        [("Q3", "llm@cpu [llm-b]", "llm@cpu [llm-a]", "equivalence")])}
    costs = run(runs, pu, plan_q3, boot_index=boot_index_for(30, rng=6))["costs"]
    assert set(costs["config"]) == {"llm@cpu [llm-b]"} and len(costs) == 2  # train time, size
    want = (runs_s[(runs_s["config"] == "llm@cpu [llm-b]") & (runs_s["metric"] == COSTS[0])]["value"].mean()
            / runs_s[(runs_s["config"] == "llm@cpu [llm-a]") & (runs_s["metric"] == COSTS[0])]["value"].mean())
    close(costs.set_index("metric").loc[COSTS[0], "ratio"], want, what="split-label cost ratio")


def test_boot_index_of_the_wrong_width_is_refused_by_name(r_ready, balanced):
    runs, pu = balanced
    res = run(runs, pu, {"bootstrap": B}, boot_index=boot_index_for(29, rng=3))
    assert "bootstrap" not in res
    reason = res["skipped"].set_index("table").loc["bootstrap", "reason"]
    assert "boot_index must be a B x 30 matrix" in reason and "got 29 columns" in reason


@pytest.mark.filterwarnings("ignore:R pyrec_analysis\\(\\)")  # lme4: degenerate fit, expected
def test_zero_and_constant_differences(r_ready):
    """A configuration equal to hybrid@cpu on every shared (user, seed) but with one extra row
    (so not identical by construction): every difference 0, rank-biserial NaN, paired t and
    Wilcoxon NaN; another one higher by 1/32 on a few rows only: rank-biserial +1 without CI."""
    meta = dict(META)
    meta["hybrid+pruning@cpu"] = ("hybrid", "hybrid", "pruning", "cpu", False, 0.3)
    pu = make_per_user(rng=61, n_users=30)
    hyb = pu[pu["config"] == "hybrid@cpu"]
    q = hyb.assign(config="hybrid+quantization@cpu",
                   run_id=lambda x: x["run_id"].str.replace("@cpu", "+q"))
    extra = q.iloc[[0]].assign(user=30, value=0.5)
    pr = hyb.assign(config="hybrid+pruning@cpu",
                    run_id=lambda x: x["run_id"].str.replace("@cpu", "+p"))
    pr.loc[pr.index[:7], "value"] += 1 / 32
    pu = pd.concat([pu[pu["config"] != "hybrid+quantization@cpu"], q, extra, pr],
                   ignore_index=True)
    runs = make_runs(pu, meta=meta)
    plan = {"bootstrap": B}
    # the extra user 30 has no matched pair, so every contrast resamples the same 30 users
    idx = boot_index_for(30, rng=7)
    res = run(runs, pu, plan, boot_index=idx)
    spec = [*Q_DEFAULT, ("Q2", "hybrid+pruning@cpu", "hybrid@cpu", "equivalence")]
    facts = check_unit(res, runs, pu, plan, contrasts_of(spec),
                       key=SYN,
                       boot_index=idx)
    assert facts["degenerate"] == [("hybrid+quantization@cpu", "hybrid@cpu")]
    p = res["paired"].set_index(["config", "test"])
    z = p.loc[("hybrid+quantization@cpu", "Wilcoxon signed-rank")]
    assert z["zero_differences"] == z["n"] == 90
    assert np.isnan(z["effect_size"]) and np.isnan(z["es_CI_low"]) and np.isnan(z["p_value"])
    assert np.isnan(p.loc[("hybrid+quantization@cpu", "paired t"), "effect_size"])
    one = p.loc[("hybrid+pruning@cpu", "Wilcoxon signed-rank")]
    assert one["effect_size"] == 1 and np.isnan(one["es_CI_low"])
    b = res["bootstrap"].set_index("config").loc["hybrid+quantization@cpu"]
    assert b["CI_low"] == b["CI_high"] == 0 and b["verdict"] == "equivalent"


# ---- real data -------------------------------------------------------------------------------


def test_real_ml100k(r_ready, ml100k_runs, ml100k_per_user):
    runs, pu = ml100k_runs, ml100k_per_user
    spec = [("Q1", "item-knn+cos", "pop@cpu", "superiority"),
            ("Q1", "item-knn+cos", "rand é", "superiority"),
            ("Q2", "pop@cpu", "rand é", "noninferiority", 0.01),
            ("Q2", "item-knn+cos", "pop@cpu", "equivalence", 0.05)]
    con = contrasts_of(spec)
    plan = {"bootstrap": 200, "target_mde": 0.005,
            "contrasts": [{k: c[k] for k in ("question", "config", "baseline", "test", "margin")}
                          for c in con]}
    n_users = pu["user"].nunique()
    idx = boot_index_for(n_users, rng=17, b=200)
    res = run(runs, pu, plan, boot_index=idx)
    facts = check_unit(res, runs, pu, plan, con,
                       key={"dataset": "ml-100k", "split": "ratio", "protocol": "full-ranking"},
                       boot_index=idx)
    assert all(facts["balanced"])
    assert res["paired"]["n"].iloc[0] == 2824


# ---- the real default grid (opt-in) -------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:R pyrec_analysis\\(\\)")  # lme4 convergence messages
def test_default_results_folder(r_ready):
    """The same identities on the real default grid's results (the committed fixture, or a
    finished results folder named by PYREC_DEFAULT_RESULTS)."""
    import json

    folder = Path(os.environ.get("PYREC_DEFAULT_RESULTS", DEFAULT_RESULTS))
    if (folder / "runs.parquet").is_file():  # a results folder given by PYREC_DEFAULT_RESULTS
        runs = pd.read_parquet(folder / "runs.parquet")
        pu_all = pd.read_parquet(folder / "per_user.parquet")
    else:  # the committed fixture: the default grid's results (tests/stats/data/.../README.md)
        runs = pd.read_csv(folder / "runs.csv.gz")
        pu_all = pd.read_csv(folder / "per_user_ndcg10.csv.gz")
    pu_all = pu_all[(pu_all["metric"].astype(str) == "ndcg") & (pu_all["k"] == 10)].copy()
    pu_all["config"] = pu_all["config"].astype(str)
    plan = {}
    if (folder / "analysis.json").exists():  # the study's own plan; fewer replicates
        plan = {k: v for k, v in json.loads((folder / "analysis.json").read_text()).items()
                if v is not None and v != []}
    plan["bootstrap"] = 300
    # one boot_index for every contrast when every configuration has the same users
    user_sets = {frozenset(g) for _, g in pu_all.groupby("config")["user"]}
    idx = boot_index_for(len(next(iter(user_sets))), rng=23) if len(user_sets) == 1 else None
    res = run(runs, pu_all, plan, boot_index=idx)
    units = res["design"][list(KEY)].drop_duplicates()
    checked = 0
    for _, u in units.iterrows():
        key = {k: u[k] for k in KEY}
        mask = np.ones(len(runs), dtype=bool)
        for k, v in key.items():
            mask &= runs[k].astype(str).to_numpy() == str(v)
        r_u = runs[mask]
        if r_u.groupby("config")["model"].nunique().max() > 1:
            continue  # label split into "label [model]": covered by the synthetic test
        pu_u = pu_all[pu_all["run_id"].isin(r_u["run_id"])]
        if "protocol" in pu_u:
            pu_u = pu_u[pu_u["protocol"].astype(str) == str(key["protocol"])]
        elif runs["protocol"].nunique() > 1 and key["protocol"] != "full-ranking":
            pu_u = pu_u.iloc[:0]  # older folders: per-user rows are full-ranking only
        pu_u = pu_u.groupby(["config", "seed", "user"], as_index=False, sort=False)["value"].mean()
        vt = unit_rows(res.get("contrasts"), key)
        if vt.empty:
            continue
        margin = plan.get("margin", 0.005)
        con = [{"question": q, "config": a, "baseline": b, "test": t,
                "margin": float(m) if not np.isnan(m) else margin}
               for q, a, b, t, m in zip(vt["question"], vt["config"], vt["baseline"], vt["test"],
                                        vt["margin"])]
        check_unit(res, r_u, pu_u if len(pu_u) else None, plan, con, key=key, boot_index=idx)
        checked += 1
    assert checked
