# Shared helpers of the pyrec statistics scripts (r_scripts/stats_*.R).
#
# Plain base R (R >= 4.2); the stats_*.R files use car, emmeans and effectsize. Argument checks
# follow effectsize's style: small .check_*() helpers, and stop() messages that name the
# argument, factor or metric and say what form is expected (no raw R stack traces).

#' Check that `data` is a data.frame with the named columns.
#' @param data object to check.
#' @param cols character, columns `data` must have.
#' @param what name of the argument, for the message.
#' @keywords internal
.check_data <- function(data, cols = character(), what = "data") {
  if (!is.data.frame(data)) {
    stop(sprintf("'%s' must be a data.frame (got an object of class '%s').",
                 what, class(data)[1]), call. = FALSE)
  }
  if (nrow(data) == 0L) {
    stop(sprintf("'%s' has no rows.", what), call. = FALSE)
  }
  missing <- setdiff(cols, names(data))
  if (length(missing)) {
    stop(sprintf("'%s' has no column(s) %s; it has: %s.", what,
                 paste0("'", missing, "'", collapse = ", "),
                 paste(names(data), collapse = ", ")), call. = FALSE)
  }
  invisible(data)
}

#' Check a probability-like scalar in (0, 1).
#' @keywords internal
.check_prob <- function(x, what) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x <= 0 || x >= 1) {
    stop(sprintf("'%s' must be a single number in (0, 1) (got %s).", what,
                 paste(format(x), collapse = ", ")), call. = FALSE)
  }
  invisible(x)
}

#' Check a single non-NA string.
#' @keywords internal
.check_string <- function(x, what) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    stop(sprintf("'%s' must be a single non-empty string (got %s).", what,
                 paste(format(x), collapse = ", ")), call. = FALSE)
  }
  invisible(x)
}

#' A metric name as pyrec writes it: lower case, ranking-metric aliases resolved ("HR@10" ->
#' "hit@10", "AP@5" -> "map@5"), as `pyrec.metrics.parse_metric` does in Python.
#' @keywords internal
.canonical_metric <- function(metric) {
  m <- tolower(trimws(metric))
  parts <- regmatches(m, regexec("^([a-z_]+)@([0-9]+)$", m))[[1]]
  if (length(parts) != 3L) return(m)
  alias <- c(hr = "hit", hitrate = "hit", hit_rate = "hit", ap = "map", prec = "precision")
  fam <- if (parts[2] %in% names(alias)) alias[[parts[2]]] else parts[2]
  paste0(fam, "@", parts[3])
}

#' Keep the rows of one metric (when `metric` is given) and check the response column.
#'
#' A `metric` such as "ndcg@10" matches rows whose `metric` column equals it, or, in per-user
#' tables that store the cutoff apart, rows with `metric == "ndcg"` and `k == 10`.
#' @param data data.frame in the tidy results format (`metric`, `value` columns).
#' @param metric NULL (use all rows) or a metric name.
#' @param response name of the numeric response column (default "value").
#' @return `data` restricted to that metric, with rows whose response is NA removed.
#' @keywords internal
.select_metric <- function(data, metric = NULL, response = "value") {
  .check_data(data, response)
  label <- if (is.null(metric)) response else metric
  if (!is.null(metric)) {
    .check_string(metric, "metric")
    .check_data(data, "metric")
    m <- as.character(data$metric)
    keep <- !is.na(m) & m == metric
    if (!any(keep) && grepl("@", metric, fixed = TRUE) && "k" %in% names(data)) {
      name <- sub("@.*$", "", metric)
      k <- suppressWarnings(as.numeric(sub("^.*@", "", metric)))
      keep <- !is.na(m) & m == name & !is.na(data$k) & as.numeric(data$k) == k
    }
    if (!any(keep)) {
      stop(sprintf("metric '%s' is not in the data; available metrics: %s.", metric,
                   paste(sort(unique(m[!is.na(m)])), collapse = ", ")), call. = FALSE)
    }
    data <- data[keep, , drop = FALSE]
  }
  y <- data[[response]]
  if (!is.numeric(y)) {
    stop(sprintf("the response column '%s' must be numeric (got %s).", response,
                 class(y)[1]), call. = FALSE)
  }
  if (all(is.na(y))) {
    stop(sprintf("metric '%s' has only missing (NA) values in column '%s' (%d rows).",
                 label, response, length(y)), call. = FALSE)
  }
  data <- data[!is.na(y), , drop = FALSE]
  attr(data, "pyrec_metric") <- label
  data
}

