"""Where pyrec's non-Python files are: the R scripts, the report template and the config presets.

They live in the repository's top-level ``r_scripts/`` and ``analysis/`` folders. An editable
install (``pip install -e .``) reads them there; a regular install (``pip install .``) copies them
to ``<prefix>/share/pyrec/`` (``[tool.setuptools.data-files]`` in ``pyproject.toml``). One lookup
serves both, so every caller asks :func:`resource_dir` instead of guessing paths.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

__all__ = ["resource_dir"]

#: folder name -> (environment variable that overrides it, a file that must be in it)
_KINDS = {
    "r_scripts": ("PYREC_R_SCRIPTS", "utils_stats.R"),
    "analysis": ("PYREC_ANALYSIS_DIR", "report.Rmd"),
}


def _candidates(kind: str) -> list[Path]:
    repo = Path(__file__).resolve().parents[1] / kind  # editable install / source checkout
    prefixes = dict.fromkeys([sysconfig.get_path("data"), sys.prefix, sys.base_prefix,
                              os.path.expanduser("~/.local")])
    return [repo, *(Path(p) / "share" / "pyrec" / kind for p in prefixes if p)]


def resource_dir(kind: str) -> Path:
    """The folder of one kind of pyrec resource.

    Args:
        kind: ``"r_scripts"`` (the R statistics and report helpers) or ``"analysis"`` (the report
            template ``report.Rmd`` and the experiment presets).

    Returns:
        The folder named by the kind's environment variable (``PYREC_R_SCRIPTS``,
        ``PYREC_ANALYSIS_DIR``) when set, else the repository's folder beside the package
        (editable install), else ``<prefix>/share/pyrec/<kind>`` (regular install).

    Raises:
        KeyError: unknown kind.
        FileNotFoundError: no candidate folder holds the kind's marker file; the message lists
            the places searched and the variable to set.
    """
    env, marker = _KINDS[kind]
    given = os.environ.get(env)
    places = [Path(given)] if given else _candidates(kind)
    for folder in places:
        if (folder / marker).is_file():
            return folder
    raise FileNotFoundError(
        f"pyrec's {kind}/ folder (with {marker}) was not found; searched "
        f"{', '.join(repr(str(p)) for p in places)}. Set {env} to the {kind}/ folder of a pyrec "
        "checkout, or reinstall pyrec (`pip install .` or `pip install -e .`).")
