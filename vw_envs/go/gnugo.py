"""GNU Go as a Player (``gnugo:level=5``), under the same rules as the env.

GNU Go runs with ``--chinese-rules --positional-superko --capture-all-dead``: area scoring, superko,
and it keeps playing until dead stones are captured, so Tromp-Taylor counting of its finished games
agrees with a human count. It is installed by Debian at ``/usr/games/gnugo``, which is not on PATH.
"""

from __future__ import annotations

import os
import shutil

from vw_envs.go.coords import from_gtp, to_gtp
from vw_envs.go.gtp import GTPClient, GTPPlayer
from vw_envs.go.rules import BLACK, GoGame
from vw_envs.players import PlayerSpec

INSTALL_HINT = "sudo apt-get install gnugo"


def gnugo_path() -> str:
    """``$VW_GNUGO``, else ``gnugo`` on PATH, else Debian's ``/usr/games/gnugo`` (may not exist)."""
    return os.environ.get("VW_GNUGO") or shutil.which("gnugo") or "/usr/games/gnugo"


def check_installed() -> str | None:
    """None if GNU Go can run here, else a one-line reason with the install command."""
    path = gnugo_path()
    if not os.path.exists(path):
        return f"GNU Go not found at {path}; install it with: {INSTALL_HINT}"
    return None


class GnuGoPlayer(GTPPlayer):
    """GNU Go 3.8 over GTP.

    Args:
        level: 0..10; 10 is GNU Go's default (about 8 kyu, 0.3 s a move on 9x9 here), 1 is fast (16 ms).
        path: the binary; default from :func:`gnugo_path`.
        timeout: seconds per GTP command before the engine is killed.
    """

    install_hint = INSTALL_HINT
    engine_name = "GNU Go"

    def __init__(self, level: int = 10, path: str | None = None, timeout: float = 60.0):
        self.level = level
        argv = [path or gnugo_path(), "--mode", "gtp", "--chinese-rules", "--positional-superko",
                "--capture-all-dead", "--level", str(level)]
        super().__init__(argv, timeout=timeout, name=f"gnugo:level={level}")

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> GnuGoPlayer:
        spec.check_keys({"level", "path", "timeout"})
        return cls(level=spec.get_int("level", 10, 0, 10), path=spec.params.get("path"),
                   timeout=spec.get_float("timeout", 60.0, 0.1, 3600.0))

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        super().reset(board_size, komi, color, seed=seed)
        # GNU Go's randomness only breaks ties between equal moves, but it must be the env's to replay.
        self.client.command(f"set_random_seed {0 if seed is None else seed % 2**31}")


def gnugo_dead_stones(game: GoGame, path: str | None = None, timeout: float = 60.0) -> list[int]:
    """GNU Go's ``final_status_list dead`` for ``game``, as action indices.

    Raises:
        EngineError: GNU Go is missing, crashed or refused the game.
    """
    n = game.n
    client = GTPClient([path or gnugo_path(), "--mode", "gtp", "--chinese-rules", "--positional-superko"],
                       name="GNU Go", install_hint=INSTALL_HINT, timeout=timeout)
    try:
        client.command(f"boardsize {n}")
        client.command("clear_board")
        client.command(f"komi {game.komi:g}")
        for color, points in (("b", game.setup_stones[0]), ("w", game.setup_stones[1])):
            for p in points:
                client.command(f"play {color} {to_gtp(p, n)}")
        for c, m in game.moves:
            client.command(f"play {'b' if c == BLACK else 'w'} {to_gtp(m, n)}")
        reply = client.command("final_status_list dead")
    finally:
        client.close()
    return [from_gtp(v, n) for v in reply.split()]
