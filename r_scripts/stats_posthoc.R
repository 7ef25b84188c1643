# Post-hoc comparisons: Tukey HSD and emmeans contrasts, with level names kept intact.
#
# Needs utils_stats.R and stats_anova.R (sourced first) and the emmeans package.
# Level names such as "LightGCN-INT8", "hybrid+lora", "gnn cpu" or "café" would be mangled by
# splitting TukeyHSD's "B-A" labels on "-"; both functions fit on codes ("L1", "F1L2") and map the
# codes back, so group1/group2 are always the original level names.

#' Tukey's honestly significant difference test between the levels of one factor.
#'
#' Fits the one-way model `response ~ factor` (`stats::aov`) and runs `stats::TukeyHSD`
#' (Tukey-Kramer for unequal group sizes). With several factors, their observed combinations
#' ("gnn:lora:cpu") are the groups.
#'
#' @param data tidy results data.frame.
#' @param factor name(s) of the grouping column(s) (default "config").
#' @param metric NULL or the metric to analyse.
#' @param response name of the numeric response column.
#' @param conf_level family-wise confidence level of the intervals.
#' @param verbose print messages.
#' @return `pyrec_stats_table` with columns group1, group2, estimate (mean of group1 minus mean
#'   of group2), CI_low, CI_high, p_adj (Tukey-adjusted p-value); one row per pair of levels,
#'   in TukeyHSD's order (group1 is the later level).
#' @references Tukey (1949) Biometrics 5:99; Kramer (1956) Biometrics 12:307.
#' @examplesIf TRUE
#' pyrec_tukey(warpbreaks, "tension", response = "breaks")
pyrec_tukey <- function(data, factor = "config", metric = NULL, response = "value",
                        conf_level = 0.95, verbose = TRUE) {
  if (!is.character(factor) || !length(factor) || anyNA(factor)) {
    stop("'factor' must be one or more column names (character).", call. = FALSE)
  }
  .check_prob(conf_level, "conf_level")
  data <- .select_metric(data, metric, response)
  label <- attr(data, "pyrec_metric")
  prep <- .as_factors(data, factor, drop_single = FALSE, verbose = verbose)
  g <- if (length(factor) == 1L) prep$data[[factor]] else
    interaction(prep$data[factor], drop = TRUE, sep = ":", lex.order = TRUE)
  enc <- .encode_levels(g)
  y <- prep$data[[response]]
  if (length(y) - nlevels(enc$x) < 1L) {
    stop(sprintf(paste0("too few replicates for metric '%s': %d runs in %d groups of '%s' leave ",
                        "no residual degrees of freedom; run at least 2 seeds per group."),
                 label, length(y), nlevels(enc$x), paste(factor, collapse = ":")), call. = FALSE)
  }
  fit <- stats::aov(y ~ group, data = data.frame(y = y, group = enc$x))
  tk <- stats::TukeyHSD(fit, "group", conf.level = conf_level)$group
  pairs <- strsplit(rownames(tk), "-", fixed = TRUE)
  out <- data.frame(
    group1 = .decode_levels(vapply(pairs, `[`, "", 1L), enc$map),
    group2 = .decode_levels(vapply(pairs, `[`, "", 2L), enc$map),
    estimate = unname(tk[, "diff"]), CI_low = unname(tk[, "lwr"]),
    CI_high = unname(tk[, "upr"]), p_adj = unname(tk[, "p adj"]), stringsAsFactors = FALSE)
  .stats_table(out, method = sprintf("Tukey HSD of %s between levels of %s", label,
                                     paste(factor, collapse = ":")),
               metric = label, factor = factor, conf_level = conf_level,
               note = sprintf(paste0("estimate = mean(group1) - mean(group2); %g%% family-wise ",
                                     "intervals; residual df = %d."), 100 * conf_level,
                              fit$df.residual))
}

