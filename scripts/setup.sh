#!/usr/bin/env bash
# Set up a fresh machine: Debian packages (engines, OpenCL on the CPU, a virtual screen), a venv, and
# the project with its pinned dependencies. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  gnugo                 # GNU Go 3.8, the reference opponent (/usr/games/gnugo)
  ocl-icd-libopencl1    # OpenCL loader for KataGo (shipped inside the katrain wheel)
  pocl-opencl-icd       # OpenCL on the CPU: this machine has no GPU
  clinfo                # names the OpenCL device, for KataGo's tuning file
  xvfb                  # a virtual screen for the pygame window tests and screenshots
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch==2.13.0 is pinned in pyproject.toml: the CPU build on this disk, not a multi-GB CUDA download.
# The dev extra includes [all] (pettingzoo, minari[hdf5]), so the tests of the optional pieces run too.
.venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
# KataGo comes inside the katrain wheel; --no-deps skips katrain's GUI (Kivy), which we never import.
.venv/bin/pip install -q --disable-pip-version-check --no-deps katrain==1.20.0
echo "setup done: $(.venv/bin/python --version), $(/usr/games/gnugo --version | head -1)"
