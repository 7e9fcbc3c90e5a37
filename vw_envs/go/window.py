"""The human-vs-agent Go window: ``vw-agent play --env VideoGo-9x9-v0 --black human --white random --render human``.

The game itself is a :class:`~vw_envs.go.session.GoSession` (moves, undo, scoring, engine threads); this
module only draws it and turns pygame events into its actions.

The board is drawn by the same :class:`BoardRenderer` that makes the agent's observations, at the
window's real pixel size, so a person sees the agent's picture of the game (with a last-move ring,
territory and dead-stone marks drawn on top for people). A side panel shows whose turn it is, the move
number, captures, the agent's thinking time, the frames the agent imagined before its last move
(``player.last_imagination``) and, at the end, the score.

How tests drive it: :meth:`GoWindow.tick` handles whatever is in pygame's event queue, collects
finished jobs and redraws, without blocking, so a test posts real ``MOUSEBUTTONDOWN`` events and ticks.
:meth:`GoWindow.run` is just ``while tick()``.

pygame is imported lazily, in :meth:`GoWindow.open`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import numpy as np

from vw_envs.go.render import BoardRenderer, RenderConfig
from vw_envs.go.rules import BLACK, COLOR_NAMES, EMPTY, WHITE, GoGame, score_with_dead
from vw_envs.go.session import GoSession, last_stone, score_text
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
MESSAGE_RGB = {"info": DIM_TEXT, "error": ERROR_TEXT}  # the session's message levels


@dataclasses.dataclass(frozen=True)
class _WindowRenderConfig(RenderConfig):
    """The agent's look at any window size: env frames stop at 512 px, a hi-DPI window does not."""

    def __post_init__(self) -> None:
        if not 64 <= int(self.frame_size) <= 4096:
            raise ValueError(f"board size in pixels must be in 64..4096, got {self.frame_size}")



class GoWindow(GoSession):
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
        super().__init__(black, white, board_size=board_size, komi=komi, game=game, seed=seed,
                         max_moves=max_moves, dead_stones=dead_stones, agent_frames=agent_frames)
        self.initial_size = size
        self.coordinates = coordinates
        self.title = title or f"VideoGo {self.n}x{self.n}: {self.names[BLACK]} (B) vs {self.names[WHITE]} (W)"
        self._pg = None
        self._screen = None
        self._clock = None
        self._fonts: dict[str, Any] = {}
        self._board: BoardRenderer | None = None
        self._board_origin = (0, 0)
        self._panel_x = 0
        self._buttons: list[tuple[Any, str, str]] = []
        self._thumbs: list[Any] = []
        self._thumbs_of: list[np.ndarray] | None = None  # the imagination the thumbnails show
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
        return self.start()

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
        super().close()
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
        if self.counted:
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
            y = self._wrapped(self.message[0], x, y, "small", MESSAGE_RGB[self.message[1]])
        y += 6
        self._buttons = []
        actions = [("pass", "Pass (P)"), ("resign", "Resign (R)"), ("undo", "Undo (U)"), ("new", "New (N)")]
        if self.phase == "scoring":
            actions.append(("done", "Done (Enter)"))
        bw = (screen.get_width() - x - 8 - 6) // 2
        bh = line + 8
        for i, (action, label) in enumerate(actions):
            rect = pg.Rect(x + (i % 2) * (bw + 6), y + (i // 2) * (bh + 6), bw, bh)
            enabled = self.enabled(action)
            pg.draw.rect(screen, BUTTON if enabled else BUTTON_OFF, rect, border_radius=4)
            surf = self._fonts["text"].render(label, True, PANEL_TEXT if enabled else DIM_TEXT)
            screen.blit(surf, surf.get_rect(center=rect.center))
            self._buttons.append((rect, action, label))
        y += ((len(actions) + 1) // 2) * (bh + 6) + 6
        if self.counted:
            tt, people = self.scores()
            y = self._text(f"Tromp-Taylor, all stones alive: {score_text(tt)}", x, y)
            y = self._text(f"Dead stones removed ({len(self.dead)}): {score_text(people)}", x, y)
            y += 6
        y = self._draw_thumbnails(x, y)

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
        if self._thumbs_of is not self.imagination or not self._thumbs or self._thumbs[0].get_width() != size:
            self._thumbs, self._thumbs_of = [], self.imagination
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

