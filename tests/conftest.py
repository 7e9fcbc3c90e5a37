"""Shared fixtures. Tests use real engines, real files and real windows (SDL's dummy driver)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import vw_envs  # noqa: E402,F401  (registers the ids)
from vw_envs.go.gnugo import check_installed  # noqa: E402

needs_gnugo = pytest.mark.skipif(
    check_installed() is not None and not os.environ.get("CI"),
    reason="GNU Go is not installed (sudo apt-get install gnugo); CI always has it",
)
