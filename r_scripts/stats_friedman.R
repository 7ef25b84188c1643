# Friedman test across blocks (datasets, or users) and its pairwise post-hoc tests.
#
# Needs utils_stats.R (sourced first); base R only.

#' Block x group matrix of mean values, keeping complete blocks only.
#' @keywords internal
.block_matrix <- function(data, group, block, metric, response, verbose) {
  .check_string(group, "group")
  .check_string(block, "block")
  .check_data(data, c(group, block))
  data <- .select_metric(data, metric, response)
  label <- attr(data, "pyrec_metric")
  g <- as.character(data[[group]])
  b <- as.character(data[[block]])
  reps <- table(b, g)
  if (any(reps > 1L) && verbose) {
    message(sprintf("averaging %d replicate(s) (seeds) per %s x %s before the Friedman test.",
                    max(reps), block, group))
  }
  mat <- tapply(data[[response]], list(b, g), mean)
  incomplete <- rownames(mat)[apply(is.na(mat), 1, any)]
  if (length(incomplete)) {
    if (verbose) {
      message(sprintf("dropping %d %s block(s) without every %s: %s.", length(incomplete), block,
                      group, paste(utils::head(incomplete, 5), collapse = ", ")))
    }
    mat <- mat[!rownames(mat) %in% incomplete, , drop = FALSE]
  }
  if (ncol(mat) < 2L) {
    stop(sprintf("'%s' has only one level for metric '%s'; Friedman needs at least 2 groups.",
                 group, label), call. = FALSE)
  }
  if (nrow(mat) < 2L) {
    stop(sprintf(paste0("too few complete blocks for metric '%s': %d %s block(s) with every %s; ",
                        "the Friedman test needs at least 2."), label, nrow(mat), block, group),
         call. = FALSE)
  }
  list(mat = mat, label = label)
}

#' Friedman rank-sum test of several configurations across blocks (e.g. datasets).
#'
#' Replicates (seeds) within a block x group cell are averaged; blocks missing a group are dropped
#' with a message. Kendall's W = chi^2 / (N (k - 1)) is given as the effect size.
#'
#' @param data tidy results (or per-user) data.frame.
#' @param group column of the treatments compared (default "config").
#' @param block column of the blocks (default "dataset"; "user" for per-user tables).
#' @param metric NULL or a metric name.
#' @param response numeric response column.
#' @param verbose print messages.
#' @return `pyrec_stats_table` with one row: test, statistic (chi^2), df, p_value, n_blocks,
#'   n_groups, kendall_w.
#' @references Friedman (1937) JASA 32:675; Kendall & Babington Smith (1939)
#'   Ann. Math. Stat. 10:275.
pyrec_friedman <- function(data, group = "config", block = "dataset", metric = NULL,
                           response = "value", verbose = TRUE) {
  bm <- .block_matrix(data, group, block, metric, response, verbose)
  ft <- stats::friedman.test(bm$mat)
  n <- nrow(bm$mat)
  k <- ncol(bm$mat)
  out <- data.frame(test = "Friedman rank sum", statistic = unname(ft$statistic),
                    df = unname(ft$parameter), p_value = ft$p.value, n_blocks = n, n_groups = k,
                    kendall_w = unname(ft$statistic) / (n * (k - 1)), stringsAsFactors = FALSE)
  .stats_table(out, method = sprintf("Friedman test of %s across %s blocks", bm$label, block),
               metric = bm$label, groups = colnames(bm$mat),
               note = sprintf("%d %s blocks x %d %s groups (tie-corrected chi-squared).", n, block,
                              k, group))
}

#' Pairwise Wilcoxon signed-rank post-hoc tests after a Friedman test (Holm-adjusted).
#'
#' @inheritParams pyrec_friedman
#' @param p_adjust method of `stats::p.adjust`.
#' @param exact,correct passed to `stats::wilcox.test`.
#' @return `pyrec_stats_table` with columns group1, group2, n_blocks, median_diff, statistic (V),
#'   p_value, note (the Wilcoxon method: exact or normal approximation), p_adj.
#' @details With few blocks (e.g. 3 datasets) the smallest attainable two-sided exact Wilcoxon
#'   p-value is 2 / 2^N (0.25 for N = 3): significance across datasets needs more datasets.
#' @references Demšar (2006) JMLR 7:1-30; Benavoli, Corani & Mangili (2016) JMLR 17:1-10.
pyrec_friedman_posthoc <- function(data, group = "config", block = "dataset", metric = NULL,
                                   response = "value", p_adjust = "holm", exact = NULL,
                                   correct = TRUE, verbose = TRUE) {
  p_adjust <- match.arg(p_adjust, stats::p.adjust.methods)
  bm <- .block_matrix(data, group, block, metric, response, verbose)
  cmb <- utils::combn(colnames(bm$mat), 2L)
  rows <- lapply(seq_len(ncol(cmb)), function(i) {
    x <- bm$mat[, cmb[1, i]]
    y <- bm$mat[, cmb[2, i]]
    wt <- tryCatch(.wilcox_paired(x, y, exact = exact, correct = correct),
                   error = function(e) list(statistic = NA_real_, p.value = NA_real_,
                                            method = conditionMessage(e)))
    data.frame(group1 = cmb[1, i], group2 = cmb[2, i], n_blocks = length(x),
               median_diff = stats::median(x - y), statistic = unname(wt$statistic),
               p_value = wt$p.value, note = wt$method, stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  out$p_adj <- stats::p.adjust(out$p_value, method = p_adjust)
  .stats_table(out, method = sprintf("Pairwise Wilcoxon signed-rank post-hoc of %s over %s blocks",
                                     bm$label, block),
               metric = bm$label, p_adjust = p_adjust,
               note = sprintf("p_adj: %s over %d comparisons.", p_adjust, nrow(out)))
}
