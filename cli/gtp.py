"""``vw-agent gtp``: any player spec as a GTP v2 engine on stdin/stdout (for Sabaki, GoGui, referees)."""

from __future__ import annotations

import click

from vw_cli.types import KOMI


@click.command()
@click.option("--player", "spec", default="random", show_default=True,
              help="Player spec that chooses the moves (random, gnugo:level=5, videoworld:runs/go9, ...).")
@click.option("--size", default=19, show_default=True, type=click.IntRange(2, 19),
              help="Initial board size (the controller's boardsize command changes it).")
@click.option("--komi", type=KOMI, default=7.5, show_default=True, help="Initial komi (the komi command changes it).")
@click.option("--time-per-move", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds the player may think per move (players with a time budget use it).")
@click.option("--seed", default=0, show_default=True, help="Seed the player is reset with.")
def gtp(spec: str, size: int, komi: float, time_per_move: float | None, seed: int) -> None:
    """Serve a player over GTP v2 on stdin/stdout.

    \b
    vw-agent gtp --player random
    vw-agent play --black 'gtp:vw-agent gtp --player random' --white gnugo:level=1
    """
    import os

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # a player importing pygame must not print on stdout
    # lazy: command modules import only click, so vw-agent --help stays fast
    import vw_envs  # noqa: F401  (registers the player kinds that live in the env package)
    from vw_envs.go.gtp_engine import GTPEngine, serve
    from vw_envs.players import make_player

    player = make_player(spec)  # a bad spec fails here: one line on stderr, exit 2, before any GTP
    serve(GTPEngine(player, board_size=size, komi=komi, time_per_move=time_per_move, seed=seed))
