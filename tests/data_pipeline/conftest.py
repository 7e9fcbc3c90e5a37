"""Fixtures: tiny datasets recorded for real (SGF import needs no engine, so it is the cheap base)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vw_agent.data.record import RecordConfig, record

ROOT = Path(__file__).resolve().parents[2]
KATAGO3 = ROOT / "tests" / "data" / "katago9-3games.sgfs"


def vw_agent(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (the installed entry point's module)."""
    return subprocess.run([sys.executable, "-m", "vw_cli.main", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kwargs)


@pytest.fixture(scope="session")
def sgf_dataset(tmp_path_factory) -> Path:
    """The 3 KataGo games at 64 px, one shard per 2 games."""
    out = tmp_path_factory.mktemp("ds") / "katago3"
    record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), from_sgf=str(KATAGO3), frame_size=64,
                        shard_episodes=2), progress=False)
    return out
