"""``vw-agent play`` for Go: referee one game between two player specs, or open the human window.

With ``--render human`` and a ``human`` side (or ``--load``), the game is played in the pygame window
(:func:`vw_envs.go.play.play_window`); otherwise the env referees it (:func:`vw_envs.go.play.play_match`), and
a ``human`` side types GTP vertices at the terminal.
"""

from __future__ import annotations

import click

import vw_envs
from vw_envs.go.play import DisplayError, play_match, play_window
from vw_envs.players import parse_spec


def play_go(env_id: str, black: str, white: str, *, render: str = "none", sgf_path: str | None = None,
            gif_path: str | None = None, seed: int = 0, komi: float = 7.5, frame_size: int = 128,
            last_move_marker: bool = False, coordinates: bool = False, load: str | None = None) -> None:
    """Play ``black`` against ``white`` in ``env_id``; print the moves and result; save SGF/GIF.

    Args:
        load: an SGF file to continue; the game goes on in the window (needs ``render="human"``).
    """
    if not env_id.startswith("VideoGo-"):
        raise click.BadParameter(f"{env_id!r} is not a Go env; use one of {', '.join(vw_envs.GO_ENV_IDS)}")
    has_human = any(parse_spec(s).kind == "human" for s in (black, white))
    if render == "human" and (has_human or load):
        if gif_path:
            raise click.UsageError("--gif records refereed games; the window does not write one")
        play_go_window(env_id, black, white, sgf_path=sgf_path, load=load, seed=seed, komi=komi,
                       frame_size=frame_size, last_move_marker=last_move_marker, coordinates=coordinates)
        return
    if load:
        raise click.UsageError("--load continues a game in the window: add --render human")
    moves_line: list[str] = []

    def show(vertex: str) -> None:
        moves_line.append(vertex)
        if len(moves_line) % 20 == 0:
            click.echo(" ".join(moves_line[-20:]))

    record, names = play_match(env_id, black, white, seed=seed, komi=komi, frame_size=frame_size,
                               last_move_marker=last_move_marker, coordinates=coordinates,
                               render_mode="human" if render == "human" else None, sgf=sgf_path, gif=gif_path,
                               on_move=show)
    if len(moves_line) % 20:
        click.echo(" ".join(moves_line[-(len(moves_line) % 20):]))
    click.echo(f"{names[0]} (B) vs {names[1]} (W): {record.result} after {len(record.moves)} moves "
               f"({record.reason}); thinking B {record.seconds['black']:.1f}s, W {record.seconds['white']:.1f}s")
    for color, move in record.illegal.items():
        click.echo(f"{color} forfeited with an illegal move ({move})")
    if sgf_path:
        click.echo(f"SGF: {sgf_path}")
    if gif_path:
        click.echo(f"GIF: {gif_path}")


def play_go_window(env_id: str, black: str, white: str, *, sgf_path: str | None = None, load: str | None = None,
                   seed: int = 0, komi: float = 7.5, frame_size: int = 128, last_move_marker: bool = False,
                   coordinates: bool = False) -> None:
    """Play in the pygame window (``human`` sides click); save the SGF on close, whatever happened."""
    try:
        window = play_window(env_id, black, white, sgf=sgf_path, load=load, seed=seed, komi=komi,
                             frame_size=frame_size, last_move_marker=last_move_marker, coordinates=coordinates)
    except DisplayError as e:  # say what to do instead
        error = click.ClickException(f"{e}; or drop --render human to type moves at the terminal")
        error.exit_code = 2  # like every other one-line error of the CLI
        raise error from None
    names = window.names
    click.echo(f"{names[1]} (B) vs {names[2]} (W): {window.result} after {window.game.move_number} moves"
               + (f" ({window.end['reason']})" if window.end else " (unfinished)"))
    if window.end and window.end.get("message"):
        click.echo(window.end["message"])
    if sgf_path:
        click.echo(f"SGF: {sgf_path}")
