"""Token caches beside the shards: per-episode arrays in ``<data>/tokens/<name>/``, filled once by frozen models.

* :class:`TokenCache`: the storage (``cache.json`` with the config that made it, ``ep_<k>.npy`` per episode).
* :func:`cache_frame_tokens`: the frozen tokenizer's ids of every frame (``tokens/frames-<digest>/``), which the
  LDM in the token space reads.
* :func:`cache_sequences`: those ids plus the frozen LDM's H codes per frame (``tokens/seq-<digest>/``), which
  the transformer and the IDM read.

A cache is named by a digest of the frozen models' configs and weights, so new weights never read stale tokens.

Example:
    >>> cache = TokenCache("data/go9", cache_frame_tokens(tok, "data/go9"))   # doctest: +SKIP
    >>> cache.read(0).shape   # (L, g*g): one row per frame of episode 0
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vw_agent.checkpoint import weights_digest
from vw_agent.data.format import FORMAT_VERSION, _short
from vw_agent.data.reader import DatasetReader
from vw_agent.ldm import LatentDynamicsModel
from vw_agent.tokenizer import FrameTokenizer
from vw_envs.errors import DatasetError
from vw_envs.fileio import atomic_path, write_text_atomic


class TokenCache:
    """Per-episode token arrays stored beside the shards, in ``<root>/tokens/<name>/``.

    The tokenizer (agent issue) fills it once; the transformer then reads tokens instead of
    re-encoding frames every epoch. ``config`` identifies the tokenizer (e.g. its checkpoint hash):
    opening an existing cache with a different config raises, so stale tokens are never mixed in.

    Layout: ``cache.json`` (config, dtype, per-frame token shape) and ``ep_<k>.npy`` of shape
    (L, *token_shape), one row per frame of episode k. Each file is written atomically.
    """

    def __init__(self, root: str | os.PathLike, name: str, config: dict[str, Any] | None = None):
        self.dir = Path(root) / "tokens" / name
        self.config = config
        meta_file = self.dir / "cache.json"
        if meta_file.exists():
            stored = json.loads(meta_file.read_text())
            if config is not None and stored.get("config") != config:
                raise DatasetError(f"{meta_file}: token cache {name!r} was made with another tokenizer config; "
                                   "use a new name or delete the folder")
            self.config = stored.get("config")
        elif config is not None:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_text_atomic(meta_file, json.dumps({"config": config, "format_version": FORMAT_VERSION}))

    def path(self, ep_id: int) -> Path:
        return self.dir / f"ep_{ep_id}.npy"

    def has(self, ep_id: int) -> bool:
        return self.path(ep_id).exists()

    def write(self, ep_id: int, tokens: np.ndarray) -> None:
        """Store (L, ...) tokens of episode ``ep_id`` (one row per frame)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path(ep_id)) as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(tokens))

    def read(self, ep_id: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Tokens of frames [start, stop) (memory-mapped, so a window reads only its rows)."""
        path = self.path(ep_id)
        try:
            return np.array(np.load(path, mmap_mode="r")[start:stop])  # a copy: writable, file closed
        except FileNotFoundError:
            raise DatasetError(f"{path}: no tokens cached for episode {ep_id}; run the tokenizer's cache "
                               "step first") from None
        except ValueError as e:
            raise DatasetError(f"{path}: corrupt token file ({_short(e)})") from None

    def missing(self, ep_ids: list[int]) -> list[int]:
        return [i for i in ep_ids if not self.has(i)]


def _cache_name(prefix: str, info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A cache's name (``<prefix>-<digest of info>``) and info as its JSON reads back (tuples as lists)."""
    info = json.loads(json.dumps(info))
    return prefix + "-" + hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()[:12], info


@torch.no_grad()
def cache_frame_tokens(tok: FrameTokenizer, root: str | Path, batch_size: int = 32) -> str:
    """Fill the frame-token cache once; return its name (``frames-<digest of the frozen tokenizer>``).

    Row t of episode k holds frame t's g*g token ids. Cached episodes are skipped on a rerun. The LDM in the
    token space trains on it, and the transformer's cache is built from it.
    """
    reader = DatasetReader(root, frame_size=tok.config.frame_size)
    name, info = _cache_name("frames", {"tokenizer": asdict(tok.config), "tokenizer_weights": weights_digest(tok)})
    cache = TokenCache(root, name, config=info)
    for ep in reader.split_ids(None):
        if cache.has(ep):
            continue
        frames = torch.from_numpy(reader.frames(ep))  # (n, h, w, c) uint8
        ids = torch.cat([tok.encode(frames[a:a + batch_size]).flatten(1) for a in range(0, len(frames), batch_size)])
        cache.write(ep, ids.numpy().astype(np.int32))
    reader.close()
    return name


@torch.no_grad()
def cache_sequences(tok: FrameTokenizer, ldm: LatentDynamicsModel, root: str | Path, batch_size: int = 32) -> str:
    """Fill the transformer's token cache once; return its name (``seq-<digest of both frozen models>``).

    Row t of episode k holds frame t's token ids (g of them), then the LDM's H codes of frames t..t+H
    (-1 for the last H frames, which have no H frames after them). Cached episodes are skipped on a rerun.
    """
    frame_tokens = TokenCache(root, cache_frame_tokens(tok, root, batch_size))
    reader = DatasetReader(root, frame_size=tok.config.frame_size)
    name, info = _cache_name("seq", {"tokenizer": asdict(tok.config), "tokenizer_weights": weights_digest(tok),
                                     "ldm": asdict(ldm.config), "ldm_weights": weights_digest(ldm)})
    cache = TokenCache(root, name, config=info)
    h = ldm.config.horizon
    for ep in reader.split_ids(None):
        if cache.has(ep):
            continue
        ids = torch.from_numpy(frame_tokens.read(ep)).long()  # (n, g*g)
        n = len(ids)
        codes = torch.full((n, h), -1, dtype=torch.long)
        codes[: max(n - h, 0)] = ldm.encode_video(ids if ldm.tokens else torch.from_numpy(reader.frames(ep)),
                                                  batch_size)
        cache.write(ep, torch.cat([ids, codes], dim=1).numpy().astype(np.int32))
    reader.close()
    return name
