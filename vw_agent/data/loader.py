"""Training windows from a dataset: (T+H) consecutive frames, optionally their actions or cached tokens.

Two datasets over the same window index:

* :class:`WindowDataset` (map-style): random access across shards. Use it with a ``DataLoader`` (any
  ``num_workers``: every worker opens its own HDF5 handles) and, under DDP, a ``DistributedSampler``.
* :class:`WindowStream` (iterable): shuffles episodes per epoch and shards them by DDP rank *and* by
  DataLoader worker itself, so each window is read by exactly one worker of one rank.

The world-model path (``actions=False``, the default) reads only ``frames`` (or token files): never
actions, SGF or state. The labelled path (``actions=True``) is for the IDM; it keeps only the
episodes that a seeded label split (:func:`labelled_episodes`) allows.

Items are dicts: ``{"frames": uint8 (T, H, W, 3)}`` with T = ``window`` (or ``"tokens"`` (T, ...)), plus
``"actions"`` (T-1, ...) when labelled; ``"episode"`` and ``"start"`` locate the window.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from vw_agent.data.reader import DatasetReader
from vw_agent.data.tokens import TokenCache


def labelled_episodes(ids: list[int], fraction: float, seed: int, copies: int = 1) -> list[int]:
    """The seeded subset of episodes whose actions the IDM may see (``fraction`` of them, stable in ``seed``).

    With ``copies`` > 1 (a dataset recorded with ``--symmetries``), episode ``i`` is a copy of game
    ``i // copies``: the draw is over games, and a drawn game's copies are labelled together, so the share
    of games whose moves the IDM sees is the same as without copies.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    games = sorted({i // copies for i in ids})
    key = {g: hashlib.sha256(f"label:{seed}:{g}".encode()).hexdigest() for g in games}
    drawn = set(sorted(games, key=key.__getitem__)[: round(fraction * len(games))])
    return [i for i in sorted(ids) if i // copies in drawn]


@dataclass(frozen=True)
class WindowConfig:
    """Which windows to read.

    Attributes:
        window: frames per item, T+H (e.g. 1 context + 5 LDM steps = 6).
        stride: start every ``stride`` frames (1: every possible window).
        split: "train", "val", "test" or None (all).
        actions: also return the actions inside the window (labelled episodes only).
        label_fraction, label_seed: the seeded share of episodes whose actions may be read.
        tokens: read this token cache (``TokenCache`` name) instead of frames.
    """

    window: int = 6
    stride: int = 1
    split: str | None = "train"
    actions: bool = False
    label_fraction: float = 1.0
    label_seed: int = 0
    tokens: str | None = None


class _Windows:
    """The window index shared by both datasets: (episode id, start) pairs."""

    def __init__(self, root: str | os.PathLike, cfg: WindowConfig, frame_size: int | None = None):
        if cfg.window < 1 or cfg.stride < 1:
            raise ValueError(f"window and stride must be >= 1, got {cfg.window}, {cfg.stride}")
        self.cfg = cfg
        self.reader = DatasetReader(root, frame_size=frame_size)
        ids = self.reader.split_ids(cfg.split)
        if cfg.actions:
            copies = int(self.reader.meta.get("config", {}).get("symmetries", 1))
            ids = labelled_episodes(ids, cfg.label_fraction, cfg.label_seed, copies)
        self.tokens = TokenCache(root, cfg.tokens) if cfg.tokens else None
        # Episodes shorter than a window give none (no padding: a padded window would teach a fake stop).
        self.episode_ids = [i for i in ids if self.reader.ref(i).frames >= cfg.window]
        # (N, 2) int64 [episode id, start]: compact for millions of windows, and cheap to send to workers.
        parts = [np.stack(np.broadcast_arrays(i, np.arange(0, self.reader.ref(i).frames - cfg.window + 1,
                                                           cfg.stride)), axis=1) for i in self.episode_ids]
        self.index = np.concatenate(parts).astype(np.int64) if parts else np.zeros((0, 2), np.int64)

    def read(self, ep_id: int, start: int) -> dict[str, Any]:
        stop = start + self.cfg.window
        item: dict[str, Any] = {"episode": ep_id, "start": start}
        if self.tokens is not None:
            item["tokens"] = torch.from_numpy(self.tokens.read(ep_id, start, stop))
        else:
            item["frames"] = torch.from_numpy(self.reader.frames(ep_id, start, stop))  # (T, H, W, 3) uint8
        if self.cfg.actions:
            item["actions"] = torch.from_numpy(self.reader.actions(ep_id, start, stop - 1))  # (T-1, ...)
        return item


class WindowDataset(Dataset):
    """Map-style windows: ``ds[i]`` is window ``i`` of the index (random access across shards).

    Example:
        >>> ds = WindowDataset("data/go9", WindowConfig(window=6))
        >>> dl = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=2)
        >>> next(iter(dl))["frames"].shape   # (32, 6, 128, 128, 3) uint8
    """

    def __init__(self, root: str | os.PathLike, cfg: WindowConfig | None = None, *, frame_size: int | None = None):
        self.w = _Windows(root, cfg or WindowConfig(), frame_size)

    def __len__(self) -> int:
        return len(self.w.index)

    def __getitem__(self, i: int) -> dict[str, Any]:
        ep_id, start = self.w.index[i]
        return self.w.read(int(ep_id), int(start))

    @property
    def reader(self) -> DatasetReader:
        return self.w.reader


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of torch.distributed if initialised, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class WindowStream(IterableDataset):
    """Iterable windows, sharded by rank and by DataLoader worker, shuffled per epoch.

    Episodes (not windows) are dealt out, so a worker reads whole episodes from one shard file in a
    row. Call :meth:`set_epoch` each epoch for a new order (same on every rank: seed + epoch).

    Args:
        rank, world_size: DDP position; default from ``torch.distributed`` (or 0, 1).
        shuffle: shuffle episode order, and windows within a buffer of ``buffer_windows``.
        seed: shuffle seed.
    """

    def __init__(self, root: str | os.PathLike, cfg: WindowConfig | None = None, *, frame_size: int | None = None,
                 rank: int | None = None, world_size: int | None = None, shuffle: bool = True, seed: int = 0,
                 buffer_windows: int = 512):
        self.w = _Windows(root, cfg or WindowConfig(), frame_size)
        r, ws = rank_and_world()
        self.rank = r if rank is None else rank
        self.world_size = ws if world_size is None else world_size
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.buffer_windows = buffer_windows

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def my_episodes(self) -> list[int]:
        """The episodes this (rank, worker) reads this epoch."""
        ids = list(self.w.episode_ids)
        if self.shuffle:
            np.random.default_rng([self.seed, self.epoch]).shuffle(ids)
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        part = self.rank * nw + wid
        return ids[part:: self.world_size * nw]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, 7])
        cfg, reader = self.w.cfg, self.w.reader
        buffer: list[dict[str, Any]] = []
        for ep_id in self.my_episodes():
            # One read per episode, then slices: overlapping windows do not decompress chunks again.
            if self.w.tokens is not None:
                seq_key, seq = "tokens", self.w.tokens.read(ep_id)
            else:
                seq_key, seq = "frames", reader.frames(ep_id)
            acts = reader.actions(ep_id) if cfg.actions else None
            for s in range(0, len(seq) - cfg.window + 1, cfg.stride):
                item: dict[str, Any] = {"episode": ep_id, "start": s,
                                        seq_key: torch.from_numpy(seq[s: s + cfg.window])}
                if acts is not None:
                    item["actions"] = torch.from_numpy(acts[s: s + cfg.window - 1])
                buffer.append(item)
            if len(buffer) >= self.buffer_windows:
                yield from self._drain(buffer, rng)
        yield from self._drain(buffer, rng)

    def _drain(self, buffer: list[dict[str, Any]], rng: np.random.Generator) -> Iterator[dict[str, Any]]:
        if self.shuffle:
            rng.shuffle(buffer)  # mixes windows of several episodes, so a batch is not one game
        yield from buffer
        buffer.clear()
