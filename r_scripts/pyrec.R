# pyrec from R, through reticulate.
#
#   source("r_scripts/pyrec.R")          # never starts Python
#   runs <- pyrec_evaluate(quick = TRUE, out = "results/quick")   # data.frame, one row per run x metric
#   tabs <- pyrec_stats("results/quick")  # list of data.frames: contrasts (Q1-Q3), seed_level, ...
#   pyrec_report("results/quick")         # path of the self-contained HTML report
#   pyrec_recommend("runs/lgcn", 0:4, k = 10)  # top-k of a `pyrec train` run: user, rank, item, score
#   pyrec_config()                        # versions and paths of pyrec, Python and torch
#
# Python is found as the tensorflow R package does it: PYREC_PYTHON (copied to RETICULATE_PYTHON)
# or RETICULATE_PYTHON, else reticulate's own search. pyrec is imported with delay_load, so
# sourcing this file starts nothing; the first call does. Sourcing also registers a converter so
# pandas DataFrames (pandas >= 3, which reticulate 1.28 does not convert) arrive as data.frames,
# also for `reticulate::import("pyrec")$evaluate(...)` and `$stats$run_all(...)`.

.pyrec <- new.env(parent = emptyenv())
.pyrec$dir <- local({
  ofile <- tryCatch(sys.frame(1)$ofile, error = function(e) NULL)
  if (is.character(ofile)) dirname(normalizePath(ofile)) else ""
})

#' Point reticulate at the Python that has pyrec (PYREC_PYTHON -> RETICULATE_PYTHON).
#' @keywords internal
.pyrec_python_env <- function() {
  py <- Sys.getenv("PYREC_PYTHON", "")
  if (nzchar(py) && !nzchar(Sys.getenv("RETICULATE_PYTHON", ""))) Sys.setenv(RETICULATE_PYTHON = py)
  invisible(Sys.getenv("RETICULATE_PYTHON", ""))
}

#' The error shown when pyrec cannot be imported: where Python was looked for, the Python
#' exception, and how to install.
#' @keywords internal
.pyrec_config_error_message <- function(error = NULL) {
  searched <- c(
    if (nzchar(Sys.getenv("PYREC_PYTHON"))) sprintf("PYREC_PYTHON=%s", Sys.getenv("PYREC_PYTHON")),
    if (nzchar(Sys.getenv("RETICULATE_PYTHON"))) sprintf("RETICULATE_PYTHON=%s", Sys.getenv("RETICULATE_PYTHON")))
  cfg <- tryCatch(reticulate::py_discover_config(), error = function(e) NULL)
  if (!is.null(cfg)) searched <- c(searched, sprintf("python: %s", cfg$python),
                                   if (length(cfg$python_versions))
                                     sprintf("other Pythons found: %s", paste(unique(cfg$python_versions), collapse = ", ")))
  paste0(
    "pyrec is not importable from R.\n",
    "Python searched:\n", paste0("  - ", if (length(searched)) searched else "(none found)", collapse = "\n"), "\n",
    if (!is.null(error)) paste0("Python error: ", error, "\n") else "",
    "To fix: install pyrec into that Python (`python3 -m pip install -e /path/to/pyrec`), or point R ",
    "at the Python that has it before the first call: Sys.setenv(PYREC_PYTHON = \"/usr/bin/python3\") ",
    "(or RETICULATE_PYTHON). Check with pyrec_config().")
}

#' The pyrec Python module (imported on first use; an actionable error when it cannot be).
#' @keywords internal
.pyrec_module <- function(name = "pyrec") {
  if (!is.null(.pyrec[[name]])) return(.pyrec[[name]])
  .pyrec_python_env()
  mod <- tryCatch(reticulate::import(name, delay_load = FALSE),
                  error = function(e) stop(.pyrec_config_error_message(conditionMessage(e)), call. = FALSE))
  .pyrec[[name]] <- mod
  mod
}

# the lazily loaded module object handed to users who want the raw API: sourcing does not start
# Python; touching it does (tensorflow's `tf <- import("tensorflow", delay_load = ...)` pattern).
pyrec_py <- local({
  .pyrec_python_env()
  reticulate::import("pyrec", delay_load = list(
    on_error = function(e) stop(.pyrec_config_error_message(conditionMessage(e)), call. = FALSE)))
})

