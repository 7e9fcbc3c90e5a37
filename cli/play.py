"""``vw-agent play`` for Go: referee one game between two player specs."""

from __future__ import annotations

import click
import gymnasium as gym

import vw_envs  # noqa: F401  (registers the ids)
from vw_envs.fileio import write_gif, write_text_atomic
from vw_envs.go.coords import to_gtp
from vw_envs.go.match import play_game
from vw_envs.players import make_player


def play_go(env_id: str, black: str, white: str, *, render: str = "none", sgf_path: str | None = None,
            gif_path: str | None = None, seed: int = 0, komi: float = 7.5, frame_size: int = 128,
            last_move_marker: bool = False, coordinates: bool = False) -> None:
    """Play ``black`` against ``white`` in ``env_id``; print the moves and result; save SGF/GIF."""
    if not env_id.startswith("VideoGo-"):
        raise click.BadParameter(f"{env_id!r} is not a Go env; use one of {', '.join(vw_envs.GO_ENV_IDS)}")
    env = gym.make(env_id, opponent="none", komi=komi, frame_size=frame_size,
                   last_move_marker=last_move_marker, coordinates=coordinates,
                   render_mode="human" if render == "human" else None)
    n = env.unwrapped.board_size
    players = [make_player(black)]
    record = None
    try:
        players.append(make_player(white))
        moves_line: list[str] = []

        def show(move, _frame):
            moves_line.append(to_gtp(move, n))
            if len(moves_line) % 20 == 0:
                click.echo(" ".join(moves_line[-20:]))

        record = play_game(env.unwrapped, players[0], players[1], seed=seed, keep_frames=gif_path is not None,
                           on_move=show)
        if len(moves_line) % 20:
            click.echo(" ".join(moves_line[-(len(moves_line) % 20):]))
    finally:
        # Save whatever was played, even if a player crashed, so nothing is lost.
        if sgf_path:
            sgf_text = record.sgf if record else env.unwrapped.to_sgf(black=players[0].name)
            write_text_atomic(sgf_path, sgf_text)
        for p in players:
            p.close()
        env.close()
    if gif_path:
        write_gif(gif_path, record.frames, fps=4)
    click.echo(f"{players[0].name} (B) vs {players[1].name} (W): {record.result} after {len(record.moves)} moves "
               f"({record.reason}); thinking B {record.seconds['black']:.1f}s, W {record.seconds['white']:.1f}s")
    for color, move in record.illegal.items():
        click.echo(f"{color} forfeited with an illegal move ({move})")
    if sgf_path:
        click.echo(f"SGF: {sgf_path}")
    if gif_path:
        click.echo(f"GIF: {gif_path}")
