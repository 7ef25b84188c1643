# The planned analysis of a pyrec experiment: the study's questions as contrasts, answered over
# splits (seed-level blocked model) and over users (mixed model, user-cluster bootstrap), with
# equivalence tests, multiplicity control, power (minimal detectable effects) and the design checks
# that decide what may be tested at all.
#
# Needs utils_stats.R (sourced first), lme4 + lmerTest (user-level model), effectsize (d_z and
# rank-biserial); pbkrtest only for Kenward-Roger df.
#
# The one entry point is pyrec_analysis(runs, per_user, plan): `pyrec stats` (through rpy2),
# pyrec_stats() in R and the report all call it, so they print the same tables.

# ---- the plan ------------------------------------------------------------------------------

#' The analysis plan of a results folder (its analysis.json), or an empty list.
#' @param results_dir a `pyrec evaluate` results folder.
#' @return list (the config's `[analysis]` settings).
pyrec_read_plan <- function(results_dir) {
  f <- file.path(results_dir, "analysis.json")
  if (!file.exists(f)) return(list())
  plan <- tryCatch(jsonlite::fromJSON(f, simplifyDataFrame = TRUE), error = function(e) {
    stop(sprintf("%s is not a readable analysis plan (%s); fix or delete it (the analysis then uses its defaults).",
                 f, conditionMessage(e)), call. = FALSE)
  })
  if (!is.list(plan) || (length(plan) && is.null(names(plan)))) {
    stop(sprintf("%s must hold a JSON object of settings (e.g. {\"margin\": 0.005}), not a list or value.", f),
         call. = FALSE)
  }
  plan[!vapply(plan, is.null, logical(1))]
}

#' The analysis plan with its defaults filled in (the experiment config's [analysis] table).
#'
#' @param plan NULL or a list with any of: metric, alpha, power, p_adjust ("holm", "BH",
#'   "bonferroni", "none"), margin (equivalence margin, metric units), bootstrap (replicates),
#'   boot_seed, contrasts (data.frame or list of lists with question, config, baseline, test,
#'   margin), ddf ("Satterthwaite" or "Kenward-Roger"), target_mde.
#' @return the completed list.
#' @keywords internal
.analysis_plan <- function(plan = NULL) {
  defaults <- list(metric = "ndcg@10", alpha = 0.05, power = 0.8, p_adjust = "holm",
                   margin = 0.005, margin_metric = NULL, higher_is_better = NULL,
                   bootstrap = 2000L, boot_seed = 1L, contrasts = NULL,
                   ddf = "Satterthwaite", target_mde = NULL)
  if (is.null(plan)) plan <- list()
  if (!is.list(plan) || (length(plan) && is.null(names(plan)))) {
    stop("the analysis plan must be a table of named settings (a JSON object such as ",
         "{\"margin\": 0.005}), not a list.", call. = FALSE)
  }
  unknown <- setdiff(names(plan), names(defaults))
  if (length(unknown)) {
    stop(sprintf("'plan' has unknown setting(s) %s; known: %s.", paste0("'", unknown, "'", collapse = ", "),
                 paste(names(defaults), collapse = ", ")), call. = FALSE)
  }
  plan <- utils::modifyList(defaults, plan[!vapply(plan, is.null, logical(1))])
  .check_prob(plan$alpha, "plan$alpha")
  .check_prob(plan$power, "plan$power")
  if (!is.numeric(plan$margin) || length(plan$margin) != 1L || isTRUE(plan$margin <= 0)) {
    stop("'plan$margin' must be one positive number (the equivalence margin in metric units).",
         call. = FALSE)
  }
  plan$p_adjust <- match.arg(plan$p_adjust, c("holm", "BH", "bonferroni", "none"))
  plan$ddf <- match.arg(plan$ddf, c("Satterthwaite", "Kenward-Roger"))
  if (is.null(plan$margin_metric)) plan$margin_metric <- plan$metric
  if (!identical(plan$margin_metric, plan$metric)) plan$margin <- NA_real_  # other units
  if (is.null(plan$higher_is_better)) plan$higher_is_better <- .higher_is_better(plan$metric)
  if (!is.null(plan$target_mde) && !(is.numeric(plan$target_mde) && plan$target_mde > 0)) {
    stop("'plan$target_mde' must be a positive difference in metric units.", call. = FALSE)
  }
  plan$bootstrap <- as.integer(plan$bootstrap)
  if (is.na(plan$bootstrap) || plan$bootstrap < 100L) {
    stop("'plan$bootstrap' must be at least 100 replicates.", call. = FALSE)
  }
  plan
}

#' Whether higher values of a metric are better: FALSE for costs (latency, time, memory, size),
#' TRUE for quality and throughput.
#' @keywords internal
.higher_is_better <- function(metric) {
  !grepl("latency|time|_ms$|_s$|mib|rss|memory|size", tolower(metric))
}

#' Planned contrasts as a data.frame (question, config, baseline, test, margin).
#' @keywords internal
.contrast_frame <- function(contrasts, margin) {
  cols <- c("question", "config", "baseline", "test", "margin")
  if (is.null(contrasts) || !length(contrasts)) {
    return(data.frame(question = character(), config = character(), baseline = character(),
                      test = character(), margin = numeric(), stringsAsFactors = FALSE))
  }
  if (!is.data.frame(contrasts)) {
    contrasts <- do.call(rbind, lapply(contrasts, function(x) {
      x <- as.list(x)
      data.frame(question = as.character(x$question), config = as.character(x$config),
                 baseline = as.character(x$baseline),
                 test = if (is.null(x$test)) "superiority" else as.character(x$test),
                 margin = if (is.null(x$margin)) NA_real_ else as.numeric(x$margin),
                 stringsAsFactors = FALSE)
    }))
  }
  .check_data(contrasts, c("question", "config", "baseline"), "plan$contrasts")
  if (!"test" %in% names(contrasts)) contrasts$test <- "superiority"
  contrasts$test[is.na(contrasts$test)] <- "superiority"  # the documented default
  if (!"margin" %in% names(contrasts)) contrasts$margin <- NA_real_
  bad <- setdiff(contrasts$test, c("superiority", "equivalence", "noninferiority"))
  if (length(bad)) {
    stop(sprintf("plan$contrasts: unknown test(s) %s; use superiority, equivalence or noninferiority.",
                 paste0("'", bad, "'", collapse = ", ")), call. = FALSE)
  }
  contrasts$margin <- ifelse(is.na(contrasts$margin), margin, as.numeric(contrasts$margin))
  contrasts[cols]
}

