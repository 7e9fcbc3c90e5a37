"""What the SB3 (:mod:`.sb3`) and behaviour-cloning (:mod:`.bc`) baselines share: env families, the largest
observation, a run folder's config, masked action choice and peak memory. Light: numpy only."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

import numpy as np

from vw_agent.baselines import BaselineError

MAX_OBS_SIZE = 84  # larger frames make replay buffers blow the memory budget (issue 7)
GO_PREFIX, TABLETOP_PREFIX = "VideoGo-", "VideoTabletop-"


def peak_rss_mib() -> dict[str, float]:
    """Peak resident memory in MiB: this process, and its largest exited child (the SubprocVecEnv workers,
    once closed; a forked child starts at its parent's size, so this is never below the parent at fork)."""
    kib = 1 / 1024  # Linux reports ru_maxrss in KiB
    return {"self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib, 1),
            "children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib, 1)}


def read_run(run: str | os.PathLike) -> dict[str, Any]:
    path = Path(run) / "config.json"
    if not path.exists():
        raise BaselineError(f"{run}: not a baseline run folder (no config.json); train one with "
                            f"vw-agent baseline train")
    return json.loads(path.read_text())


def masked_choice(scores: np.ndarray, mask: np.ndarray, deterministic: bool, rng: np.random.Generator) -> int:
    """argmax (or a softmax sample) of ``scores`` over the legal actions only."""
    s = np.where(mask, scores.astype(np.float64), -np.inf)
    if deterministic:
        return int(np.argmax(s))
    p = np.exp(s - s.max())
    return int(rng.choice(len(p), p=p / p.sum()))
