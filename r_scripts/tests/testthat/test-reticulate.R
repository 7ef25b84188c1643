# pyrec from R through reticulate (r_scripts/pyrec.R), on a tiny real run on MovieLens-100K.
# Needs the Python that has pyrec named in PYREC_PYTHON or RETICULATE_PYTHON (skipped otherwise;
# tests/report/test_testthat_reticulate.py runs this file with RETICULATE_PYTHON set to its own
# python3), and $PYREC_DATA_DIR/ml-100k.

skip_if_no_pyrec <- function() {
  skip_if_not_installed("reticulate")
  # reticulate must use the python3 that has pyrec, named explicitly, not one it guesses
  if (!nzchar(Sys.getenv("PYREC_PYTHON")) && !nzchar(Sys.getenv("RETICULATE_PYTHON"))) {
    skip(paste("set PYREC_PYTHON (or RETICULATE_PYTHON) to the python3 that has pyrec;",
               "tests/report/test_testthat_reticulate.py does"))
  }
  if (!reticulate::py_module_available("pyrec")) {
    skip(paste("pyrec is not importable from R; set PYREC_PYTHON or RETICULATE_PYTHON to the",
               "python3 that has pyrec (pip install -e .)"))
  }
}

.scripts_dir <- function() {
  d <- getOption("pyrec.r_scripts", Sys.getenv("PYREC_R_SCRIPTS", ""))
  if (!nzchar(d)) d <- normalizePath(file.path("..", ".."), mustWork = TRUE)
  d
}

.ml100k <- function() {
  root <- Sys.getenv("PYREC_DATA_DIR", "")
  if (!nzchar(root) || !dir.exists(file.path(root, "ml-100k"))) {
    skip("real dataset ml-100k not found (set PYREC_DATA_DIR to the folder holding ml-100k/)")
  }
  root
}

# one tiny real run, shared by the tests of this file: MF-BPR, 1 epoch, 1 seed, full ranking.
.tiny <- new.env()
tiny_run <- function() {
  if (!is.null(.tiny$runs)) return(.tiny)
  skip_if_no_pyrec()
  root <- .ml100k()
  source(file.path(.scripts_dir(), "pyrec.R"))
  .tiny$out <- file.path(tempdir(), "pyrec-tiny")
  .tiny$config <- list(
    name = "tiny-r", dataset = "ml-100k", data_dir = root, min_rating = 3, seeds = list(0L),
    protocols = list("full-ranking"), ks = list(10L), metrics = list("ndcg", "recall", "hit"),
    split = list(protocol = "ratio", ratios = c(0.8, 0.1, 0.1)),
    bench = list(latency_requests = 20L, warmup = 2L, throughput_repeats = 1L),
    configurations = list(list(architecture = "baseline", model = "mf", backend = "cpu")),
    models = list(mf = list(epochs = 1L, embedding_size = 8L)))
  .tiny$runs <- pyrec_evaluate(.tiny$config, out = .tiny$out, progress = FALSE)
  if (!nrow(.tiny$runs)) {
    failed <- utils::read.csv(file.path(.tiny$out, "failed.csv"))
    stop("the tiny run produced no rows; failed.csv: ", paste(failed$error, collapse = "; "))
  }
  .tiny
}

test_that("sourcing pyrec.R does not start Python and the import error is actionable", {
  skip_if_not_installed("reticulate")
  env <- new.env()
  sys.source(file.path(.scripts_dir(), "pyrec.R"), envir = env)
  msg <- env$.pyrec_config_error_message("ModuleNotFoundError: No module named 'pyrec'")
  expect_match(msg, "Python searched", fixed = TRUE)
  expect_match(msg, "No module named 'pyrec'", fixed = TRUE)
  expect_match(msg, "pip install -e", fixed = TRUE)
  expect_match(msg, "PYREC_PYTHON", fixed = TRUE)
})

