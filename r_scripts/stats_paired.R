# Per-user paired comparisons of configurations (paired t, Wilcoxon signed-rank, Holm, Cohen's d).
#
# Needs utils_stats.R (sourced first) and the effectsize package.

#' Values of two groups matched on the key columns.
#' @keywords internal
.match_pairs <- function(data, group, a, b, match, response, label) {
  pick <- function(g) {
    d <- data[data[[group]] == g, c(match, response), drop = FALSE]
    if (!nrow(d)) {
      stop(sprintf("%s '%s' has no rows for metric '%s'; available: %s.", group, g, label,
                   paste(unique(data[[group]]), collapse = ", ")), call. = FALSE)
    }
    dup <- duplicated(d[match])
    if (any(dup)) {
      stop(sprintf(paste0("%s '%s' has %d duplicated (%s) rows for metric '%s'; keep one ",
                          "dataset/split/protocol per comparison."), group, g, sum(dup),
                   paste(match, collapse = ", "), label), call. = FALSE)
    }
    d
  }
  m <- merge(pick(a), pick(b), by = match, suffixes = c(".a", ".b"), sort = TRUE)
  if (nrow(m) < 2L) {
    stop(sprintf(paste0("too few paired observations for metric '%s': %d (%s) pair(s) shared by ",
                        "'%s' and '%s'; a paired test needs at least 2."), label, nrow(m),
                 paste(match, collapse = ", "), a, b), call. = FALSE)
  }
  list(x = m[[paste0(response, ".a")]], y = m[[paste0(response, ".b")]])
}

#' Run `fun`, returning NULL (and the message in attr "why") when R cannot compute it.
#' @keywords internal
.try_test <- function(fun) {
  tryCatch(fun(), error = function(e) structure(list(), why = conditionMessage(e)))
}