#' Pairwise contrasts of estimated marginal means in a factorial model (emmeans).
#'
#' Fits the same linear model as [pyrec_anova()] and compares the estimated marginal means of
#' `specs` (averaged with equal weights over the other factors) pairwise, Tukey-adjusted by default.
#' Contrasts that involve an empty cell are not estimable and come back as NA.
#'
#' @inheritParams pyrec_anova
#' @param specs character, factor(s) whose marginal means are compared (combinations if several).
#' @param by NULL or character, factor(s) within whose levels the comparisons are made.
#' @param adjust p-value adjustment passed to `emmeans::pairs()` ("tukey", "holm", "none", ...).
#' @param conf_level confidence level of the intervals.
#' @return `pyrec_stats_table` with columns term, by, group1, group2, estimate (group1 minus
#'   group2), SE, df, statistic (t ratio), p_adj, CI_low, CI_high.
#' @references Lenth (2024) emmeans: Estimated Marginal Means, R package; Searle, Speed & Milliken
#'   (1980) Am. Stat. 34:216.
#' @examplesIf requireNamespace("emmeans")
#' pyrec_emmeans(warpbreaks, breaks ~ wool * tension, specs = "tension", by = "wool")
pyrec_emmeans <- function(data, formula = value ~ architecture * optimization * backend,
                          specs = all.vars(formula)[2], by = NULL, metric = NULL,
                          adjust = "tukey", conf_level = 0.95, drop_single = TRUE,
                          verbose = TRUE) {
  .check_prob(conf_level, "conf_level")
  .check_string(adjust, "adjust")
  if (!is.character(specs) || !length(specs)) {
    stop("'specs' must name one or more factors of the formula.", call. = FALSE)
  }
  unknown <- setdiff(c(specs, by), all.vars(formula)[-1])
  if (length(unknown)) {
    stop(sprintf("'specs'/'by' name(s) %s are not factors of the formula %s.",
                 paste0("'", unknown, "'", collapse = ", "), deparse(formula)), call. = FALSE)
  }
  m <- .fit_factorial(data, formula, metric, drop_single, verbose, encode = TRUE)
  gone <- intersect(c(specs, by), m$dropped)
  if (length(gone)) {
    stop(sprintf("factor(s) %s have a single level; nothing to compare.",
                 paste0("'", gone, "'", collapse = ", ")), call. = FALSE)
  }
  em <- emmeans::emmeans(m$fit, specs = specs, by = by, level = conf_level)
  s <- as.data.frame(summary(graphics::pairs(em, adjust = adjust), infer = c(TRUE, TRUE),
                             level = conf_level))
  decode <- function(labels) {
    vapply(strsplit(trimws(labels), " ", fixed = TRUE), function(codes) {
      paste(vapply(codes, function(cd) {
        f <- m$factors[as.integer(sub("^F([0-9]+)L.*$", "\\1", cd))]
        .decode_levels(cd, m$maps[[f]])
      }, ""), collapse = ":")
    }, "")
  }
  sides <- strsplit(as.character(s$contrast), " - ", fixed = TRUE)
  by_label <- if (is.null(by)) NA_character_ else
    apply(s[by], 1, function(r) paste(sprintf("%s=%s", by, vapply(seq_along(by), function(i)
      .decode_levels(r[[i]], m$maps[[by[i]]]), "")), collapse = ","))
  stat_col <- intersect(c("t.ratio", "z.ratio"), names(s))[1]
  ci_cols <- if ("lower.CL" %in% names(s)) c("lower.CL", "upper.CL") else
    c("asymp.LCL", "asymp.UCL")
  out <- data.frame(
    term = paste(specs, collapse = ":"), by = by_label,
    group1 = decode(vapply(sides, `[`, "", 1L)), group2 = decode(vapply(sides, `[`, "", 2L)),
    estimate = s$estimate, SE = s$SE, df = s$df, statistic = s[[stat_col]],
    p_adj = s$p.value, CI_low = s[[ci_cols[1]]], CI_high = s[[ci_cols[2]]],
    stringsAsFactors = FALSE)
  by_text <- if (is.null(by)) "" else paste(" by", paste(by, collapse = ","))
  .stats_table(out, method = sprintf("emmeans pairwise contrasts of %s for %s%s", m$metric,
                                     paste(specs, collapse = ":"), by_text),
               metric = m$metric, adjust = adjust, conf_level = conf_level,
               note = sprintf(paste0("estimate = EMM(group1) - EMM(group2), equal weights over ",
                                     "other factors; p-values and %g%% intervals adjusted: %s."),
                              100 * conf_level, adjust))
}
