"""Shared fixtures. Tests use real engines, real files and real windows (SDL's dummy driver)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import vw_envs  # noqa: E402,F401  (registers the ids)
from vw_envs.go.gnugo import check_installed  # noqa: E402

needs_gnugo = pytest.mark.skipif(
    check_installed() is not None and not os.environ.get("CI"),
    reason="GNU Go is not installed (sudo apt-get install gnugo); CI always has it",
)

needs_xvfb = pytest.mark.skipif(shutil.which("Xvfb") is None and not os.environ.get("CI"),
                                reason="Xvfb is not installed (sudo apt-get install xvfb); CI always has it")


@pytest.fixture
def xvfb_env():
    """A fresh Xvfb server: the environment (DISPLAY, SDL's x11 driver) a child process opens real windows in."""
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1024x700x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        number = xvfb.stdout.readline().decode().strip()  # Xvfb picks a free display and prints it
        assert number.isdigit(), "Xvfb did not start"
        yield {**os.environ, "DISPLAY": f":{number}", "SDL_VIDEODRIVER": "x11"}
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
