"""``vw-agent play`` for Go: referee one game between two player specs, or open the human window.

With ``--render human`` and a ``human`` side (or ``--load``), the game is played in the pygame window
(:mod:`vw_envs.go.window`); otherwise the env referees it (:func:`vw_envs.go.match.play_game`), and a
``human`` side types GTP vertices at the terminal.
"""

from __future__ import annotations

import click
import gymnasium as gym

import vw_envs  # noqa: F401  (registers the ids)
from vw_envs.errors import SGFError
from vw_envs.fileio import write_gif, write_text_atomic
from vw_envs.go.coords import to_gtp
from vw_envs.go.match import play_game
from vw_envs.go.render import RenderConfig
from vw_envs.go.sgf import read_sgf, replay
from vw_envs.go.window import GoWindow
from vw_envs.players import make_player, parse_spec


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


def play_go_window(env_id: str, black: str, white: str, *, sgf_path: str | None = None, load: str | None = None,
                   seed: int = 0, komi: float = 7.5, frame_size: int = 128, last_move_marker: bool = False,
                   coordinates: bool = False) -> None:
    """Play in the pygame window (``human`` sides click); save the SGF on close, whatever happened."""
    n = gym.spec(env_id).kwargs["board_size"]
    game = None
    if load:
        with open(load, encoding="utf-8", errors="replace") as f:
            loaded = read_sgf(f.read(), name=load)
        if loaded.board_size != n:
            raise SGFError(f"{load}: a {loaded.board_size}x{loaded.board_size} game; use "
                           f"--env VideoGo-{loaded.board_size}x{loaded.board_size}-v0")
        game = replay(loaded, name=load)  # the file's komi and setup stones win over --komi
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
        except Exception as e:  # pygame.error: no display; say what to do instead
            if type(e).__name__ != "error":
                raise
            error = click.ClickException(f"cannot open a window: {e}; or drop --render human to type moves "
                                         "at the terminal")
            error.exit_code = 2  # like every other one-line error of the CLI
            raise error from None
        window.run()
    finally:
        if window is not None:
            window.close()
            if sgf_path:
                write_text_atomic(sgf_path, window.to_sgf())
        for p in sides:
            if p is not None:
                p.close()
    names = window.names
    click.echo(f"{names[1]} (B) vs {names[2]} (W): {window.result} after {window.game.move_number} moves"
               + (f" ({window.end['reason']})" if window.end else " (unfinished)"))
    if window.end and window.end.get("message"):
        click.echo(window.end["message"])
    if sgf_path:
        click.echo(f"SGF: {sgf_path}")
