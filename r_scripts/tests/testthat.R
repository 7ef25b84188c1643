# Run the pyrec statistics tests: Rscript -e 'testthat::test_dir("r_scripts/tests/testthat")'
# (from the repository root), or Rscript testthat.R from this folder.
library(testthat)
test_dir("testthat", reporter = "summary", stop_on_failure = TRUE)