#' Turn grouping columns into factors, drop unused levels, handle one-level factors.
#'
#' Numeric columns (seed, k, dose) are converted through `as.character()`, so a grouping
#' variable can never enter a model as a 1-df numeric regressor. Existing factor level order
#' is kept; other columns get levels in order of first appearance.
#' @param data data.frame.
#' @param factors character, names of the grouping columns.
#' @param drop_single if TRUE, factors with a single level are removed (with a message when
#'   `verbose`); if FALSE such a factor is an error naming it.
#' @param verbose print messages.
#' @return list(data, factors = the factors kept, dropped = the factors removed).
#' @keywords internal
.as_factors <- function(data, factors, drop_single = TRUE, verbose = TRUE) {
  .check_data(data, factors)
  for (f in factors) {
    x <- data[[f]]
    if (is.factor(x)) {
      x <- droplevels(x)
    } else {
      x <- as.character(x)
      x <- factor(x, levels = unique(x[!is.na(x)]))
    }
    if (anyNA(x)) {
      stop(sprintf("factor '%s' has %d missing (NA) value(s); remove or label those rows.",
                   f, sum(is.na(x))), call. = FALSE)
    }
    data[[f]] <- x
  }
  n_lev <- vapply(factors, function(f) nlevels(data[[f]]), integer(1))
  single <- factors[n_lev < 2L]
  for (f in single) {
    msg <- sprintf("factor '%s' has only one level ('%s'); it cannot be tested", f,
                   levels(data[[f]])[1])
    if (!drop_single) stop(msg, " (need at least 2 levels).", call. = FALSE)
    if (verbose) message(msg, " and is dropped from the model.")
  }
  kept <- setdiff(factors, single)
  if (!length(kept)) {
    stop(sprintf("no factor with at least 2 levels among %s; %s.",
                 paste0("'", factors, "'", collapse = ", "),
                 paste(sprintf("'%s' has only '%s'", single,
                               vapply(single, function(f) levels(data[[f]])[1], "")),
                       collapse = "; ")), call. = FALSE)
  }
  list(data = data, factors = kept, dropped = single)
}

#' Drop from a formula every term that involves a removed variable.
#' @keywords internal
.drop_formula_vars <- function(formula, drop) {
  if (!length(drop)) return(formula)
  tt <- stats::terms(formula)
  labs <- attr(tt, "term.labels")
  fac <- attr(tt, "factors")
  keep <- vapply(labs, function(l) !any(fac[drop[drop %in% rownames(fac)], l] > 0), logical(1))
  response <- all.vars(formula)[1]
  stats::reformulate(labs[keep], response = response)
}

#' Map factor levels to syntactic codes ("L1", "L2", ...) and back.
#'
#' TukeyHSD and emmeans label comparisons "B-A" / "B - A"; level names with hyphens, spaces or
#' plus signs ("LightGCN-INT8", "hybrid+lora") cannot be split back from such labels. Models are
#' therefore fitted on codes, and the labels are translated back with `.decode_levels()`.
#' @keywords internal
.encode_levels <- function(x, prefix = "L") {
  x <- droplevels(as.factor(x))
  lev <- levels(x)
  codes <- paste0(prefix, seq_along(lev))
  list(x = factor(codes[as.integer(x)], levels = codes), map = stats::setNames(lev, codes))
}

#' @keywords internal
.decode_levels <- function(codes, map) {
  out <- unname(map[codes])
  if (anyNA(out)) stop("internal error: unknown level code(s) ", paste(codes[is.na(out)]))
  out
}

#' Mark a tidy result table with the pyrec class and method attributes.
#' @keywords internal
.stats_table <- function(df, method, ...) {
  rownames(df) <- NULL
  attr(df, "method") <- method
  extra <- list(...)
  for (nm in names(extra)) attr(df, nm) <- extra[[nm]]
  class(df) <- c("pyrec_stats_table", "data.frame")
  df
}

