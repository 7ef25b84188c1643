# Load the pyrec statistics scripts for the tests (testthat runs helpers with the working
# directory set to this folder, two levels below r_scripts/).
local({
  dir <- Sys.getenv("PYREC_R_SCRIPTS", "")
  if (!nzchar(dir)) dir <- normalizePath(file.path("..", ".."), mustWork = TRUE)
  options(pyrec.r_scripts = dir)
  source(file.path(dir, "stats.R"))
})

# A tidy results table in the pyrec runs.parquet format, built from warpbreaks:
# wool -> architecture, tension -> backend, 9 replicates (seeds) per cell.
warp_runs <- function() {
  d <- warpbreaks
  data.frame(
    run_id = sprintf("r%02d", seq_len(nrow(d))), dataset = "warpbreaks",
    seed = rep(0:8, 6),
    architecture = c(A = "LightGCN-INT8", B = "hybrid+lora")[as.character(d$wool)],
    optimization = "none",
    backend = c(L = "caf\u00e9", M = "fpga-sim", H = "gnn cpu")[as.character(d$tension)],
    metric = "ndcg@10", value = d$breaks, stringsAsFactors = FALSE)
}
