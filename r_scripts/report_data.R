# Data helpers of the pyrec report (analysis/report.Rmd): read a `pyrec evaluate` results folder,
# summarise runs per configuration, find the Pareto front, and set the study's reported figures
# beside pyrec's measured ones. Plain base R (R >= 4.2); no Python and no arrow needed (CSV only).

#' Read a `pyrec evaluate` results folder into R.
#'
#' @param results_dir the results folder (runs.csv, environment.json, skipped.csv, failed.csv).
#' @param inputs_dir folder where `pyrec report` wrote converted inputs: runs.csv.gz (when the
#'   folder has only runs.parquet), per_user.csv.gz (per-user rows of the report metric) and
#'   design.csv (configuration -> encoder mode). NULL: read only `results_dir`.
#' @return list(runs, per_user, env, skipped, failed, design, notes); every element but `runs` may
#'   be NULL, and `notes` lists what was missing.
#' @details The runs table has the columns of docs/architecture.md ("Results folder"); `seed` is
#'   integer, `simulated` logical, `value` numeric, every other column character.
report_read <- function(results_dir, inputs_dir = NULL) {
  notes <- character()
  pick <- function(name) {
    for (d in c(results_dir, inputs_dir)) {
      for (f in c(name, paste0(name, ".gz"))) {
        p <- file.path(d, f)
        if (length(p) && file.exists(p)) return(p)
      }
    }
    NULL
  }
  runs_file <- pick("runs.csv")
  if (is.null(runs_file)) {
    stop(sprintf("no runs.csv in '%s'; is it a `pyrec evaluate` results folder?", results_dir),
         call. = FALSE)
  }
  runs <- report_read_csv(runs_file, c(seed = "integer", simulated = "logical", value = "numeric"))
  need <- c("run_id", "dataset", "split", "protocol", "seed", "architecture", "model",
            "optimization", "backend", "config", "simulated", "metric", "value", "unit")
  missing <- setdiff(need, names(runs))
  if (length(missing)) {
    stop(sprintf("%s lacks column(s) %s.", runs_file, paste(missing, collapse = ", ")), call. = FALSE)
  }
  runs$simulated[is.na(runs$simulated)] <- FALSE
  per_user_file <- pick("per_user.csv")
  per_user <- if (is.null(per_user_file)) NULL else
    report_read_csv(per_user_file, c(seed = "integer", user = "integer", k = "integer",
                                     value = "numeric"))
  if (is.null(per_user)) notes <- c(notes, "no per-user results (per_user.csv): per-user figures and tests are left out.")
  env_file <- pick("environment.json")
  env <- if (is.null(env_file)) NULL else
    tryCatch(jsonlite::read_json(env_file), error = function(e) NULL)
  if (is.null(env)) notes <- c(notes, "no environment.json: hardware and Python versions are unknown.")
  opt <- function(name) {
    f <- pick(name)
    if (is.null(f)) return(NULL)
    d <- report_read_csv(f)
    if (nrow(d)) d else NULL
  }
  design <- opt("design.csv")
  if (is.null(design)) notes <- c(notes, "no design.csv (resolved configurations): LoRA vs full fine-tuning cannot be told apart.")
  list(runs = runs, per_user = per_user, env = env, skipped = opt("skipped.csv"),
       failed = opt("failed.csv"), design = design, notes = notes)
}

#' Read a CSV with every column as character except the given classes.
#' @keywords internal
report_read_csv <- function(file, classes = character()) {
  d <- utils::read.csv(file, colClasses = "character", na.strings = c("", "NA"),
                       check.names = FALSE, encoding = "UTF-8")
  for (nm in intersect(names(classes), names(d))) {
    d[[nm]] <- switch(classes[[nm]],
                      integer = as.integer(round(as.numeric(d[[nm]]))),
                      numeric = as.numeric(d[[nm]]),
                      logical = toupper(d[[nm]]) %in% c("TRUE", "T", "1"),
                      d[[nm]])
  }
  d
}

#' Mean, sd and t-based 95% confidence interval of a numeric vector.
#' @keywords internal
report_mean_ci <- function(x, level = 0.95) {
  x <- x[!is.na(x)]
  n <- length(x)
  m <- if (n) mean(x) else NA_real_
  s <- if (n > 1L) stats::sd(x) else NA_real_
  h <- if (n > 1L) stats::qt(1 - (1 - level) / 2, n - 1L) * s / sqrt(n) else NA_real_
  c(n = n, mean = m, sd = s, ci_low = m - h, ci_high = m + h)
}