#' The study's questions derived from the configurations that were run.
#'
#' Q1 (superiority): the unoptimized hybrid on cpu vs the unoptimized gnn and llm on cpu.
#' Q2 (equivalence): every optimized configuration vs the unoptimized hybrid on cpu (a
#' distillation student is compared with its hybrid teacher), or, without a hybrid, vs the
#' unoptimized configuration of the same architecture and backend.
#' Q3 (equivalence of quality; ratios of time/latency): every unoptimized configuration on another
#' backend vs the same architecture on cpu.
#' @param meta one row per configuration: config, architecture, optimization, backend.
#' @return data.frame as [.contrast_frame()].
#' @keywords internal
.default_contrasts <- function(meta, margin) {
  find <- function(arch, opt = "none", backend = "cpu") {
    i <- which(meta$architecture == arch & meta$optimization == opt & meta$backend == backend)
    if (length(i)) meta$config[i[1]] else NA_character_
  }
  rows <- list()
  add <- function(q, a, b, test) {
    if (!is.na(a) && !is.na(b) && a != b) {
      rows[[length(rows) + 1L]] <<- data.frame(question = q, config = a, baseline = b, test = test,
                                               margin = margin, stringsAsFactors = FALSE)
    }
  }
  hybrid <- find("hybrid")
  for (arch in c("gnn", "llm")) add("Q1", hybrid, find(arch), "superiority")
  for (i in which(meta$optimization != "none")) {
    base <- if (!is.na(hybrid)) hybrid else find(meta$architecture[i], "none", meta$backend[i])
    add("Q2", meta$config[i], base, "equivalence")
  }
  for (i in which(meta$optimization == "none" & meta$backend != "cpu")) {
    add("Q3", meta$config[i], find(meta$architecture[i]), "equivalence")
  }
  if (!length(rows)) return(.contrast_frame(NULL, margin))
  do.call(rbind, rows)
}

# ---- design checks ---------------------------------------------------------------------------

#' Configurations whose per-user results are bit-identical to an earlier configuration's.
#'
#' Two configurations are identical when they have the same (user, seed) rows with exactly equal
#' values (same math on another backend, or a simulated device reusing a trained model). Without
#' per-user rows the run-level values of every seed are compared instead.
#' @return named character: config -> the earlier configuration it duplicates.
#' @keywords internal
.identical_configs <- function(configs, runs, per_user) {
  key <- function(cfg) {
    if (!is.null(per_user)) {
      d <- per_user[per_user$config == cfg, c("seed", "user", "value"), drop = FALSE]
      if (!nrow(d)) return(NULL)
      d <- d[order(d$seed, d$user), , drop = FALSE]
    } else {
      d <- runs[runs$config == cfg, c("seed", "value"), drop = FALSE]
      d <- d[order(d$seed), , drop = FALSE]
    }
    rownames(d) <- NULL
    d
  }
  keys <- lapply(configs, key)
  out <- character()
  for (i in seq_along(configs)) {
    if (is.null(keys[[i]]) || configs[i] %in% names(out)) next
    for (j in seq_along(configs)[-seq_len(i)]) {
      if (configs[j] %in% names(out) || is.null(keys[[j]])) next
      if (identical(keys[[i]], keys[[j]])) out[configs[j]] <- configs[i]
    }
  }
  out
}

#' Bring the runs of one metric into a checked design; every fix-up is stated in `notes`.
#'
#' Checks: protocols, datasets and splits are never pooled (one analysis unit each); two models
#' under one configuration label are split into "label [model]"; repeated runs of one
#' configuration and seed are averaged; configurations identical by construction are flagged.
#' @return list(units = list of list(key, runs, per_user)), notes.
#' @keywords internal
.design_units <- function(runs, per_user, metric) {
  notes <- character()
  runs <- .select_metric(runs, metric)
  need <- c("config", "seed", "value")
  .check_data(runs, need, "runs")
  for (col in c("dataset", "split", "protocol", "architecture", "optimization", "backend", "model")) {
    if (!col %in% names(runs)) runs[[col]] <- if (col %in% c("optimization")) "none" else
      if (col == "backend") "cpu" else if (col == "architecture") runs$config else "unknown"
  }
  runs$config <- as.character(runs$config)
  had_per_user <- !is.null(per_user) && nrow(per_user) > 0L
  if (!is.null(per_user)) {
    per_user <- tryCatch(.select_metric(per_user, metric), error = function(e) NULL)
    if (!is.null(per_user)) {
      .check_data(per_user, c("config", "seed", "user", "value"), "per_user")
      per_user$config <- as.character(per_user$config)
    }
  }
  # two models behind one configuration label: analyse them apart
  models <- tapply(runs$model, runs$config, function(m) length(unique(m)))
  for (cfg in names(models)[models > 1L]) {
    i <- runs$config == cfg
    ms <- unique(runs$model[i])
    notes <- c(notes, sprintf(paste0("configuration '%s' holds %d models (%s) in one design cell; ",
                                     "they are analysed as separate configurations '%s [model]'."),
                              cfg, length(ms), paste(ms, collapse = ", "), cfg))
    runs$config[i] <- sprintf("%s [%s]", cfg, runs$model[i])
    if (!is.null(per_user) && "run_id" %in% names(per_user) && "run_id" %in% names(runs)) {
      j <- per_user$config == cfg
      per_user$config[j] <- runs$config[match(per_user$run_id[j], runs$run_id)]
    }
  }
  unit_cols <- c("dataset", "split", "protocol")
  ukey <- do.call(paste, c(runs[unit_cols], sep = " / "))
  if (length(unique(ukey)) > 1L) {
    notes <- c(notes, sprintf(paste0("the results hold %d (dataset / split / protocol) combinations ",
                                     "(%s); they are different quantities and are analysed separately, ",
                                     "never pooled."), length(unique(ukey)),
                              paste(unique(ukey), collapse = "; ")))
  }
  units <- lapply(unique(ukey), function(k) {
    r <- runs[ukey == k, , drop = FALSE]
    dup <- duplicated(r[c("config", "seed")])
    if (any(dup)) {
      notes <<- c(notes, sprintf(paste0("%s: %d repeated run(s) of one configuration and seed ",
                                        "(%s); their values are averaged."), k, sum(dup),
                                 paste(unique(r$config[dup]), collapse = ", ")))
      agg <- stats::aggregate(value ~ config + seed, data = r, FUN = mean)
      first <- r[!dup, setdiff(names(r), "value"), drop = FALSE]
      r <- merge(first, agg, by = c("config", "seed"), sort = FALSE)
    }
    pu <- NULL
    if (!is.null(per_user)) {
      pu <- per_user
      if ("run_id" %in% names(pu) && "run_id" %in% names(r)) {
        pu <- pu[pu$run_id %in% r$run_id, , drop = FALSE]
      }
      if ("protocol" %in% names(pu)) {
        pu <- pu[as.character(pu$protocol) == r$protocol[1], , drop = FALSE]
      } else if (length(unique(runs$protocol)) > 1L && r$protocol[1] != "full-ranking") {
        notes <<- c(notes, sprintf(paste0("%s: the per-user rows carry no protocol column (an older ",
                                          "results folder); they are used for full-ranking only."), k))
        pu <- pu[0, , drop = FALSE]
      }
      if (anyDuplicated(pu[c("config", "seed", "user")])) {
        pu <- stats::aggregate(value ~ config + seed + user, data = pu, FUN = mean)
      }
      pu <- pu[order(pu$config, pu$seed, pu$user), , drop = FALSE]  # input order never matters
      if (!nrow(pu)) pu <- NULL
    }
    key <- r[1, unit_cols, drop = FALSE]
    list(key = key, label = k, runs = r, per_user = pu)
  })
  if (is.null(per_user)) {
    notes <- c(notes, if (had_per_user) sprintf(paste0(
      "the per-user results hold no values of %s (they hold the ranking metrics): the user-level ",
      "analysis (mixed model, bootstrap, paired tests) is left out."), metric) else
      "no per-user results: the user-level analysis (mixed model, bootstrap, paired tests) is left out.")
  }
  relabel <- if ("run_id" %in% names(runs)) stats::setNames(runs$config, runs$run_id) else NULL
  list(units = units, notes = notes, relabel = relabel)
}

