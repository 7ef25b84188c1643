test_that("factorial ANOVA matches base R aov and statsmodels on warpbreaks (balanced)", {
  res <- pyrec_anova(warpbreaks, breaks ~ wool * tension)
  ref <- summary(aov(breaks ~ wool * tension, warpbreaks))[[1]]
  expect_equal(res$term, c("wool", "tension", "wool:tension", "Residuals"))
  expect_equal(res$df, ref$Df)
  expect_equal(res$sum_sq, ref$`Sum Sq`, tolerance = 1e-10)
  expect_equal(res$statistic[1:3], ref$`F value`[1:3], tolerance = 1e-10)
  # statsmodels 0.15 anova_lm(ols("breaks ~ C(wool, Sum)*C(tension, Sum)"), typ=2)
  expect_equal(res$statistic[1:3], c(3.765288361, 8.498046648, 4.189068967), tolerance = 1e-8)
  expect_equal(res$p_value[1:3], c(0.05821297596, 0.0006926209367, 0.02104419073),
               tolerance = 1e-8)
  expect_true(attr(res, "balanced"))
  expect_identical(attr(res, "ss_type"), "Type II")
  expect_s3_class(res, "pyrec_stats_table")
})

test_that("effect sizes equal their textbook formulas", {
  res <- pyrec_anova(warpbreaks, breaks ~ wool * tension)
  ss <- res$sum_sq
  ss_res <- ss[4]
  expect_equal(res$eta2[1:3], ss[1:3] / sum(ss), tolerance = 1e-10)
  expect_equal(res$eta2_partial[1:3], ss[1:3] / (ss[1:3] + ss_res), tolerance = 1e-10)
  ms_res <- ss_res / res$df[4]
  expect_equal(res$omega2[1:3], pmax(0, (ss[1:3] - res$df[1:3] * ms_res) / (sum(ss) + ms_res)),
               tolerance = 1e-10)
  expect_true(all(res$CI_low[1:3] <= res$eta2_partial[1:3]))
  expect_true(all(is.na(res[4, c("eta2", "p_value", "CI_low")])))
  es <- pyrec_effect_sizes(warpbreaks, breaks ~ wool * tension)
  expect_equal(es$value[es$effect == "eta2_partial"], res$eta2_partial[1:3], tolerance = 1e-12)
  expect_setequal(unique(es$effect), c("eta2", "eta2_partial", "omega2", "omega2_partial"))
})

test_that("numeric grouping columns become factors, never 1-df regressors", {
  res <- pyrec_anova(ToothGrowth, len ~ supp * dose)
  expect_equal(res$df, c(1, 2, 2, 54))
  ref <- summary(aov(len ~ supp * factor(dose), ToothGrowth))[[1]]
  expect_equal(res$statistic[1:3], ref$`F value`[1:3], tolerance = 1e-10)
  one <- pyrec_oneway(ToothGrowth, "dose", response = "len")
  expect_equal(one$df, c(2, 57))
  expect_equal(one$eta2_partial[1], one$eta2[1])
})

test_that("unbalanced design uses Type II SS and matches statsmodels typ=2 and typ=3", {
  tg <- ToothGrowth[-c(1, 2, 3, 31, 32, 46), ]
  res <- pyrec_anova(tg, len ~ supp * dose)
  expect_false(attr(res, "balanced"))
  expect_match(attr(res, "note")[1], "Type II sums of squares \\(car::Anova\\); design unbalanced")
  # statsmodels 0.15 anova_lm(ols("len ~ C(supp, Sum)*C(dose, Sum)"), typ=2)
  expect_equal(res$sum_sq, c(122.9364786, 2204.92274, 83.35376283, 592.513127), tolerance = 1e-8)
  expect_equal(res$statistic[1:3], c(9.959190277, 89.31134745, 3.376280148), tolerance = 1e-8)
  expect_equal(res$p_value[1:3], c(0.002763271002, 6.64520073e-17, 0.04247010416),
               tolerance = 1e-6)
  res3 <- pyrec_anova(tg, len ~ supp * dose, type = 3)
  expect_equal(res3$sum_sq[res3$term == "supp"], 130.3584797, tolerance = 1e-8)
  res1 <- pyrec_anova(tg, len ~ supp * dose, type = "I")
  expect_false(isTRUE(all.equal(res1$sum_sq[1], res$sum_sq[1])))
})

