test_that("Tukey HSD matches TukeyHSD and statsmodels pairwise_tukeyhsd", {
  res <- pyrec_tukey(warpbreaks, "tension", response = "breaks")
  ref <- TukeyHSD(aov(breaks ~ tension, warpbreaks))$tension
  expect_equal(res$group1, c("M", "H", "H"))
  expect_equal(res$group2, c("L", "L", "M"))
  expect_equal(res$estimate, unname(ref[, "diff"]), tolerance = 1e-12)
  expect_equal(res$p_adj, unname(ref[, "p adj"]), tolerance = 1e-12)
  # statsmodels 0.15 pairwise_tukeyhsd(breaks, tension).pvalues for H-L, H-M, L-M
  expect_equal(res$p_adj, c(0.03845977, 0.0014315, 0.4630831), tolerance = 1e-6)
})

test_that("level names with hyphens, plus signs, spaces and non-ASCII round-trip intact", {
  runs <- warp_runs()
  res <- pyrec_tukey(runs, "backend", metric = "ndcg@10")
  expect_setequal(c(res$group1, res$group2), c("caf\u00e9", "fpga-sim", "gnn cpu"))
  expect_equal(res$p_adj, pyrec_tukey(warpbreaks, "tension", response = "breaks")$p_adj)
  cells <- pyrec_tukey(runs, c("architecture", "backend"), metric = "ndcg@10")
  expect_equal(nrow(cells), choose(6, 2))
  expect_true("LightGCN-INT8:caf\u00e9" %in% c(cells$group1, cells$group2))
  expect_true("hybrid+lora:gnn cpu" %in% c(cells$group1, cells$group2))
  em <- suppressMessages(pyrec_emmeans(runs, value ~ architecture * backend, specs = "backend",
                                       by = "architecture", metric = "ndcg@10"))
  expect_setequal(unique(em$by), c("architecture=LightGCN-INT8", "architecture=hybrid+lora"))
  expect_setequal(c(em$group1, em$group2), c("caf\u00e9", "fpga-sim", "gnn cpu"))
})

test_that("emmeans contrasts equal a direct emmeans call", {
  res <- suppressMessages(pyrec_emmeans(warpbreaks, breaks ~ wool * tension, specs = "tension"))
  fit <- lm(breaks ~ wool * tension, warpbreaks)
  ref <- suppressMessages(as.data.frame(summary(pairs(emmeans::emmeans(fit, "tension")),
                                                infer = TRUE)))
  expect_equal(paste(res$group1, "-", res$group2), as.character(ref$contrast))
  expect_equal(res$estimate, ref$estimate, tolerance = 1e-12)
  expect_equal(res$p_adj, ref$p.value, tolerance = 1e-12)
  expect_equal(res$CI_low, ref$lower.CL, tolerance = 1e-12)
  expect_error(pyrec_emmeans(warpbreaks, breaks ~ wool, specs = "tension"),
               "'tension' are not factors of the formula")
})

test_that("Tukey errors name the factor and the replicate problem", {
  runs <- warp_runs()
  expect_error(pyrec_tukey(runs, "optimization", metric = "ndcg@10"),
               "factor 'optimization' has only one level")
  one <- runs[!duplicated(runs$backend), ]
  expect_error(pyrec_tukey(one, "backend"), "too few replicates")
})
