# ANOVA assumption checks and robust alternatives for a pyrec metric.
#
# Needs utils_stats.R and stats_anova.R (sourced first) and the car package.

#' Run one test, turning an R failure into an NA row with the reason as note.
#' @keywords internal
.test_row <- function(test, expr_fun, note_ok = "") {
  res <- tryCatch(expr_fun(), error = function(e) e)
  if (inherits(res, "error")) {
    return(data.frame(test = test, statistic = NA_real_, df = NA_real_, df_error = NA_real_,
                      p_value = NA_real_, note = paste("not computed:", conditionMessage(res)),
                      stringsAsFactors = FALSE))
  }
  data.frame(test = test, statistic = unname(res$statistic), df = unname(res$df[1]),
             df_error = if (length(res$df) > 1L) unname(res$df[2]) else NA_real_,
             p_value = unname(res$p_value), note = note_ok, stringsAsFactors = FALSE)
}

#' Assumption checks of the ANOVA model, with Welch's ANOVA and Kruskal-Wallis beside it.
#'
#' @details
#' ## Tests
#' - **Shapiro-Wilk** (`stats::shapiro.test`) on the residuals of the factorial linear model
#'   (H0: residuals are normal); needs 3 to 5000 residuals.
#' - **Levene** (`car::leveneTest`, `center = median`, i.e. the Brown-Forsythe variant) across the
#'   design cells (H0: equal variances); not computed when no cell has more than 2 runs (the
#'   absolute deviations from a 2-run median are equal, so the test degenerates).
#' - **Classical one-way ANOVA** (`anova(lm(y ~ cell))`) across the cells.
#' - **Welch's ANOVA** (`oneway.test(var.equal = FALSE)`; Welch 1951) across the cells: robust to
#'   unequal variances; needs at least 2 runs and non-zero variance in every cell.
#' - **Kruskal-Wallis** (`stats::kruskal.test`) across the cells: rank-based, no normality.
#'
#' The cells are the observed combinations of the factors (`interaction(..., drop = TRUE)`), so
#' Welch and Kruskal-Wallis test "any configuration differs", not the factorial terms.
#' A test that cannot be computed gives an NA row whose `note` says why.
#'
#' @inheritParams pyrec_anova
#' @return `pyrec_stats_table` with columns test, statistic, df, df_error, p_value, violated
#'   (TRUE when an assumption test rejects at `alpha`; NA for the ANOVAs), note.
#' @references Shapiro & Wilk (1965) Biometrika 52:591; Brown & Forsythe (1974) JASA 69:364;
#'   Welch (1951) Biometrika 38:330; Kruskal & Wallis (1952) JASA 47:583.
#' @examplesIf requireNamespace("car")
#' pyrec_assumptions(warpbreaks, breaks ~ wool * tension)
pyrec_assumptions <- function(data, formula = value ~ architecture * optimization * backend,
                              metric = NULL, alpha = 0.05, drop_single = TRUE, verbose = TRUE) {
  .check_prob(alpha, "alpha")
  m <- .fit_factorial(data, formula, metric, drop_single, verbose)
  d <- m$data
  y <- d[[all.vars(m$formula)[1]]]
  cell <- interaction(d[m$factors], drop = TRUE, sep = ":", lex.order = TRUE)
  res <- stats::residuals(m$fit)
  n_cell <- table(cell)
  sd_cell <- tapply(y, cell, stats::sd)
  htest <- function(h) list(statistic = h$statistic, df = h$parameter, p_value = h$p.value)

  shapiro <- .test_row("Shapiro-Wilk (residuals)", function() {
    if (length(res) < 3L || length(res) > 5000L) {
      stop(sprintf("Shapiro-Wilk needs 3 to 5000 residuals (have %d)", length(res)))
    }
    if (stats::sd(res) == 0) stop("residuals are all equal")
    h <- stats::shapiro.test(res)
    list(statistic = h$statistic, df = NA_real_, p_value = h$p.value)
  })
  levene <- .test_row("Levene (Brown-Forsythe, median)", function() {
    if (max(n_cell) <= 2L) {
      stop(paste0("too few replicates: with at most 2 runs per cell the deviations from the ",
                  "cell median are equal within each cell; Levene needs >= 3 runs in some cell"))
    }
    lt <- car::leveneTest(y ~ cell, center = stats::median)
    list(statistic = lt[["F value"]][1], df = c(lt$Df[1], lt$Df[2]), p_value = lt[["Pr(>F)"]][1])
  })
  classical <- .test_row("One-way ANOVA (cells, equal variances)", function() {
    a <- stats::anova(stats::lm(y ~ cell))
    list(statistic = a[["F value"]][1], df = a$Df, p_value = a[["Pr(>F)"]][1])
  })
  welch <- .test_row("Welch ANOVA (cells)", function() {
    few <- names(n_cell)[n_cell < 2L]
    if (length(few)) {
      stop(sprintf("too few replicates: cell(s) %s have 1 run; Welch needs >= 2 per cell",
                   paste0("'", few, "'", collapse = ", ")))
    }
    flat <- names(sd_cell)[!is.na(sd_cell) & sd_cell == 0]
    if (length(flat)) {
      stop(sprintf("cell(s) %s have zero variance", paste0("'", flat, "'", collapse = ", ")))
    }
    htest(stats::oneway.test(y ~ cell, var.equal = FALSE))
  })
  kruskal <- .test_row("Kruskal-Wallis (cells)", function() {
    htest(stats::kruskal.test(y ~ cell))
  })
  out <- rbind(shapiro, levene, classical, welch, kruskal)
  out$violated <- c(shapiro$p_value < alpha, levene$p_value < alpha, NA, NA, NA)
  out <- out[c("test", "statistic", "df", "df_error", "p_value", "violated", "note")]
  notes <- character()
  if (isTRUE(out$violated[1])) {
    notes <- c(notes, sprintf(paste0("residuals depart from normality (Shapiro-Wilk p = %.3g < ",
                                     "%g): read the Kruskal-Wallis row beside the ANOVA."),
                              out$p_value[1], alpha))
  }
  if (isTRUE(out$violated[2])) {
    notes <- c(notes, sprintf(paste0("variances differ across cells (Levene p = %.3g < %g): ",
                                     "read the Welch ANOVA row beside the classical one."),
                              out$p_value[2], alpha))
  }
  if (!length(notes)) notes <- sprintf("no assumption test rejects at alpha = %g.", alpha)
  .stats_table(out, method = sprintf("Assumption checks for the ANOVA of %s (%d cells, n = %d)",
                                     m$metric, nlevels(cell), length(y)),
               metric = m$metric, alpha = alpha, n_cells = nlevels(cell), note = notes)
}