# ---- the statistics of one contrast ----------------------------------------------------------

#' The columns that name contrast `i` of `con` in every table: question, config, baseline, test,
#' and with `margin` its margin (NA for superiority, which has none).
#' @keywords internal
.contrast_cols <- function(con, i, margin = FALSE) {
  out <- data.frame(question = con$question[i], config = con$config[i],
                    baseline = con$baseline[i], test = con$test[i], stringsAsFactors = FALSE)
  if (margin) out$margin <- if (con$test[i] == "superiority") NA_real_ else con$margin[i]
  out
}

#' Test results of a contrast from its estimate, standard error and df.
#'
#' superiority: two-sided t test of 0 and the (1 - alpha) CI; equivalence: two one-sided tests
#' (TOST; Schuirmann 1987) against -margin and +margin, p = the larger one-sided p, and the
#' (1 - 2 alpha) CI; noninferiority: one-sided test against -margin (higher is better), with the
#' (1 - 2 alpha) CI. df = Inf gives z tests.
#' @return data.frame(statistic, p_value, CI_low, CI_high, ci_level).
#' @keywords internal
.contrast_test <- function(est, se, df, test, margin, alpha, higher = TRUE) {
  pt_ <- function(q) stats::pt(q, df)
  if (test == "superiority") {
    t <- est / se
    h <- stats::qt(1 - alpha / 2, df) * se
    return(data.frame(statistic = t, p_value = 2 * pt_(-abs(t)), CI_low = est - h,
                      CI_high = est + h, ci_level = 1 - alpha))
  }
  t_low <- (est + margin) / se
  p_low <- pt_(-t_low)                      # H0: diff <= -margin
  t_up <- (est - margin) / se
  p_up <- pt_(t_up)                         # H0: diff >= +margin
  h <- stats::qt(1 - alpha, df) * se
  if (test == "equivalence") {
    data.frame(statistic = if (p_low >= p_up) t_low else t_up, p_value = max(p_low, p_up),
               CI_low = est - h, CI_high = est + h, ci_level = 1 - 2 * alpha)
  } else if (higher) {  # not worse by more than the margin: H0 diff <= -margin
    data.frame(statistic = t_low, p_value = p_low, CI_low = est - h, CI_high = est + h,
               ci_level = 1 - 2 * alpha)
  } else {  # lower is better: H0 diff >= +margin
    data.frame(statistic = t_up, p_value = p_up, CI_low = est - h, CI_high = est + h,
               ci_level = 1 - 2 * alpha)
  }
}

#' Minimal detectable effect of a contrast with standard error `se` and `df` residual df.
#'
#' superiority: (t_{1-alpha/2} + t_{power}) * se, the true difference a two-sided test detects
#' with probability `power`; noninferiority: (t_{1-alpha} + t_{power}) * se; equivalence: the
#' smallest margin that TOST would accept with probability `power` when the true difference is 0,
#' (t_{1-alpha} + t_{1-(1-power)/2}) * se. The usual normal-theory approximation (Cohen 1988;
#' Sakai 2016), with t quantiles.
#' @keywords internal
.mde <- function(se, df, test, alpha, power) {
  switch(test,
         superiority = (stats::qt(1 - alpha / 2, df) + stats::qt(power, df)) * se,
         noninferiority = (stats::qt(1 - alpha, df) + stats::qt(power, df)) * se,
         equivalence = (stats::qt(1 - alpha, df) + stats::qt(1 - (1 - power) / 2, df)) * se)
}

#' Seeds needed for a target MDE in the blocked seed-level model.
#'
#' With residual variance `sigma2` of `value ~ config + seed` and `n_configs` configurations, a
#' pairwise contrast over S seeds has se = sqrt(2 sigma2 / S) and df = (n_configs - 1)(S - 1).
#' @return the smallest S >= 2 (up to `max_seeds`) whose MDE is at most `target`, else NA.
#' @keywords internal
.seeds_for_mde <- function(target, sigma2, n_configs, test, alpha, power, max_seeds = 1000L) {
  for (s in 2:max_seeds) {
    df <- (n_configs - 1) * (s - 1)
    if (.mde(sqrt(2 * sigma2 / s), df, test, alpha, power) <= target) return(s)
  }
  NA_integer_
}

#' Matched per-user differences config - baseline over (user, seed).
#' @keywords internal
.user_diffs <- function(pu, a, b) {
  x <- pu[pu$config == a, c("user", "seed", "value")]
  y <- pu[pu$config == b, c("user", "seed", "value")]
  m <- merge(x, y, by = c("user", "seed"), suffixes = c(".a", ".b"), sort = TRUE)
  list(user = m$user, seed = m$seed, a = m$value.a, b = m$value.b, d = m$value.a - m$value.b)
}

#' User-cluster bootstrap of mean(d) over (user, seed): users resampled with replacement.
#'
#' @param index NULL, or a B x U integer matrix of user positions (1-based, into sorted unique
#'   users) to use instead of R's random draws (for exact cross-checks).
#' @return list(boot = the B bootstrap means, n_users).
#' @keywords internal
.cluster_boot <- function(user, d, B, seed, index = NULL) {
  users <- sort(unique(user))
  pos <- match(user, users)
  s <- as.numeric(rowsum(d, pos, reorder = TRUE))
  n <- as.numeric(tabulate(pos, length(users)))
  if (is.null(index)) {
    index <- withr_seed(seed, matrix(sample.int(length(users), length(users) * B, replace = TRUE),
                                     nrow = B))
  }
  index <- as.matrix(index)
  if (ncol(index) != length(users) || anyNA(index) || any(index < 1 | index > length(users))) {
    stop(sprintf(paste0("boot_index must be a B x %d matrix of user positions in 1..%d (this contrast ",
                        "has %d users); got %d columns."), length(users), length(users),
                 length(users), ncol(index)), call. = FALSE)
  }
  boot <- rowSums(matrix(s[index], nrow = nrow(index))) / rowSums(matrix(n[index], nrow = nrow(index)))
  list(boot = boot, n_users = length(users))
}

#' Evaluate `expr` with the RNG seeded by `seed`, restoring the caller's RNG state afterwards.
#' @keywords internal
withr_seed <- function(seed, expr) {
  had <- exists(".Random.seed", envir = globalenv(), inherits = FALSE)
  old <- if (had) get(".Random.seed", envir = globalenv()) else NULL
  on.exit(if (had) assign(".Random.seed", old, envir = globalenv()) else
    if (exists(".Random.seed", envir = globalenv(), inherits = FALSE))
      rm(".Random.seed", envir = globalenv()))
  set.seed(seed, kind = "Mersenne-Twister", normal.kind = "Inversion", sample.kind = "Rejection")
  expr
}

# ---- the analysis ----------------------------------------------------------------------------

