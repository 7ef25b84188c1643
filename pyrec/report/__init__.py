"""pyrec.report: the experiment report (RMarkdown, rendered by R) and R-side data exchange.

``render_report(results_dir)`` renders ``analysis/report.Rmd`` into a self-contained HTML file
(or PDF with a LaTeX engine). ``frame_for_r`` turns a pandas DataFrame into plain columns that
reticulate converts exactly (used by ``r_scripts/pyrec.R``). Nothing here imports torch or rpy2.

Example::

    from pyrec.report import render_report
    render_report("results/default")            # -> results/default/report.html
"""

from pyrec.report._paths import LATEX_ENGINES, analysis_dir, latex_engine, report_source, rscript
from pyrec.report._rframe import frame_for_r, frames_for_r
from pyrec.report.render import FORMATS, render_report

__all__ = [
    "FORMATS",
    "LATEX_ENGINES",
    "analysis_dir",
    "frame_for_r",
    "frames_for_r",
    "latex_engine",
    "render_report",
    "report_source",
    "rscript",
]
