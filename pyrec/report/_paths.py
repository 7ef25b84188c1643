"""Where the report's RMarkdown source, R scripts and R tools are."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pyrec.diagnostics import BackendUnavailable, ConfigError

__all__ = ["LATEX_ENGINES", "analysis_dir", "latex_engine", "report_source", "rscript"]

#: LaTeX engines rmarkdown can use for PDF, in order of preference
LATEX_ENGINES = ("pdflatex", "xelatex", "lualatex", "tectonic")

def analysis_dir() -> Path:
    """The folder holding ``report.Rmd`` (:func:`pyrec._resources.resource_dir`).

    Returns:
        ``$PYREC_ANALYSIS_DIR`` when set, else ``<repo>/analysis`` beside the pyrec package
        (editable install), else ``<prefix>/share/pyrec/analysis`` (``pip install .``).

    Raises:
        ConfigError: ``report.Rmd`` is not in that folder.
    """
    from pyrec._resources import resource_dir

    try:
        return resource_dir("analysis")
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None


def report_source() -> Path:
    """Path of ``report.Rmd`` (see :func:`analysis_dir`)."""
    return analysis_dir() / "report.Rmd"


def rscript() -> str:
    """The ``Rscript`` executable (``$PYREC_RSCRIPT``, else the one on PATH).

    Raises:
        BackendUnavailable: no Rscript; the message says how to install R and the packages.
    """
    exe = os.environ.get("PYREC_RSCRIPT") or shutil.which("Rscript")
    if not exe or not Path(exe).exists():
        raise BackendUnavailable(
            "Rendering a report needs R (Rscript) with rmarkdown, knitr, ggplot2, ggrepel, car, "
            "emmeans and effectsize, and pandoc. Install them with `bash scripts/setup.sh`, or by "
            "hand: `apt-get install r-base-core pandoc r-cran-rmarkdown r-cran-knitr "
            "r-cran-ggplot2 r-cran-ggrepel r-cran-car r-cran-emmeans r-cran-effectsize "
            "r-cran-jsonlite`; or set PYREC_RSCRIPT."
        )
    return exe


def latex_engine() -> str:
    """The first LaTeX engine on PATH (for PDF reports).

    Raises:
        BackendUnavailable: none installed; the message says how to install one.
    """
    for name in LATEX_ENGINES:
        if shutil.which(name):
            return name
    raise BackendUnavailable(
        "A PDF report needs a LaTeX engine (pdflatex, xelatex, lualatex or tectonic) and none is "
        "on PATH. Install one: `apt-get install texlive-latex-recommended texlive-fonts-recommended "
        "lmodern` (Debian/Ubuntu), or `Rscript -e 'tinytex::install_tinytex()'`, or tectonic "
        "(https://tectonic-typesetting.github.io). Or render HTML: `pyrec report DIR --format html`."
    )
