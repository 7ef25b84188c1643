# ggplot2 figures of the pyrec report (analysis/report.Rmd). Needs report_data.R (sourced first).
# Simulated configurations (fpga-sim) are drawn as open triangles and labelled "(simulated)".

.shape_values <- c(measured = 16, simulated = 2)

.sim_label <- function(config, simulated) ifelse(simulated, paste0(config, " (simulated)"), config)

#' Point labels that do not overlap (ggrepel), one per configuration.
#' @keywords internal
.point_labels <- function(size = 3) {
  ggrepel::geom_text_repel(ggplot2::aes(label = .data$label), size = size, min.segment.length = 0,
                           box.padding = 0.4, max.overlaps = Inf, seed = 1, segment.colour = "grey60")
}

#' Quality vs tail latency of each configuration, with the Pareto front of the measured ones.
#'
#' @param means output of [report_config_means()] with `<metric>_mean/_sd` and `<latency>_mean/_sd`.
#' @param metric quality metric, e.g. "ndcg@10".
#' @param latency latency metric, e.g. "latency_p99_ms" (ms).
#' @param runs NULL, or the runs table: then the latency bars show the range over seeds (latency
#'   is skewed, so mean - sd can fall below 0).
#' @return a ggplot: one point per configuration with error bars over seeds in both directions
#'   (quality: ± sd; latency: ± sd, or the range over seeds with `runs`); the Pareto front (lower latency, higher quality) is found
#'   among measured configurations only, and simulated ones (fpga-sim latency model) are drawn in
#'   a separate colour and shape, labelled "(simulated)", outside the front.
report_fig_pareto <- function(means, metric = "ndcg@10", latency = "latency_p99_ms", runs = NULL) {
  d <- data.frame(config = means$config, simulated = means$simulated,
                  x = means[[paste0(latency, "_mean")]], y = means[[paste0(metric, "_mean")]],
                  ysd = means[[paste0(metric, "_sd")]], xsd = means[[paste0(latency, "_sd")]])
  d$xlo <- pmax(d$x - d$xsd, 0)
  d$xhi <- d$x + d$xsd
  if (!is.null(runs)) {  # latency is skewed: show its range over seeds (never below 0)
    lat <- runs[runs$metric == latency & !is.na(runs$value), , drop = FALSE]
    d$xlo <- vapply(d$config, function(cfg) { v <- lat$value[lat$config == cfg]; if (length(v)) min(v) else NA_real_ }, numeric(1))
    d$xhi <- vapply(d$config, function(cfg) { v <- lat$value[lat$config == cfg]; if (length(v)) max(v) else NA_real_ }, numeric(1))
  }
  d <- d[!is.na(d$x) & !is.na(d$y), , drop = FALSE]
  if (!nrow(d)) stop(sprintf("no configuration has both %s and %s.", metric, latency), call. = FALSE)
  d$front <- FALSE
  m <- !d$simulated
  d$front[m] <- report_pareto(d$x[m], d$y[m])
  d$kind <- ifelse(d$simulated, "simulated", "measured")
  d$label <- .sim_label(d$config, d$simulated)
  front <- d[d$front, , drop = FALSE]
  front <- front[order(front$x), , drop = FALSE]
  ggplot2::ggplot(d, ggplot2::aes(x = .data$x, y = .data$y, colour = .data$kind)) +
    ggplot2::geom_step(data = front, direction = "vh", colour = "firebrick", linewidth = 0.6,
                       linetype = "dashed") +
    ggplot2::geom_errorbar(ggplot2::aes(ymin = .data$y - .data$ysd, ymax = .data$y + .data$ysd),
                           width = 0, na.rm = TRUE, alpha = 0.6) +
    ggplot2::geom_errorbarh(ggplot2::aes(xmin = .data$xlo, xmax = .data$xhi),
                            height = 0, na.rm = TRUE, alpha = 0.6) +
    ggplot2::geom_point(data = front, size = 5, shape = 21, colour = "firebrick", fill = NA,
                        stroke = 1) +
    ggplot2::geom_point(ggplot2::aes(shape = .data$kind), size = 2.5) +
    .point_labels(size = 3) +
    ggplot2::scale_shape_manual(values = .shape_values, name = NULL, drop = FALSE) +
    ggplot2::scale_colour_manual(values = c(measured = "black", simulated = "darkorange3"),
                                 name = NULL, drop = FALSE) +
    ggplot2::scale_x_continuous(trans = if (max(d$x) / max(min(d$x), 1e-9) > 20) "log10" else "identity",
                                expand = ggplot2::expansion(mult = 0.15)) +
    ggplot2::scale_y_continuous(expand = ggplot2::expansion(mult = 0.12)) +
    ggplot2::labs(x = paste(latency, if (is.null(runs)) "(ms, mean \u00b1 sd over seeds)" else
                              "(ms, mean; bar: range over seeds)"),
                  y = paste(metric, "(mean \u00b1 sd over seeds)"),
                  title = paste(metric, "vs", latency),
                  subtitle = paste0("Dashed red line and rings: Pareto front of the measured configurations.\n",
                                    "Orange triangles: simulated latency (fpga-sim model), not on the front.")) +
    ggplot2::theme_bw()
}

