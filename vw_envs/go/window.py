"""The human-vs-agent Go window: ``vw-agent play --env VideoGo-9x9-v0 --black human --white random --render human``.

The board is drawn by the same :class:`BoardRenderer` that makes the agent's observations, at the
window's real pixel size, so a person sees the agent's picture of the game (with a last-move ring,
territory and dead-stone marks drawn on top for people). A side panel shows whose turn it is, the move
number, captures, the agent's thinking time, the frames the agent imagined before its last move
(``player.last_imagination``) and, at the end, the score.

How it stays responsive: agents think in a worker thread, and GNU Go's dead-stone proposal runs there
too; the UI thread only polls a queue. One job runs at a time, and while it runs the player object
belongs to it, so the UI refuses undo and new game until the move arrives (it never waits on one).

How tests drive it: :meth:`GoWindow.tick` handles whatever is in pygame's event queue, collects
finished jobs and redraws, without blocking, so a test posts real ``MOUSEBUTTONDOWN`` events and ticks.
:meth:`GoWindow.run` is just ``while tick()``.

Scoring for people: the game's rule is Tromp-Taylor (every stone on the board is alive), but people
pass before capturing dead stones. After two passes the window asks GNU Go (when installed) for
``final_status_list dead``, marks those groups, lets the human click groups to toggle them, and shows
both counts; Enter (or the Done button) accepts.

pygame is imported lazily, in :meth:`GoWindow.open`.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
from typing import Any

import numpy as np

from vw_envs.go.coords import RESIGN, from_gtp, to_gtp
from vw_envs.go.gnugo import INSTALL_HINT, check_installed, gnugo_path
from vw_envs.go.gtp import GTPClient
from vw_envs.go.gtp_engine import last_stone, player_state, sync_player
from vw_envs.go.render import BoardRenderer, RenderConfig
from vw_envs.go.rules import BLACK, COLOR_NAMES, EMPTY, WHITE, GoGame
from vw_envs.go.sgf import result_string, to_sgf
from vw_envs.players import Player
from vw_envs.viewer import import_pygame

BACKGROUND = (38, 42, 48)
PANEL_TEXT = (230, 230, 230)
DIM_TEXT = (150, 155, 160)
ERROR_TEXT = (255, 120, 110)
GOOD_TEXT = (140, 220, 140)
BUTTON = (70, 76, 86)
BUTTON_OFF = (52, 56, 62)
MARK_RGB = (230, 30, 30)
MAX_THUMBS = 8

REASON_HELP = {
    "occupied": "occupied: there is a stone there already",
    "suicide": "suicide: the stone would have no liberties",
    "ko": "ko: you may not retake at once; play elsewhere first",
    "superko": "superko: that would repeat an earlier position",
    "off board": "off board",
}


@dataclasses.dataclass(frozen=True)
class _WindowRenderConfig(RenderConfig):
    """The agent's look at any window size: env frames stop at 512 px, a hi-DPI window does not."""

    def __post_init__(self) -> None:
        if not 64 <= int(self.frame_size) <= 4096:
            raise ValueError(f"board size in pixels must be in 64..4096, got {self.frame_size}")


def as_rgb(frame: Any) -> np.ndarray | None:
    """An imagined frame as (H, W, 3) uint8 for a thumbnail, or None if it is not an image.

    Agents may hand back decoder output as it comes: floats in [0, 1], CHW tensors, grey or RGBA.
    """
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3, 4):
        a = a.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4) or min(a.shape[:2]) < 2:
        return None
    if a.dtype.kind == "f":
        a = np.nan_to_num(a) * (255.0 if a.size and np.nanmax(a) <= 1.0 else 1.0)
    a = np.clip(a, 0, 255).astype(np.uint8)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a[..., :3])


