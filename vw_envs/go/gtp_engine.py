"""Any :class:`~vw_envs.players.Player` as a GTP v2 engine: ``vw-agent gtp --player SPEC``.

GUIs (Sabaki, GoGui, Lizzie-style front ends) and tournament referees speak GTP to an engine on
stdin/stdout. :class:`GTPEngine` keeps its own board with our rules engine (:class:`GoGame`), so it
refuses illegal moves itself, and asks the wrapped player only for ``genmove``.

The engine never crashes on input: every line gets a GTP answer (``= ...`` or ``? ...``), whatever it
holds, and a player that fails answers ``? ...`` instead of taking the process down. ``handle(line)``
is the whole protocol, so tests drive it in-process; :func:`serve` only moves bytes.

The player is told about the game lazily: on the first ``genmove`` (or when asked for the other colour)
it is reset for that colour and shown the setup and every move so far; after that each ``play`` and
``undo`` is forwarded. A GUI that sets up a position move by move therefore costs the player nothing.

Example:
    >>> from vw_envs.players import make_player
    >>> e = GTPEngine(make_player("random"), board_size=9)
    >>> e.handle("1 play b E5")
    '=1 \\n\\n'
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from typing import BinaryIO, TextIO

import numpy as np

from vw_envs.errors import IllegalMoveError
from vw_envs.go.coords import GTP_COLUMNS, RESIGN, from_gtp, to_gtp
from vw_envs.go.render import BoardRenderer, RenderConfig
from vw_envs.go.rules import BLACK, COLOR_NAMES, EMPTY, WHITE, GoGame
from vw_envs.go.session import player_state, sync_player
from vw_envs.players import Player

ENGINE_NAME = "vw-agent"
PROTOCOL_VERSION = "2"
MIN_SIZE, MAX_SIZE = 2, 19  # what GoGame supports; GTP allows up to 25
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters except HT and LF


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("videoworld-gym")
    except Exception:  # noqa: BLE001 - an uninstalled checkout still answers
        return "0.1.0"


class GTPFailure(Exception):
    """A command failed; the message becomes the ``? message`` answer."""


# ----------------------------------------------------------------------------- helpers


def fixed_handicap_points(n: int, stones: int) -> list[int]:
    """GTP v2's fixed handicap placement (section 4.1.1) as action indices.

    Raises:
        GTPFailure: the size has no fixed placement for that many stones.
    """
    max_stones = 0 if n < 7 else 4 if n == 7 or n % 2 == 0 else 9
    if not 2 <= stones <= max_stones:
        raise GTPFailure("invalid number of stones")
    e = 2 if n < 13 else 3  # the 3-3 points below 13x13, the 4-4 points from 13x13 up
    lo, mid, hi = e, n // 2, n - 1 - e
    # Rows count from the top: (hi, lo) is the lower-left corner, i.e. D4 on 19x19.
    ll, ur, ul, lr = (hi, lo), (lo, hi), (lo, lo), (hi, hi)
    left, right, bottom, top, centre = (mid, lo), (mid, hi), (hi, mid), (lo, mid), (mid, mid)
    table = {
        2: [ll, ur], 3: [ll, ur, ul], 4: [ll, ur, ul, lr], 5: [ll, ur, ul, lr, centre],
        6: [ll, ur, ul, lr, left, right], 7: [ll, ur, ul, lr, left, right, centre],
        8: [ll, ur, ul, lr, left, right, bottom, top], 9: [ll, ur, ul, lr, left, right, bottom, top, centre],
    }
    return [r * n + c for r, c in table[stones]]


def _vertices(points: list[int], n: int) -> str:
    return " ".join(to_gtp(p, n) for p in points)


def _parse_color(text: str) -> int:
    t = text.lower()
    if t in ("b", "black"):
        return BLACK
    if t in ("w", "white"):
        return WHITE
    raise GTPFailure("syntax error: invalid color")


def _parse_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        raise GTPFailure("syntax error: not an integer")
    return int(text)


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise GTPFailure("syntax error: not a number") from None
    if not np.isfinite(value):
        raise GTPFailure("syntax error: not a finite number")
    return value


# ----------------------------------------------------------------------------- the engine


class GTPEngine:
    """A GTP v2 engine around one Player, with its own board.

    Args:
        player: chooses the moves for ``genmove`` (any player spec's object).
        board_size: the initial size (``boardsize`` changes it).
        komi: the initial komi (``komi`` changes it).
        time_per_move: seconds the player may think per move. It is handed to players that declare a
            ``time_per_move`` attribute (capped by what ``time_left`` says is left); others ignore it.
        seed: the seed the player is reset with.
        name: what ``name`` answers.
        log: where to write one line per refused move and player failure (default stderr; GTP owns stdout).
    """

    def __init__(self, player: Player, *, board_size: int = 19, komi: float = 7.5,
                 time_per_move: float | None = None, seed: int | None = 0, name: str = ENGINE_NAME,
                 log: TextIO | None = None):
        self.player = player
        self.time_per_move = time_per_move
        self.seed = seed
        self.name = name
        self.log = log
        self.game = GoGame(board_size, komi)
        self.quit = False
        self.time_settings: tuple[int, int, int] | None = None
        self.time_left: dict[int, tuple[int, int]] = {}
        self._synced_color: int | None = None  # the colour the player was last reset for, None: stale
        self._renderers: dict[RenderConfig, BoardRenderer] = {}
        self.commands: dict[str, Callable[[list[str]], str]] = {
            "protocol_version": lambda a: PROTOCOL_VERSION,
            "name": lambda a: self.name,
            "version": lambda a: _version(),
            "known_command": self._known_command,
            "list_commands": lambda a: "\n".join(self.commands),
            "quit": self._quit,
            "boardsize": self._boardsize,
            "clear_board": self._clear_board,
            "komi": self._komi,
            "play": self._play,
            "genmove": self._genmove,
            "undo": self._undo,
            "final_score": self._final_score,
            "final_status_list": self._final_status_list,
            "showboard": self._showboard,
            "fixed_handicap": self._fixed_handicap,
            "place_free_handicap": self._place_free_handicap,
            "set_free_handicap": self._set_free_handicap,
            "time_settings": self._time_settings,
            "time_left": self._time_left,
        }

    # ------------------------------------------------------------------ protocol
    def handle(self, line: str) -> str | None:
        """Answer one input line: the full GTP response (ending in a blank line), or None for lines that
        GTP says to ignore (empty, whitespace, comments). Never raises."""
        text = _CONTROL.sub("", line).replace("\t", " ").split("#", 1)[0].strip()
        if not text:
            return None
        words = text.split()
        cmd_id = ""
        if re.fullmatch(r"[0-9]{1,18}", words[0]):
            cmd_id, words = str(int(words[0])), words[1:]
        if not words:
            return self._format("?", cmd_id, "unknown command")
        command, args = words[0], words[1:]
        handler = self.commands.get(command)
        if handler is None:
            return self._format("?", cmd_id, "unknown command")
        try:
            return self._format("=", cmd_id, handler(args))
        except GTPFailure as e:
            return self._format("?", cmd_id, str(e))
        except Exception as e:  # noqa: BLE001 - a GTP engine answers, it does not die
            self._say(f"internal error in {command!r}: {type(e).__name__}: {e}")
            return self._format("?", cmd_id, f"internal error: {type(e).__name__}")

    @staticmethod
    def _format(status: str, cmd_id: str, text: str) -> str:
        # A blank line ends a response, so none may appear inside one.
        # The first line may be empty (``= `` then a multi-line body, as showboard does).
        lines = [x.rstrip() for x in text.split("\n")]
        body = "\n".join([lines[0]] + [x or "." for x in lines[1:]])
        return f"{status}{cmd_id} {body}\n\n"

    def _say(self, message: str) -> None:
        out = self.log or sys.stderr
        try:
            out.write(f"{self.name}: {message}\n")
            out.flush()
        except (OSError, ValueError):
            pass

    # ------------------------------------------------------------------ administrative
    def _known_command(self, args: list[str]) -> str:
        if len(args) != 1:
            raise GTPFailure("syntax error")
        return "true" if args[0] in self.commands else "false"

    def _quit(self, args: list[str]) -> str:
        self.quit = True
        return ""

    def _new_game(self, size: int, komi: float) -> None:
        self.game = GoGame(size, komi)
        self._synced_color = None
        self._renderers = {}

    def _boardsize(self, args: list[str]) -> str:
        if len(args) != 1:
            raise GTPFailure("syntax error")
        size = _parse_int(args[0])
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise GTPFailure("unacceptable size")
        self._new_game(size, self.game.komi)
        return ""

    def _clear_board(self, args: list[str]) -> str:
        self._new_game(self.game.n, self.game.komi)
        return ""

    def _komi(self, args: list[str]) -> str:
        if len(args) != 1:
            raise GTPFailure("syntax error")
        komi = _parse_float(args[0])
        if abs(komi) > 1000:
            raise GTPFailure("syntax error: komi out of range")
        self.game.komi = komi
        self._synced_color = None  # players learn the komi at reset
        return ""

    # ------------------------------------------------------------------ moves
    def _vertex(self, text: str) -> int:
        try:
            move = from_gtp(text, self.game.n)
        except ValueError:
            raise GTPFailure("syntax error: invalid vertex") from None
        if move == RESIGN:
            raise GTPFailure("syntax error: resign is not a move")
        return move

    def _play(self, args: list[str]) -> str:
        if len(args) != 2:
            raise GTPFailure("syntax error")
        color, move = _parse_color(args[0]), self._vertex(args[1])
        reason = self.game.illegal_reason(move, color)
        if reason is not None:
            self._say(f"refused play {args[0]} {args[1]}: {reason}")
            raise GTPFailure("illegal move")
        self._commit(move, color)
        return ""

    def _commit(self, move: int, color: int) -> None:
        """Play a legal move on our board and tell the player, if it is following the game."""
        self.game.play(move, color)
        if self._synced_color is not None:
            try:
                self.player.observe(move, COLOR_NAMES[color])
            except Exception as e:  # noqa: BLE001 - resync from scratch at the next genmove
                self._say(f"player failed to observe a move ({type(e).__name__}: {e}); will resync")
                self._synced_color = None

    def _genmove(self, args: list[str]) -> str:
        if len(args) != 1:
            raise GTPFailure("syntax error")
        color = _parse_color(args[0])
        g = self.game
        try:
            if self._synced_color != color:
                sync_player(self.player, g, COLOR_NAMES[color], seed=self.seed)
                self._synced_color = color
            budget = self._budget(color)
            if budget is not None and hasattr(self.player, "time_per_move"):
                self.player.time_per_move = budget
            move = int(self.player.genmove(player_state(g, self.player, self._renderers, color)))
        except Exception as e:  # noqa: BLE001 - a broken player must not take the engine down
            self._synced_color = None
            self._say(f"player {getattr(self.player, 'name', '?')} failed: {type(e).__name__}: {e}")
            raise GTPFailure(f"player failed: {type(e).__name__}") from None
        if move == RESIGN:
            return "resign"
        reason = "off board" if not 0 <= move <= g.pass_move else g.illegal_reason(move, color)
        if reason is not None:
            # GTP has no way to answer "my own move was illegal"; passing keeps the game valid and the
            # log says why, rather than forfeiting a tournament game to a misread frame.
            self._say(f"player chose illegal move {move} ({reason}); passing instead")
            move = g.pass_move
        self._commit(move, color)
        return to_gtp(move, g.n)

    def _budget(self, color: int) -> float | None:
        """Seconds for this move: the flag, capped by the clock that ``time_left`` reported."""
        budget = self.time_per_move
        left = self.time_left.get(color)
        if left is not None and left[0] > 0:
            seconds, stones = left
            # In byo-yomi spread the period over its stones; in main time keep ~30 moves in reserve.
            share = seconds / stones if stones > 0 else seconds / 30
            budget = share if budget is None else min(budget, share)
        return budget

    def _undo(self, args: list[str]) -> str:
        if not self.game.moves:
            raise GTPFailure("cannot undo")
        self.game.undo()
        if self._synced_color is not None:
            try:
                self.player.undo()
            except Exception as e:  # noqa: BLE001
                self._say(f"player failed to undo ({type(e).__name__}: {e}); will resync")
                self._synced_color = None
        return ""

    # ------------------------------------------------------------------ handicap
    def _place_handicap(self, points: list[int]) -> None:
        g = self.game
        if g.moves or any(g.board):
            raise GTPFailure("board not empty")
        try:
            g.setup(points, [], to_play=WHITE)
        except (IllegalMoveError, ValueError):
            g.clear()
            raise GTPFailure("bad vertex list") from None
        self._synced_color = None

    def _fixed_handicap(self, args: list[str]) -> str:
        if len(args) != 1:
            raise GTPFailure("syntax error")
        stones = _parse_int(args[0])
        points = fixed_handicap_points(self.game.n, stones)
        self._place_handicap(points)
        return _vertices(points, self.game.n)

    def _place_free_handicap(self, args: list[str]) -> str:
        if len(args) != 1:
            raise GTPFailure("syntax error")
        stones = _parse_int(args[0])
        n = self.game.n
        if not 2 <= stones <= n * n - 1:
            raise GTPFailure("invalid number of stones")
        # The standard points first; beyond those, the points nearest the centre.
        n_fixed = min(stones, 0 if n < 7 else 4 if n == 7 or n % 2 == 0 else 9)
        points = fixed_handicap_points(n, n_fixed) if n_fixed >= 2 else []
        mid = (n - 1) / 2
        rest = sorted((p for p in range(n * n) if p not in points),
                      key=lambda p: (abs(p // n - mid) + abs(p % n - mid), p))
        points += rest[:stones - len(points)]
        self._place_handicap(points)
        return _vertices(points, n)

    def _set_free_handicap(self, args: list[str]) -> str:
        n = self.game.n
        if not 2 <= len(args) <= n * n - 1:
            raise GTPFailure("bad vertex list")
        try:
            points = [from_gtp(a, n) for a in args]
        except ValueError:
            raise GTPFailure("bad vertex list") from None
        if len(set(points)) != len(points) or any(not 0 <= p < n * n for p in points):
            raise GTPFailure("bad vertex list")
        self._place_handicap(points)
        return ""

    # ------------------------------------------------------------------ scoring and display
    def _final_score(self, args: list[str]) -> str:
        winner, score = self.game.result()
        if winner is None:
            return "0"
        return f"{'B' if winner == 'black' else 'W'}+{abs(score):g}"

    def _final_status_list(self, args: list[str]) -> str:
        if len(args) != 1 or args[0] not in ("alive", "dead", "seki"):
            raise GTPFailure("syntax error")
        if args[0] != "alive":
            return ""  # Tromp-Taylor: every stone on the board is alive, none dead or in seki
        g, seen, lines = self.game, set(), []
        for p in range(g.pass_move):
            if g.board[p] != EMPTY and p not in seen:
                stones = sorted(g.group_of[p].stones)
                seen.update(stones)
                lines.append(_vertices(stones, g.n))  # one group per line, as GTP asks
        return "\n".join(lines)

    def _showboard(self, args: list[str]) -> str:
        g = self.game
        n = g.n
        cols = "   " + " ".join(GTP_COLUMNS[:n])
        rows = [cols]
        for r in range(n):
            cells = " ".join(".XO"[g.board[r * n + c]] for c in range(n))
            rows.append(f"{n - r:2d} {cells} {n - r:2d}")
        rows.append(cols)
        rows.append(f"{COLOR_NAMES[g.to_play]} to play, move {g.move_number}, komi {g.komi:g}, "
                    f"captures B {g.captures[BLACK]} W {g.captures[WHITE]}")
        return "\n" + "\n".join(rows)

    # ------------------------------------------------------------------ time
    def _time_settings(self, args: list[str]) -> str:
        if len(args) != 3:
            raise GTPFailure("syntax error")
        main, byo, stones = (_parse_int(a) for a in args)
        if min(main, byo, stones) < 0:
            raise GTPFailure("syntax error: negative time")
        self.time_settings = (main, byo, stones)
        self.time_left = {}
        return ""

    def _time_left(self, args: list[str]) -> str:
        if len(args) != 3:
            raise GTPFailure("syntax error")
        color, seconds, stones = _parse_color(args[0]), _parse_int(args[1]), _parse_int(args[2])
        if seconds < 0 or stones < 0:
            raise GTPFailure("syntax error: negative time")
        self.time_left[color] = (seconds, stones)
        return ""


def serve(engine: GTPEngine, stdin: BinaryIO | None = None, stdout: TextIO | None = None) -> None:
    """Run ``engine`` on a byte stream until ``quit`` or end of input.

    Bytes are decoded leniently: a GUI that sends Latin-1 or garbage gets ``? ...``, not a dead engine.
    """
    fin = stdin if stdin is not None else sys.stdin.buffer
    fout = stdout if stdout is not None else sys.stdout
    # Only GTP may reach the controller: anything a player prints (progress bars, banners) goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            for raw in fin:
                reply = engine.handle(raw.decode("utf-8", errors="replace"))
                if reply is not None:
                    fout.write(reply)
                    fout.flush()
                if engine.quit:
                    break
        except (BrokenPipeError, KeyboardInterrupt):
            pass  # the controller went away or the user pressed Ctrl-C: just stop
        finally:
            try:
                engine.player.close()
            except Exception:  # noqa: BLE001
                pass
