"""One Go game between player specs: refereed by the env (:func:`play_match`) or in the pygame window
(:func:`play_window`). What ``vw-agent play --env VideoGo-...`` calls; the tabletop's counterpart is
:func:`vw_envs.tabletop.rollout.play_episode`.

Example:
    >>> record, names = play_match("VideoGo-9x9-v0", "random", "random", seed=0, sgf="game.sgf")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

from vw_envs.errors import SGFError, VWError
from vw_envs.fileio import write_gif, write_text_atomic
from vw_envs.go.coords import to_gtp
from vw_envs.go.match import GameRecord, play_game
from vw_envs.go.render import RenderConfig
from vw_envs.go.rules import GoGame
from vw_envs.go.sgf import read_sgf, replay
from vw_envs.go.window import GoWindow
from vw_envs.players import make_player, parse_spec


class DisplayError(VWError):
    """The game window cannot open (no display)."""


def play_match(env_id: str, black: str, white: str, *, seed: int = 0, komi: float = 7.5, frame_size: int = 128,
               last_move_marker: bool = False, coordinates: bool = False, render_mode: str | None = None,
               sgf: str | None = None, gif: str | None = None,
               on_move: Callable[[str], None] | None = None) -> tuple[GameRecord, tuple[str, str]]:
    """Referee one game of ``black`` against ``white`` (player specs) in ``env_id``.

    Args:
        render_mode: ``"human"`` shows the game in the env's window as it is played.
        sgf: save the game here, even if a player crashed (whatever was played).
        gif: save the frames here as an animated GIF (4 frames a second).
        on_move: called with each move as a GTP vertex (``"E5"``, ``"pass"``), e.g. to show the game live.

    Returns:
        The game record and the players' names (Black, White).
    """
    env = gym.make(env_id, opponent="none", komi=komi, frame_size=frame_size, last_move_marker=last_move_marker,
                   coordinates=coordinates, render_mode=render_mode)
    n = env.unwrapped.board_size
    players = [make_player(black)]
    record = None
    try:
        players.append(make_player(white))
        show = None if on_move is None else (lambda move, _frame: on_move(to_gtp(move, n)))
        record = play_game(env.unwrapped, players[0], players[1], seed=seed, keep_frames=gif is not None,
                           on_move=show)
    finally:
        # Save whatever was played, even if a player crashed, so nothing is lost.
        if sgf:
            write_text_atomic(sgf, record.sgf if record else env.unwrapped.to_sgf(black=players[0].name))
        for p in players:
            p.close()
        env.close()
    if gif:
        write_gif(gif, record.frames, fps=4)
    return record, (players[0].name, players[1].name)


def load_game(path: str, board_size: int) -> GoGame:
    """The game in the SGF file ``path``, replayed (its komi and setup stones included); it must be on
    ``board_size``."""
    with open(path, encoding="utf-8", errors="replace") as f:
        loaded = read_sgf(f.read(), name=path)
    if loaded.board_size != board_size:
        raise SGFError(f"{path}: a {loaded.board_size}x{loaded.board_size} game; use "
                       f"--env VideoGo-{loaded.board_size}x{loaded.board_size}-v0")
    return replay(loaded, name=path)


def play_window(env_id: str, black: str, white: str, *, sgf: str | None = None, load: str | None = None,
                seed: int = 0, komi: float = 7.5, frame_size: int = 128, last_move_marker: bool = False,
                coordinates: bool = False) -> GoWindow:
    """Play in the pygame window (a ``human`` side clicks) until it is closed; save the SGF on close, whatever
    happened. ``load``: an SGF game to continue (its komi wins over ``komi``).

    Returns:
        The closed window: its ``names``, ``result``, ``end`` and ``game`` tell how the game went.

    Raises:
        DisplayError: the window cannot open.
    """
    n = gym.spec(env_id).kwargs["board_size"]
    game = load_game(load, n) if load else None
    sides: list = []
    window = None
    try:
        for spec in (black, white):
            sides.append(None if parse_spec(spec).kind == "human" else make_player(spec))
        window = GoWindow(sides[0], sides[1], board_size=n, komi=komi, game=game, seed=seed,
                          coordinates=coordinates,
                          agent_frames=RenderConfig(frame_size, last_move_marker, coordinates))
        try:
            window.open()
        except Exception as e:  # pygame.error (pygame is imported only by the window)
            if type(e).__name__ != "error":
                raise
            raise DisplayError(f"cannot open a window: {e}") from None
        window.run()
    finally:
        if window is not None:
            window.close()
            if sgf:
                write_text_atomic(sgf, window.to_sgf())
        for p in sides:
            if p is not None:
                p.close()
    return window
