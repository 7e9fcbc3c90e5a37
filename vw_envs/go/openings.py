"""Random openings: the first moves of a game drawn near the centre and the star points.

Deterministic engines play the same game every time; a few random opening moves make their games differ.
The evaluation ladder scripts a whole opening before the game (:func:`sample_opening`); the recorder wraps
each player so that its own first moves are drawn (:class:`OpeningPlayer`). Both draw every move with
:func:`opening_move`, so the two agree on where an opening move may go and how it is chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vw_envs.go.coords import from_rc, star_points, to_rc
from vw_envs.go.rules import GoGame


def opening_points(n: int) -> list[int]:
    """Points within one step (king's move) of the centre or a star point, sorted."""
    anchors = {*star_points(n), from_rc(n // 2, n // 2, n)}
    pts = set()
    for a in anchors:
        r, c = to_rc(a, n)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if 0 <= r + dr < n and 0 <= c + dc < n:
                    pts.add(from_rc(r + dr, c + dc, n))
    return sorted(pts)


def opening_move(points: np.ndarray, legal_mask: np.ndarray, rng: np.random.Generator) -> int | None:
    """One move drawn uniformly from the legal ``points`` (sorted action indices); None when none is legal."""
    legal = points[legal_mask[points]]
    if not len(legal):
        return None
    return int(legal[rng.integers(len(legal))])


def sample_opening(n: int, rng: np.random.Generator, lo: int, hi: int) -> tuple[int, ...]:
    """k in lo..hi alternating moves (Black first), each drawn by :func:`opening_move`."""
    g = GoGame(n)
    pts = np.array(opening_points(n))
    moves = []
    for i in range(int(rng.integers(lo, hi + 1))):
        m = opening_move(pts, g.legal_mask(), rng)
        if m is None:
            break
        g.play(m, "black" if i % 2 == 0 else "white")
        moves.append(m)
    return tuple(moves)


class OpeningPlayer:
    """Wraps a Player: its first ``k`` moves of the game (counting both colours) are random legal moves
    within one line of the centre or a star point, seeded by the game's seed. Deterministic engines then
    diverge from the opening on; afterwards the wrapped player plays, having observed every move."""

    def __init__(self, inner: Any, k: int):
        self.inner, self.k = inner, k
        self.name = inner.name
        self.render_config = getattr(inner, "render_config", None)
        self.rng = np.random.default_rng()
        self._near: np.ndarray | None = None

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        self.inner.reset(board_size, komi, color, seed=seed)
        self.rng = np.random.default_rng(None if seed is None else [seed, 0x0BE1])
        self._near = np.array(opening_points(board_size))

    def observe(self, move: int, color: str) -> None:
        self.inner.observe(move, color)

    def genmove(self, state: Any) -> int:
        if state.move_number < self.k and self._near is not None:
            move = opening_move(self._near, state.legal_mask, self.rng)
            if move is not None:
                return move
        return self.inner.genmove(state)

    def undo(self) -> None:
        self.inner.undo()

    def close(self) -> None:
        self.inner.close()
