"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

A killed process leaves either the old file or the new one, never half of one. A full disk (``ENOSPC``, or a
quota's ``EDQUOT``) while writing becomes :class:`~vw_envs.errors.DiskFullError`, a one-line error naming the
file, and the temporary file is deleted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vw_envs.errors import DiskFullError

_FULL = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(e: BaseException) -> bool:
    """Whether ``e`` is an OS error for a full disk or quota."""
    return isinstance(e, OSError) and e.errno in _FULL


@contextlib.contextmanager
def disk_full_as_error(path: str | os.PathLike) -> Iterator[None]:
    """Turn a full-disk ``OSError`` raised inside the block into :class:`DiskFullError` naming ``path``."""
    try:
        yield
    except OSError as e:
        if is_disk_full(e) and not isinstance(e, DiskFullError):
            err = DiskFullError(f"no space left on device while writing {path}; free some space and run the "
                                "command again (with --resume where it has one)")
            err.errno = e.errno
            raise err from None
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, else deleted."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with disk_full_as_error(target):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
        os.close(fd)
        try:
            yield Path(tmp)
            # mkstemp makes the file private (0600); give it the permissions a plain open() would.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` atomically. Libraries that write files themselves (h5py, ``torch.save``) write
    into memory first and then through here: a full disk then fails one Python ``write`` with ``ENOSPC`` (a clean
    :class:`DiskFullError`), where inside those libraries it surfaces late, garbled or as a crash (h5py flushes
    its cache when objects are freed, reports the failure as an ignored exception, and then segfaults)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_gif(path: str | os.PathLike, frames, fps: float = 4.0) -> None:
    """Write an animated, looping GIF of (T, H, W, 3) uint8 frames atomically (imageio)."""
    import imageio.v2 as imageio

    with atomic_path(path) as tmp:
        imageio.mimsave(tmp, list(frames), format="GIF", duration=1000.0 / fps, loop=0)