#' Training time of each configuration, split into what each bar contains.
#'
#' A LoRA run's `train_time_s` is the base hybrid's training plus the fine-tuning
#' (`finetune_time_s`), a quantized run's the base training plus the conversion
#' (`optimize_time_s`): those bars are split into the two parts. A distilled student's
#' `train_time_s` does not contain its teacher's training: the teacher's time
#' (`teacher_train_time_s`) is drawn beside it, lighter, as "teacher training (not included)".
#' @param summary output of [report_summary()] (needs metric "train_time_s").
#' @param runs the runs table.
#' @param design NULL or design.csv (config, encoder_mode).
#' @return a ggplot of stacked mean times (s) per configuration; the error bar is ± sd of
#'   `train_time_s` over seeds.
report_fig_train_time <- function(summary, runs, design = NULL) {
  d <- summary[summary$metric == "train_time_s", , drop = FALSE]
  if (!nrow(d)) stop("no train_time_s rows in the results.", call. = FALSE)
  kind <- report_finetuning(d$config, runs, design)
  d$label <- d$config  # training time is measured on every backend (fpga-sim only simulates serving)
  part_mean <- function(cfg, m) {
    v <- summary$mean[summary$config == cfg & summary$metric == m]
    if (length(v)) v[1] else NA_real_
  }
  parts <- do.call(rbind, lapply(seq_len(nrow(d)), function(i) {
    cfg <- d$config[i]
    ft <- part_mean(cfg, "finetune_time_s")
    teacher <- part_mean(cfg, "teacher_train_time_s")
    conv <- part_mean(cfg, "optimize_time_s")
    if (!is.na(conv) && is.na(ft)) {
      data.frame(label = d$label[i], part = c("base model training", "conversion (e.g. INT8)"),
                 seconds = c(d$mean[i] - conv, conv))
    } else if (!is.na(ft)) {
      data.frame(label = d$label[i], part = c("base model training", "LoRA fine-tuning"),
                 seconds = c(d$mean[i] - ft, ft))
    } else if (!is.na(teacher)) {
      data.frame(label = d$label[i], part = c("student training (incl. teacher top-K scoring)",
                                              "teacher training (not included)"),
                 seconds = c(d$mean[i], teacher))
    } else {
      data.frame(label = d$label[i], part = paste("training,", kind[i]), seconds = d$mean[i])
    }
  }))
  lev <- d$label[order(d$mean)]
  parts$label <- factor(parts$label, levels = lev)
  # stacking: the first level lies outermost, so base training sits at 0 and what is added (or
  # excluded, the teacher) lies beyond it
  outer <- c("teacher training (not included)", "LoRA fine-tuning", "conversion (e.g. INT8)",
             "student training (incl. teacher top-K scoring)")
  inner <- setdiff(unique(parts$part), c(outer, "base model training"))
  parts$part <- factor(parts$part, levels = intersect(c(outer, inner, "base model training"),
                                                      unique(parts$part)))
  d$label <- factor(d$label, levels = lev)
  ggplot2::ggplot(parts, ggplot2::aes(x = .data$label, y = .data$seconds, fill = .data$part)) +
    ggplot2::geom_col() +
    ggplot2::geom_errorbar(data = d, ggplot2::aes(x = .data$label, ymin = pmax(.data$mean - .data$sd, 0),
                                                  ymax = .data$mean + .data$sd), width = 0.3,
                           inherit.aes = FALSE, na.rm = TRUE) +
    ggplot2::scale_fill_manual(values = c(
      "teacher training (not included)" = "grey85", "LoRA fine-tuning" = "#d95f02",
      "conversion (e.g. INT8)" = "#e6ab02", "student training (incl. teacher top-K scoring)" = "#66a61e",
      "base model training" = "#a6d854", "training, frozen text encoder" = "#1b9e77",
      "training, no text encoder" = "#7570b3", "training, full fine-tuning" = "#e7298a",
      "training, LoRA" = "#d95f02", "training, unknown (no design.csv)" = "grey60")) +
    ggplot2::coord_flip() +
    ggplot2::labs(x = NULL, y = "training time (s, mean over seeds; error bar: sd of train_time_s)",
                  fill = "what the bar contains", title = "Training time per configuration") +
    ggplot2::theme_bw() + ggplot2::theme(legend.position = "bottom", legend.direction = "vertical")
}