#' The planned analysis of a pyrec experiment: the study's questions, over splits and over users.
#'
#' @details
#' ## Design
#' Each seed draws its own split, shared by every configuration, so the seed is a block; each test
#' user is measured under every configuration of a seed. Configurations whose per-user results are
#' bit-identical to another's (e.g. DeepSpeed ZeRO-0 in one process vs cpu) carry no new
#' information about quality: they are reported as identical and left out of every model.
#' Protocols, datasets and splits are analysed separately, never pooled.
#' ## Two questions, two analyses
#' - **Over splits** (seed level): the cell-means model `value ~ config + seed` on the run means
#'   (one per configuration and seed); each contrast is a difference of configuration
#'   coefficients with the model's residual df.
#' - **Over users** (user level): the linear mixed model `value ~ config + (1 | user) +
#'   (1 | seed) + (1 | seed:user) + (1 | config:user)` on per-user values (lme4, REML), contrasts with Satterthwaite
#'   df (lmerTest) or Kenward-Roger (pbkrtest, small data only); and a user-cluster bootstrap
#'   (users resampled with replacement, all their seeds kept) percentile CI of each contrast, a
#'   route that assumes no normality of the bounded, skewed per-user metric.
#' ## Tests and multiplicity
#' Superiority: two-sided t. Equivalence: TOST against +-margin, with the 1 - 2 alpha CI; the
#' bootstrap says "equivalent" when its 1 - 2 alpha interval lies inside the margin.
#' Non-inferiority: one-sided against -margin. p-values are adjusted (Holm by default, or
#' Benjamini-Hochberg) within each question and each analysis.
#' ## Verdicts
#' A contrast is called better (or equivalent) only when both the seed-level and the user-level
#' test say so after adjustment (an intersection-union rule); otherwise the verdict names the
#' analysis that did not.
#' ## Power
#' For each contrast: the minimal detectable effect at `power` (see [.mde()]) in both analyses,
#' and, with `plan$target_mde`, the seeds the blocked model needs to detect it.
#'
#' @param runs tidy runs table (one row per run x metric: config, seed, metric, value, and the
#'   factor columns architecture, optimization, backend, model, protocol, ...).
#' @param per_user NULL or the per-user table (config, seed, user, metric, k, value, run_id).
#' @param plan list of settings (or their JSON text), see [.analysis_plan()]; `plan$contrasts` NULL derives the
#'   study's questions from the design ([.default_contrasts()]).
#' @param boot_index NULL or a B x U matrix of resampled user positions (tests only).
#' @param costs metrics compared as ratios (config / baseline) for Q2 and Q3.
#' @return named list of `pyrec_stats_table`s: design, contrasts (the verdicts), seed_level,
#'   blocking, user_level, bootstrap, paired, power, costs; tables that cannot be computed are
#'   absent and listed in `skipped` (table, reason); attribute `notes` lists every design message.
#' @references Carterette (2012) ACM TOIS 30(1):4; Schuirmann (1987) J. Pharmacokin. Biopharm.
#'   15:657; Lakens (2017) Soc. Psychol. Personal. Sci. 8:355; Bates et al. (2015) J. Stat. Softw.
#'   67(1); Kuznetsova et al. (2017) J. Stat. Softw. 82(13); Berger & Hsu (1996) Stat. Sci.
#'   11:283 (intersection-union tests); Holm (1979); Benjamini & Hochberg (1995).
pyrec_analysis <- function(runs, per_user = NULL, plan = NULL, boot_index = NULL,
                           costs = c("train_time_s", "model_size_mib", "encoder_size_mib",
                                     "latency_p50_ms", "latency_p99_ms", "throughput_users_s")) {
  if (is.character(plan)) plan <- jsonlite::fromJSON(plan, simplifyDataFrame = TRUE)
  plan <- .analysis_plan(plan)
  if (!is.null(boot_index)) boot_index <- as.matrix(boot_index)
  .check_data(runs, c("config", "seed", "metric", "value"), "runs")
  all_runs <- runs
  design <- .design_units(runs, per_user, plan$metric)
  if (!is.null(design$relabel) && "run_id" %in% names(all_runs)) {  # "label [model]" splits
    hit <- all_runs$run_id %in% names(design$relabel)
    all_runs$config[hit] <- unname(design$relabel[all_runs$run_id[hit]])
  }
  notes <- design$notes
  tabs <- list()
  skipped <- data.frame(table = character(), reason = character(), stringsAsFactors = FALSE)
  add <- function(name, df) tabs[[name]] <<- rbind(tabs[[name]], df)
  skip <- function(name, why) skipped[nrow(skipped) + 1L, ] <<- c(name, why)
  for (u in design$units) {
    res <- .analyse_unit(u, plan, all_runs, boot_index, costs)
    notes <- c(notes, res$notes)
    for (nm in names(res$tables)) add(nm, res$tables[[nm]])
    for (i in seq_len(nrow(res$skipped))) skip(res$skipped$table[i], res$skipped$reason[i])
  }
  out <- .label_tables(tabs, plan)
  if (nrow(skipped)) {
    skipped <- skipped[!duplicated(skipped), , drop = FALSE]
    out$skipped <- .stats_table(skipped, method = "Tables that could not be computed")
  }
  attr(out, "notes") <- unique(notes)
  attr(out, "plan") <- plan
  out
}