def score_with_dead(game: GoGame, dead: set[int]) -> tuple[np.ndarray, float]:
    """Area ownership (N*N,) and score (Black minus White, komi included) with ``dead`` stones removed.

    Reuses the rules engine: the alive stones are set up on a scratch board and counted Tromp-Taylor.
    Removing stones only adds liberties, so the setup never fails on a position from a legal game.
    """
    board = game.board
    alive_b = [p for p in range(game.pass_move) if board[p] == BLACK and p not in dead]
    alive_w = [p for p in range(game.pass_move) if board[p] == WHITE and p not in dead]
    scratch = GoGame(game.n, game.komi)
    scratch.setup(alive_b, alive_w)
    return scratch.area(), scratch.score()


def score_text(score: float) -> str:
    """``B+3.5`` / ``W+2`` / ``draw``."""
    if score == 0:
        return "draw"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


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


class GoWindow:
    """A pygame window where people play Go against any players (or each other).

    Args:
        black, white: a Player, or None for a person at this window.
        board_size: N (ignored when ``game`` is given).
        komi: komi (ignored when ``game`` is given).
        game: a game to continue (e.g. replayed from ``--load game.sgf``); a new one if None.
        seed: seeds the players' randomness (new games add their index).
        size: the initial window size in pixels; the window is resizable.
        coordinates: draw coordinates on the board (the env's option, so the look stays the agent's).
        max_moves: the move cap (default 2*N*N, as the env).
        dead_stones: ``"gnugo"`` to ask GNU Go for dead groups after two passes (skipped when it is not
            installed), or None to start with every stone alive.
        agent_frames: the frames agents without their own ``render_config`` see (default: the env's).
        title: the window caption.

    Example:
        >>> w = GoWindow(None, make_player("random"), board_size=9)   # doctest: +SKIP
        >>> w.run()
    """

    def __init__(self, black: Player | None, white: Player | None, *, board_size: int = 9, komi: float = 7.5,
                 game: GoGame | None = None, seed: int = 0, size: tuple[int, int] = (960, 680),
                 coordinates: bool = False, max_moves: int | None = None, dead_stones: str | None = "gnugo",
                 agent_frames: RenderConfig | None = None, title: str | None = None):
        self.game = game if game is not None else GoGame(board_size, komi)
        self.n = self.game.n
        self.players: dict[int, Player | None] = {BLACK: black, WHITE: white}
        self.names = {c: (p.name if p is not None else "human") for c, p in self.players.items()}
        self.seed = seed
        self.initial_size = size
        self.coordinates = coordinates
        self.max_moves = 2 * self.n * self.n if max_moves is None else max_moves
        self.dead_stones = dead_stones
        self.agent_frames = agent_frames
        self.title = title or f"VideoGo {self.n}x{self.n}: {self.names[BLACK]} (B) vs {self.names[WHITE]} (W)"

        self.phase = "play"  # "play" -> "scoring" (after two passes) -> "over"; or "play" -> "over"
        self.end: dict[str, Any] | None = None  # winner, score, reason once over
        self.dead: set[int] = set()
        self.message: tuple[str, tuple[int, int, int]] | None = None
        self.games_started = 0
        self.think_last: dict[int, float | None] = {BLACK: None, WHITE: None}
        self.think_total: dict[int, float] = {BLACK: 0.0, WHITE: 0.0}
        self.imagination: list[np.ndarray] = []
        self.imagined_by: str | None = None
        self.closed = False

        self._jobs: queue.Queue = queue.Queue()
        self._job: dict[str, Any] | None = None  # the running job: kind, colour, start time, thread
        self._gen = 0  # bumped on new game / undo so a late result of an old job is dropped
        self._renderers: dict[RenderConfig, BoardRenderer] = {}  # the agents' own frame configs
        self._pg = None
        self._screen = None
        self._clock = None
        self._fonts: dict[str, Any] = {}
        self._board: BoardRenderer | None = None
        self._board_origin = (0, 0)
        self._panel_x = 0
        self._buttons: list[tuple[Any, str, str]] = []
        self._thumbs: list[Any] = []
        self._hover: int | None = None
        self._resize_due: float | None = None

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> GoWindow:
        """Open the window and start the game (an agent to move starts thinking at once)."""
        # Ask Windows for real pixels; macOS and X11 already give them to a plain window.
        os.environ.setdefault("SDL_WINDOWS_DPI_AWARENESS", "permonitorv2")
        pg = self._pg = import_pygame()
        pg.display.init()
        if pg.display.get_driver() in ("offscreen", "dummy") and not os.environ.get("SDL_VIDEODRIVER"):
            # SDL falls back to an invisible window when there is no screen; a person would wait forever.
            pg.display.quit()
            raise pg.error("no display: SDL found no screen (set DISPLAY, or run under Xvfb)")
        pg.font.init()
        self._screen = pg.display.set_mode(self.initial_size, pg.RESIZABLE)
        pg.display.set_caption(self.title)
        self._clock = pg.time.Clock()
        self._layout()
        self._start_players()
        self._after_move()
        return self

    def run(self, fps: int = 30) -> None:
        """Show the window until it is closed (the close button, ``q`` or Ctrl-C)."""
        if self._screen is None:
            self.open()
        try:
            while self.tick():
                self._clock.tick(fps)
        except KeyboardInterrupt:  # Ctrl-C in the terminal closes the window like its close button
            self.closed = True

    def tick(self) -> bool:
        """One frame: handle queued events, collect finished jobs, redraw. Never blocks.

        Returns:
            False once the window is closed.
        """
        if self.closed:
            return False
        for event in self._pg.event.get():
            self.handle(event)
            if self.closed:
                return False
        self._collect()
        if self._resize_due is not None and time.monotonic() >= self._resize_due:
            self._layout()
        self.draw()
        return True

    def close(self) -> None:
        """Close the window; safe to call twice. A thinking agent is given a moment to finish."""
        self.closed = True
        job = self._job
        if job is not None:
            job["thread"].join(timeout=2.0)
        if self._screen is not None:
            self._pg.display.quit()
            self._screen = None

    # ------------------------------------------------------------------ input
    def handle(self, event: Any) -> None:
        """React to one pygame event (clicks, keys, resizes, close)."""
        pg = self._pg
        if event.type == pg.QUIT:
            self.closed = True
        elif event.type == pg.VIDEORESIZE:
            # Dragging sends many resizes; re-draw the sprites once the size has settled.
            if self._screen.get_size() != tuple(event.size):
                self._screen = pg.display.set_mode(event.size, pg.RESIZABLE)
            self._resize_due = time.monotonic() + 0.15
        elif event.type == pg.MOUSEMOTION:
            self._hover = self.point_at(*event.pos)
        elif event.type == pg.MOUSEBUTTONDOWN and event.button == 1:
            for rect, action, _label in self._buttons:
                if rect.collidepoint(event.pos):
                    self.do(action)
                    return
            p = self.point_at(*event.pos)
            if p is not None:
                self.click_point(p)
        elif event.type == pg.KEYDOWN:
            keys = {pg.K_p: "pass", pg.K_r: "resign", pg.K_u: "undo", pg.K_n: "new",
                    pg.K_RETURN: "done", pg.K_KP_ENTER: "done", pg.K_q: "quit"}
            if event.key in keys:
                self.do(keys[event.key])

    def do(self, action: str) -> None:
        """Run a button/key action: ``pass``, ``resign``, ``undo``, ``new``, ``done`` or ``quit``."""
        if action == "quit":
            self.closed = True
        elif action == "new":
            self.new_game()
        elif action == "undo":
            self.undo()
        elif action == "done":
            self.accept_score()
        elif action in ("pass", "resign"):
            color = self._human_to_move()
            if color is None:
                return
            if action == "pass":
                self._play(self.game.pass_move, color)
            else:
                self._finish(winner=COLOR_NAMES[3 - color], reason="resign")

    def click_point(self, p: int) -> None:
        """A click on intersection ``p``: a move, or a dead-group toggle while scoring."""
        if self.phase == "scoring":
            self.toggle_dead(p)
            return
        color = self._human_to_move()
        if color is None:
            return
        reason = self.game.illegal_reason(p, color)
        if reason is not None:
            self._say(f"{to_gtp(p, self.n)} is illegal: {REASON_HELP.get(reason, reason)}", ERROR_TEXT)
            return
        self._play(p, color)

    def _human_to_move(self) -> int | None:
        """The colour of the person to move, or None (with a message saying why not)."""
        if self.phase != "play":
            self._say("the game is over: N starts a new one" if self.phase == "over"
                      else "scoring: click dead groups, Enter when done", DIM_TEXT)
            return None
        if self._job is not None:
            self._say(f"wait: {self.names[self._job['color']]} is thinking", DIM_TEXT)
            return None
        color = self.game.to_play
        if self.players[color] is not None:
            self._say(f"it is {self.names[color]}'s turn", DIM_TEXT)
            return None
        return color

    # ------------------------------------------------------------------ game actions
    def _play(self, move: int, color: int) -> None:
        self.game.play(move, color)
        self.message = None
        for c, player in self.players.items():
            if player is not None:
                try:
                    player.observe(move, COLOR_NAMES[color])
                except Exception as e:  # noqa: BLE001 - an engine that died ends the game, not the window
                    self._fail(c, e)
                    return
        self._after_move()

    def _after_move(self) -> None:
        """End the game if it is over, else start the agent to move (if any)."""
        g = self.game
        if g.over:
            self._start_scoring()
        elif g.move_number >= self.max_moves:
            self._finish(reason="move_cap")
        elif self.phase == "play" and self.players[g.to_play] is not None and self._job is None:
            self._start_job("move", g.to_play)

    def undo(self) -> None:
        """Take back the human's last move and the reply (everything since the last human move)."""
        if self._job is not None:
            self._say("wait: undo after the move being computed arrives", DIM_TEXT)
            return
        humans = [c for c, p in self.players.items() if p is None]
        if not humans:
            self._say("undo takes back a person's move; there is none here", DIM_TEXT)
            return
        if not self.game.moves:
            self._say("nothing to undo", DIM_TEXT)
            return
        while self.game.moves:
            color, _move = self.game.undo()
            for c, player in self.players.items():
                if player is not None:
                    try:
                        player.undo()
                    except Exception:  # noqa: BLE001 - an engine without undo is replayed from scratch
                        sync_player(player, self.game, COLOR_NAMES[c], seed=self._player_seed(c))
            if color in humans:
                break
        self._gen += 1
        self.phase, self.end, self.dead = "play", None, set()
        self._say("undone", DIM_TEXT)
        self._after_move()

    def new_game(self) -> None:
        """A fresh board of the same size and komi, same players and colours."""
        if self._job is not None:
            self._say("wait: a new game after the move being computed arrives", DIM_TEXT)
            return
        self.game = GoGame(self.n, self.game.komi, self.game.ko_rule)
        self.phase, self.end, self.dead = "play", None, set()
        self.think_last = {BLACK: None, WHITE: None}
        self.think_total = {BLACK: 0.0, WHITE: 0.0}
        self.imagination, self._thumbs = [], []
        self._gen += 1
        self.games_started += 1
        self._start_players()
        self._say("new game", DIM_TEXT)
        self._after_move()

    def _player_seed(self, color: int) -> int:
        rng = np.random.default_rng([self.seed, self.games_started])
        seeds = rng.integers(2**31, size=2)
        return int(seeds[0 if color == BLACK else 1])

    def _start_players(self) -> None:
        for c, player in self.players.items():
            if player is not None:
                sync_player(player, self.game, COLOR_NAMES[c], seed=self._player_seed(c))

    def _finish(self, *, reason: str, winner: str | None | bool = False, message: str | None = None) -> None:
        result_winner, score = self.game.result()
        self.end = {"winner": result_winner if winner is False else winner, "score": score, "reason": reason}
        if message:
            self.end["message"] = message
        self.phase = "over"
        self._gen += 1
        self.message = None  # the status line says it; a message would repeat it

    def _fail(self, color: int, error: BaseException) -> None:
        text = f"{self.names[color]} failed: {error}"
        self._finish(winner=COLOR_NAMES[3 - color], reason="forfeit", message=text)
        self._say(text, ERROR_TEXT)

    @property
    def result(self) -> str:
        """The SGF-style result (``B+3.5``, ``W+R``), or ``"?"`` while the game goes on."""
        if self.end is None:
            return "?"
        return result_string(self.end["winner"], self.end["score"], self.end["reason"])

    # ------------------------------------------------------------------ scoring
    def _start_scoring(self) -> None:
        self.phase = "scoring"
        self.dead = set()
        if self.dead_stones == "gnugo":
            if check_installed() is None:
                self._say("asking GNU Go which groups are dead...", DIM_TEXT)
                self._start_job("dead", self.game.to_play)
                return
            self._say("GNU Go is not installed: click the dead groups, Enter when done", DIM_TEXT)
        else:
            self._say("click the dead groups, Enter when done", DIM_TEXT)

    def toggle_dead(self, p: int) -> None:
        """Mark the group at ``p`` dead, or alive again (scoring phase only)."""
        if self.phase != "scoring":
            return
        if self._job is not None:
            self._say("wait: GNU Go is proposing dead groups", DIM_TEXT)
            return
        group = self.game.group_of[p]
        if group is None:
            return
        stones = set(group.stones)
        if stones <= self.dead:
            self.dead -= stones
        else:
            self.dead |= stones
        self.message = None

    def scores(self) -> tuple[float, float]:
        """(Tromp-Taylor score with every stone alive, score with the dead stones removed)."""
        return self.game.score(), score_with_dead(self.game, self.dead)[1]

    def accept_score(self) -> None:
        """End the scoring phase: the result follows the game's rule (Tromp-Taylor); both counts are kept."""
        if self.phase != "scoring":
            return
        if self._job is not None:
            self._say("wait: GNU Go is proposing dead groups", DIM_TEXT)
            return
        tt, people = self.scores()
        note = (f"Tromp-Taylor (every stone alive): {score_text(tt)}; with {len(self.dead)} dead stones "
                f"removed: {score_text(people)}")
        self._finish(reason="two_passes", message=note)
        self.end["score_dead_removed"] = people

    # ------------------------------------------------------------------ worker jobs
    def _start_job(self, kind: str, color: int) -> None:
        gen = self._gen
        if kind == "move":
            player = self.players[color]
            state = player_state(self.game, player, self._renderers, color, default=self.agent_frames)

            def work() -> Any:
                move = int(player.genmove(state))
                imagined = getattr(player, "last_imagination", None)
                frames = [as_rgb(f) for f in list(imagined or [])[:MAX_THUMBS]]
                return move, [f for f in frames if f is not None]
        else:
            snapshot = GoGame(self.n, self.game.komi)  # GNU Go reads a copy, the UI keeps the game
            snapshot.setup(*self.game.setup_stones, to_play=self.game.moves[0][0] if self.game.moves else BLACK)
            for c, m in self.game.moves:
                snapshot.play(m, c)

            def work() -> Any:
                return gnugo_dead_stones(snapshot)

        def run() -> None:
            t0 = time.perf_counter()
            try:
                out, err = work(), None
            except Exception as e:  # noqa: BLE001 - reported on the UI thread
                out, err = None, e
            self._jobs.put((gen, kind, color, out, err, time.perf_counter() - t0))

        thread = threading.Thread(target=run, name=f"go-window-{kind}", daemon=True)
        self._job = {"kind": kind, "color": color, "start": time.perf_counter(), "thread": thread}
        thread.start()

    def _collect(self) -> None:
        """Apply finished jobs (on the UI thread, so the game is only ever changed here)."""
        while True:
            try:
                gen, kind, color, out, err, seconds = self._jobs.get_nowait()
            except queue.Empty:
                return
            self._job = None
            if gen != self._gen:
                continue  # the game moved on (resign, close) while the job ran
            if kind == "dead":
                if err is not None:
                    self._say(f"GNU Go could not propose dead groups ({err}); click them yourself", ERROR_TEXT)
                else:
                    self.dead = set(out)
                    groups = len({id(self.game.group_of[p]) for p in self.dead})
                    self._say(f"GNU Go marks {groups} group(s) dead: click to toggle, Enter when done", DIM_TEXT)
                continue
            self.think_last[color] = seconds
            self.think_total[color] += seconds
            if err is not None:
                self._fail(color, err)
                continue
            move, imagined = out
            self.imagination, self.imagined_by, self._thumbs = imagined, self.names[color], []
            if move == RESIGN:
                self._finish(winner=COLOR_NAMES[3 - color], reason="resign")
                continue
            reason = "not a move" if not 0 <= move <= self.game.pass_move else self.game.illegal_reason(move, color)
            if reason is not None:
                self._finish(winner=COLOR_NAMES[3 - color], reason="illegal",
                             message=f"{self.names[color]} played illegal move {move}: {reason}")
                continue
            self._play(move, color)

    @property
    def thinking(self) -> bool:
        """True while an agent (or GNU Go's dead-stone proposal) is working."""
        return self._job is not None

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Tick until no job runs (for tests and scripts); raises TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while self.tick() and self._job is not None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.names[self._job['color']]} still thinking after {timeout:g} s")
            time.sleep(0.005)

    def _say(self, text: str, color: tuple[int, int, int]) -> None:
        self.message = (text, color)

    # ------------------------------------------------------------------ geometry
    def _layout(self) -> None:
        """Fit the board and panel to the window; render the board at its true pixel size."""
        self._resize_due = None
        w, h = self._screen.get_size()
        panel = max(260, min(420, int(w * 0.34)))
        pad = max(8, h // 60)
        side = max(64, min(h - 2 * pad, w - panel - 3 * pad))
        if self._board is None or self._board.config.frame_size != side:
            self._board = BoardRenderer(self.n, _WindowRenderConfig(frame_size=side, coordinates=self.coordinates))
        self._board_origin = (pad, (h - side) // 2)
        self._panel_x = side + 2 * pad
        scale = max(0.75, h / 680)
        pg = self._pg
        self._fonts = {
            "title": pg.font.Font(None, round(30 * scale)),
            "text": pg.font.Font(None, round(22 * scale)),
            "small": pg.font.Font(None, round(18 * scale)),
        }
        self._thumbs = []

    def point_at(self, x: float, y: float) -> int | None:
        """Window pixel -> the intersection under it (None off the board)."""
        if self._board is None:
            return None
        bx, by = self._board_origin
        size = self._board.config.frame_size
        if not (0 <= x - bx < size and 0 <= y - by < size):
            return None
        return self._board.point_at(x - bx, y - by)

    def pixel_of(self, p: int) -> tuple[int, int]:
        """The window pixel at the centre of intersection ``p`` (what a click there should hit)."""
        lay = self._board.layout
        r, c = divmod(p, self.n)
        bx, by = self._board_origin
        return round(bx + lay.centre(c)), round(by + lay.centre(r))

    # ------------------------------------------------------------------ drawing
    def draw(self) -> None:
        """Redraw the whole window (board, overlays, panel) and flip."""
        pg, screen = self._pg, self._screen
        screen.fill(BACKGROUND)
        self._draw_board()
        self._draw_panel()
        pg.display.flip()

    def _draw_board(self) -> None:
        pg, screen, g = self._pg, self._screen, self.game
        frame = self._board.render(g.board_np)  # the agent's look, at this window's pixel size
        surf = pg.surfarray.make_surface(frame.transpose(1, 0, 2))
        screen.blit(surf, self._board_origin)
        lay = self._board.layout
        sp = lay.spacing
        last = last_stone(g)
        if last is not None and self.phase == "play":
            x, y = self.pixel_of(last)
            pg.draw.circle(screen, MARK_RGB, (x, y), max(3, round(sp * 0.16)))
        if self.phase == "play" and self._hover is not None and self._job is None \
                and self.players[g.to_play] is None and g.board[self._hover] == EMPTY:
            ghost = pg.Surface((round(sp), round(sp)), pg.SRCALPHA)
            shade = (0, 0, 0, 90) if g.to_play == BLACK else (255, 255, 255, 120)
            pg.draw.circle(ghost, shade, (round(sp / 2), round(sp / 2)), round(sp * 0.45))
            x, y = self.pixel_of(self._hover)
            screen.blit(ghost, (x - round(sp / 2), y - round(sp / 2)))
        if self._counted:
            owner, _ = score_with_dead(g, self.dead)
            half = max(2, round(sp * 0.17))
            for p in range(g.pass_move):
                x, y = self.pixel_of(p)
                if p in self.dead:
                    cross = (255, 255, 255) if g.board[p] == BLACK else (0, 0, 0)
                    w = max(2, round(sp * 0.06))
                    pg.draw.line(screen, cross, (x - half * 1.6, y - half * 1.6), (x + half * 1.6, y + half * 1.6), w)
                    pg.draw.line(screen, cross, (x - half * 1.6, y + half * 1.6), (x + half * 1.6, y - half * 1.6), w)
                if (g.board[p] == EMPTY or p in self.dead) and owner[p] != EMPTY:
                    fill = (0, 0, 0) if owner[p] == BLACK else (255, 255, 255)
                    rect = pg.Rect(x - half, y - half, 2 * half, 2 * half)
                    pg.draw.rect(screen, fill, rect)
                    pg.draw.rect(screen, (90, 90, 90), rect, 1)

    def _text(self, text: str, x: int, y: int, font: str = "text", color=PANEL_TEXT) -> int:
        """Draw one line (clipped to the panel); returns the y of the next line."""
        f = self._fonts[font]
        width = self._screen.get_width() - x - 8
        base = text
        while base and f.size(text)[0] > width:
            base = base[:-1]
            text = base + "..."
        self._screen.blit(f.render(text, True, color), (x, y))
        return y + f.get_linesize() + 2

    def _wrapped(self, text: str, x: int, y: int, font: str = "small", color=PANEL_TEXT) -> int:
        f = self._fonts[font]
        width = self._screen.get_width() - x - 8
        line = ""
        for word in text.split():
            trial = f"{line} {word}".strip()
            if f.size(trial)[0] > width and line:
                y = self._text(line, x, y, font, color)
                line = word
            else:
                line = trial
        return self._text(line, x, y, font, color) if line else y

    def _draw_panel(self) -> None:
        pg, screen, g = self._pg, self._screen, self.game
        x = self._panel_x
        y = self._board_origin[1] + 4
        line = self._fonts["text"].get_linesize()
        y = self._text(f"VideoGo {self.n}x{self.n}   komi {g.komi:g}", x, y, "title")
        y += 4
        for c in (BLACK, WHITE):
            fill = (0, 0, 0) if c == BLACK else (255, 255, 255)
            pg.draw.circle(screen, fill, (x + line // 2, y + line // 2 - 1), line // 2 - 1)
            pg.draw.circle(screen, (120, 120, 120), (x + line // 2, y + line // 2 - 1), line // 2 - 1, 1)
            turn = self.phase == "play" and g.to_play == c
            label = f"{COLOR_NAMES[c].capitalize()}: {self.names[c]}" + ("   <- to play" if turn else "")
            last = self.think_last[c]
            y = self._text(label, x + line + 6, y, "text", PANEL_TEXT if turn else DIM_TEXT)
            if self.players[c] is not None:
                thinking = f"thinking: last {last:.2f} s, total {self.think_total[c]:.1f} s" if last is not None \
                    else "thinking: -"
                y = self._text(thinking, x + line + 6, y, "small", DIM_TEXT)
        y += 4
        y = self._text(f"Move {g.move_number}    Captures  B {g.captures[BLACK]}  W {g.captures[WHITE]}", x, y)
        if self._job is not None:
            who = "GNU Go (dead stones)" if self._job["kind"] == "dead" else self.names[self._job["color"]]
            y = self._text(f"{who} is thinking... {time.perf_counter() - self._job['start']:.1f} s", x, y,
                           "text", GOOD_TEXT)
        elif self.phase == "play":
            y = self._text(f"{COLOR_NAMES[g.to_play].capitalize()} to play", x, y, "text", GOOD_TEXT)
        elif self.phase == "scoring":
            y = self._text("Scoring: click groups to mark them dead", x, y, "text", GOOD_TEXT)
        else:
            y = self._text(f"Game over: {self.result} ({self.end['reason'].replace('_', ' ')})", x, y, "text",
                           GOOD_TEXT)
        if self.message is not None:
            y = self._wrapped(self.message[0], x, y, "small", self.message[1])
        y += 6
        self._buttons = []
        actions = [("pass", "Pass (P)"), ("resign", "Resign (R)"), ("undo", "Undo (U)"), ("new", "New (N)")]
        if self.phase == "scoring":
            actions.append(("done", "Done (Enter)"))
        bw = (screen.get_width() - x - 8 - 6) // 2
        bh = line + 8
        for i, (action, label) in enumerate(actions):
            rect = pg.Rect(x + (i % 2) * (bw + 6), y + (i // 2) * (bh + 6), bw, bh)
            enabled = self._enabled(action)
            pg.draw.rect(screen, BUTTON if enabled else BUTTON_OFF, rect, border_radius=4)
            surf = self._fonts["text"].render(label, True, PANEL_TEXT if enabled else DIM_TEXT)
            screen.blit(surf, surf.get_rect(center=rect.center))
            self._buttons.append((rect, action, label))
        y += ((len(actions) + 1) // 2) * (bh + 6) + 6
        if self._counted:
            tt, people = self.scores()
            y = self._text(f"Tromp-Taylor, all stones alive: {score_text(tt)}", x, y)
            y = self._text(f"Dead stones removed ({len(self.dead)}): {score_text(people)}", x, y)
            y += 6
        y = self._draw_thumbnails(x, y)

    @property
    def _counted(self) -> bool:
        """True when the board is scored: while scoring, and after a game that ended by count."""
        return self.phase == "scoring" or (self.end or {}).get("reason") in ("two_passes", "move_cap")

    def _enabled(self, action: str) -> bool:
        human_turn = self.phase == "play" and self._job is None and self.players[self.game.to_play] is None
        if action in ("pass", "resign"):
            return human_turn
        if action == "undo":
            return self._job is None and bool(self.game.moves) and None in self.players.values()
        if action == "new":
            return self._job is None
        return self.phase == "scoring" and self._job is None

    def _draw_thumbnails(self, x: int, y: int) -> int:
        pg, screen = self._pg, self._screen
        agents = [self.names[c] for c, p in self.players.items() if p is not None]
        if not agents:
            return y
        if not self.imagination:
            who = self.imagined_by or " / ".join(agents)
            return self._wrapped(f"Imagined next frames: none yet ({who} does not imagine frames)", x, y,
                                 "small", DIM_TEXT)
        y = self._text(f"Imagined by {self.imagined_by} before its move:", x, y, "small", DIM_TEXT)
        cols = 4
        gap = 6
        size = (screen.get_width() - x - 8 - gap * (cols - 1)) // cols
        if not self._thumbs or self._thumbs[0].get_width() != size:
            self._thumbs = []
            for frame in self.imagination:
                surf = pg.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
                self._thumbs.append(pg.transform.smoothscale(surf, (size, size)))
        for i, thumb in enumerate(self._thumbs):
            tx, ty = x + (i % cols) * (size + gap), y + (i // cols) * (size + gap)
            if ty + size > screen.get_height():
                break
            screen.blit(thumb, (tx, ty))
        return y + ((len(self._thumbs) + cols - 1) // cols) * (size + gap)

    def save_screenshot(self, path: str) -> None:
        """Write the window's current picture to ``path`` (PNG)."""
        self.draw()
        self._pg.image.save(self._screen, str(path))

    # ------------------------------------------------------------------ records
    def to_sgf(self) -> str:
        """The game so far as SGF (finished or not), with players, result and both scores."""
        end = self.end or {}
        return to_sgf(self.game, black=self.names[BLACK], white=self.names[WHITE],
                      result=self.result if self.end else None, comment=end.get("message"))