#' Format a pyrec statistics table for printing (numbers to `digits` significant digits).
#' @param x a `pyrec_stats_table`.
#' @param digits significant digits.
#' @param ... unused.
#' @return a character data.frame.
format.pyrec_stats_table <- function(x, digits = 4, ...) {
  out <- as.data.frame(unclass(x), stringsAsFactors = FALSE)
  for (nm in names(out)) {
    v <- out[[nm]]
    if (is.numeric(v)) {
      s <- ifelse(is.na(v), "", formatC(v, digits = digits, format = "g"))
      if (grepl("^p_", nm)) s <- ifelse(!is.na(v) & v < 1e-4, "< 1e-04", s)
      out[[nm]] <- s
    } else {
      out[[nm]] <- ifelse(is.na(v), "", as.character(v))
    }
  }
  out
}

#' Print a pyrec statistics table: method header, the table, then notes.
#' @param x a `pyrec_stats_table`.
#' @param ... passed to `format()`.
print.pyrec_stats_table <- function(x, ...) {
  cat("# ", attr(x, "method"), "\n\n", sep = "")
  print(format(x, ...), row.names = FALSE, right = TRUE)
  note <- attr(x, "note")
  if (length(note) && any(nzchar(note))) {
    cat("\n", paste0("- ", note, collapse = "\n"), "\n", sep = "")
  }
  invisible(x)
}

#' Render a pyrec statistics table as Markdown (for RMarkdown reports).
#' @param x a `pyrec_stats_table`.
#' @param ... passed to `format()`.
#' @return character lines of a pipe table, caption first.
print_md <- function(x, ...) {
  f <- format(x, ...)
  lines <- c(paste0("**", attr(x, "method"), "**"), "",
             paste0("| ", paste(names(f), collapse = " | "), " |"),
             paste0("|", paste(rep("---", ncol(f)), collapse = "|"), "|"),
             apply(f, 1, function(r) paste0("| ", paste(r, collapse = " | "), " |")))
  note <- attr(x, "note")
  if (length(note) && any(nzchar(note))) lines <- c(lines, "", paste0("*", note, "*"))
  cat(lines, sep = "\n")
  invisible(lines)
}

#' Wilcoxon signed-rank test (`stats::wilcox.test`, paired) without the "cannot compute exact
#' p-value with ties/zeroes" warnings: R then uses the normal approximation, which `method`
#' (kept in the result) states.
#' @keywords internal
.wilcox_paired <- function(x, y, ...) {
  withCallingHandlers(stats::wilcox.test(x, y, paired = TRUE, ...), warning = function(w) {
    if (grepl("cannot compute exact", conditionMessage(w), fixed = TRUE)) {
      invokeRestart("muffleWarning")
    }
  })
}

#' Matched-pairs rank-biserial correlation of differences `d`, with its CI.
#'
#' (sum of positive ranks - sum of negative ranks) / (n (n + 1) / 2) over the non-zero
#' differences (Kerby 2014), computed by `effectsize::rank_biserial()` on the differences (the
#' one-sample form; its CI uses the number of non-zero differences). NA when every difference is
#' 0 (no ranks to compare); +1/-1 when all non-zero differences are equal.
#' @keywords internal
.rank_biserial <- function(d, ci = 0.95) {
  nz <- d[d != 0]
  if (!length(nz)) return(c(r = NA_real_, low = NA_real_, high = NA_real_))
  if (length(unique(nz)) == 1L) return(c(r = sign(nz[1]), low = NA_real_, high = NA_real_))
  rb <- effectsize::rank_biserial(d, ci = ci, verbose = FALSE)
  c(r = rb$r_rank_biserial, low = rb$CI_low, high = rb$CI_high)
}

#' Call `fun(...)` for the Python bridge, capturing the error, warnings and messages.
#'
#' @param fun name of a function defined by the pyrec statistics scripts.
#' @param args named list of arguments.
#' @return list(value, error (NULL or the R condition message), warnings, messages).
pyrec_py_call <- function(fun, args) {
  warns <- character()
  msgs <- character()
  res <- withCallingHandlers(
    tryCatch(list(value = do.call(fun, args), error = NULL),
             error = function(e) list(value = NULL, error = conditionMessage(e))),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      msgs <<- c(msgs, sub("\n$", "", conditionMessage(m)))
      invokeRestart("muffleMessage")
    })
  c(res, list(warnings = warns, messages = msgs))
}
