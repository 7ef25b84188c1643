test_that("assumption checks equal the base R / car tests they wrap", {
  res <- pyrec_assumptions(warpbreaks, breaks ~ wool * tension)
  cell <- interaction(warpbreaks$wool, warpbreaks$tension)
  sw <- shapiro.test(residuals(aov(breaks ~ wool * tension, warpbreaks)))
  lv <- car::leveneTest(breaks ~ wool * tension, warpbreaks)
  we <- oneway.test(breaks ~ cell, warpbreaks)
  kw <- kruskal.test(breaks ~ cell, warpbreaks)
  expect_equal(res$statistic[1], unname(sw$statistic), tolerance = 1e-12)
  expect_equal(res$p_value[1], sw$p.value, tolerance = 1e-12)
  expect_equal(res$statistic[2], lv$`F value`[1], tolerance = 1e-12)
  expect_equal(c(res$df[2], res$df_error[2]), lv$Df)
  expect_equal(res$statistic[4], unname(we$statistic), tolerance = 1e-12)
  expect_equal(res$df_error[4], unname(we$parameter[2]), tolerance = 1e-12)
  expect_equal(res$p_value[5], kw$p.value, tolerance = 1e-12)
  # one-way ANOVA on the 6 cells: F = 5.828, scipy.stats.f_oneway gives the same
  expect_equal(res$statistic[3], unname(oneway.test(breaks ~ cell, warpbreaks,
                                                    var.equal = TRUE)$statistic), tolerance = 1e-10)
  expect_equal(res$violated[1:2], c(FALSE, TRUE))
  expect_match(attr(res, "note"), "Levene p = 0.0232 < 0.05.*Welch")
})

test_that("two runs per cell leave Levene NA with the reason", {
  d <- warpbreaks[ave(seq_len(nrow(warpbreaks)), warpbreaks$wool, warpbreaks$tension,
                      FUN = seq_along) <= 2, ]
  res <- pyrec_assumptions(d, breaks ~ wool * tension)
  expect_true(is.na(res$p_value[2]))
  expect_match(res$note[2], "at most 2 runs per cell")
  expect_false(is.na(res$p_value[4]))
})

test_that("a cell with one run leaves Welch NA with the reason", {
  d <- warpbreaks[c(1, 10:54), ]
  res <- pyrec_assumptions(d, breaks ~ wool * tension)
  expect_true(is.na(res$p_value[4]))
  expect_match(res$note[4], "too few replicates: cell\\(s\\) 'A:L' have 1 run")
  expect_false(is.na(res$p_value[3]))
})
