"""Board frames: an incremental renderer and its inverse, ``frame_to_board``.

The default look is the paper's: a flat orange board, a black grid, plain black and white discs. A
last-move marker and coordinates are options, both off by default.

How it stays fast: every sprite is drawn once per (board size, style) with Pillow at 4x resolution and
box-filtered down, which anti-aliases discs and lines. The board is cut into one rectangular cell per
intersection; cells tile the board exactly, so a frame is the empty-board picture with, for each
occupied point, that point's cell copied from a pre-rendered "stone" sheet. A step redraws only the
cells whose content changed and returns a copy of the canvas (so no recorded frame aliases a later one).

Sheets are drawn with stones on one parity class ``(row % 2, col % 2)`` at a time, so a cell copied from
a sheet never carries the anti-aliased rim of a neighbour's disc.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vw_envs.go.coords import GTP_COLUMNS, star_points

BOARD_RGB = (220, 170, 80)  # flat orange, as in the paper's frames
LINE_RGB = (0, 0, 0)
BLACK_RGB = (0, 0, 0)
WHITE_RGB = (255, 255, 255)
MARKER_RGB = (230, 30, 30)
_SS = 4  # supersampling factor for anti-aliasing

# Cell codes: what a cell currently shows.
_EMPTY, _BLACK, _WHITE, _BLACK_LAST, _WHITE_LAST = range(5)


@dataclass(frozen=True)
class RenderConfig:
    """How a board frame looks; frozen and hashable so sprites are cached per config.

    Attributes:
        frame_size: width = height of the square frame in pixels (64..512).
        last_move_marker: draw a red dot on the last stone played.
        coordinates: draw GTP column letters and row numbers in the margin.
    """

    frame_size: int = 128  # the paper's LDM works on 128x128 frames
    last_move_marker: bool = False  # off: the paper's frames carry no marker
    coordinates: bool = False  # off: the board fills the frame, stones stay large

    def __post_init__(self) -> None:
        if not 64 <= int(self.frame_size) <= 512:
            raise ValueError(f"frame_size must be in 64..512, got {self.frame_size}")

    @classmethod
    def from_meta(cls, meta: dict | None, frame_size: int | None = None) -> RenderConfig:
        """The look a dataset's frames were drawn with, from its ``meta.json`` (or a checkpoint's copy of it).

        Args:
            meta: the dataset metadata; its ``render`` entry holds ``last_move_marker`` and ``coordinates``
                (both off when absent, as in the default style).
            frame_size: the side to draw at (e.g. the agent's); None: the dataset's ``frame_size``.

        >>> RenderConfig.from_meta({"frame_size": 64, "render": {"last_move_marker": True}})
        RenderConfig(frame_size=64, last_move_marker=True, coordinates=False)
        """
        meta = meta or {}
        render = meta.get("render") or {}
        size = frame_size if frame_size is not None else meta.get("frame_size", render.get("frame_size"))
        if size is None:
            raise ValueError("the metadata names no frame_size; pass frame_size")
        return cls(int(size), bool(render.get("last_move_marker", False)), bool(render.get("coordinates", False)))


@dataclass(frozen=True)
class _Layout:
    n: int
    size: int
    spacing: float
    margin: float  # pixels from the frame edge to the first line
    bounds: tuple[int, ...]  # n+1 cell boundaries along either axis

    def centre(self, i: int) -> float:
        return self.margin + i * self.spacing


def _layout(n: int, cfg: RenderConfig) -> _Layout:
    m = 1.3 if cfg.coordinates else 0.55  # margin in grid spacings; labels need more room
    spacing = cfg.frame_size / (n - 1 + 2 * m)
    margin = m * spacing
    bounds = [round(margin + (k - 0.5) * spacing) for k in range(n + 1)]
    bounds[0] = max(bounds[0], 0)
    bounds[-1] = min(bounds[-1], cfg.frame_size)
    return _Layout(n, cfg.frame_size, spacing, margin, tuple(bounds))


def _draw_sheet(n: int, cfg: RenderConfig, stone: int, parity: tuple[int, int] | None) -> np.ndarray:
    """The board with a disc of ``stone`` kind on every point of one parity class (or none)."""
    from PIL import Image, ImageDraw, ImageFont

    lay = _layout(n, cfg)
    big = cfg.frame_size * _SS
    img = Image.new("RGB", (big, big), BOARD_RGB)
    d = ImageDraw.Draw(img)
    sp = lay.spacing * _SS
    lo, hi = lay.centre(0) * _SS, lay.centre(n - 1) * _SS
    width = max(_SS, round(sp * 0.06))
    for i in range(n):
        x = lay.centre(i) * _SS
        d.line([(x, lo), (x, hi)], fill=LINE_RGB, width=width)
        d.line([(lo, x), (hi, x)], fill=LINE_RGB, width=width)
    for p in star_points(n):
        r, c = divmod(p, n)
        cx, cy, rad = lay.centre(c) * _SS, lay.centre(r) * _SS, sp * 0.1
        d.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=LINE_RGB)
    if cfg.coordinates:
        font = ImageFont.load_default(size=max(8, int(sp * 0.45)))
        for i in range(n):
            pos = lay.centre(i) * _SS
            for text, xy in (
                (GTP_COLUMNS[i], (pos, lay.margin * _SS * 0.4)),
                (GTP_COLUMNS[i], (pos, big - lay.margin * _SS * 0.4)),
                (str(n - i), (lay.margin * _SS * 0.4, pos)),
                (str(n - i), (big - lay.margin * _SS * 0.4, pos)),
            ):
                d.text(xy, text, fill=LINE_RGB, font=font, anchor="mm")
    if stone != _EMPTY and parity is not None:
        colour = BLACK_RGB if stone in (_BLACK, _BLACK_LAST) else WHITE_RGB
        rad = sp * 0.47
        for r in range(parity[0], n, 2):
            for c in range(parity[1], n, 2):
                cx, cy = lay.centre(c) * _SS, lay.centre(r) * _SS
                d.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=colour,
                          outline=(60, 60, 60) if colour == WHITE_RGB else None, width=max(1, _SS // 2))
                if stone in (_BLACK_LAST, _WHITE_LAST):
                    mr = sp * 0.16
                    d.ellipse([cx - mr, cy - mr, cx + mr, cy + mr], fill=MARKER_RGB)
    small = img.resize((cfg.frame_size, cfg.frame_size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


@functools.lru_cache(maxsize=32)
def _sprites(n: int, cfg: RenderConfig) -> tuple[np.ndarray, list[list[np.ndarray]], _Layout]:
    """(empty board, sprites[code][point] as (h, w, 3) cells, layout), shared by every renderer."""
    lay = _layout(n, cfg)
    empty = _draw_sheet(n, cfg, _EMPTY, None)
    empty.setflags(write=False)
    codes = [_BLACK, _WHITE] + ([_BLACK_LAST, _WHITE_LAST] if cfg.last_move_marker else [])
    sprites: list[list[np.ndarray]] = [[] for _ in range(5)]
    b = lay.bounds
    for p in range(n * n):
        r, c = divmod(p, n)
        sprites[_EMPTY].append(empty[b[r]:b[r + 1], b[c]:b[c + 1]])
    for code in codes:
        sheets = {par: _draw_sheet(n, cfg, code, par) for par in ((0, 0), (0, 1), (1, 0), (1, 1))}
        for p in range(n * n):
            r, c = divmod(p, n)
            sprites[code].append(sheets[(r % 2, c % 2)][b[r]:b[r + 1], b[c]:b[c + 1]].copy())
    return empty, sprites, lay


class BoardRenderer:
    """Incremental renderer for one N x N board.

    Example:
        >>> r = BoardRenderer(9, RenderConfig(frame_size=128))
        >>> frame = r.render(np.zeros(81, np.int8))   # (128, 128, 3) uint8, a fresh array
    """

    def __init__(self, board_size: int, config: RenderConfig | None = None):
        self.n = board_size
        self.config = config or RenderConfig()
        empty, self._sprites, self.layout = _sprites(board_size, self.config)
        self._canvas = empty.copy()
        self._drawn = np.zeros(board_size * board_size, dtype=np.int8)  # cell codes on the canvas
        self._bounds = self.layout.bounds

    def render(self, board: np.ndarray, last_move: int | None = None) -> np.ndarray:
        """Frame of ``board`` ((N*N,) or (N, N) ints: 0 empty, 1 black, 2 white) -> (H, W, 3) uint8."""
        want = np.array(board, dtype=np.int8).reshape(-1)  # a copy: it becomes self._drawn
        if self.config.last_move_marker and last_move is not None and 0 <= last_move < self.n * self.n \
                and want[last_move] != _EMPTY:
            want[last_move] += 2  # BLACK -> BLACK_LAST, WHITE -> WHITE_LAST
        n, b, canvas, sprites = self.n, self._bounds, self._canvas, self._sprites
        for p in np.flatnonzero(want != self._drawn).tolist():
            r, c = divmod(p, n)
            canvas[b[r]:b[r + 1], b[c]:b[c + 1]] = sprites[want[p]][p]
        self._drawn = want
        return canvas.copy()

    def point_at(self, x: float, y: float) -> int | None:
        """Pixel (x right, y down) in frame coordinates -> the action index of the nearest point, or None."""
        lay = self.layout
        c = round((x - lay.margin) / lay.spacing)
        r = round((y - lay.margin) / lay.spacing)
        if 0 <= r < self.n and 0 <= c < self.n:
            return r * self.n + c
        return None


@functools.lru_cache(maxsize=32)
def _probe(n: int, cfg: RenderConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: its cell's pixel indices (padded to the largest cell), their weights (0 = padding),
    and the empty/black/white sprites' pixels there, (P, K), (P, K), (P, 3, K, 3)."""
    _empty, sprites, lay = _sprites(n, cfg)
    b = lay.bounds
    sizes = [(b[r + 1] - b[r]) * (b[c + 1] - b[c]) for r in range(n) for c in range(n)]
    k = max(sizes)
    idx = np.zeros((n * n, k), dtype=np.int64)
    weight = np.zeros((n * n, k), dtype=np.float32)
    refs = np.zeros((n * n, 3, k, 3), dtype=np.float32)
    for p in range(n * n):
        r, c = divmod(p, n)
        ys, xs = np.mgrid[b[r]:b[r + 1], b[c]:b[c + 1]]
        m = sizes[p]
        idx[p, :m] = (ys * cfg.frame_size + xs).reshape(-1)
        weight[p, :m] = 1.0
        for code in (_EMPTY, _BLACK, _WHITE):
            refs[p, code, :m] = sprites[code][p].reshape(-1, 3)
    return idx, weight, refs


def frame_to_board(frame: np.ndarray, board_size: int, config: RenderConfig | None = None) -> np.ndarray:
    """Classify every intersection of a rendered (or imagined) frame: (H, W, 3) -> (N, N) int8 of 0/1/2.

    Each point's whole cell is compared with the empty, black and white sprites of that cell and
    takes the nearest (least squared error), so clean frames read back exactly at any size and noisy
    decoded frames degrade gracefully.
    """
    cfg = config or RenderConfig(frame_size=frame.shape[0])
    if frame.shape != (cfg.frame_size, cfg.frame_size, 3):
        raise ValueError(f"frame has shape {frame.shape}, expected ({cfg.frame_size}, {cfg.frame_size}, 3)")
    idx, weight, refs = _probe(board_size, cfg)
    pixels = frame.reshape(-1, 3).astype(np.float32)[idx]  # (P, K, 3)
    err = ((pixels[:, None] - refs) ** 2).sum(axis=-1)  # (P, 3 classes, K)
    dist = (err * weight[:, None]).sum(axis=-1)  # (P, 3)
    return dist.argmin(axis=1).astype(np.int8).reshape(board_size, board_size)