#' The planned contrasts with their confidence intervals, over splits and over users.
#'
#' @param analysis the result of [pyrec_analysis()].
#' @param metric the metric's name, for the axis.
#' @return a ggplot, one panel per question (each with its own scale): per contrast, the estimate
#'   with the seed-level t CI, the mixed-model CI and the user-cluster bootstrap CI (95% for
#'   superiority, 90% for equivalence, as tested); dotted lines at ± the equivalence margin;
#'   identical-by-construction contrasts are left out (not tested).
report_fig_contrasts <- function(analysis, metric = "ndcg@10") {
  grab <- function(name, what) {
    t <- analysis[[name]]
    if (is.null(t) || !nrow(t)) return(NULL)
    data.frame(contrast = paste0(t$question, ": ", t$config, " \u2212 ", t$baseline),
               analysis = what, estimate = t$estimate, low = t$CI_low, high = t$CI_high,
               margin = if ("test" %in% names(t)) ifelse(t$test == "superiority", NA,
                 analysis$contrasts$margin[match(paste(t$config, t$baseline),
                                                 paste(analysis$contrasts$config, analysis$contrasts$baseline))])
               else NA, stringsAsFactors = FALSE)
  }
  d <- rbind(grab("seed_level", "over splits (seed block, t)"),
             grab("user_level", "over users (mixed model)"),
             grab("bootstrap", "over users (cluster bootstrap)"))
  if (is.null(d) || !nrow(d)) stop("no tested contrast.", call. = FALSE)
  m <- unique(d[!is.na(d$margin), c("contrast", "margin")])
  d$question <- sub(":.*$", "", d$contrast)
  m$question <- sub(":.*$", "", m$contrast)
  ggplot2::ggplot(d, ggplot2::aes(y = .data$contrast, x = .data$estimate, colour = .data$analysis)) +
    ggplot2::geom_vline(xintercept = 0, colour = "grey40") +
    ggplot2::geom_errorbarh(data = m, ggplot2::aes(y = .data$contrast, xmin = -.data$margin,
                                                   xmax = .data$margin), inherit.aes = FALSE,
                            height = 0.8, linetype = "dotted", colour = "grey30") +
    ggplot2::geom_pointrange(ggplot2::aes(xmin = .data$low, xmax = .data$high),
                             position = ggplot2::position_dodge(width = 0.6)) +
    ggplot2::labs(x = sprintf("difference in %s (config \u2212 baseline)", metric), y = NULL,
                  colour = NULL, title = "Planned contrasts",
                  subtitle = "Superiority: 95% CIs. Equivalence: 90% CIs, dotted lines at \u00b1margin.") +
    ggplot2::scale_y_discrete(labels = function(x) sub("^Q[0-9]+: ", "", x)) +
    ggplot2::facet_wrap(~ question, ncol = 1, scales = "free") +
    ggplot2::guides(colour = ggplot2::guide_legend(ncol = 1)) +
    ggplot2::theme_bw() + ggplot2::theme(legend.position = "bottom", plot.title.position = "plot")
}

