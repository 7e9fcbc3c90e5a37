"""Reading a dataset (see :mod:`vw_agent.data.format` for the layout): random access to episodes across
shards, each checked against its content hash on request, and :func:`check_dataset` for the whole of it.

Example:
    >>> reader = DatasetReader("data/go9")      # doctest: +SKIP
    >>> frames = reader.frames(reader.split_ids("train")[0])   # (L, H, W, 3) uint8
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vw_agent.data.format import (
    SPLITS,
    Episode,
    _short,
    frames_actions_hash,
    meta_path,
    open_shard,
    read_meta,
    read_shard_info,
)
from vw_envs.errors import DatasetError

OPEN_DATASETS = 256  # dataset handles a reader keeps open (LRU): each holds its chunk cache, ~1-3 MB of frames here


@dataclass(frozen=True)
class EpisodeRef:
    """Where an episode lives: its id, shard file, number of frames, split and action hash."""

    id: int
    file: str
    frames: int
    split: str
    action_hash: str


class DatasetReader:
    """Random access to a dataset's episodes across shards.

    Shard files are opened lazily and cached per process, so one reader can be handed to DataLoader
    workers (each worker opens its own handles after the fork / spawn).

    Args:
        root: the dataset directory.
        frame_size: if given, the frame size the caller expects; a mismatch raises DatasetError.
    """

    def __init__(self, root: str | os.PathLike, *, frame_size: int | None = None):
        self.root = Path(root)
        self.meta = read_meta(root)
        self.frame_size = int(self.meta["frame_size"])
        if frame_size is not None and frame_size != self.frame_size:
            raise DatasetError(f"{meta_path(root)}: frame-size mismatch: the dataset is "
                               f"{self.frame_size}x{self.frame_size}, {frame_size}x{frame_size} was asked for")
        self.episodes: list[EpisodeRef] = [
            EpisodeRef(int(i), sh["file"], int(n), split, h)
            for sh in self.meta.get("shards", []) for i, n, split, h in sh["index"]
        ]
        self._by_id = {e.id: e for e in self.episodes}
        for sh in self.meta.get("shards", []):
            if not (self.root / sh["file"]).exists():
                raise DatasetError(f"{self.root / sh['file']}: shard listed in meta.json is missing")
        self._handles: dict[str, Any] = {}
        self._datasets: OrderedDict[tuple[int, str], Any] = OrderedDict()  # at most OPEN_DATASETS, oldest first
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["_handles"], d["_datasets"] = {}, OrderedDict()  # h5py handles do not cross processes
        return d

    def __len__(self) -> int:
        return len(self.episodes)

    def ref(self, ep_id: int) -> EpisodeRef:
        try:
            return self._by_id[ep_id]
        except KeyError:
            raise DatasetError(f"{meta_path(self.root)}: no episode {ep_id} (ids: "
                               f"{self.episodes[0].id if self.episodes else '-'}.."
                               f"{self.episodes[-1].id if self.episodes else '-'})") from None

    def split_ids(self, split: str | None) -> list[int]:
        """Episode ids of one split (all if None)."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
        return [e.id for e in self.episodes if split is None or e.split == split]

    def _file(self, name: str):
        if os.getpid() != self._pid:
            self._handles, self._datasets, self._pid = {}, OrderedDict(), os.getpid()
        f = self._handles.get(name)
        if f is None:
            path = self.root / name
            f = open_shard(path)
            fs = int(f.attrs.get("frame_size", -1))
            if fs != self.frame_size:
                f.close()
                raise DatasetError(f"{path}: frame-size mismatch: shard frames are {fs}x{fs}, meta.json says "
                                   f"{self.frame_size}x{self.frame_size}")
            self._handles[name] = f
        return f

    @contextlib.contextmanager
    def _reading(self, ref: EpisodeRef, dataset: str | None = None) -> Iterator[Any]:
        path = self.root / ref.file
        try:
            if dataset is None:
                yield self._file(ref.file)[f"data/ep_{ref.id}"]
            else:
                # Dataset handles are cached: an HDF5 path lookup costs as much as decoding a small window.
                # Bounded: an open dataset keeps its decompressed chunks (h5py's chunk cache, up to 8 MB each), so
                # caching every handle of an 8,714-episode dataset held 23 GB after one pass over it.
                key = (ref.id, dataset)
                d = self._datasets.get(key) if self._pid == os.getpid() else None
                if d is None:
                    d = self._datasets[key] = self._file(ref.file)[f"data/ep_{ref.id}/{dataset}"]
                    if len(self._datasets) > OPEN_DATASETS:
                        self._datasets.popitem(last=False)  # the least recently used handle, and its chunks
                else:
                    self._datasets.move_to_end(key)
                yield d
        except DatasetError:
            raise
        except (OSError, KeyError, ValueError) as e:
            raise DatasetError(f"{path}: corrupt or truncated shard, episode {ref.id} ({_short(e)})") from None

    def frames(self, ep_id: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames [start, stop) of an episode, (T, H, W, 3) uint8. Reads nothing but frames, so the video-only
        path works on shards without actions; it does not check the content hash (which covers the actions too):
        :meth:`episode`, :meth:`verify` and ``vw-agent data info --check`` do."""
        ref = self.ref(ep_id)
        with self._reading(ref, dataset="frames") as d:
            return d[start:stop]

    def actions(self, ep_id: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Actions [start, stop) of an episode (the labelled path only)."""
        ref = self.ref(ep_id)
        with self._reading(ref, dataset="actions") as d:
            return d[start:stop]

    def attrs(self, ep_id: int) -> dict[str, Any]:
        """Episode attributes (JSON strings decoded)."""
        ref = self.ref(ep_id)
        with self._reading(ref) as g:
            out = {}
            for k, v in g.attrs.items():
                if isinstance(v, bytes):
                    v = v.decode()
                if isinstance(v, str) and v[:1] in "[{":
                    with contextlib.suppress(ValueError):
                        v = json.loads(v)
                out[k] = v.item() if isinstance(v, np.generic) else v
            return out

    def episode(self, ep_id: int) -> Episode:
        """The whole episode: frames, actions, rewards, dones, state and attributes."""
        ref = self.ref(ep_id)
        with self._reading(ref) as g:
            state = {}
            if "state" in g:
                g["state"].visititems(lambda k, v: state.__setitem__(k, v[()]) if hasattr(v, "shape") else None)
            frames, actions, rewards, dones = (g[k][()] for k in ("frames", "actions", "rewards", "dones"))
        attrs = self.attrs(ep_id)
        self._verify(ref, frames, actions, attrs)
        return Episode(frames, actions, rewards, dones, attrs, state or None)

    def verify(self, ep_id: int) -> bool:
        """Read the whole episode and check it against its content hash; DatasetError if it does not match.

        Returns:
            Whether there was a hash to check (episodes recorded before hashes were stored have none).
        """
        return "content_hash" in self.episode(ep_id).attrs

    def _verify(self, ref: EpisodeRef, frames: np.ndarray, actions: np.ndarray, attrs: dict[str, Any]) -> None:
        """DatasetError unless frames and actions hash to the ``content_hash`` stored when the episode was
        recorded (an episode without one, from before hashes were stored, is not checked)."""
        stored = attrs.get("content_hash")
        if stored is None:
            return
        found = frames_actions_hash(frames, actions)
        if found != stored:
            raise DatasetError(f"{self.root / ref.file}: episode {ref.id} does not match its content hash (stored "
                               f"{stored}, read {found}): the shard is corrupt; delete it and re-record it with "
                               "`vw-agent record --resume`")

    def close(self) -> None:
        for f in self._handles.values():
            with contextlib.suppress(Exception):
                f.close()
        self._handles, self._datasets = {}, OrderedDict()


def check_dataset(root: str | os.PathLike) -> dict[str, int]:
    """Open every shard of a dataset and read every episode whole, checking each against its content hash.

    Returns:
        counts: ``shards``, ``episodes`` (all read and checked) and ``unhashed`` (episodes recorded before
        content hashes were stored: read, not checked).

    Raises:
        DatasetError: the first unreadable shard or episode, or the first episode whose hash does not match.
    """
    meta = read_meta(root)
    for sh in meta.get("shards", []):
        read_shard_info(Path(root) / sh["file"], frame_size=meta["frame_size"])
    reader = DatasetReader(root)
    unhashed = 0
    try:
        for ref in reader.episodes:
            unhashed += not reader.verify(ref.id)
    finally:
        reader.close()
    return {"shards": len(meta.get("shards", [])), "episodes": len(reader.episodes), "unhashed": unhashed}
