"""Recorded datasets to and from Minari, the Farama offline-RL format (``vw-agent data export/import --minari``).

Minari keeps a dataset under ``$MINARI_DATASETS_PATH/<namespace>/<name>-v<k>/`` (default ``~/.minari/datasets``).
What an export writes, per episode::

    observations   (L, H, W, 3) uint8   our frames: frame 0 is the reset frame, frame t+1 follows action t
    actions        (L-1,) int64 (Go) or (L-1, A) float32 (tabletop)
    rewards        (L-1,)               the dataset's rewards (Go: Black's point of view)
    terminations   (L-1,)               True at the last step, unless the episode was cut (Go: the move cap;
    truncations    (L-1,)                 tabletop: the time limit), which is a truncation
    infos/state/*  (L, ...)             tabletop only: ``info["state"]`` at every frame
    seed, options                       the reset seed and options (Go: setup stones; tabletop: the task)

The env spec is the dataset's id with its frame size (and, for Go, ``opponent="none"``: one step is one move
of either colour), so ``recover_environment()`` builds the env that made the frames. Our own ``meta.json``
(without its shard index) is kept in the Minari metadata under ``"videoworld"`` and each episode's attributes
(SGF, players, split, hashes) in its episode metadata, so an import gives back the same dataset.

Frames are stored losslessly by default. Minari's HDF5 backend writes them as one uncompressed array per
episode, where our shards gzip 8-frame chunks: see ``docs/datasets.md`` for the sizes measured. ``jpeg=True``
uses Minari's JPEG encoding instead (smaller, lossy: the round trip is then no longer exact).

Example:
    >>> export_minari("data/go9", "videoworld/go9-v0")  # doctest: +SKIP
    >>> import minari; minari.load_dataset("videoworld/go9-v0").recover_environment()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import vw_envs  # noqa: F401  (registers the ids for gym.spec)
from vw_agent.data.format import (
    DEFAULT_FRACTIONS,
    FORMAT_VERSION,
    Episode,
    ShardWriter,
    action_hash,
    assign_split,
    content_hash,
    meta_path,
    write_meta,
)
from vw_agent.data.reader import DatasetReader
from vw_envs.errors import DatasetError

BATCH_EPISODES = 16  # episodes handed to Minari per write: memory holds one batch of decoded frames
META_KEY = "videoworld"  # our meta.json in the Minari metadata
EPISODE_ID_KEY = "videoworld_id"  # per episode: our episode id and attributes (JSON)
EPISODE_ATTRS_KEY = "videoworld_attrs"


@dataclass
class MinariExportSummary:
    """What :func:`export_minari` wrote."""

    dataset_id: str
    path: str  # the Minari dataset's directory
    episodes: int
    steps: int
    bytes: int  # on disk, the whole Minari dataset directory
    shard_bytes: int  # our compressed shards of the same episodes, for comparison


@dataclass
class MinariImportSummary:
    """What :func:`import_minari` wrote."""

    out: str
    episodes: int
    frames: int
    bytes: int  # our shards


def _minari():
    try:
        import minari  # lazy: an optional extra, and it imports typer, rich and pydantic
    except ModuleNotFoundError as e:
        if e.name != "minari":
            raise
        raise DatasetError('Minari is not installed: pip install "videoworld-gym[minari]"') from None
    return minari


# ----------------------------------------------------------------------------- export


def env_spec_for(meta: dict[str, Any]):
    """The Gymnasium EnvSpec of a recorded dataset: its registered id with the frame size (and render settings
    and komi, Go) it was recorded with; Go with ``opponent="none"``, as the recorder steps both colours."""
    spec = gym.spec(meta["env_id"])
    kwargs = {**spec.kwargs, "frame_size": int(meta["frame_size"])}
    if meta.get("kind", "go") == "go":
        render = meta.get("render", {})
        kwargs.update(opponent="none", komi=float(meta.get("config", {}).get("komi", 7.5)),
                      last_move_marker=bool(render.get("last_move_marker", False)),
                      coordinates=bool(render.get("coordinates", False)))
    return replace(spec, kwargs=kwargs)


def _nested(flat: dict[str, np.ndarray]) -> dict[str, Any]:
    """{"robot/qpos": a} -> {"robot": {"qpos": a}}: Minari's info layout, groups within groups."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split("/")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def _flat(nested: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = np.asarray(value)
    return out


