#!/usr/bin/env bash
# Install everything pyrec needs on a fresh Debian 12 machine (run as root), idempotently.
#   R (Debian r-base-core/r-base-dev) and the R side's packages as Debian r-cran-* packages, pandoc;
#   torch==2.13.0 (the CPU wheel) when no torch is installed;
#   rpy2 chosen by the installed R version (3.6.x needs R >= 4.5 for R_getVar; else 3.5.17);
#   then `pip install -e '.[dev]'`.
# Quick when run again: each step checks first and skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

R_DEBS="r-base-core r-base-dev r-cran-rmarkdown r-cran-knitr r-cran-ggplot2 r-cran-ggrepel r-cran-car \
r-cran-emmeans r-cran-effectsize r-cran-reticulate r-cran-testthat r-cran-jsonlite r-cran-lme4 r-cran-lmertest \
r-cran-pbkrtest pandoc"
missing=""
for p in $R_DEBS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "[setup] apt-get install:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
else
  echo "[setup] R and the Debian r-cran-* packages are installed"
fi

if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "[setup] pip install torch==2.13.0 (CPU wheel)"
  "$PY" -m pip install -q torch==2.13.0
fi

# rpy2 by the installed R: rpy2 3.6.x calls R_getVar, which R added in 4.5.0.
R_VER=$(Rscript -e 'cat(R.version$major, R.version$minor, sep=".")')
if Rscript -e 'quit(status = as.integer(getRversion() < "4.5.0"))' >/dev/null 2>&1; then
  RPY2_SPEC="rpy2>=3.6,<3.7"
else
  RPY2_SPEC="rpy2==3.5.17"
fi
if ! "$PY" -c "import rpy2.robjects" 2>/dev/null; then
  echo "[setup] R $R_VER -> pip install '$RPY2_SPEC'"
  "$PY" -m pip install -q "$RPY2_SPEC"
else
  echo "[setup] rpy2 $("$PY" -c 'import rpy2; print(rpy2.__version__)') loads on R $R_VER"
fi

# deepspeed builds from an sdist that imports torch: build it against the torch installed above
# (without isolation, so pip never fetches another torch into a build environment).
if ! "$PY" -c "import deepspeed" 2>/dev/null; then
  echo "[setup] pip install deepspeed (no build isolation, ops built just in time)"
  DS_BUILD_OPS=0 "$PY" -m pip install -q --no-build-isolation "deepspeed>=0.16,<0.20"
fi

# pip install -e '.[dev]' again only when pyproject.toml changed (stamp = its sha256).
STAMP=.setup-stamp
WANT=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ] || ! "$PY" -c "import pyrec.cli" 2>/dev/null; then
  echo "[setup] pip install -e '.[dev]'"
  "$PY" -m pip install -q -e '.[dev]'
  echo "$WANT" > "$STAMP"
else
  echo "[setup] pyrec is installed (editable; pyproject.toml unchanged)"
fi
echo "[setup] done: R $R_VER, $("$PY" -c 'import torch; print("torch", torch.__version__)')"
