# ANOVA of a pyrec metric on the experiment factors, with effect sizes.
#
# Needs utils_stats.R (sourced first) and the car and effectsize packages.

#' Prepare the data and fit the linear model behind every pyrec ANOVA.
#'
#' @param data tidy results (one row per run x metric; `value` column).
#' @param formula response ~ factors; every right-hand-side variable is a grouping factor.
#' @param metric NULL or a metric name to select (e.g. "ndcg@10").
#' @param drop_single drop one-level factors (with a message) instead of failing.
#' @param verbose print messages.
#' @param encode fit on level codes "F<i>L<j>" (see `.encode_levels()`); `maps` decodes them.
#' @return list(fit, data, formula, factors, dropped, metric, cells (table), balanced, empty, maps).
#' @keywords internal
.fit_factorial <- function(data, formula, metric = NULL, drop_single = TRUE, verbose = TRUE,
                           encode = FALSE) {
  if (!inherits(formula, "formula") || length(formula) != 3L) {
    stop("'formula' must be a two-sided formula such as value ~ architecture * backend.",
         call. = FALSE)
  }
  vars <- all.vars(formula)
  response <- vars[1]
  factors <- unique(vars[-1])
  if (!length(factors)) stop("'formula' has no factor on its right-hand side.", call. = FALSE)
  data <- .select_metric(data, metric, response)
  label <- attr(data, "pyrec_metric")
  prep <- .as_factors(data, factors, drop_single = drop_single, verbose = verbose)
  data <- prep$data
  formula <- .drop_formula_vars(formula, prep$dropped)
  cells <- table(data[prep$factors])
  if ("config" %in% names(data) && !"config" %in% prep$factors) {
    cell_key <- do.call(paste, c(data[prep$factors], sep = ":"))
    per_cell <- tapply(as.character(data$config), cell_key, function(x) length(unique(x)))
    if (any(per_cell > 1L)) {
      bad <- names(per_cell)[per_cell > 1L]
      stop(sprintf(paste0("the factors %s do not identify the configurations: cell(s) %s hold ",
                          "several configurations, whose runs would be pooled as replicates. ",
                          "Use pyrec_analysis() (the cell-means model on config, seed as block)."),
                   paste(prep$factors, collapse = " x "), paste(bad, collapse = ", ")), call. = FALSE)
    }
  }
  maps <- list()
  if (encode) {
    for (i in seq_along(prep$factors)) {
      enc <- .encode_levels(data[[prep$factors[i]]], prefix = sprintf("F%dL", i))
      data[[prep$factors[i]]] <- enc$x
      maps[[prep$factors[i]]] <- enc$map
    }
  }
  contr <- stats::setNames(rep(list("contr.sum"), length(prep$factors)), prep$factors)
  fit <- stats::lm(formula, data = data, contrasts = contr)
  if (stats::df.residual(fit) < 1L) {
    stop(sprintf(paste0("too few replicates for metric '%s': %d runs for %d model parameters ",
                        "leave no residual degrees of freedom (cells have %s runs); run at least ",
                        "2 seeds per configuration."), label, nrow(data), fit$rank,
                 paste(sort(unique(as.vector(cells[cells > 0]))), collapse = "/")),
         call. = FALSE)
  }
  list(fit = fit, data = data, formula = formula, factors = prep$factors,
       dropped = prep$dropped, metric = label, cells = cells,
       balanced = all(cells > 0) && length(unique(as.vector(cells))) == 1L,
       empty = sum(cells == 0), maps = maps)
}

#' @keywords internal
.ss_type <- function(type) {
  if (is.character(type)) type <- match(toupper(type), c("I", "II", "III"))
  if (!is.numeric(type) || length(type) != 1L || is.na(type) || !type %in% 1:3) {
    stop("'type' must be 1, 2 or 3 (or \"I\", \"II\", \"III\").", call. = FALSE)
  }
  as.integer(type)
}

#' @keywords internal
.anova_table <- function(m, type) {
  if (type == 1L) return(.drop_aliased(stats::anova(m$fit)))
  if (type == 3L && m$empty > 0L) {
    stop(sprintf(paste0("Type III sums of squares are not defined with %d empty cell(s) ",
                        "(skipped configurations); use type = 2."), m$empty), call. = FALSE)
  }
  tab <- car::Anova(m$fit, type = type)
  # Type III: the intercept test is not reported
  .drop_aliased(tab[trimws(rownames(tab)) != "(Intercept)", , drop = FALSE])
}

