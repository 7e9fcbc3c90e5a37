"""A pygame window that shows frames: the ``human`` render mode of every env.

pygame is imported here, lazily, so environments without a screen never load it. With no display,
set ``SDL_VIDEODRIVER=dummy`` (tests do) or run under Xvfb.
"""

from __future__ import annotations

import numpy as np


def import_pygame():
    """pygame, or an ImportError that says how to install it."""
    try:
        import pygame
    except ImportError as e:  # pragma: no cover - pygame is a dependency, but keep the message clear
        raise ImportError("render_mode='human' needs pygame: pip install pygame==2.6.1") from e
    return pygame


class FrameViewer:
    """Shows (H, W, 3) uint8 frames scaled to ``window_size`` pixels (nearest neighbour, so pixels stay
    crisp and the window shows exactly what the agent sees).

    Args:
        title: the window caption.
        window_size: the longer side of the window in pixels.
    """

    def __init__(self, title: str, window_size: int = 512):
        self.title = title
        self.window_size = window_size
        self._pg = None
        self._screen = None
        self._clock = None

    def show(self, frame: np.ndarray, fps: int | None = None) -> None:
        pg = self._pg or import_pygame()
        if self._screen is None:
            self._pg = pg
            pg.display.init()
            h, w = frame.shape[:2]
            scale = self.window_size / max(h, w)
            self._screen = pg.display.set_mode((round(w * scale), round(h * scale)))
            pg.display.set_caption(self.title)
            self._clock = pg.time.Clock()
        pg.event.pump()  # keep the window responsive (the OS marks it hung otherwise)
        surf = pg.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        self._screen.blit(pg.transform.scale(surf, self._screen.get_size()), (0, 0))
        pg.display.flip()
        if fps:
            self._clock.tick(fps)

    @property
    def is_open(self) -> bool:
        return self._screen is not None

    def close(self) -> None:
        """Close the window; safe to call twice."""
        if self._screen is not None:
            self._pg.display.quit()
            self._screen = None
