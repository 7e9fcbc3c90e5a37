"""KaTrain's rank bot (``katago:rank=5k``): a move for a given strength, picked from KataGo's raw policy.

Pure numpy, no engine: :class:`~vw_envs.go.katago.KataGoPlayer` asks KataGo for the policy and calls
:func:`rank_move`. Ranks use KaTrain's kyu scale (18 for 18k ... -2 for 3d), which the Elo anchors share.
"""

from __future__ import annotations

import math
import re

import numpy as np

from vw_envs.errors import SpecError


def parse_rank(text: str) -> float:
    """``"18k"`` -> 18, ``"1k"`` -> 1, ``"1d"`` -> 0, ``"3d"`` -> -2 (KaTrain's kyu scale).

    Raises:
        SpecError: not a rank in 18k..3d.
    """
    m = re.fullmatch(r"\s*(\d+)\s*([kdKD])\s*", text)
    if not m:
        raise SpecError(f"rank must look like 5k or 1d (18k..3d), got {text!r}")
    v, unit = int(m.group(1)), m.group(2).lower()
    kyu = float(v) if unit == "k" else float(1 - v)
    if not -2 <= kyu <= 18 or v == 0:
        raise SpecError(f"rank must be in 18k..3d, got {text!r}")
    return kyu


def rank_label(kyu: float) -> str:
    """Inverse of :func:`parse_rank` for any real kyu value: 5.0 -> ``"5.0k"``, -1.0 -> ``"2.0d"``."""
    return f"{kyu:.1f}k" if kyu > 0 else f"{1 - kyu:.1f}d"


def rank_move(policy: np.ndarray, kyu: float, rng: np.random.Generator) -> int:
    """KaTrain's rank-calibrated policy pick (``ai:p:rank``), from the described algorithm.

    Args:
        policy: (B+1,) raw policy, pass last, -1 (or 0) on illegal points.
        kyu: 18 for 18k ... -2 for 3d.
        rng: the source of the uniform sample.

    Returns:
        The action index to play.
    """
    b = len(policy) - 1
    pol = np.where(policy > 0, policy, 0.0)
    top = int(np.argmax(pol))
    order = np.argsort(-pol, kind="stable")
    legal = np.flatnonzero(pol[:b] > 0)  # legal non-pass moves with policy > 0
    n_legal = len(legal)
    # 1. A pass among the top five: the game is ending, don't get creative.
    if b in order[:5] or n_legal == 0:
        return top
    # 2. One obvious move (the threshold drops as the board fills).
    if pol[top] > 0.8 * (1 - 0.5 * (b - n_legal) / b):
        return top
    # 3. Two candidates carry nearly all the mass (weaker bots need more).
    if pol[order[0]] + pol[order[1]] > 0.85 + max(0.0, 0.02 * (kyu - 8)):
        return top
    # 4. How many random candidates the bot "sees", fitted to ranks by KaTrain.
    nl = n_legal / b
    orig = 0.063015 + 0.7624 * b / 10 ** (-0.05737 * kyu + 1.9482)
    e = 3.002 * nl * nl - nl - 0.034889 * kyu - 0.5097
    mod = (0.3931 + 0.6559 * nl * math.exp(-e * e) - 0.01093 * kyu) * orig
    n = max(1, round(b * nl / (1.31165 * (mod + 1) - 0.082653)))
    # 5. The best of n uniformly sampled legal moves, unless pass beats it.
    seen = rng.choice(legal, size=min(n, n_legal), replace=False)
    best = int(seen[np.argmax(pol[seen])])
    return top if pol[best] < pol[b] else best