test_that("an empty cell (skipped configuration) loses one interaction df under Type II", {
  tg <- ToothGrowth[!(ToothGrowth$supp == "VC" & ToothGrowth$dose == 2), ]
  res <- suppressMessages(pyrec_anova(tg, len ~ supp * dose))
  expect_equal(res$df, c(1, 2, 1, 45))
  expect_equal(attr(res, "empty_cells"), 1L)
  expect_match(attr(res, "note")[1], "1 empty cell")
  expect_error(pyrec_anova(tg, len ~ supp * dose, type = 3), "empty cell.*use type = 2")
})

test_that("an interaction aliased by empty cells (0 df) is refused, naming the term", {
  # cells a1b1, a2b1, a3b1, a3b2 only: a and b use all 3 df between cells, a:b has none
  d <- data.frame(a = rep(c("a1", "a2", "a3", "a3"), each = 4),
                  b = rep(c("b1", "b1", "b1", "b2"), each = 4),
                  y = c(1, 2, 3, 2, 4, 5, 4, 6, 8, 9, 7, 8, 9, 11, 10, 12))
  expect_error(suppressMessages(pyrec_anova(d, y ~ a * b)), "not estimable: term\\(s\\) a:b have 0")
  expect_error(suppressMessages(pyrec_effect_sizes(d, y ~ a * b)), "pyrec_analysis")
  res <- suppressMessages(pyrec_anova(d, y ~ a + b))  # the additive model is estimable
  expect_equal(res$term, c("a", "b", "Residuals"))
})

test_that("factors that put two configurations in one cell are refused", {
  d <- data.frame(architecture = rep(c("gnn", "gnn", "hybrid"), each = 3),
                  config = rep(c("lightgcn@cpu", "graphsage@cpu", "hybrid@cpu"), each = 3),
                  value = c(1, 2, 3, 7, 8, 9, 4, 5, 6))
  expect_error(suppressMessages(pyrec_anova(d, value ~ architecture)),
               "cell\\(s\\) gnn hold several configurations")
})

test_that("one-level factors are dropped with a message or rejected by name", {
  runs <- warp_runs()
  expect_message(res <- pyrec_anova(runs, metric = "ndcg@10"),
                 "factor 'optimization' has only one level \\('none'\\)")
  expect_equal(res$term, c("architecture", "backend", "architecture:backend", "Residuals"))
  expect_equal(res$statistic[1:3], pyrec_anova(warpbreaks, breaks ~ wool * tension)$statistic[1:3])
  expect_error(pyrec_anova(runs, metric = "ndcg@10", drop_single = FALSE),
               "factor 'optimization' has only one level")
  expect_error(suppressMessages(pyrec_anova(runs, value ~ optimization)),
               "no factor with at least 2 levels.*'optimization' has only 'none'")
})

test_that("bad metrics and too few replicates give clear errors", {
  runs <- warp_runs()
  expect_error(pyrec_anova(runs, value ~ architecture, metric = "recall@10"),
               "metric 'recall@10' is not in the data; available metrics: ndcg@10")
  runs$value <- NA_real_
  expect_error(pyrec_anova(runs, value ~ architecture, metric = "ndcg@10"),
               "metric 'ndcg@10' has only missing \\(NA\\) values")
  one_seed <- warp_runs()[warp_runs()$seed == 0, ]
  expect_error(suppressMessages(pyrec_anova(one_seed, metric = "ndcg@10")),
               "too few replicates for metric 'ndcg@10'.*at least 2 seeds")
  expect_error(pyrec_anova(warp_runs(), value ~ nope), "has no column\\(s\\) 'nope'")
  expect_error(pyrec_anova(warp_runs(), value ~ backend, type = 4), "'type' must be 1, 2 or 3")
  expect_error(pyrec_anova(list(a = 1), value ~ backend), "'data' must be a data.frame")
})
