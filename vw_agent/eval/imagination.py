"""What the trained agent knows, seen through the renderer's inverse on held-out games (``vw-agent train``).

For positions t of the held-out episodes (val and test splits) of a Go dataset:

- **imagination accuracy, k = 1..K:** roll the agent's world model k moves ahead of the real frame t and
  read the k-th imagined frame with ``frame_to_board``; the share of intersections equal to the real
  frame t+k. Beside it, the same for the real frame t itself (``copy``: what a model that imagines no
  change would score; the game's moves differ from the agent's, so neither reaches 1 beyond k = 1).
- **legal transitions, k = 1..K:** the share of imagined steps whose board follows from the board before
  it by one legal move of the side to play (captures included) or a pass: the rules, learned from video.
  ``pass`` is the share of imagined steps that change nothing (a pass, or a model that only copies).
- **first-sample legal rate:** the share of moves whose first imagination gave a legal move (the
  paper's legal-rate metric), and **move agreement**: the share equal to the move the game continued with.

Example:
    >>> evaluate_agent(VideoWorldAgent.load("runs/go9"), "data/go9", positions=200)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vw_agent.data.format import DatasetReader
from vw_envs.errors import IllegalMoveError
from vw_envs.go.render import RenderConfig, frame_to_board
from vw_envs.go.rules import BLACK, WHITE, GoGame


def _positions(reader: DatasetReader, n: int, horizon: int, seed: int) -> list[tuple[int, int]]:
    """Up to ``n`` (episode, t) pairs of the val and test splits with ``horizon`` real frames after t."""
    eps = reader.split_ids("val") + reader.split_ids("test") or reader.split_ids(None)
    pairs = [(e, t) for e in eps for t in range(reader.ref(e).frames - horizon)]
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)
    return [pairs[i] for i in sorted(keep)]


def _replay(board_size: int, komi: float, actions: np.ndarray) -> GoGame:
    game = GoGame(board_size, komi)
    for a in actions:
        game.play(int(a))
    return game


def legal_transition(before: np.ndarray, after: np.ndarray, color: int) -> bool:
    """True if board ``after`` (N, N) follows from ``before`` by one legal move of ``color``, or a pass.

    Ko history is not known from two frames; a retaken ko counts as legal here. A ``before`` that is no legal
    position (an imagined board with a group left without liberties) has no legal successor.
    """
    if np.array_equal(before, after):
        return True  # a pass
    added = np.flatnonzero((before.ravel() == 0) & (after.ravel() == color))
    if len(added) != 1:
        return False
    n = before.shape[0]
    game = GoGame(n)
    try:
        game.setup(list(np.flatnonzero(before.ravel() == BLACK)), list(np.flatnonzero(before.ravel() == WHITE)),
                   to_play=color)
    except IllegalMoveError:  # an imagined board with a group that has no liberties: no legal move leads on
        return False
    if game.illegal_reason(int(added[0]), color) is not None:
        return False
    game.play(int(added[0]), color)
    return bool(np.array_equal(game.board_array(), after))


def evaluate_agent(agent: Any, data: str | Path, *, positions: int = 200, horizon: int = 4, seed: int = 0
                   ) -> dict[str, float]:
    """The metrics of the module docstring over ``positions`` held-out positions of dataset ``data``."""
    reader = DatasetReader(data, frame_size=agent.frame_size)
    render = reader.meta.get("render", {})
    n = int(render["board_size"])
    komi = float(reader.meta.get("komi", 7.5))
    cfg = RenderConfig.from_meta(reader.meta, agent.frame_size)
    acc = np.zeros(horizon)
    copy = np.zeros(horizon)
    legal_steps = np.zeros(horizon)
    passes = np.zeros(horizon)
    first_legal = agree = 0
    pairs = _positions(reader, positions, horizon, seed)
    agent.reseed(seed)
    for ep, t in pairs:
        frames = reader.frames(ep, t, t + horizon + 1)
        actions = reader.actions(ep, 0, t + 1)
        game = _replay(n, komi, actions[:t])
        color = game.to_play
        to_play = "black" if color == BLACK else "white"
        real = [frame_to_board(f, n, cfg) for f in frames]
        imagined = [frame_to_board(f, n, cfg) for f in agent.imagine(frames[0], horizon, to_play)]
        prev, c = real[0], color
        for k in range(horizon):
            acc[k] += (imagined[k] == real[k + 1]).mean()
            copy[k] += (real[0] == real[k + 1]).mean()
            legal_steps[k] += legal_transition(prev, imagined[k], c)
            passes[k] += np.array_equal(prev, imagined[k])
            prev, c = imagined[k], 3 - c
        before = agent.first_sample_illegal
        move = agent.act(frames[0], to_play, game.legal_mask())
        first_legal += agent.first_sample_illegal == before
        agree += move == int(actions[t])
    m = max(len(pairs), 1)
    out: dict[str, float] = {"positions": float(len(pairs))}
    for k in range(horizon):
        out[f"imagine_k{k + 1}_board_accuracy"] = acc[k] / m
        out[f"copy_k{k + 1}_board_accuracy"] = copy[k] / m
        out[f"imagine_k{k + 1}_legal_transition"] = legal_steps[k] / m
        out[f"imagine_k{k + 1}_pass"] = passes[k] / m
    out["first_sample_legal_rate"] = first_legal / m
    out["move_agreement"] = agree / m
    return out