#' Rebuild a data.frame from `pyrec.report.frame_for_r()` output (exact types, NA kept).
#' @param x list(names, nrow, columns = list(kind, values, na, levels)).
#' @return data.frame.
#' @keywords internal
.pyrec_frame <- function(x) {
  n <- as.integer(x$nrow)
  cols <- lapply(x$columns, function(col) {
    na <- as.logical(unlist(col$na))
    v <- unlist(col$values)
    v <- switch(col$kind,
                double = if (is.null(v)) double() else as.double(v),
                integer = if (is.null(v)) integer() else as.integer(v),
                logical = if (is.null(v)) logical() else as.logical(v),
                factor = factor(unlist(col$levels)[if (is.null(v)) integer() else as.integer(v)],
                                levels = unlist(col$levels)),
                if (is.null(v)) character() else as.character(v))
    if (length(na)) v[na] <- NA
    v
  })
  names(cols) <- unlist(x$names)
  out <- if (length(cols)) as.data.frame(cols, stringsAsFactors = FALSE, check.names = FALSE,
                                         optional = TRUE) else data.frame()
  if (!length(cols)) out <- out[seq_len(n), , drop = FALSE]
  for (a in names(x$attrs)) attr(out, a) <- x$attrs[[a]]
  out
}

#' Convert a pandas DataFrame (Python object) to an R data.frame, exactly.
#' @param x a pandas DataFrame (reticulate object).
#' @return data.frame.
pyrec_as_data_frame <- function(x) {
  report <- .pyrec_module("pyrec.report")
  conv <- reticulate::py_get_attr(report, "frame_for_r")
  .pyrec_frame(reticulate::py_to_r(reticulate::py_call(conv, x)))
}

# reticulate 1.28 converts pandas DataFrames by class "pandas.core.frame.DataFrame"; pandas >= 3
# names it "pandas.DataFrame". Register the exact converter for the new class name.
if (requireNamespace("reticulate", quietly = TRUE)) {
  registerS3method("py_to_r", "pandas.DataFrame", function(x) pyrec_as_data_frame(x),
                   envir = asNamespace("reticulate"))
}

.pyrec_call <- function(module, fun, ...) {
  m <- .pyrec_module(module)
  f <- reticulate::py_get_attr(m, fun)
  tryCatch(reticulate::py_call(f, ...), error = function(e) {
    stop(sprintf("%s.%s failed: %s", module, fun, conditionMessage(e)), call. = FALSE)
  })
}

#' Run a pyrec experiment (`pyrec evaluate`) and return its tidy runs table.
#'
#' @param config NULL (the default preset analysis/experiment.default.toml), a TOML/YAML file path,
#'   or a named list with the config's keys (see analysis/experiment.quick.toml). Its `dataset` is a
#'   registered name or a path, read from the working directory: your own data as a dataset
#'   description (`dataset = "my.toml"`, see README "Your own data"), RecBole `.inter` or a CSV.
#' @param quick TRUE runs the minute-long smoke preset (analysis/experiment.quick.toml).
#' @param out results folder (default "results/<config name>").
#' @param ... passed to `pyrec.experiment.evaluate` (seeds = "0,1,2", force = TRUE,
#'   progress = FALSE, data_dir = ...). Its `stats` step is always off from R (rpy2 cannot run
#'   inside R); call [pyrec_stats()] on `out` afterwards.
#' @return data.frame with run_id, dataset, split, protocol, seed (integer), architecture, model,
#'   optimization, backend, config, simulated (logical), metric, value (double), unit.
#' @examplesIf reticulate::py_module_available("pyrec")
#' runs <- pyrec_evaluate(quick = TRUE, out = tempfile())
pyrec_evaluate <- function(config = NULL, quick = FALSE, out = NULL, ...) {
  if (!is.null(out)) out <- normalizePath(out, mustWork = FALSE)
  if (is.character(config)) config <- normalizePath(config, mustWork = TRUE)
  args <- list(...)
  # the R statistics at the end of a run go through rpy2, which cannot start inside this R
  # process; run pyrec_stats(out) afterwards instead.
  args$stats <- FALSE
  runs <- do.call(.pyrec_call, c(list("pyrec.experiment", "evaluate", config = config,
                                      quick = quick, out = out), args))
  if (is.data.frame(runs)) runs else pyrec_as_data_frame(runs)
}

