# Load the pyrec statistics functions into the global environment (plain R, no Python needed):
#
#   source("r_scripts/stats.R")
#   pyrec_anova(arrow::read_parquet("results/runs.parquet"), metric = "ndcg@10")
#
# Sources utils_stats.R, then every stats_*.R beside this file. The folder is taken from
# getOption("pyrec.r_scripts"), else $PYREC_R_SCRIPTS, else the folder of this file.
# Needs R >= 4.2 and the CRAN packages car, emmeans, effectsize and jsonlite; the user-level
# model of pyrec_analysis() also lme4 and lmerTest (checked when it runs).
local({
  dir <- getOption("pyrec.r_scripts", Sys.getenv("PYREC_R_SCRIPTS", ""))
  if (!nzchar(dir)) {
    ofile <- tryCatch(sys.frame(1)$ofile, error = function(e) NULL)
    dir <- if (is.character(ofile)) dirname(ofile) else "r_scripts"
  }
  if (!file.exists(file.path(dir, "utils_stats.R"))) {
    stop(sprintf(paste0("pyrec statistics scripts not found in '%s'; set ",
                        "options(pyrec.r_scripts = \"<repo>/r_scripts\") or PYREC_R_SCRIPTS."),
                 normalizePath(dir, mustWork = FALSE)), call. = FALSE)
  }
  if (getRversion() < "4.2.0") stop("pyrec statistics need R >= 4.2 (this is ", getRversion(), ").")
  need <- c("car", "emmeans", "effectsize", "jsonlite")
  missing <- need[!vapply(need, requireNamespace, logical(1), quietly = TRUE)]
  if (length(missing)) {
    stop(sprintf(paste0("pyrec statistics need the R package(s) %s: install.packages(c(%s)) ",
                        "or run 'bash scripts/setup.sh'."), paste(missing, collapse = ", "),
                 paste0("\"", missing, "\"", collapse = ", ")), call. = FALSE)
  }
  files <- c("utils_stats.R", sort(list.files(dir, pattern = "^stats_.*\\.R$")))
  for (f in files) sys.source(file.path(dir, f), envir = globalenv(), keep.source = FALSE)
  invisible(files)
})
