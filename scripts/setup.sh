#!/usr/bin/env bash
# Install what greenhalo's build needs on Debian 12, once. Idempotent: a fast
# no-op when everything is there. Runs apt-get as root, or through sudo.
#   scripts/setup.sh             the build's system packages and the venv
#   scripts/setup.sh --viewers   also QGIS (qgis_process, its Python bindings
#                                and providers) and Chromium, which the QGIS
#                                and report checks use (.ci/run installs them
#                                while the tests build)
set -euo pipefail
viewers=0
case "${1:-}" in
  "") ;;
  --viewers) viewers=1 ;;
  *) echo "usage: scripts/setup.sh [--viewers]" >&2; exit 2 ;;
esac

# System packages: GDAL (library, headers, command-line tools), pkg-config
# for gdal-sys to find it; cmake, a C++ compiler and libclang (bindgen) for
# the HiGHS MIP solver that highs-sys builds from source.
pkgs=(libgdal-dev gdal-bin pkg-config cmake g++ clang)
if [ "$viewers" = 1 ]; then
  pkgs+=(qgis python3-qgis qgis-providers chromium)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) and run this again" >&2
  exit 1
fi

# The conformance suite's reference tools, from PyPI into the project venv
# (.venv): exactextract, scikit-image, numpy-financial, highspy,
# scikit-learn, rasterio; pypdf for the report's print check. Skipped with GREENHALO_NO_VENV=1.
if [ "${GREENHALO_NO_VENV:-}" != "1" ]; then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$here/.venv"
  want="exactextract==0.3.0 scikit-image numpy-financial highspy scikit-learn rasterio numpy pypdf"
  if ! "$venv/bin/python" -c "import exactextract, skimage, numpy_financial, highspy, sklearn, rasterio, pypdf" 2>/dev/null; then
    echo "setup: making the reference-tool venv in $venv" >&2
    if ! python3 -m venv "$venv" 2>/dev/null; then
      if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
      "${sudo[@]}" apt-get update -qq
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends python3-venv python3-pip >/dev/null
      rm -rf "$venv"
      python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --upgrade pip >/dev/null
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q $want
  fi
fi