#' Refuse an ANOVA table with terms of 0 degrees of freedom (aliased by empty cells).
#'
#' Such a term cannot be tested, and the main effects of that model average over configurations
#' that do not exist; pyrec used to drop it silently. Now the error names the terms and points to
#' the cell-means analysis.
#' @keywords internal
.drop_aliased <- function(tab) {
  df <- tab[["Df"]]
  keep <- trimws(rownames(tab)) == "Residuals" | (!is.na(df) & df > 0)
  if (!all(keep)) {
    stop(sprintf(paste0("the factorial model is not estimable: term(s) %s have 0 degrees of freedom ",
                        "(confounded by empty cells: configurations that were not run). Use ",
                        "pyrec_analysis() (the cell-means model on config, seed as block) or an ",
                        "additive formula."), paste(trimws(rownames(tab))[!keep], collapse = ", ")),
         call. = FALSE)
  }
  tab
}

#' Factorial (or one-way) ANOVA of a metric, with eta², partial eta² and omega².
#'
#' Grouping variables are always converted to factors (a numeric `seed` or `dose` column never
#' becomes a 1-df regressor); unused levels are dropped; a factor with one level is removed with a
#' message (`drop_single = TRUE`) or is an error naming it.
#'
#' @details
#' ## Sums of squares
#' Type II sums of squares (`car::Anova`, Langsrud 2003) are the default: with seeds as
#' replicates, skipped configurations make the design unbalanced, and Type II tests each main
#' effect after the other main effects, which does not depend on the order of terms. Type I
#' (sequential, `stats::anova`) equals Type II only for balanced designs. Type III uses sum-to-zero
#' contrasts and needs every cell filled. The attributes `ss_type`, `balanced`, `empty_cells` and
#' `note` record which was used and why.
#' ## Effect sizes
#' `eta2`, `eta2_partial`, `omega2` (non-partial) and `omega2_partial` come from
#' `effectsize::eta_squared()` / `omega_squared()` on the same ANOVA table. `CI_low`/`CI_high`
#' is the confidence interval of `eta2_partial` (noncentral-F inversion, effectsize); with the
#' default `alternative = "greater"` it is one-sided, so `CI_high` is 1.
#'
#' @param data tidy results data.frame (pyrec `runs.parquet` format, or any data.frame).
#' @param formula response ~ grouping factors (default: the three pyrec experiment factors).
#' @param metric NULL or the metric to analyse (e.g. "ndcg@10"); rows of other metrics are dropped.
#' @param type sums of squares type: 1, 2 (default) or 3.
#' @param alpha significance level, used only in the note.
#' @param ci confidence level of the effect-size intervals.
#' @param alternative "greater" (effectsize default, one-sided) or "two.sided".
#' @param drop_single drop one-level factors with a message (TRUE) or fail (FALSE).
#' @param verbose print messages.
#' @return `pyrec_stats_table` data.frame with columns term, df, sum_sq, statistic (F), p_value,
#'   eta2, eta2_partial, omega2, omega2_partial, CI_low, CI_high; the last row is "Residuals".
#' @references Langsrud (2003) Stat. Comput. 13:163-167; Ben-Shachar, Lüdecke & Makowski (2020)
#'   effectsize, JOSS 5(56):2815; Olejnik & Algina (2003) Psychol. Methods 8(4):434.
#' @examplesIf requireNamespace("car") && requireNamespace("effectsize")
#' pyrec_anova(warpbreaks, breaks ~ wool * tension)
pyrec_anova <- function(data, formula = value ~ architecture * optimization * backend,
                        metric = NULL, type = 2, alpha = 0.05, ci = 0.95,
                        alternative = c("greater", "two.sided"), drop_single = TRUE,
                        verbose = TRUE) {
  type <- .ss_type(type)
  alternative <- match.arg(alternative)
  .check_prob(alpha, "alpha")
  .check_prob(ci, "ci")
  m <- .fit_factorial(data, formula, metric, drop_single, verbose)
  tab <- .anova_table(m, type)
  es <- function(fun, partial, ci) {
    fun(tab, partial = partial, ci = ci, alternative = alternative, verbose = FALSE)
  }
  eta_p <- es(effectsize::eta_squared, TRUE, ci)
  eta <- es(effectsize::eta_squared, FALSE, NULL)
  omg <- es(effectsize::omega_squared, FALSE, NULL)
  omg_p <- es(effectsize::omega_squared, TRUE, NULL)
  terms <- trimws(rownames(tab))
  pick <- function(es, col) {
    if (!col %in% names(es)) col <- sub("_partial$", "", col) # one-way: effectsize drops "_partial"
    v <- es[[col]][match(terms, es$Parameter)]
    if (is.null(v)) rep(NA_real_, length(terms)) else v
  }
  out <- data.frame(
    term = terms, df = tab[["Df"]], sum_sq = tab[["Sum Sq"]],
    statistic = tab[["F value"]], p_value = tab[["Pr(>F)"]],
    eta2 = pick(eta, "Eta2"), eta2_partial = pick(eta_p, "Eta2_partial"),
    omega2 = pick(omg, "Omega2"), omega2_partial = pick(omg_p, "Omega2_partial"),
    CI_low = pick(eta_p, "CI_low"), CI_high = pick(eta_p, "CI_high"),
    stringsAsFactors = FALSE)
  if (length(m$factors) == 1L) out$omega2_partial <- out$omega2
  ss_name <- c("Type I (sequential)", "Type II", "Type III")[type]
  design <- if (m$balanced) "balanced" else sprintf(
    "unbalanced (cell sizes %s%s)", paste(range(m$cells[m$cells > 0]), collapse = "-"),
    if (m$empty) sprintf(", %d empty cell(s)", m$empty) else "")
  note <- sprintf("%s sums of squares%s; design %s; metric '%s'; n = %d; alpha = %g.", ss_name,
                  if (type > 1L) " (car::Anova)" else "", design, m$metric, nrow(m$data), alpha)
  if (length(m$dropped)) {
    note <- c(note, sprintf("factor(s) with one level dropped: %s.",
                            paste(m$dropped, collapse = ", ")))
  }
  significant <- out$term[!is.na(out$p_value) & out$p_value < alpha]
  note <- c(note, sprintf("terms with p < %g: %s.", alpha,
                          if (length(significant)) paste(significant, collapse = ", ") else "none"))
  .stats_table(out, method = sprintf("%s ANOVA of %s", if (length(m$factors) == 1L)
                 "One-way" else "Factorial", m$metric),
               ss_type = ss_name, balanced = m$balanced, empty_cells = m$empty,
               metric = m$metric, formula = paste(deparse(m$formula), collapse = " "),
               n_obs = nrow(m$data), ci = ci, ci_alternative = alternative,
               dropped_factors = m$dropped, note = note)
}

