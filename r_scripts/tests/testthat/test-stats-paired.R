sleep_users <- function() {
  data.frame(user = as.integer(sleep$ID), seed = 0L,
             config = ifelse(sleep$group == "1", "LightGCN-INT8", "hybrid+lora"),
             metric = "ndcg", k = 10L, value = sleep$extra, stringsAsFactors = FALSE)
}

test_that("paired t and Wilcoxon match scipy on the sleep data", {
  res <- pyrec_paired_test(sleep_users(), "LightGCN-INT8", "hybrid+lora", metric = "ndcg@10")
  expect_equal(res$test, c("paired t", "Wilcoxon signed-rank"))
  expect_equal(res$n, c(10L, 10L))
  # scipy 1.17: ttest_rel -> t = -4.062127683382037, p = 0.002832890197384273;
  # wilcoxon(zero_method="wilcox", correction=True, method="approx") -> W = 0,
  # p = 0.009090698015925044
  expect_equal(res$statistic[1], -4.062127683382037, tolerance = 1e-10)
  expect_equal(res$p_value[1], 0.002832890197384273, tolerance = 1e-10)
  expect_equal(res$df[1], 9)
  expect_equal(res$statistic[2], 0)
  expect_equal(res$p_value[2], 0.009090698015925044, tolerance = 1e-8)
  expect_match(res$note[2], "continuity correction; 1 zero difference")
  expect_equal(res$p_adj, res$p_value)
  # Cohen's d_z = mean(diff) / sd(diff) = -1.2845575625910546 (numpy)
  expect_equal(res$effect_size[1], -1.2845575625910546, tolerance = 1e-10)
  expect_true(res$es_CI_low[1] < res$effect_size[1] && res$effect_size[1] < res$es_CI_high[1])
})

test_that("Holm correction is applied across comparisons within each test", {
  pu <- rbind(sleep_users(), transform(sleep_users()[sleep_users()$config == "hybrid+lora", ],
                                       config = "caf\u00e9", value = value + c(0.5, -0.3)))
  res <- pyrec_paired_tests(pu, metric = "ndcg@10")
  expect_equal(nrow(res), 6L)
  tt <- res[res$test == "paired t", ]
  expect_equal(tt$p_adj, p.adjust(tt$p_value, "holm"))
  expect_true(all(res$p_adj >= res$p_value))
  expect_true("caf\u00e9" %in% res$group2)
})

test_that("pairing errors are clear", {
  pu <- sleep_users()
  expect_error(pyrec_paired_test(pu, "LightGCN-INT8", "nope", metric = "ndcg@10"),
               "config 'nope' has no rows for metric 'ndcg@10'")
  expect_error(pyrec_paired_test(rbind(pu, pu), "LightGCN-INT8", "hybrid+lora"),
               "config 'LightGCN-INT8' has 10 duplicated \\(user, seed\\) rows")
  pu$user[pu$config == "hybrid+lora"] <- pu$user[pu$config == "hybrid+lora"] + 9L
  expect_error(pyrec_paired_test(pu, "LightGCN-INT8", "hybrid+lora"),
               "too few paired observations.*1 \\(user, seed\\) pair")
})

test_that("Friedman matches friedman.test and scipy; post-hoc is Holm-adjusted", {
  rt <- matrix(c(5.40, 5.50, 5.55, 5.85, 5.70, 5.75, 5.20, 5.60, 5.50, 5.55, 5.50, 5.40,
                 5.90, 5.85, 5.70, 5.45, 5.55, 5.60, 5.40, 5.40, 5.35, 5.45, 5.50, 5.35,
                 5.25, 5.15, 5.00, 5.85, 5.80, 5.70, 5.25, 5.20, 5.10, 5.65, 5.55, 5.45,
                 5.60, 5.35, 5.45, 5.05, 5.00, 4.95, 5.50, 5.50, 5.40, 5.45, 5.55, 5.50,
                 5.55, 5.55, 5.35, 5.45, 5.50, 5.55, 5.50, 5.45, 5.25, 5.65, 5.60, 5.40,
                 5.70, 5.65, 5.55, 6.30, 6.30, 6.25), ncol = 3, byrow = TRUE)
  d <- data.frame(dataset = rep(sprintf("d%02d", 1:22), each = 3),
                  config = rep(c("Round Out", "Narrow-Angle", "Wide+Angle"), 22),
                  value = as.vector(t(rt)))
  res <- pyrec_friedman(d)
  # scipy 1.17 friedmanchisquare: statistic 11.142857142857132, p 0.003805040775511383
  expect_equal(res$statistic, 11.142857142857132, tolerance = 1e-10)
  expect_equal(res$p_value, 0.003805040775511383, tolerance = 1e-10)
  expect_equal(res$kendall_w, 11.142857142857132 / (22 * 2), tolerance = 1e-10)
  ph <- pyrec_friedman_posthoc(d)
  expect_equal(ph$p_adj, p.adjust(ph$p_value, "holm"))
  expect_setequal(c(ph$group1, ph$group2), c("Round Out", "Narrow-Angle", "Wide+Angle"))
  expect_message(pyrec_friedman(d[-1, ]), "dropping 1 dataset block")
  expect_error(pyrec_friedman(d[d$dataset == "d01", ]), "too few complete blocks")
})
