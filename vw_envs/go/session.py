"""A headless Go game between people and players: moves, undo, scoring with dead stones, engine threads.

:class:`GoSession` is the game behind the pygame window (:class:`~vw_envs.go.window.GoWindow` draws it and
turns events into its actions). The GTP engine (:mod:`vw_envs.go.gtp_engine`) keeps its own board but
shares the helpers on top: what a player is shown (:func:`player_state`) and how it is told the game so
far (:func:`sync_player`).

Agents think in a worker thread, and GNU Go's dead-stone proposal runs there too; the caller only polls
(:meth:`GoSession.tick`). One job runs at a time, and while it runs the player object belongs to it, so
undo and new game are refused until the move arrives (the session never waits on one).

Scoring for people: the game's rule is Tromp-Taylor (every stone on the board is alive), but people pass
before capturing dead stones. After two passes the session asks GNU Go (when installed) for
``final_status_list dead``, marks those groups, lets the person toggle groups and keeps both counts.

Example:
    >>> s = GoSession(None, make_player("random"), board_size=9, dead_stones=None).start()  # doctest: +SKIP
    >>> s.click_point(40); s.wait_idle()   # E5, then the random player's reply
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import numpy as np

from vw_envs.go.coords import RESIGN, to_gtp
from vw_envs.go.gnugo import check_installed, gnugo_dead_stones
from vw_envs.go.render import BoardRenderer, RenderConfig
from vw_envs.go.rules import BLACK, COLOR_NAMES, WHITE, GoGame, score_with_dead
from vw_envs.go.sgf import result_string, to_sgf
from vw_envs.players import GameState, Player

MAX_THUMBS = 8

REASON_HELP = {
    "occupied": "occupied: there is a stone there already",
    "suicide": "suicide: the stone would have no liberties",
    "ko": "ko: you may not retake at once; play elsewhere first",
    "superko": "superko: that would repeat an earlier position",
    "off board": "off board",
}


# ----------------------------------------------------------------------------- what players see


def last_stone(game: GoGame) -> int | None:
    """The point of the last stone played (passes skipped), or None."""
    for _c, m in reversed(game.moves):
        if m != game.pass_move:
            return m
    return None


def player_state(game: GoGame, player: Player, renderers: dict[RenderConfig, BoardRenderer],
                 color: int | None = None, default: RenderConfig | None = None) -> GameState:
    """What ``player`` sees of ``game``: like ``VideoGoEnv.state_for``, for callers that own a bare
    :class:`GoGame` (the GTP engine and :class:`GoSession`). Frames are rendered lazily in the player's own
    ``render_config``; ``renderers`` caches one renderer per config across calls.

    Args:
        color: the side to choose a move for (default: the side to move).
        default: the frame settings of players without a ``render_config`` (default: the env's default).
    """
    c = game.to_play if color is None else color
    cfg = getattr(player, "render_config", None) or default or RenderConfig()
    renderer = renderers.get(cfg)
    if renderer is None:
        renderer = renderers[cfg] = BoardRenderer(game.n, cfg)
    board = game.board_np.copy()
    last = last_stone(game)
    return GameState(
        board_size=game.n, komi=game.komi, to_play=COLOR_NAMES[c], legal_mask=game.legal_mask(c),
        history=tuple((COLOR_NAMES[col], m) for col, m in game.moves), board=board.reshape(game.n, game.n),
        setup=(tuple(game.setup_stones[0]), tuple(game.setup_stones[1])),
        render_fn=lambda: renderer.render(board, last),
    )


def sync_player(player: Player, game: GoGame, color: str, seed: int | None = None) -> None:
    """Reset ``player`` for ``color`` and replay ``game`` into it (setup stones, then every move)."""
    player.reset(game.n, game.komi, color, seed=seed)
    black, white = game.setup_stones
    if (black or white) and hasattr(player, "setup"):
        player.setup(list(black), list(white))
    for c, m in game.moves:
        player.observe(m, COLOR_NAMES[c])


# ----------------------------------------------------------------------------- scoring and frames


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


def score_text(score: float) -> str:
    """``B+3.5`` / ``W+2`` / ``draw``."""
    if score == 0:
        return "draw"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


# ----------------------------------------------------------------------------- the session


class GoSession:
    """One Go game where people (at a window, or a script) play against any players, or each other.

    Nothing here draws: the caller shows :attr:`game`, :attr:`phase`, :attr:`message` and friends, and
    calls the actions (:meth:`click_point`, :meth:`do`, :meth:`undo`, ...). Messages carry a level,
    ``"info"`` or ``"error"``, for the view to colour.

    Args:
        black, white: a Player, or None for a person.
        board_size: N (ignored when ``game`` is given).
        komi: komi (ignored when ``game`` is given).
        game: a game to continue (e.g. replayed from ``--load game.sgf``); a new one if None.
        seed: seeds the players' randomness (new games add their index).
        max_moves: the move cap (default 2*N*N, as the env).
        dead_stones: ``"gnugo"`` to ask GNU Go for dead groups after two passes (skipped when it is not
            installed), or None to start with every stone alive.
        agent_frames: the frames agents without their own ``render_config`` see (default: the env's).
    """

    def __init__(self, black: Player | None, white: Player | None, *, board_size: int = 9, komi: float = 7.5,
                 game: GoGame | None = None, seed: int = 0, max_moves: int | None = None,
                 dead_stones: str | None = "gnugo", agent_frames: RenderConfig | None = None):
        self.game = game if game is not None else GoGame(board_size, komi)
        self.n = self.game.n
        self.players: dict[int, Player | None] = {BLACK: black, WHITE: white}
        self.names = {c: (p.name if p is not None else "human") for c, p in self.players.items()}
        self.seed = seed
        self.max_moves = 2 * self.n * self.n if max_moves is None else max_moves
        self.dead_stones = dead_stones
        self.agent_frames = agent_frames

        self.phase = "play"  # "play" -> "scoring" (after two passes) -> "over"; or "play" -> "over"
        self.end: dict[str, Any] | None = None  # winner, score, reason once over
        self.dead: set[int] = set()
        self.message: tuple[str, str] | None = None  # (text, "info" or "error")
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

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> GoSession:
        """Tell the players the game and start it (an agent to move starts thinking at once)."""
        self._start_players()
        self._after_move()
        return self

    def tick(self) -> bool:
        """Collect finished jobs. Never blocks.

        Returns:
            False once the session is closed.
        """
        if self.closed:
            return False
        self._collect()
        return True

    def close(self) -> None:
        """End the session; safe to call twice. A thinking agent is given a moment to finish."""
        self.closed = True
        job = self._job
        if job is not None:
            job["thread"].join(timeout=2.0)

    # ------------------------------------------------------------------ input
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
            self._say(f"{to_gtp(p, self.n)} is illegal: {REASON_HELP.get(reason, reason)}", "error")
            return
        self._play(p, color)

    def _human_to_move(self) -> int | None:
        """The colour of the person to move, or None (with a message saying why not)."""
        if self.phase != "play":
            self._say("the game is over: N starts a new one" if self.phase == "over"
                      else "scoring: click dead groups, Enter when done")
            return None
        if self._job is not None:
            self._say(f"wait: {self.names[self._job['color']]} is thinking")
            return None
        color = self.game.to_play
        if self.players[color] is not None:
            self._say(f"it is {self.names[color]}'s turn")
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
            self._say("wait: undo after the move being computed arrives")
            return
        humans = [c for c, p in self.players.items() if p is None]
        if not humans:
            self._say("undo takes back a person's move; there is none here")
            return
        if not self.game.moves:
            self._say("nothing to undo")
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
        self._say("undone")
        self._after_move()

    def new_game(self) -> None:
        """A fresh board of the same size and komi, same players and colours."""
        if self._job is not None:
            self._say("wait: a new game after the move being computed arrives")
            return
        self.game = GoGame(self.n, self.game.komi, self.game.ko_rule)
        self.phase, self.end, self.dead = "play", None, set()
        self.think_last = {BLACK: None, WHITE: None}
        self.think_total = {BLACK: 0.0, WHITE: 0.0}
        self.imagination = []
        self._gen += 1
        self.games_started += 1
        self._start_players()
        self._say("new game")
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
        self._say(text, "error")

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
                self._say("asking GNU Go which groups are dead...")
                self._start_job("dead", self.game.to_play)
                return
            self._say("GNU Go is not installed: click the dead groups, Enter when done")
        else:
            self._say("click the dead groups, Enter when done")

    def toggle_dead(self, p: int) -> None:
        """Mark the group at ``p`` dead, or alive again (scoring phase only)."""
        if self.phase != "scoring":
            return
        if self._job is not None:
            self._say("wait: GNU Go is proposing dead groups")
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
            self._say("wait: GNU Go is proposing dead groups")
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
                    self._say(f"GNU Go could not propose dead groups ({err}); click them yourself", "error")
                else:
                    self.dead = set(out)
                    groups = len({id(self.game.group_of[p]) for p in self.dead})
                    self._say(f"GNU Go marks {groups} group(s) dead: click to toggle, Enter when done")
                continue
            self.think_last[color] = seconds
            self.think_total[color] += seconds
            if err is not None:
                self._fail(color, err)
                continue
            move, imagined = out
            self.imagination, self.imagined_by = imagined, self.names[color]
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

    def _say(self, text: str, level: str = "info") -> None:
        self.message = (text, level)

    @property
    def counted(self) -> bool:
        """True when the board is scored: while scoring, and after a game that ended by count."""
        return self.phase == "scoring" or (self.end or {}).get("reason") in ("two_passes", "move_cap")

    def enabled(self, action: str) -> bool:
        """Whether the action (``pass``, ``resign``, ``undo``, ``new``, ``done``) would do something now."""
        human_turn = self.phase == "play" and self._job is None and self.players[self.game.to_play] is None
        if action in ("pass", "resign"):
            return human_turn
        if action == "undo":
            return self._job is None and bool(self.game.moves) and None in self.players.values()
        if action == "new":
            return self._job is None
        return self.phase == "scoring" and self._job is None

    # ------------------------------------------------------------------ records
    def to_sgf(self) -> str:
        """The game so far as SGF (finished or not), with players, result and both scores."""
        end = self.end or {}
        return to_sgf(self.game, black=self.names[BLACK], white=self.names[WHITE],
                      result=self.result if self.end else None, comment=end.get("message"))
