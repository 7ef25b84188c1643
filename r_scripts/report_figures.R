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

#' Quality vs tail latency of each configuration, with the Pareto front marked.
#'
#' @param means output of [report_config_means()] with `<metric>_mean` and `<latency>_mean`.
#' @param metric quality metric, e.g. "ndcg@10".
#' @param latency latency metric, e.g. "latency_p99_ms" (ms).
#' @return a ggplot: one point per configuration (error bars: ± sd over seeds), the Pareto front
#'   (lower latency, higher quality) as a step line with its points ringed.
report_fig_pareto <- function(means, metric = "ndcg@10", latency = "latency_p99_ms") {
  d <- data.frame(config = means$config, simulated = means$simulated,
                  x = means[[paste0(latency, "_mean")]], y = means[[paste0(metric, "_mean")]],
                  ysd = means[[paste0(metric, "_sd")]], xsd = means[[paste0(latency, "_sd")]])
  d <- d[!is.na(d$x) & !is.na(d$y), , drop = FALSE]
  if (!nrow(d)) stop(sprintf("no configuration has both %s and %s.", metric, latency), call. = FALSE)
  d$front <- report_pareto(d$x, d$y)
  d$kind <- ifelse(d$simulated, "simulated", "measured")
  d$label <- .sim_label(d$config, d$simulated)
  front <- d[d$front, , drop = FALSE]
  front <- front[order(front$x), , drop = FALSE]
  ggplot2::ggplot(d, ggplot2::aes(x = .data$x, y = .data$y)) +
    ggplot2::geom_step(data = front, direction = "vh", colour = "firebrick", linewidth = 0.6,
                       linetype = "dashed") +
    ggplot2::geom_errorbar(ggplot2::aes(ymin = .data$y - .data$ysd, ymax = .data$y + .data$ysd),
                           width = 0, colour = "grey50", na.rm = TRUE) +
    ggplot2::geom_point(data = front, size = 5, shape = 21, colour = "firebrick", fill = NA,
                        stroke = 1) +
    ggplot2::geom_point(ggplot2::aes(shape = .data$kind), size = 2.5) +
    .point_labels(size = 3) +
    ggplot2::scale_shape_manual(values = .shape_values, name = NULL, drop = FALSE) +
    ggplot2::scale_x_continuous(trans = if (max(d$x) / max(min(d$x), 1e-9) > 20) "log10" else "identity",
                                expand = ggplot2::expansion(mult = 0.15)) +
    ggplot2::scale_y_continuous(expand = ggplot2::expansion(mult = 0.12)) +
    ggplot2::labs(x = paste(latency, "(ms, mean over seeds)"), y = paste(metric, "(mean \u00b1 sd)"),
                  title = paste(metric, "vs", latency),
                  subtitle = "Dashed red line and rings: Pareto front (lower latency, higher quality)") +
    ggplot2::theme_bw()
}

#' Training time of each configuration, LoRA and full fine-tuning highlighted.
#'
#' @param summary output of [report_summary()] (needs metric "train_time_s").
#' @param runs the runs table.
#' @param design NULL or design.csv (config, encoder_mode).
#' @return a ggplot of mean training time (s) ± sd per configuration, filled by fine-tuning kind.
report_fig_train_time <- function(summary, runs, design = NULL) {
  d <- summary[summary$metric == "train_time_s", , drop = FALSE]
  if (!nrow(d)) stop("no train_time_s rows in the results.", call. = FALSE)
  d$kind <- report_finetuning(d$config, runs, design)
  d$label <- .sim_label(d$config, d$simulated)
  d$label <- factor(d$label, levels = d$label[order(d$mean)])
  colours <- c("LoRA" = "#d95f02", "full fine-tuning" = "#7570b3", "frozen text encoder" = "#1b9e77",
               "no text encoder" = "grey60", "unknown (no design.csv)" = "grey80")
  ggplot2::ggplot(d, ggplot2::aes(x = .data$label, y = .data$mean, fill = .data$kind)) +
    ggplot2::geom_col() +
    ggplot2::geom_errorbar(ggplot2::aes(ymin = pmax(.data$mean - .data$sd, 0),
                                        ymax = .data$mean + .data$sd), width = 0.3, na.rm = TRUE) +
    ggplot2::coord_flip() +
    ggplot2::scale_fill_manual(values = colours, name = "text encoder") +
    ggplot2::labs(x = NULL, y = "training time (s, mean \u00b1 sd over seeds)",
                  title = "Training time per configuration",
                  subtitle = "LoRA vs full fine-tuning of the text encoder highlighted") +
    ggplot2::theme_bw()
}

#' Quality by architecture with 95% confidence intervals.
#'
#' @param runs the runs table.
#' @param metric e.g. "ndcg@10".
#' @return a ggplot: every run as a point (triangles: simulated), and per architecture the mean
#'   with its t-based 95% CI over all runs of that architecture.
report_fig_architecture <- function(runs, metric = "ndcg@10") {
  d <- runs[runs$metric == metric & !is.na(runs$value), , drop = FALSE]
  if (!nrow(d)) stop(sprintf("no %s rows in the results.", metric), call. = FALSE)
  d$kind <- ifelse(d$simulated, "simulated", "measured")
  ci <- do.call(rbind, lapply(split(d$value, d$architecture), function(v) as.data.frame(as.list(report_mean_ci(v)))))
  ci$architecture <- rownames(ci)
  ggplot2::ggplot(d, ggplot2::aes(x = .data$architecture, y = .data$value)) +
    ggplot2::geom_jitter(ggplot2::aes(shape = .data$kind, colour = .data$config), width = 0.15,
                         height = 0, size = 2, alpha = 0.8) +
    ggplot2::geom_pointrange(data = ci, ggplot2::aes(y = .data$mean, ymin = .data$ci_low,
                                                      ymax = .data$ci_high),
                             colour = "black", linewidth = 0.8, na.rm = TRUE) +
    ggplot2::scale_shape_manual(values = .shape_values, name = NULL, drop = FALSE) +
    ggplot2::labs(x = "architecture", y = metric, colour = "configuration",
                  title = paste(metric, "by architecture"),
                  subtitle = "Black: mean with 95% CI over all runs of the architecture; points: runs") +
    ggplot2::theme_bw()
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