#' Paired t-tests and Wilcoxon signed-rank tests between configurations, over matched users.
#'
#' For each pair (group1, group2), per-user values are matched on `match` (by default user and
#' seed, i.e. the same split and seed) and compared with a paired t-test (`stats::t.test`) and a
#' Wilcoxon signed-rank test (`stats::wilcox.test`). p-values are adjusted across the comparisons
#' of each test with `stats::p.adjust(method = p_adjust)` (Holm by default).
#'
#' @details
#' ## Effect sizes
#' Paired t rows carry Cohen's d for paired samples, d_z = mean(diff) / sd(diff)
#' (`effectsize::cohens_d(paired = TRUE)`, effectsize 0.8.3; later releases call this
#' `repeated_measures_d(method = "z")`). Wilcoxon rows carry the matched-pairs rank-biserial
#' correlation of the differences (`.rank_biserial()`: `effectsize::rank_biserial()` on x - y;
#' effectsize 0.8.3's paired form sizes its CI by the non-zero x, not x - y; NA when every
#' difference is 0).
#' ## Wilcoxon p-values
#' R uses the exact null distribution when n < 50 and there are no ties or zero differences,
#' otherwise the normal approximation with continuity correction (`correct`) and tie-corrected
#' variance; zero differences are dropped (Wilcoxon's convention). Per-user NDCG has many ties and
#' zeros, so the normal approximation is the usual case.
#'
#' @param per_user per-user data.frame (`config`, `user`, `seed`, `metric`, `k`, `value`).
#' @param config_a,config_b character vectors of equal length: the pairs to compare; NULL compares
#'   all pairs of `group` levels.
#' @param metric NULL or a metric ("ndcg@10" matches metric "ndcg" with k 10).
#' @param group column holding the configuration label.
#' @param match columns on which observations are paired.
#' @param response numeric response column.
#' @param alternative "two.sided", "less" or "greater" (group1 vs group2).
#' @param conf_level confidence level of the intervals.
#' @param p_adjust method of `stats::p.adjust` across comparisons.
#' @param exact,correct passed to `stats::wilcox.test`.
#' @param verbose print messages.
#' @return `pyrec_stats_table` with columns group1, group2, test, n, mean1, mean2, estimate
#'   (mean difference for t, median difference for Wilcoxon), CI_low, CI_high (of the mean
#'   difference), statistic (t or V), df, p_value, p_adj, effect_size_type, effect_size,
#'   es_CI_low, es_CI_high, note.
#' @references Holm (1979) Scand. J. Stat. 6:65; Wilcoxon (1945) Biometrics Bull. 1:80;
#'   Cohen (1988) Statistical Power Analysis; Kerby (2014) Compr. Psychol. 3.
pyrec_paired_tests <- function(per_user, config_a = NULL, config_b = NULL, metric = NULL,
                               group = "config", match = c("user", "seed"), response = "value",
                               alternative = c("two.sided", "less", "greater"),
                               conf_level = 0.95, p_adjust = "holm", exact = NULL,
                               correct = TRUE, verbose = TRUE) {
  alternative <- match.arg(alternative)
  p_adjust <- match.arg(p_adjust, stats::p.adjust.methods)
  .check_prob(conf_level, "conf_level")
  .check_data(per_user, c(group, match), "per_user")
  data <- .select_metric(per_user, metric, response)
  label <- attr(data, "pyrec_metric")
  data[[group]] <- as.character(data[[group]])
  if (is.null(config_a) && is.null(config_b)) {
    lev <- unique(data[[group]])
    if (length(lev) < 2L) {
      stop(sprintf("'%s' has only one level ('%s') for metric '%s'; nothing to compare.",
                   group, lev[1], label), call. = FALSE)
    }
    cmb <- utils::combn(lev, 2L)
    config_a <- cmb[1, ]
    config_b <- cmb[2, ]
  }
  if (!is.character(config_a) || !is.character(config_b) ||
      length(config_a) != length(config_b) || !length(config_a)) {
    stop("'config_a' and 'config_b' must be character vectors of the same, non-zero length.",
         call. = FALSE)
  }
  rows <- lapply(seq_along(config_a), function(i) {
    a <- config_a[i]
    b <- config_b[i]
    if (identical(a, b)) stop(sprintf("cannot compare '%s' with itself.", a), call. = FALSE)
    p <- .match_pairs(data, group, a, b, match, response, label)
    d <- p$x - p$y
    tt <- .try_test(function() stats::t.test(p$x, p$y, paired = TRUE, alternative = alternative,
                                             conf.level = conf_level))
    wt <- .try_test(function() .wilcox_paired(p$x, p$y, alternative = alternative,
                                              exact = exact, correct = correct))
    cd <- .try_test(function() effectsize::cohens_d(p$x, p$y, paired = TRUE, ci = conf_level,
                                                    alternative = alternative, verbose = FALSE))
    rb <- .try_test(function() {  # on the differences: see .rank_biserial() (stats_design.R)
      v <- .rank_biserial(d, conf_level)
      list(r_rank_biserial = v[["r"]], CI_low = v[["low"]], CI_high = v[["high"]])
    })
    num <- function(x) if (is.null(x) || !length(x)) NA_real_ else unname(as.numeric(x))[1]
    why <- function(x) if (is.null(attr(x, "why"))) "" else paste("not computed:", attr(x, "why"))
    data.frame(
      group1 = a, group2 = b, test = c("paired t", "Wilcoxon signed-rank"), n = length(d),
      mean1 = mean(p$x), mean2 = mean(p$y), estimate = c(mean(d), stats::median(d)),
      CI_low = c(num(tt$conf.int[1]), NA), CI_high = c(num(tt$conf.int[2]), NA),
      statistic = c(num(tt$statistic), num(wt$statistic)), df = c(num(tt$parameter), NA),
      p_value = c(num(tt$p.value), num(wt$p.value)), p_adj = NA_real_,
      effect_size_type = c("cohens_d_z", "rank_biserial"),
      effect_size = c(num(cd$Cohens_d), num(rb$r_rank_biserial)),
      es_CI_low = c(num(cd$CI_low), num(rb$CI_low)),
      es_CI_high = c(num(cd$CI_high), num(rb$CI_high)),
      note = c(why(tt), if (nzchar(why(wt))) why(wt) else
        sprintf("%s; %d zero difference(s) dropped", wt$method, sum(d == 0))),
      stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  n_adj <- 0L
  for (t in unique(out$test)) {
    i <- out$test == t & !is.na(out$p_value)
    out$p_adj[i] <- stats::p.adjust(out$p_value[i], method = p_adjust)
    n_adj <- max(n_adj, sum(i))
  }
  .stats_table(out, method = sprintf("Per-user paired tests of %s (matched on %s)", label,
                                     paste(match, collapse = ", ")),
               metric = label, p_adjust = p_adjust, alternative = alternative,
               n_comparisons = length(config_a),
               note = sprintf(paste0("p_adj: %s across the %d p-value(s) computed within each ",
                                     "test (%d pair(s) compared); estimate = group1 - group2; ",
                                     "rank-biserial on the paired differences (NA when all are 0)."),
                              p_adjust, n_adj, length(config_a)))
}

#' Paired t-test and Wilcoxon signed-rank test of one pair of configurations.
#'
#' @inheritParams pyrec_paired_tests
#' @param config_a,config_b the two configuration labels.
#' @param ... passed to [pyrec_paired_tests()].
#' @return as [pyrec_paired_tests()] with two rows; `p_adj` equals `p_value` (one comparison).
pyrec_paired_test <- function(per_user, config_a, config_b, ...) {
  .check_string(config_a, "config_a")
  .check_string(config_b, "config_b")
  pyrec_paired_tests(per_user, config_a = config_a, config_b = config_b, ...)
}