#' Choose the two configurations of the per-user comparison.
#'
#' Prefers the study's contrast hybrid vs GNN (both without optimization, on cpu), then hybrid vs
#' LLM, else the best configuration (highest mean) vs the best one of another architecture.
#' @param per_user per-user rows (config, architecture, optimization, backend, value).
#' @return character(2): c(a, b), or NULL when fewer than two configurations.
report_pick_pair <- function(per_user) {
  cfg <- unique(per_user[, c("config", "architecture", "optimization", "backend")])
  pick <- function(arch) {
    x <- cfg$config[cfg$architecture == arch & cfg$optimization == "none" & cfg$backend == "cpu"]
    if (length(x)) x[1] else NULL
  }
  h <- pick("hybrid")
  for (other in c("gnn", "llm")) {
    o <- pick(other)
    if (!is.null(h) && !is.null(o)) return(c(h, o))
  }
  m <- sort(tapply(per_user$value, per_user$config, mean, na.rm = TRUE), decreasing = TRUE)
  if (length(m) < 2L) return(NULL)
  arch <- cfg$architecture[match(names(m), cfg$config)]
  other <- which(arch != arch[1])
  c(names(m)[1], names(m)[if (length(other)) other[1] else 2L])
}

#' Per-user paired differences between two configurations.
#'
#' @param per_user per-user rows of one metric (config, seed, user, value).
#' @param a,b configuration labels; the difference is a - b, matched on user and seed, then
#'   averaged over seeds per user.
#' @param metric label for the axis.
#' @return a ggplot histogram of the per-user differences with the mean and zero marked.
report_fig_paired <- function(per_user, a, b, metric = "ndcg@10") {
  x <- per_user[per_user$config == a, c("user", "seed", "value")]
  y <- per_user[per_user$config == b, c("user", "seed", "value")]
  m <- merge(x, y, by = c("user", "seed"), suffixes = c("_a", "_b"))
  if (!nrow(m)) stop(sprintf("'%s' and '%s' share no (user, seed) pairs.", a, b), call. = FALSE)
  m$diff <- m$value_a - m$value_b
  u <- stats::aggregate(diff ~ user, data = m, FUN = mean)
  mu <- mean(u$diff)
  ggplot2::ggplot(u, ggplot2::aes(x = .data$diff)) +
    ggplot2::geom_histogram(bins = 40, fill = "steelblue", colour = "white") +
    ggplot2::geom_vline(xintercept = 0, colour = "grey30") +
    ggplot2::geom_vline(xintercept = mu, colour = "firebrick", linetype = "dashed") +
    ggplot2::labs(x = sprintf("%s(%s) - %s(%s), per user (mean over seeds)", metric, a, metric, b),
                  y = "users", title = sprintf("Per-user paired differences: %s vs %s", a, b),
                  subtitle = sprintf("%d users; mean difference %.4f (dashed)\n%.0f%% of users better with %s, %.0f%% worse, %.0f%% tied",
                                     nrow(u), mu, 100 * mean(u$diff > 0), a, 100 * mean(u$diff < 0),
                                     100 * mean(u$diff == 0))) +
    ggplot2::theme_bw()
}