#' Summarise each configuration's runs: mean, sd and 95% CI over seeds, per metric.
#'
#' @param runs tidy runs data.frame (one row per run x metric).
#' @param metrics metrics to keep (NULL: all).
#' @param level confidence level of the t interval (mean ± t * sd / sqrt(n)).
#' @return data.frame with config, architecture, model, optimization, backend, protocol,
#'   simulated, metric, unit, n (runs = seeds), mean, sd, ci_low, ci_high; in first-seen order.
report_summary <- function(runs, metrics = NULL, level = 0.95) {
  d <- if (is.null(metrics)) runs else runs[runs$metric %in% metrics, , drop = FALSE]
  if (!nrow(d)) return(NULL)
  keys <- c("config", "architecture", "model", "optimization", "backend", "protocol",
            "simulated", "metric", "unit")
  d$key <- do.call(paste, c(d[keys], sep = "\r"))
  groups <- split(d, factor(d$key, levels = unique(d$key)))
  rows <- lapply(groups, function(g) {
    s <- report_mean_ci(g$value, level)
    cbind(g[1L, keys, drop = FALSE], as.data.frame(as.list(s)))
  })
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  out$n <- as.integer(out$n)
  out
}

#' Format relative changes as signed percentages without float noise ("-0.0%" prints as "0.0%").
#' @param x numeric (0.013 = +1.3%).
#' @keywords internal
report_pct <- function(x, digits = 1) {
  r <- round(100 * x, digits)
  ifelse(is.na(x), "", ifelse(r == 0, sprintf("%.*f%%", digits, 0), sprintf("%+.*f%%", digits, r)))
}

#' Format "mean ± sd" (sd omitted for one run).
#' @keywords internal
report_pm <- function(mean, sd, digits = 4) {
  f <- function(x) trimws(formatC(x, digits = digits, format = "g"))
  ifelse(is.na(mean), "", ifelse(is.na(sd), f(mean), paste0(f(mean), " \u00b1 ", f(sd))))
}

#' Wide table of configuration means: one row per configuration and protocol.
#'
#' @param summary output of [report_summary()].
#' @param metrics metrics to put side by side as `<metric>_mean` and `<metric>_sd` columns.
#' @return data.frame with config, architecture, model, optimization, backend, protocol,
#'   simulated, n, and the metric columns (NA where a configuration lacks a metric).
report_config_means <- function(summary, metrics) {
  keys <- c("config", "architecture", "model", "optimization", "backend", "protocol", "simulated")
  base <- unique(summary[summary$metric %in% metrics, keys, drop = FALSE])
  base$n <- NA_integer_
  for (m in metrics) {
    s <- summary[summary$metric == m, , drop = FALSE]
    i <- match(do.call(paste, base[keys]), do.call(paste, s[keys]))
    base[[paste0(m, "_mean")]] <- s$mean[i]
    base[[paste0(m, "_sd")]] <- s$sd[i]
    base$n <- ifelse(is.na(base$n), s$n[i], pmax(base$n, s$n[i], na.rm = TRUE))
  }
  rownames(base) <- NULL
  base
}

#' Pareto front of (cost, quality): the points no other point beats on both.
#'
#' A point is on the front when no other point has cost <= its cost and quality >= its quality
#' with at least one strict inequality (lower latency and higher NDCG are better).
#' @param cost numeric, lower is better (e.g. p99 latency, ms).
#' @param quality numeric, higher is better (e.g. NDCG@10).
#' @return logical vector, TRUE on the front (FALSE where either value is NA).
report_pareto <- function(cost, quality) {
  ok <- !is.na(cost) & !is.na(quality)
  vapply(seq_along(cost), function(i) {
    if (!ok[i]) return(FALSE)
    dominated <- ok & cost <= cost[i] & quality >= quality[i] &
      (cost < cost[i] | quality > quality[i])
    !any(dominated)
  }, logical(1))
}

#' Fine-tuning category of each configuration, for the training-time figure.
#'
#' @param configs character, configuration labels.
#' @param runs the runs table (architecture and optimization of each configuration).
#' @param design NULL or design.csv (config, encoder_mode).
#' @return character: "LoRA", "full fine-tuning", "frozen text encoder", "no text encoder" or
#'   "unknown (no design.csv)".
report_finetuning <- function(configs, runs, design = NULL) {
  meta <- runs[match(configs, runs$config), c("architecture", "optimization"), drop = FALSE]
  mode <- if (!is.null(design) && "encoder_mode" %in% names(design))
    design$encoder_mode[match(configs, design$config)] else rep(NA_character_, length(configs))
  text <- meta$architecture %in% c("llm", "hybrid")
  ifelse(meta$optimization == "lora" | mode %in% "lora", "LoRA",
         ifelse(mode %in% "full", "full fine-tuning",
                ifelse(!text, "no text encoder",
                       ifelse(mode %in% "frozen", "frozen text encoder", "unknown (no design.csv)"))))
}