test_that("pyrec_evaluate returns the runs table as a data.frame with the documented types", {
  t <- tiny_run()
  runs <- t$runs
  expect_s3_class(runs, "data.frame")
  expect_identical(names(runs), c("run_id", "dataset", "split", "protocol", "seed", "architecture",
                                  "model", "optimization", "backend", "config", "simulated",
                                  "metric", "value", "unit"))
  for (col in c("run_id", "dataset", "split", "protocol", "architecture", "model", "optimization",
                "backend", "config", "metric", "unit")) {
    expect_type(runs[[col]], "character")
  }
  expect_type(runs$seed, "integer")
  expect_type(runs$simulated, "logical")
  expect_type(runs$value, "double")
  expect_identical(unique(runs$config), "mf@cpu")
  expect_identical(unique(runs$protocol), "full-ranking")
  expect_false(any(runs$simulated))
  ndcg <- runs$value[runs$metric == "ndcg@10"]
  expect_length(ndcg, 1L)
  expect_true(ndcg > 0 && ndcg < 1)
  expect_true(all(c("latency_p99_ms", "train_time_s") %in% runs$metric))
  expect_true(all(runs$value[runs$unit == "ms"] > 0))
})

test_that("reticulate::import('pyrec') gives evaluate() whose result arrives as a data.frame", {
  t <- tiny_run()
  pyrec <- reticulate::import("pyrec")
  # same config and folder: the finished run is resumed, not retrained
  again <- pyrec$evaluate(config = t$config, out = t$out, progress = FALSE, stats = FALSE)
  expect_s3_class(again, "data.frame")
  expect_equal(again, t$runs)
})

test_that("pyrec_stats returns a list of data.frames and names the tables it could not compute", {
  t <- tiny_run()
  tabs <- pyrec_stats(t$out, metric = "ndcg@10")
  expect_type(tabs, "list")
  expect_true(all(vapply(tabs, is.data.frame, logical(1))))
  # one configuration and one seed: no contrast can be formed, and the reason says why
  expect_true("design" %in% names(tabs))
  expect_true("contrasts" %in% tabs$skipped$table)
  expect_match(tabs$skipped$reason[tabs$skipped$table == "contrasts"], "no planned contrast", fixed = TRUE)
})

test_that("pandas DataFrames convert exactly: NA, int64 beyond 2^31 - 1, non-ASCII, categories", {
  skip_if_no_pyrec()
  source(file.path(.scripts_dir(), "pyrec.R"))
  pd <- reticulate::import("pandas", convert = FALSE)
  df <- reticulate::py_eval(paste0(
    "__import__('pandas').DataFrame({'s': ['caf\\u00e9', None], 'i': [1, 2**40], ",
    "'n': __import__('pandas').array([3, None], dtype='Int64'), 'b': [True, False], ",
    "'f': [0.5, float('nan')], 'c': __import__('pandas').Categorical(['hybrid+lora', None])})"),
    convert = FALSE)
  r <- pyrec_as_data_frame(df)
  expect_identical(r$s, c("caf\u00e9", NA))
  expect_identical(r$i, c(1, 2^40))
  expect_identical(r$n, c(3L, NA))
  expect_identical(r$b, c(TRUE, FALSE))
  expect_identical(r$f, c(0.5, NA))
  expect_identical(r$c, factor(c("hybrid+lora", NA), levels = "hybrid+lora"))
})

test_that("pyrec_config reports the pyrec, Python and torch versions and paths", {
  skip_if_no_pyrec()
  source(file.path(.scripts_dir(), "pyrec.R"))
  cfg <- pyrec_config()
  expect_s3_class(cfg, "pyrec_config")
  expect_true(cfg$available)
  expect_match(cfg$pyrec_version, "^[0-9]+\\.[0-9]+")
  expect_true(file.exists(file.path(cfg$pyrec_path, "__init__.py")))
  out <- paste(capture.output(print(cfg)), collapse = "\n")
  expect_match(out, "pyrec ", fixed = TRUE)
  expect_match(out, "torch ", fixed = TRUE)
  expect_match(out, "Python ", fixed = TRUE)
})

test_that("pyrec_recommend returns the top-k of a trained run as a data.frame", {
  skip_if_no_pyrec()
  root <- .ml100k()
  source(file.path(.scripts_dir(), "pyrec.R"))
  out <- file.path(tempdir(), "pyrec-pop-run")
  .pyrec_call("pyrec.pipeline", "train_and_evaluate", "pop", "ml-100k", data_dir = root, out = out,
              progress = FALSE, overwrite = TRUE)
  recs <- pyrec_recommend(out, c(0, 5), k = 3)
  expect_s3_class(recs, "data.frame")
  expect_identical(names(recs), c("user", "rank", "item", "score"))
  expect_equal(nrow(recs), 6L)
  expect_true(all(diff(recs$score[recs$user == 0]) <= 0))
})