def _reset_options(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The reset options that start this episode: Go setup stones, or the tabletop task."""
    setup = attrs.get("setup") or {}
    options = {f"setup_{c}": list(setup[c]) for c in ("black", "white") if setup.get(c)}
    if attrs.get("task"):
        options["task"] = attrs["task"]
    return options or None


def _truncated(attrs: dict[str, Any]) -> bool:
    """Was the episode cut rather than ended? Go: the move cap; tabletop: the time limit (not terminated)."""
    if attrs.get("reason") == "move_cap":
        return True
    return "terminated" in attrs and not attrs["terminated"]


def _buffer(ep: Episode, index: int):
    from minari.data_collector import EpisodeBuffer  # lazy: an optional extra

    t = len(ep.actions)
    truncations = np.zeros(t, bool)
    if t and _truncated(ep.attrs):
        truncations[-1] = True
    seed = ep.attrs.get("seed")
    return EpisodeBuffer(
        id=index, seed=int(seed) if isinstance(seed, int | np.integer) and seed >= 0 else None,
        options=_reset_options(ep.attrs), observations=ep.frames, actions=ep.actions,
        rewards=np.asarray(ep.rewards, np.float32), terminations=np.asarray(ep.dones, bool) & ~truncations,
        truncations=truncations,
        infos={"state": _nested(ep.state)} if ep.state else {},  # {}, not None: EpisodeData's repr needs a dict
    )


def _dir_bytes(path: str | os.PathLike) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def export_minari(root: str | os.PathLike, dataset_id: str, *, jpeg: bool = False, author: str | None = None,
                  description: str | None = None) -> MinariExportSummary:
    """Write every episode of the dataset in ``root`` as the Minari dataset ``dataset_id`` (``"videoworld/go9-v0"``).

    Every episode is read whole and checked against its content hash first. A failed export removes what it
    wrote, so a Minari id either holds the whole dataset or does not exist.

    Raises:
        DatasetError: Minari missing, the id taken or malformed, or a corrupt episode.
    """
    minari = _minari()
    from minari.dataset.minari_dataset import parse_dataset_id  # lazy: an optional extra
    from minari.storage import get_dataset_path  # lazy: an optional extra

    try:
        parse_dataset_id(dataset_id)
    except ValueError as e:
        raise DatasetError(f"{dataset_id}: not a Minari dataset id ([NAMESPACE/]NAME-vVERSION): {e}") from None
    path = get_dataset_path(dataset_id)
    if path.exists():
        raise DatasetError(f"{path}: Minari dataset {dataset_id} already exists; pick another name or version, "
                           f"or delete it (minari delete {dataset_id})")
    reader = DatasetReader(root)
    meta = reader.meta
    if not reader.episodes:
        raise DatasetError(f"{meta_path(root)}: the dataset has no episodes to export")
    env = gym.make(env_spec_for(meta))
    steps = 0
    try:
        dataset = None
        for start in range(0, len(reader.episodes), BATCH_EPISODES):
            refs = reader.episodes[start:start + BATCH_EPISODES]
            episodes = [reader.episode(r.id) for r in refs]  # content hash checked
            buffers = [_buffer(ep, start + i) for i, ep in enumerate(episodes)]
            steps += sum(len(ep.actions) for ep in episodes)
            if dataset is None:
                try:
                    version = importlib.metadata.version("videoworld-gym")
                except importlib.metadata.PackageNotFoundError:
                    version = None
                with warnings.catch_warnings():
                    # Minari warns about each metadata field left None (code_permalink, author_email): we have none
                    warnings.simplefilter("ignore", UserWarning)
                    dataset = minari.create_dataset_from_buffers(
                        dataset_id, buffers, env=env, algorithm_name=", ".join(meta.get("sources", [])) or "recorded",
                        author=author or "videoworld-gym",
                        description=description or f"{meta['env_id']} frames recorded by videoworld-gym",
                        data_format="hdf5", requirements=[f"videoworld-gym=={version}"] if version else None,
                        jpeg_encoding=jpeg)
            else:
                dataset.update_dataset_from_buffer(buffers)
            dataset.storage.update_episode_metadata(
                [{EPISODE_ID_KEY: r.id, EPISODE_ATTRS_KEY: json.dumps(ep.attrs)} for r, ep in zip(refs, episodes,
                                                                                                   strict=True)],
                range(start, start + len(refs)))
        kept = {k: v for k, v in meta.items() if k not in ("shards", "shard_episodes_counts")}
        dataset.storage.update_metadata({META_KEY: kept})
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(path)
        raise
    finally:
        env.close()
        reader.close()
    return MinariExportSummary(dataset_id=dataset_id, path=str(path), episodes=len(reader.episodes), steps=steps,
                               bytes=_dir_bytes(path), shard_bytes=int(meta.get("bytes", 0)))


# ----------------------------------------------------------------------------- import


def _episodes(dataset) -> Iterator[tuple[dict[str, Any], Any]]:
    """(episode metadata, EpisodeData) of every episode, in order."""
    indices = dataset.episode_indices
    yield from zip(dataset.storage.get_episode_metadata(indices), dataset.iterate_episodes(indices), strict=True)


def import_minari(dataset_id: str, out: str | os.PathLike, *, shard_episodes: int | None = None) -> MinariImportSummary:
    """Read the Minari dataset ``dataset_id`` into a new dataset of ours in ``out`` (shards and ``meta.json``).

    An export of ours comes back with its meta, episode ids and attributes; any other Minari dataset with
    square RGB frames as observations and an env spec comes back with fresh splits (by action hash, seed 0).
    ``shard_episodes`` defaults to the exported dataset's (100 for a foreign one), so shards match too.
    The content hash is recomputed (a JPEG-encoded export no longer matches the frames that were recorded).

    Raises:
        DatasetError: Minari missing, no such dataset, observations that are not frames, or ``out`` already
            holds a dataset.
    """
    minari = _minari()
    if meta_path(out).exists():
        raise DatasetError(f"{meta_path(out)}: {out} already holds a dataset; import into a new directory")
    from minari.storage import get_dataset_path  # lazy: an optional extra

    try:
        dataset = minari.load_dataset(dataset_id)
    except (FileNotFoundError, ValueError) as e:
        raise DatasetError(f"{dataset_id}: no such Minari dataset under {get_dataset_path()} "
                           f"({str(e).splitlines()[0]})") from None
    obs = dataset.observation_space
    if not (isinstance(obs, gym.spaces.Box) and obs.dtype == np.uint8 and len(obs.shape) == 3 and obs.shape[2] == 3
            and obs.shape[0] == obs.shape[1]):
        raise DatasetError(f"{dataset_id}: observations are {obs}, not square RGB frames (H, H, 3) uint8")
    meta = dataset.storage.metadata.get(META_KEY)
    if meta is None:
        if dataset.env_spec is None:
            raise DatasetError(f"{dataset_id}: no env spec, so no env id for meta.json")
        meta = {"format_version": FORMAT_VERSION, "env_id": dataset.env_spec.id,
                "kind": "go" if dataset.env_spec.id.startswith("VideoGo") else "other",
                "frame_size": int(obs.shape[0]), "render": {}, "config": {},
                "splits": {"seed": 0, "fractions": DEFAULT_FRACTIONS, "by": "seeded hash of action_hash"}}
    meta = {**meta, "sources": [*meta.get("sources", []), f"minari:{dataset_id}"], "shards": [], "complete": False}
    shard_episodes = shard_episodes or int(meta.get("config", {}).get("shard_episodes") or 100)
    header = {"format_version": FORMAT_VERSION, "env_id": meta["env_id"], "frame_size": meta["frame_size"]}
    Path(out).mkdir(parents=True, exist_ok=True)
    writer: ShardWriter | None = None
    try:
        for i, (ep_meta, data) in enumerate(_episodes(dataset)):
            ep_id = int(ep_meta.get(EPISODE_ID_KEY, i))
            attrs = json.loads(ep_meta[EPISODE_ATTRS_KEY]) if EPISODE_ATTRS_KEY in ep_meta else {}
            actions = np.asarray(data.actions)
            dones = np.asarray(data.terminations, bool) | np.asarray(data.truncations, bool)
            state = _flat(data.infos["state"]) if data.infos and "state" in data.infos else None
            ep = Episode(np.asarray(data.observations, np.uint8), actions, np.asarray(data.rewards, np.float32),
                         dones, attrs, state)
            attrs.setdefault("action_hash", action_hash(actions))
            attrs.setdefault("split", assign_split(attrs["action_hash"], int(meta["splits"]["seed"]),
                                                   meta["splits"].get("fractions")))
            attrs["content_hash"] = content_hash(ep)
            if writer is None:
                writer = ShardWriter(out, len(meta["shards"]), [], header)
            writer.info.attempts.append(ep_id)
            writer.add(ep_id, ep)
            if writer.info.episodes >= shard_episodes:
                meta["shards"].append(writer.close().to_json())
                writer = None
        if writer is not None:
            meta["shards"].append(writer.close().to_json())
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    meta["complete"] = True
    write_meta(out, meta)
    return MinariImportSummary(out=str(out), episodes=meta["episodes"], frames=meta["frames"], bytes=meta["bytes"])