#' One analysis unit (one dataset / split / protocol).
#' @keywords internal
.analyse_unit <- function(u, plan, all_runs, boot_index, costs) {
  notes <- character()
  tables <- list()
  skipped <- data.frame(table = character(), reason = character(), stringsAsFactors = FALSE)
  skip <- function(name, why) skipped[nrow(skipped) + 1L, ] <<- c(name, why)
  r <- u$runs
  pu <- u$per_user
  meta <- r[!duplicated(r$config), c("config", "architecture", "optimization", "backend",
                                     if ("simulated" %in% names(r)) "simulated"), drop = FALSE]
  if (!"simulated" %in% names(meta)) meta$simulated <- FALSE
  configs <- meta$config
  seeds <- sort(unique(r$seed))
  same <- .identical_configs(configs, r, pu)
  status <- ifelse(configs %in% names(same),
                   sprintf("identical to %s (%s); not tested", same[configs],
                           if (is.null(pu)) "equal run-level values in every seed" else
                             "bit-identical per-user results"), "analysed")
  if (length(same)) {
    notes <- c(notes, sprintf(paste0("%s: %s give results identical to %s by construction; they ",
                                     "are reported as identical and left out of the models (testing ",
                                     "them would test an identity)."), u$label,
                              paste(names(same), collapse = ", "), paste(unique(same), collapse = ", ")))
  }
  keep <- setdiff(configs, names(same))
  mean_of <- function(cfg) mean(r$value[r$config == cfg])
  tables$design <- data.frame(
    u$key, config = configs, architecture = meta$architecture, optimization = meta$optimization,
    backend = meta$backend, simulated = as.logical(meta$simulated),
    n_seeds = vapply(configs, function(cfg) length(unique(r$seed[r$config == cfg])), integer(1)),
    n_users = vapply(configs, function(cfg) if (is.null(pu)) NA_integer_ else
      length(unique(pu$user[pu$config == cfg])), integer(1)),
    mean = vapply(configs, mean_of, numeric(1)), status = status,
    stringsAsFactors = FALSE, row.names = NULL)
  con <- if (is.null(plan$contrasts) || !length(plan$contrasts))
    .default_contrasts(meta, plan$margin) else .contrast_frame(plan$contrasts, plan$margin)
  unknown <- setdiff(c(con$config, con$baseline), configs)
  if (length(unknown)) {
    notes <- c(notes, sprintf("%s: planned contrast(s) name configuration(s) not in the results (%s); they are left out.",
                              u$label, paste(unknown, collapse = ", ")))
    con <- con[con$config %in% configs & con$baseline %in% configs, , drop = FALSE]
  }
  no_margin <- con$test != "superiority" & is.na(con$margin)
  if (any(no_margin)) {
    notes <- c(notes, sprintf(paste0("%s: no equivalence margin in the units of %s (the plan's margin ",
                                     "is in units of %s): %d equivalence/non-inferiority contrast(s) are ",
                                     "tested for a difference instead. Give one with --margin (or ",
                                     "margin in [analysis])."), u$label, plan$metric, plan$margin_metric,
                              sum(no_margin)))
    con$test[no_margin] <- "superiority"
  }
  n_seeds <- vapply(configs, function(cfg) length(unique(r$seed[r$config == cfg])), integer(1))
  short <- configs[n_seeds < length(seeds)]
  if (length(short)) {
    notes <- c(notes, sprintf(paste0("%s: %s lack(s) some of the %d seeds (%s); the seed-level model ",
                                     "compares configurations within the seeds they share (its ",
                                     "estimates adjust for the seed), the answers report those ",
                                     "estimates."), u$label, paste(short, collapse = ", "),
                              length(seeds), paste(sprintf("%s: %d", short, n_seeds[short]),
                                                   collapse = ", ")))
  }
  if (!nrow(con)) {
    skip("contrasts", sprintf("%s: no planned contrast can be formed from configurations %s.",
                              u$label, paste(configs, collapse = ", ")))
    return(list(tables = tables, notes = notes, skipped = skipped))
  }
  # identical pairs are answered without a test
  ident <- mapply(function(a, b) {
    ra <- if (a %in% names(same)) same[[a]] else a
    rb <- if (b %in% names(same)) same[[b]] else b
    ra == rb
  }, con$config, con$baseline)
  con$identical <- unname(ident)
  testable <- con[!con$identical, , drop = FALSE]
  # replace a configuration that duplicates another by its representative in the models
  rep_of <- function(x) ifelse(x %in% names(same), same[x], x)
  if (nrow(testable)) {
    testable$config_m <- rep_of(testable$config)
    testable$baseline_m <- rep_of(testable$baseline)
  }
  # ---- seed level
  seed_tab <- sl <- NULL
  if (length(seeds) < 2L) {
    notes <- c(notes, sprintf(paste0("%s: a single seed (%s): the seed-level analysis (over splits) ",
                                     "needs at least 2 seeds and is left out; only the user-level ",
                                     "analysis is run. Run more seeds (pyrec evaluate --seeds)."),
                              u$label, seeds))
    skip("seed_level", sprintf("%s: one seed; no split-to-split variation to test against.", u$label))
  } else if (nrow(testable)) {
    sl <- tryCatch(.seed_level(r[r$config %in% keep, , drop = FALSE], testable, plan),
                   error = function(e) e)
    if (inherits(sl, "error")) skip("seed_level", paste0(u$label, ": ", conditionMessage(sl))) else {
      seed_tab <- sl$contrasts
      tables$seed_level <- cbind(u$key, seed_tab, row.names = NULL)
      tables$blocking <- cbind(u$key, sl$blocking, row.names = NULL)
      notes <- c(notes, sl$notes)
    }
  }
  # ---- user level
  user_tab <- boot_tab <- NULL
  if (!is.null(pu) && nrow(testable)) {
    pu_k <- pu[pu$config %in% keep, , drop = FALSE]
    ul <- tryCatch(.user_level(pu_k, testable, plan), error = function(e) e)
    if (inherits(ul, "error")) skip("user_level", paste0(u$label, ": ", conditionMessage(ul))) else {
      user_tab <- ul$contrasts
      tables$user_level <- cbind(u$key, user_tab, row.names = NULL)
      notes <- c(notes, ul$notes)
    }
    bt <- tryCatch(.bootstrap(pu_k, testable, plan, boot_index), error = function(e) e)
    if (inherits(bt, "error")) skip("bootstrap", paste0(u$label, ": ", conditionMessage(bt))) else {
      boot_tab <- bt
      tables$bootstrap <- cbind(u$key, bt, row.names = NULL)
    }
    pt <- tryCatch(.paired(pu_k, testable, plan), error = function(e) e)
    if (inherits(pt, "error")) skip("paired", paste0(u$label, ": ", conditionMessage(pt))) else
      tables$paired <- cbind(u$key, pt, row.names = NULL)
  }
  # ---- power
  pw <- .power_table(testable, seed_tab, user_tab, plan,
                     sigma2 = if (is.null(seed_tab)) NULL else sl$sigma2,
                     n_configs = if (is.null(seed_tab)) NULL else sl$n_configs)
  if (!is.null(pw)) tables$power <- cbind(u$key, pw, row.names = NULL)
  # ---- costs (ratios) of Q2 and Q3
  ct <- .costs(all_runs, u, con[con$question %in% c("Q2", "Q3"), , drop = FALSE], costs)
  if (!is.null(ct)) tables$costs <- cbind(u$key, ct, row.names = NULL)
  # ---- verdicts
  tables$contrasts <- cbind(u$key, .verdicts(con, seed_tab, user_tab, boot_tab, r, plan),
                            row.names = NULL)
  list(tables = tables, notes = notes, skipped = skipped)
}

