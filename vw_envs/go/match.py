"""The referee: two players, one ``VideoGoEnv`` with ``opponent="none"``, one game.

``vw-agent play`` uses it; the recorder and the evaluation ladder build on it. The env drives both
colours, so every move of either colour yields a frame: the whole game's video.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vw_envs.go.coords import RESIGN
from vw_envs.go.env import VideoGoEnv
from vw_envs.go.sgf import result_string
from vw_envs.players import Player


@dataclass
class GameRecord:
    """One refereed game.

    Attributes:
        frames: (T+1, H, W, 3) uint8, the empty board first (only if ``keep_frames``).
        moves: the T moves as action indices (pass = N*N).
        winner: "black", "white" or None (draw or unfinished).
        score: Black minus White with komi, by area count at the end.
        reason: "two_passes", "resign", "illegal", "move_cap".
        sgf: the game as SGF text.
        seconds: wall time per side.
    """

    moves: list[int]
    winner: str | None
    score: float
    reason: str
    result: str
    sgf: str
    seconds: dict[str, float]
    frames: np.ndarray | None = None
    illegal: dict[str, str] = field(default_factory=dict)


def play_game(env: VideoGoEnv, black: Player, white: Player, *, seed: int | None = None,
              keep_frames: bool = True, on_move: Callable[[int, np.ndarray], None] | None = None) -> GameRecord:
    """Play one game between ``black`` and ``white`` in ``env`` (which must have ``opponent="none"``).

    A player that resigns loses; a player that returns an illegal move loses by forfeit (reason
    ``"illegal"``), and the move is recorded in ``GameRecord.illegal``. Engine errors propagate.

    Args:
        on_move: called with (move, frame) after every move, e.g. to show the game live.
    """
    if env.opponent is not None:
        raise ValueError("play_game needs an env made with opponent='none'")
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    players = {"black": black, "white": white}
    for color, p in players.items():
        p.reset(env.board_size, env.komi, color, seed=int(rng.integers(2**31)))
    frames = [obs] if keep_frames else []
    seconds = {"black": 0.0, "white": 0.0}
    illegal: dict[str, str] = {}
    moves: list[int] = []
    done = False
    while not done:
        color = info["to_play"]
        player = players[color]
        t0 = time.perf_counter()
        move = int(player.genmove(env.state_for(player)))
        seconds[color] += time.perf_counter() - t0
        if move == RESIGN:
            info = {**info, **env.unwrapped.resign(color)}
            break
        if not (0 <= move < env.action_space.n) or not info["action_mask"][move]:
            illegal[color] = str(move)
        obs, _r, term, trunc, info = env.step(move)
        done = term or trunc
        if info.get("reason") == "illegal":
            break
        moves.append(move)
        for p in players.values():
            p.observe(move, color)
        if keep_frames:
            frames.append(obs)
        if on_move is not None:
            on_move(move, obs)
    names = {"black": black.name, "white": white.name}
    winner, score, reason = info.get("winner"), info.get("score", env.game.score()), info.get("reason")
    return GameRecord(
        moves=moves, winner=winner, score=score, reason=reason,
        result=result_string(winner, score, reason),
        sgf=env.to_sgf(black=names["black"], white=names["white"]),
        seconds=seconds, frames=np.stack(frames) if keep_frames else None, illegal=illegal,
    )
