"""Episodes out of a recorded dataset: frames as GIF or MP4, Go games as SGF (``vw-agent data export``).

Example:
    >>> export_episode("data/go9", 3, gif="ep3.gif", sgf="ep3.sgf")  # doctest: +SKIP
    ExportSummary(frames=61, sgf='ep3.sgf', gif='ep3.gif', mp4=None)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vw_agent.data.reader import DatasetReader
from vw_envs.errors import DatasetError
from vw_envs.fileio import atomic_path, write_gif, write_text_atomic


@dataclass
class ExportSummary:
    """What :func:`export_episode` wrote (None: not asked for)."""

    frames: int  # frames written to the GIF / MP4 (0 when neither was asked for)
    sgf: str | None = None
    gif: str | None = None
    mp4: str | None = None


def export_episode(root: str | os.PathLike, ep_id: int, *, gif: str | None = None, mp4: str | None = None,
                   sgf: str | None = None, fps: float = 4.0) -> ExportSummary:
    """Write episode ``ep_id`` of the dataset in ``root`` as an SGF (Go), a GIF and/or an MP4, each atomically.

    Raises:
        DatasetError: no such episode, or ``sgf`` asked of an episode that has none (not a Go episode).
    """
    reader = DatasetReader(root)
    try:
        ref = reader.ref(ep_id)
        ep = reader.episode(ep_id)  # a whole-episode read: checked against its content hash before anything is written
        attrs = ep.attrs
        out = ExportSummary(frames=0)
        if sgf:
            if not attrs.get("sgf"):
                raise DatasetError(f"{root}/{ref.file}: episode {ep_id} has no SGF (not a Go episode)")
            write_text_atomic(sgf, attrs["sgf"] + "\n")
            out.sgf = str(sgf)
        if gif or mp4:
            frames = ep.frames
            out.frames = len(frames)
            if gif:
                write_gif(gif, frames, fps=fps)
                out.gif = str(gif)
            if mp4:
                import imageio.v2 as imageio  # needs imageio-ffmpeg; only MP4 export pays for it

                with atomic_path(mp4) as tmp:
                    # macro_block_size=1 keeps odd frame sizes as they are instead of resizing them.
                    imageio.mimsave(tmp, list(frames), format="FFMPEG", fps=fps, macro_block_size=1)
                out.mp4 = str(mp4)
    finally:
        reader.close()
    return out