#' Seed level: `value ~ config + seed` on the run means; contrasts; blocking diagnostics.
#' @keywords internal
.seed_level <- function(r, con, plan) {
  enc <- .encode_levels(factor(r$config, levels = unique(r$config)), prefix = "C")
  d <- data.frame(value = r$value, config = enc$x, seed = factor(r$seed))
  fit <- stats::lm(value ~ config + seed, data = d)
  if (stats::df.residual(fit) < 1L) {
    stop("the blocked model value ~ config + seed has no residual degrees of freedom.", call. = FALSE)
  }
  if (any(is.na(stats::coef(fit)))) {
    stop("the blocked model value ~ config + seed is not estimable (a configuration has no seed in common with the others).",
         call. = FALSE)
  }
  b <- stats::coef(fit)
  V <- stats::vcov(fit)
  df <- stats::df.residual(fit)
  code <- function(cfg) names(enc$map)[match(cfg, enc$map)]
  rows <- lapply(seq_len(nrow(con)), function(i) {
    L <- stats::setNames(numeric(length(b)), names(b))
    ca <- paste0("config", code(con$config_m[i]))
    cb <- paste0("config", code(con$baseline_m[i]))
    if (ca %in% names(L)) L[ca] <- 1
    if (cb %in% names(L)) L[cb] <- L[cb] - 1
    est <- sum(L * b)
    se <- sqrt(drop(t(L) %*% V %*% L))
    base_mean <- mean(r$value[r$config == con$baseline_m[i]])
    tt <- .contrast_test(est, se, df, con$test[i], con$margin[i], plan$alpha, plan$higher_is_better)
    data.frame(.contrast_cols(con, i, margin = TRUE), estimate = est, relative = est / base_mean,
               SE = se, df = df, tt,
               stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  out$p_adj <- .adjust_by(out$p_value, out$question, plan$p_adjust)
  # blocking diagnostics: the same data with seeds as replicates (config only)
  fit0 <- stats::lm(value ~ config, data = d)
  a1 <- stats::anova(fit)
  sw <- function(f) tryCatch(stats::shapiro.test(stats::residuals(f)), error = function(e) NULL)
  s1 <- sw(fit)
  s0 <- sw(fit0)
  num <- function(x, el) if (is.null(x)) NA_real_ else unname(x[[el]])
  blocking <- data.frame(
    model = c("value ~ config + seed (seed as block)", "value ~ config (seeds as replicates)"),
    df_residual = c(df, stats::df.residual(fit0)),
    ms_residual = c(sum(stats::residuals(fit)^2) / df,
                    sum(stats::residuals(fit0)^2) / stats::df.residual(fit0)),
    seed_F = c(a1["seed", "F value"], NA), seed_df = c(a1["seed", "Df"], NA),
    seed_p = c(a1["seed", "Pr(>F)"], NA),
    config_F = c(a1["config", "F value"], stats::anova(fit0)["config", "F value"]),
    config_p = c(a1["config", "Pr(>F)"], stats::anova(fit0)["config", "Pr(>F)"]),
    shapiro_W = c(num(s1, "statistic"), num(s0, "statistic")),
    shapiro_p = c(num(s1, "p.value"), num(s0, "p.value")),
    stringsAsFactors = FALSE)
  notes <- sprintf(paste0("blocking on seed divides the residual mean square by %.1f (seed F = %.3g, ",
                          "p = %.3g)."), blocking$ms_residual[2] / blocking$ms_residual[1],
                   blocking$seed_F[1], blocking$seed_p[1])
  list(contrasts = out, blocking = blocking, notes = notes, sigma2 = blocking$ms_residual[1],
       n_configs = nlevels(d$config))
}

#' p.adjust within each group (question).
#' @keywords internal
.adjust_by <- function(p, group, method) {
  out <- rep(NA_real_, length(p))
  for (g in unique(group)) {
    i <- group == g & !is.na(p)
    out[i] <- stats::p.adjust(p[i], method = method)
  }
  out
}

#' User level: per contrast, lmer(value ~ config + (1|user) + (1|seed) + (1|seed:user) +
#' (1|config:user)) on the per-user values of its two configurations.
#'
#' (1|seed:user) pairs the two configurations on the same user and split; (1|config:user) lets the
#' difference vary from user to user consistently across seeds, so the SE of the contrast carries
#' that heterogeneity (as the user-cluster bootstrap does). Each contrast is fitted on its own two
#' configurations, so it has its own error variance: configurations that differ a lot from the rest
#' (e.g. an LLM-only model) do not inflate the SE of a contrast between two close ones (no
#' sphericity assumption). In a balanced design with a non-zero user x config variance the estimate,
#' SE and df equal a paired t-test on the users' seed-averaged differences. With one seed the model
#' is value ~ config + (1|user).
#' @keywords internal
.user_level <- function(pu, con, plan) {
  for (p in c("lme4", "lmerTest")) {
    if (!requireNamespace(p, quietly = TRUE)) {
      stop(sprintf("the user-level mixed model needs the R package %s (Debian: r-cran-%s).", p,
                   tolower(p)), call. = FALSE)
    }
  }
  notes <- character()
  multi_seed <- length(unique(pu$seed)) > 1L
  f <- if (multi_seed) value ~ config + (1 | user) + (1 | seed) + (1 | seed:user) + (1 | config:user) else
    value ~ config + (1 | user)
  singular <- zero <- lme4_warn <- character()
  fallback <- FALSE
  rows <- lapply(seq_len(nrow(con)), function(i) {
    a <- con$config_m[i]
    b <- con$baseline_m[i]
    m <- .user_diffs(pu, a, b)
    sub <- pu[pu$config %in% c(a, b), , drop = FALSE]
    if (length(m$d) && all(m$d == 0)) {  # nothing varies: a model would fit noise
      zero <<- c(zero, sprintf("%s vs %s", con$config[i], con$baseline[i]))
      return(data.frame(.contrast_cols(con, i, margin = TRUE), estimate = 0, relative = 0, SE = NA_real_, df = NA_real_, statistic = NA_real_,
                        p_value = NA_real_, CI_low = NA_real_, CI_high = NA_real_,
                        ci_level = if (con$test[i] == "superiority") 1 - plan$alpha else 1 - 2 * plan$alpha,
                        n_obs = nrow(sub),
                        n_users = length(unique(sub$user)), var_user_config = NA_real_,
                        var_residual = NA_real_, ddf = NA_character_, stringsAsFactors = FALSE))
    }
    d <- data.frame(value = sub$value, config = factor(ifelse(sub$config == a, "a", "b"), levels = c("b", "a")),
                    user = factor(sub$user), seed = factor(sub$seed))
    ddf <- plan$ddf
    if (ddf == "Kenward-Roger" && nrow(d) > 5000L) {
      ddf <- "Satterthwaite"
      fallback <<- TRUE
    }
    label <- sprintf("%s vs %s", con$config[i], con$baseline[i])
    fit <- withCallingHandlers(lmerTest::lmer(f, data = d, REML = TRUE),
                               message = function(m) invokeRestart("muffleMessage"),
                               warning = function(w) {
                                 if (!grepl("singular", conditionMessage(w))) {
                                   lme4_warn <<- c(lme4_warn, sprintf("%s: %s", label,
                                                                      conditionMessage(w)))
                                 }
                                 invokeRestart("muffleWarning")
                               })
    if (lme4::isSingular(fit)) singular <<- c(singular, sprintf("%s vs %s", con$config[i], con$baseline[i]))
    ct <- lmerTest::contest(fit, matrix(c(0, 1), nrow = 1), joint = FALSE, ddf = ddf)
    est <- ct$Estimate
    se <- ct[["Std. Error"]]
    vc <- as.data.frame(lme4::VarCorr(fit))
    tt <- .contrast_test(est, se, ct$df, con$test[i], con$margin[i], plan$alpha, plan$higher_is_better)
    data.frame(.contrast_cols(con, i, margin = TRUE), estimate = est,
               relative = est / mean(d$value[d$config == "b"]), SE = se, df = ct$df,
               tt, n_obs = nrow(d), n_users = nlevels(d$user),
               var_user_config = if (multi_seed) vc$vcov[vc$grp == "config:user"] else NA_real_,
               var_residual = vc$vcov[vc$grp == "Residual"], ddf = ddf,
               stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  out$p_adj <- .adjust_by(out$p_value, out$question, plan$p_adjust)
  if (fallback) notes <- c(notes, paste0("Kenward-Roger df need dense n x n matrices; contrasts with ",
                                         "more than 5000 observations use Satterthwaite df (column ddf)."))
  if (length(lme4_warn)) notes <- c(notes, paste0(
    "lme4 convergence warning(s), the fit used as returned (compare its SE with the bootstrap's): ",
    paste(unique(lme4_warn), collapse = "; ")))
  if (length(zero)) notes <- c(notes, sprintf(paste0("every matched per-user difference is 0 for %s: ",
                                                    "no user-level model is fitted (nothing varies); ",
                                                    "its p-value is NA."), paste(zero, collapse = "; ")))
  if (length(singular)) notes <- c(notes, sprintf(paste0("singular mixed-model fit (a variance component ",
                                                        "estimated as 0) for: %s."), paste(singular, collapse = "; ")))
  notes <- c(notes, sprintf(paste0("user-level model, fitted per contrast on its two configurations: %s ",
                                   "(lme4 %s, REML; df via lmerTest)."), paste(deparse(f), collapse = ""),
                            utils::packageVersion("lme4")),
             "per-user metrics are bounded in [0, 1] and skewed (many zeros); the user-cluster bootstrap is the check that assumes no normality.")
  list(contrasts = out, notes = notes)
}

#' User-cluster bootstrap percentile CIs of every contrast.
#' @keywords internal
.bootstrap <- function(pu, con, plan, boot_index = NULL) {
  rows <- lapply(seq_len(nrow(con)), function(i) {
    m <- .user_diffs(pu, con$config_m[i], con$baseline_m[i])
    if (length(m$d) < 2L) stop(sprintf("'%s' and '%s' share fewer than 2 (user, seed) pairs.",
                                       con$config[i], con$baseline[i]), call. = FALSE)
    bt <- .cluster_boot(m$user, m$d, plan$bootstrap, plan$boot_seed, boot_index)
    lv <- if (con$test[i] == "superiority") 1 - plan$alpha else 1 - 2 * plan$alpha
    q <- stats::quantile(bt$boot, c((1 - lv) / 2, 1 - (1 - lv) / 2), type = 7, names = FALSE)
    mg <- con$margin[i]
    up <- if (plan$higher_is_better) "better" else "worse"
    down <- if (plan$higher_is_better) "worse" else "better"
    verdict <- switch(con$test[i],
                      superiority = if (q[1] > 0) up else if (q[2] < 0) down else "inconclusive",
                      equivalence = if (q[1] > -mg && q[2] < mg) "equivalent" else "not shown equivalent",
                      noninferiority = if (if (plan$higher_is_better) q[1] > -mg else q[2] < mg)
                        "non-inferior" else "not shown non-inferior")
    data.frame(.contrast_cols(con, i), estimate = mean(m$d), boot_SE = stats::sd(bt$boot),
               CI_low = q[1], CI_high = q[2], ci_level = lv, replicates = length(bt$boot),
               n_users = bt$n_users, n_pairs = length(m$d), verdict = verdict,
               stringsAsFactors = FALSE)
  })
  do.call(rbind, rows)
}

#' Per-user paired t and Wilcoxon signed-rank tests of the planned contrasts, with d_z and the
#' matched-pairs rank-biserial correlation (on the differences).
#' @keywords internal
.paired <- function(pu, con, plan) {
  rows <- lapply(seq_len(nrow(con)), function(i) {
    m <- .user_diffs(pu, con$config_m[i], con$baseline_m[i])
    d <- m$d
    tt <- tryCatch(stats::t.test(d), error = function(e) NULL)
    wt <- tryCatch(.wilcox_paired(m$a, m$b), error = function(e) NULL)
    dz <- if (stats::sd(d) > 0) mean(d) / stats::sd(d) else NA_real_
    rb <- .rank_biserial(d, 1 - plan$alpha)
    num <- function(x, el) if (is.null(x)) NA_real_ else unname(as.numeric(x[[el]]))[1]
    data.frame(question = con$question[i], config = con$config[i], baseline = con$baseline[i],
               test = c("paired t", "Wilcoxon signed-rank"), n = length(d),
               estimate = c(mean(d), stats::median(d)),
               statistic = c(num(tt, "statistic"), num(wt, "statistic")),
               df = c(num(tt, "parameter"), NA), p_value = c(num(tt, "p.value"), num(wt, "p.value")),
               effect_size_type = c("cohens_d_z", "rank_biserial"),
               effect_size = c(dz, rb[["r"]]), es_CI_low = c(NA, rb[["low"]]),
               es_CI_high = c(NA, rb[["high"]]), zero_differences = sum(d == 0),
               stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  out$p_adj <- NA_real_
  for (t in unique(out$test)) {
    i <- out$test == t
    out$p_adj[i] <- .adjust_by(out$p_value[i], out$question[i], plan$p_adjust)
  }
  out
}

#' MDE of every contrast in both analyses, and the seeds a target MDE needs.
#' @keywords internal
.power_table <- function(con, seed_tab, user_tab, plan, sigma2 = NULL, n_configs = NULL) {
  if (!nrow(con) || (is.null(seed_tab) && is.null(user_tab))) return(NULL)
  pick <- function(tab, i, col) if (is.null(tab)) NA_real_ else tab[[col]][i]
  rows <- lapply(seq_len(nrow(con)), function(i) {
    test <- con$test[i]
    data.frame(.contrast_cols(con, i),
               mde_kind = if (test == "equivalence") "smallest margin shown equivalent at a true difference of 0" else
                 "smallest true difference detected",
               seed_SE = pick(seed_tab, i, "SE"), seed_df = pick(seed_tab, i, "df"),
               seed_mde = if (is.null(seed_tab)) NA_real_ else .mde(seed_tab$SE[i], seed_tab$df[i], test, plan$alpha, plan$power),
               user_SE = pick(user_tab, i, "SE"), user_df = pick(user_tab, i, "df"),
               user_mde = if (is.null(user_tab)) NA_real_ else .mde(user_tab$SE[i], user_tab$df[i], test, plan$alpha, plan$power),
               observed = if (is.null(seed_tab)) pick(user_tab, i, "estimate") else seed_tab$estimate[i],
               stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  if (!is.null(plan$target_mde)) {
    out$target_mde <- plan$target_mde
    out$seeds_needed <- if (is.null(sigma2)) NA_integer_ else vapply(out$test, function(t)
      .seeds_for_mde(plan$target_mde, sigma2, n_configs, t, plan$alpha, plan$power), integer(1))
  }
  out
}

#' Ratios of cost metrics (config / baseline; means over seeds) for Q2 and Q3 contrasts.
#' @keywords internal
.costs <- function(all_runs, u, con, costs) {
  if (!nrow(con)) return(NULL)
  sel <- all_runs[all_runs$metric %in% costs, , drop = FALSE]
  for (col in names(u$key)) if (col %in% names(sel)) sel <- sel[sel[[col]] == u$key[[col]], , drop = FALSE]
  if (!nrow(sel)) return(NULL)
  rows <- list()
  for (i in seq_len(nrow(con))) for (m in costs) {
    a <- sel$value[sel$config == con$config[i] & sel$metric == m]
    b <- sel$value[sel$config == con$baseline[i] & sel$metric == m]
    if (!length(a) || !length(b)) next
    # only serving figures come from the fpga-sim latency model; training time and size are measured
    sim <- "simulated" %in% names(sel) && grepl("latency|throughput", m) &&
      any(as.logical(sel$simulated[sel$config %in% c(con$config[i], con$baseline[i]) & sel$metric == m]))
    rows[[length(rows) + 1L]] <- data.frame(
      question = con$question[i], config = con$config[i], baseline = con$baseline[i], metric = m,
      mean_config = mean(a), mean_baseline = mean(b), ratio = mean(a) / mean(b),
      seeds = min(length(a), length(b)), simulated = sim, stringsAsFactors = FALSE)
  }
  if (!length(rows)) return(NULL)
  do.call(rbind, rows)
}

#' The answer to each planned contrast, from the seed-level and user-level tests together.
#' @keywords internal
.verdicts <- function(con, seed_tab, user_tab, boot_tab, r, plan) {
  key <- function(tab) if (is.null(tab)) character() else paste(tab$config, tab$baseline, sep = "\r")
  pick <- function(tab, a, b, col) {
    j <- match(paste(a, b, sep = "\r"), key(tab))
    if (is.na(j)) NA else tab[[col]][j]
  }
  rows <- lapply(seq_len(nrow(con)), function(i) {
    a <- con$config[i]
    b <- con$baseline[i]
    est <- mean(r$value[r$config == a]) - mean(r$value[r$config == b])
    if (con$identical[i]) {
      return(data.frame(question = con$question[i], config = a, baseline = b, test = con$test[i],
                        margin = NA_real_, estimate = 0, relative = 0, seed_p_adj = NA_real_,
                        user_p_adj = NA_real_, bootstrap = "identical",
                        verdict = "identical by construction (bit-identical results; not tested)",
                        stringsAsFactors = FALSE))
    }
    ps <- pick(seed_tab, a, b, "p_adj")
    pu <- pick(user_tab, a, b, "p_adj")
    es <- pick(seed_tab, a, b, "estimate")
    eu <- pick(user_tab, a, b, "estimate")
    s_run <- !is.na(es)
    u_run <- !is.na(eu)
    # the answer's estimate is the primary analysis's: seed level (adjusted for seed), else user
    est <- if (s_run) es else if (u_run) eu else est
    ok <- function(p) !is.na(p) && p < plan$alpha
    mg <- con$margin[i]
    why_s <- "the seed-level analysis was not run (it needs 2 seeds)"
    why_u <- "the user-level analysis was not run (no per-user results for this metric)"
    one <- function(shown, level, run_other, why_other) {
      if (run_other) sprintf("%s over %s only; not shown over %s", shown, level,
                             if (level == "splits") "users" else "splits")
      else sprintf("%s over %s; %s", shown, level, why_other)
    }
    both <- function(shown, not_shown) {  # shown where both analyses reject, else say which
      if (ok(ps) && ok(pu)) sprintf("%s, over splits and over users", shown)
      else if (ok(ps)) one(shown, "splits", u_run, why_u)
      else if (ok(pu)) one(shown, "users", s_run, why_s)
      else not_shown
    }
    verdict <- switch(con$test[i],
      superiority = {
        dir_s <- if (s_run) sign(es) else 0
        dir_u <- if (u_run) sign(eu) else 0
        up <- if (dir_s != 0) dir_s > 0 else dir_u > 0
        word <- if (up == plan$higher_is_better) "better" else "worse"
        if (ok(ps) && ok(pu) && dir_s == dir_u) sprintf("%s, over splits and over users", word)
        else if (ok(ps)) one(sprintf("%s", word), "splits", u_run, why_u)
        else if (ok(pu)) one(sprintf("%s", word), "users", s_run, why_s)
        else paste0(if (is.na(plan$margin)) "no difference shown (not the same: see the MDE)" else
                      "no difference shown (not the same: see the equivalence margin and the MDE)",
                    if (!s_run) paste0("; ", why_s) else if (!u_run) paste0("; ", why_u) else "")
      },
      equivalence = both(sprintf("equivalent within \u00b1%g", mg),
                         sprintf("not shown equivalent within \u00b1%g", mg)),
      noninferiority = both(sprintf("non-inferior (margin %g)", mg),
                            sprintf("not shown non-inferior (margin %g)", mg)))
    simulated <- function(cfg) "simulated" %in% names(r) && any(as.logical(r$simulated[r$config == cfg]))
    if (grepl("latency|throughput", plan$metric) && xor(simulated(a), simulated(b))) {
      verdict <- sprintf(paste0("not comparable: the %s of %s is simulated (fpga-sim latency model), ",
                                "the other's measured; the tests are shown for reference only"),
                         plan$metric, if (simulated(a)) a else b)
    }
    data.frame(.contrast_cols(con, i, margin = TRUE), estimate = est, relative = est / mean(r$value[r$config == b]),
               seed_p_adj = ps, user_p_adj = pu,
               bootstrap = if (is.null(boot_tab)) NA_character_ else
                 as.character(pick(boot_tab, a, b, "verdict")),
               verdict = verdict, stringsAsFactors = FALSE)
  })
  do.call(rbind, rows)
}


#' Give every table its method line and notes.
#' @keywords internal
.label_tables <- function(tabs, plan) {
  adj <- c(holm = "Holm", BH = "Benjamini-Hochberg", bonferroni = "Bonferroni", none = "no")[[plan$p_adjust]]
  m <- plan$metric
  info <- list(
    contrasts = list(sprintf("Planned contrasts of %s: the answers", m),
                     c(sprintf(paste0("verdict: better/equivalent only when both the seed-level and the ",
                                      "user-level test say so at alpha = %g after %s adjustment within ",
                                      "each question (intersection-union rule)."), plan$alpha, adj),
                       "estimate = mean(config) - mean(baseline) over seeds; relative = estimate / mean(baseline).")),
    design = list(sprintf("Design of the %s analysis", m),
                  "configurations identical to another by construction are reported, never tested."),
    seed_level = list(sprintf("Over splits: planned contrasts of %s in value ~ config + seed", m),
                      c(sprintf(paste0("one value per configuration and seed (the run mean); seed is a ",
                                       "block; one residual variance pooled over the configurations ",
                                       "(equal variances assumed: check noisy cost metrics against ",
                                       "their spread over seeds); p_adj: %s within each question."), adj),
                        sprintf("superiority: two-sided t, %g%% CI; equivalence: TOST against \u00b1margin, %g%% CI.",
                                100 * (1 - plan$alpha), 100 * (1 - 2 * plan$alpha)))),
    blocking = list("Seed as a block vs seeds as replicates",
                    "Shapiro-Wilk on each model's residuals; seed_F tests the split-to-split variation."),
    user_level = list(sprintf("Over users: planned contrasts of %s in the mixed model", m),
                      sprintf(paste0("per contrast, on its two configurations: value ~ config + (1|user) + ",
                                     "(1|seed) + (1|seed:user) + (1|config:user), REML; %s df; p_adj: %s ",
                                     "within each question."), plan$ddf, adj)),
    bootstrap = list(sprintf("Over users: user-cluster bootstrap of each contrast of %s", m),
                     sprintf(paste0("users resampled with replacement (all their seeds kept), %d ",
                                    "replicates, seed %d; percentile intervals (type 7)."),
                             plan$bootstrap, plan$boot_seed)),
    paired = list(sprintf("Descriptive: per-(user, seed) paired tests of %s", m),
                  c(paste0("the (user, seed) pairs of one user are not independent, so these p-values are ",
                           "optimistic and enter no verdict: inference over users is the mixed model ",
                           "and the bootstrap."),
                    sprintf("p_adj: %s within each question and test.", adj),
                    paste0("rank-biserial on the paired differences (zeros dropped; NA when every ",
                           "difference is 0); d_z = mean(d) / sd(d)."))),
    power = list(sprintf("Power: minimal detectable effect of each contrast of %s", m),
                 sprintf(paste0("at %g%% power and alpha = %g: superiority (t_{1-a/2} + t_{power}) SE; ",
                                "equivalence (t_{1-a} + t_{1-(1-power)/2}) SE, the smallest margin ",
                                "TOST accepts when the true difference is 0."),
                         100 * plan$power, plan$alpha)),
    costs = list("What each optimization and backend costs: ratios to its baseline",
                 c("ratio = mean(config) / mean(baseline) over seeds (no uncertainty: a few seeds of noisy timings; latency p99 from one slow seed can move it).",
                   "simulated = the serving figure comes from the fpga-sim latency model (training time and size are measured).")))
  out <- list()
  for (nm in intersect(names(info), names(tabs))) {
    out[[nm]] <- .stats_table(tabs[[nm]], method = info[[nm]][[1]], note = info[[nm]][[2]],
                              metric = m)
  }
  out
}