#' The planned analysis of a results folder, run in this R session.
#'
#' The same tables as `pyrec stats` / `pyrec.stats.run_all()`: both call [pyrec_analysis()]
#' (r_scripts/stats_design.R) on the same inputs, the folder's runs table, its per-user rows of the
#' metric and its analysis plan (analysis.json, the config's `[analysis]` table) updated by the
#' arguments given here. rpy2 cannot start a second R inside an R process, so the Python bridge
#' is not used from R; Python is used only to read Parquet files when the folder has no CSV.
#' @param results_dir a `pyrec evaluate` results folder.
#' @param metric metric analysed (default: the plan's, else "ndcg@10").
#' @param ... plan settings overriding analysis.json: alpha, power, p_adjust ("holm", "BH"),
#'   margin, bootstrap, boot_seed, ddf, target_mde, contrasts.
#' @param save write the tables to RESULTS_DIR/stats/<metric>/ as CSV (as `pyrec stats` does).
#' @return named list of `pyrec_stats_table`s (contrasts, design, seed_level, blocking,
#'   user_level, bootstrap, paired, power, costs, skipped); attribute `notes`.
pyrec_stats <- function(results_dir, metric = NULL, ..., save = FALSE) {
  results_dir <- normalizePath(results_dir, mustWork = TRUE)
  .pyrec_source_stats()
  plan <- pyrec_read_plan(results_dir)
  given <- list(...)
  # the plan's margin is in the units of the plan's metric; another metric needs its own
  if (is.null(plan$margin_metric)) plan$margin_metric <- if (is.null(plan$metric)) "ndcg@10" else plan$metric
  plan <- utils::modifyList(plan, given)
  if (!is.null(metric)) plan$metric <- .canonical_metric(metric)
  if (is.null(plan$metric)) plan$metric <- "ndcg@10"
  if (!is.null(given$margin)) plan$margin_metric <- plan$metric
  data <- .pyrec_read_results(results_dir, plan$metric)
  out <- pyrec_analysis(data$runs, data$per_user, plan)
  if (save) {
    dir <- file.path(results_dir, "stats", gsub("[^[:alnum:]@._-]", "_", plan$metric))
    dir.create(dir, recursive = TRUE, showWarnings = FALSE)
    for (nm in names(out)) utils::write.csv(as.data.frame(unclass(out[[nm]])),
                                            file.path(dir, paste0(nm, ".csv")), row.names = FALSE)
  }
  out
}

#' Source r_scripts/stats.R (the statistics functions) once.
#' @keywords internal
.pyrec_source_stats <- function() {
  if (exists("pyrec_anova", mode = "function")) return(invisible(TRUE))
  dir <- .pyrec_r_scripts()
  options(pyrec.r_scripts = dir)
  source(file.path(dir, "stats.R"))
  invisible(TRUE)
}

#' The r_scripts/ folder: option pyrec.r_scripts, PYREC_R_SCRIPTS, the folder this file was
#' sourced from, else the one pyrec reports.
#' @keywords internal
.pyrec_r_scripts <- function() {
  for (d in c(getOption("pyrec.r_scripts", ""), Sys.getenv("PYREC_R_SCRIPTS", ""), .pyrec$dir)) {
    if (length(d) && nzchar(d) && file.exists(file.path(d, "stats.R"))) return(d)
  }
  as.character(reticulate::py_str(.pyrec_call("pyrec.stats", "r_scripts_dir")))
}