#' One-way ANOVA of a metric on a single factor (e.g. `config`).
#'
#' @inheritParams pyrec_anova
#' @param factor name of the grouping column.
#' @param response name of the numeric response column.
#' @return as [pyrec_anova()].
pyrec_oneway <- function(data, factor = "config", metric = NULL, response = "value",
                         alpha = 0.05, ci = 0.95, alternative = c("greater", "two.sided"),
                         verbose = TRUE) {
  .check_string(factor, "factor")
  .check_string(response, "response")
  f <- stats::reformulate(sprintf("`%s`", factor), response = response)
  pyrec_anova(data, f, metric = metric, type = 2, alpha = alpha, ci = ci,
              alternative = match.arg(alternative), drop_single = FALSE, verbose = verbose)
}

#' Effect sizes of every ANOVA term in long, tidy form, each with its own confidence interval.
#'
#' @inheritParams pyrec_anova
#' @return `pyrec_stats_table` with columns term, effect ("eta2", "eta2_partial", "omega2",
#'   "omega2_partial"), value, CI_low, CI_high, ci.
pyrec_effect_sizes <- function(data, formula = value ~ architecture * optimization * backend,
                               metric = NULL, type = 2, ci = 0.95,
                               alternative = c("greater", "two.sided"), drop_single = TRUE,
                               verbose = TRUE) {
  type <- .ss_type(type)
  alternative <- match.arg(alternative)
  .check_prob(ci, "ci")
  m <- .fit_factorial(data, formula, metric, drop_single, verbose)
  tab <- .anova_table(m, type)
  specs <- list(eta2 = list(effectsize::eta_squared, FALSE, "Eta2"),
                eta2_partial = list(effectsize::eta_squared, TRUE, "Eta2_partial"),
                omega2 = list(effectsize::omega_squared, FALSE, "Omega2"),
                omega2_partial = list(effectsize::omega_squared, TRUE, "Omega2_partial"))
  rows <- lapply(names(specs), function(nm) {
    s <- specs[[nm]]
    es <- s[[1]](tab, partial = s[[2]], ci = ci, alternative = alternative, verbose = FALSE)
    col <- if (s[[3]] %in% names(es)) s[[3]] else sub("_partial$", "", s[[3]])
    data.frame(term = es$Parameter, effect = nm, value = es[[col]], CI_low = es$CI_low,
               CI_high = es$CI_high, ci = ci, stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  out <- out[order(match(out$term, trimws(rownames(tab)))), , drop = FALSE]
  .stats_table(out, method = sprintf("Effect sizes (%s SS) of %s",
                                     c("Type I", "Type II", "Type III")[type], m$metric),
               metric = m$metric, ci_alternative = alternative,
               note = c(sprintf("confidence intervals: %g%%, %s (effectsize %s).", 100 * ci,
                                alternative, utils::packageVersion("effectsize")),
                        NULL))
}
