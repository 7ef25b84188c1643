"""Where the report's RMarkdown source, R scripts and R tools are."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pyrec.diagnostics import BackendUnavailable, ConfigError

__all__ = ["LATEX_ENGINES", "analysis_dir", "latex_engine", "report_source", "rscript"]

#: LaTeX engines rmarkdown can use for PDF, in order of preference
LATEX_ENGINES = ("pdflatex", "xelatex", "lualatex", "tectonic")

_REPO = Path(__file__).resolve().parents[2]


def analysis_dir() -> Path:
    """The folder holding ``report.Rmd``.

    Returns:
        ``$PYREC_ANALYSIS_DIR`` when set, else ``<repo>/analysis`` beside the pyrec package
        (editable install).

    Raises:
        ConfigError: ``report.Rmd`` is not in that folder.
    """
    env = os.environ.get("PYREC_ANALYSIS_DIR")
    folder = Path(env) if env else _REPO / "analysis"
    if not (folder / "report.Rmd").is_file():
        where = "$PYREC_ANALYSIS_DIR" if env else "the repository next to the pyrec package"
        raise ConfigError(
            f"The report source report.Rmd was not found in {str(folder)!r} ({where}); set "
            "PYREC_ANALYSIS_DIR to the analysis/ folder of a pyrec checkout, or install pyrec "
            "editable (`pip install -e .`) from its repository."
        )
    return folder


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