#' Read runs (all rows) and per-user rows of one metric; CSV when present, else Parquet via pandas.
#' @keywords internal
.pyrec_read_results <- function(results_dir, metric) {
  csv <- file.path(results_dir, "runs.csv")
  runs <- if (file.exists(csv)) {
    d <- utils::read.csv(csv, colClasses = "character", na.strings = c("", "NA"), encoding = "UTF-8")
    d$seed <- as.integer(d$seed)
    d$value <- as.numeric(d$value)
    d$simulated <- toupper(d$simulated) %in% c("TRUE", "T", "1")
    d
  } else {
    pyrec_as_data_frame(.pyrec_call("pandas", "read_parquet", file.path(results_dir, "runs.parquet")))
  }
  pu_file <- file.path(results_dir, "per_user.parquet")
  per_user <- NULL
  if (file.exists(pu_file)) {
    parts <- regmatches(metric, regexec("^(.+)@([0-9]+)$", metric))[[1]]
    filters <- if (length(parts) == 3L) list(list("metric", "==", parts[2]), list("k", "==", as.integer(parts[3]))) else
      list(list("metric", "==", metric))
    per_user <- pyrec_as_data_frame(.pyrec_call("pandas", "read_parquet", pu_file, filters = filters))
  }
  list(runs = runs, per_user = per_user)
}

#' Top-k recommendations of a trained model (`pyrec.recommend`).
#'
#' @param model the folder of a `pyrec train` run (or of a saved model).
#' @param users integer user indices (0-based, as in the run's split).
#' @param k list length.
#' @param exclude_seen leave out each user's training items.
#' @return data.frame with user, rank (1 = best), item, score.
pyrec_recommend <- function(model, users, k = 10L, exclude_seen = TRUE) {
  out <- .pyrec_call("pyrec.pipeline", "recommend", normalizePath(model, mustWork = TRUE),
                     as.list(as.integer(users)), k = as.integer(k), exclude_seen = exclude_seen)
  if (is.data.frame(out)) out else pyrec_as_data_frame(out)
}

#' Render the pyrec report of a results folder (`pyrec report`).
#' @param results_dir a `pyrec evaluate` results folder.
#' @param format "html" (self-contained, offline) or "pdf" (needs a LaTeX engine).
#' @param out output file (default RESULTS_DIR/report.<format>).
#' @param ... passed to `pyrec.report.render_report` (metric, latency, title).
#' @return the path of the report (character).
pyrec_report <- function(results_dir, format = c("html", "pdf"), out = NULL, ...) {
  format <- match.arg(format)
  results_dir <- normalizePath(results_dir, mustWork = TRUE)
  if (!is.null(out)) out <- normalizePath(out, mustWork = FALSE)
  path <- .pyrec_call("pyrec.report", "render_report", results_dir, format = format, out = out, ...)
  as.character(reticulate::py_str(path))
}

#' Versions and paths of pyrec, Python and torch as seen from R.
#' @return object of class `pyrec_config`: list(available, pyrec_version, pyrec_path, python,
#'   python_version, torch_version, reticulate_version, error).
pyrec_config <- function() {
  .pyrec_python_env()
  mod <- tryCatch(.pyrec_module("pyrec"), error = function(e) e)
  cfg <- tryCatch(reticulate::py_config(), error = function(e) NULL)
  out <- list(available = !inherits(mod, "error"), pyrec_version = NA_character_,
              pyrec_path = NA_character_, python = if (is.null(cfg)) NA_character_ else cfg$python,
              python_version = if (is.null(cfg)) NA_character_ else as.character(cfg$version),
              torch_version = NA_character_,
              reticulate_version = as.character(utils::packageVersion("reticulate")),
              error = if (inherits(mod, "error")) conditionMessage(mod) else NULL)
  if (out$available) {
    out$pyrec_version <- reticulate::py_to_r(reticulate::py_get_attr(mod, "__version__"))
    out$pyrec_path <- dirname(reticulate::py_to_r(reticulate::py_get_attr(mod, "__file__")))
    torch <- tryCatch(reticulate::import("importlib.metadata")$version("torch"),
                      error = function(e) "not installed")
    out$torch_version <- torch
  }
  structure(out, class = "pyrec_config")
}

#' @export
print.pyrec_config <- function(x, ...) {
  if (!isTRUE(x$available)) {
    cat(x$error, "\n")
    return(invisible(x))
  }
  cat(sprintf("pyrec %s (%s)\n", x$pyrec_version, x$pyrec_path))
  cat(sprintf("Python %s: %s\n", x$python_version, x$python))
  cat(sprintf("torch %s; reticulate %s\n", x$torch_version, x$reticulate_version))
  invisible(x)
}
