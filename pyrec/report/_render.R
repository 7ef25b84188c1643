# Driver run by pyrec.report.render_report: Rscript _render.R <job.json>
# job.json: input (the Rmd), output (file), workdir, format ("html" | "pdf"), latex_engine, params.
local({
  args <- commandArgs(trailingOnly = TRUE)
  job <- jsonlite::read_json(args[1])
  need <- c("rmarkdown", "knitr", "ggplot2", "ggrepel", "jsonlite")
  missing <- need[!vapply(need, requireNamespace, logical(1), quietly = TRUE)]
  if (length(missing)) {
    stop(sprintf("the pyrec report needs the R package(s) %s: install.packages(c(%s)).",
                 paste(missing, collapse = ", "), paste0("\"", missing, "\"", collapse = ", ")),
         call. = FALSE)
  }
  if (!rmarkdown::pandoc_available("1.12.3")) {
    stop("the pyrec report needs pandoc (apt-get install pandoc, or set RSTUDIO_PANDOC).",
         call. = FALSE)
  }
  # -autolink_bare_uris: names such as ndcg@10 or hybrid@cpu stay text, not mailto: links
  fmt <- if (identical(job$format, "pdf")) {
    rmarkdown::pdf_document(toc = TRUE, number_sections = TRUE, latex_engine = job$latex_engine,
                            md_extensions = "-autolink_bare_uris")
  } else {
    # self-contained (images, CSS and JS inlined) and no MathJax: the file opens offline.
    rmarkdown::html_document(toc = TRUE, number_sections = TRUE, self_contained = TRUE,
                             mathjax = NULL, md_extensions = "-autolink_bare_uris")
  }
  out <- rmarkdown::render(job$input, output_format = fmt, output_file = basename(job$output),
                           output_dir = dirname(job$output), intermediates_dir = job$workdir,
                           knit_root_dir = job$workdir, params = job$params, envir = new.env(),
                           quiet = TRUE)
  cat("PYREC_REPORT_OUTPUT=", out, "\n", sep = "")
})
