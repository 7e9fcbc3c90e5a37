"""The loader: window shapes, the world-model path never touching actions, worker and rank sharding."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vw_agent.data.loader import WindowConfig, WindowDataset, WindowStream, labelled_episodes
from vw_agent.data.reader import DatasetReader
from vw_agent.data.tokens import TokenCache


def _all_windows(reader: DatasetReader, window: int) -> set[tuple[int, int]]:
    return {(e.id, s) for e in reader.episodes for s in range(e.frames - window + 1)}


def test_windows_shapes_and_content(sgf_dataset):
    ds = WindowDataset(sgf_dataset, WindowConfig(window=6, split=None))
    reader = DatasetReader(sgf_dataset)
    assert len(ds) == sum(e.frames - 5 for e in reader.episodes)
    item = ds[len(ds) // 2]
    assert set(item) == {"episode", "start", "frames"}  # the world-model path: no actions
    assert item["frames"].shape == (6, 64, 64, 3) and item["frames"].dtype == torch.uint8
    np.testing.assert_array_equal(item["frames"].numpy(),
                                  reader.frames(item["episode"], item["start"], item["start"] + 6))
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    assert batch["frames"].shape == (4, 6, 64, 64, 3)


def test_labelled_windows_carry_the_actions_between_their_frames(sgf_dataset):
    ds = WindowDataset(sgf_dataset, WindowConfig(window=6, split=None, actions=True))
    item = ds[3]
    assert item["actions"].shape == (5,) and item["actions"].dtype == torch.int64
    ep = ds.reader.episode(item["episode"])
    np.testing.assert_array_equal(item["actions"].numpy(), ep.actions[item["start"]: item["start"] + 5])
    # A seeded fraction of episodes is labelled; the rest never give actions.
    ids = list(range(100))
    half = labelled_episodes(ids, 0.5, seed=3)
    assert len(half) == 50 and half == labelled_episodes(ids, 0.5, seed=3) != labelled_episodes(ids, 0.5, seed=4)
    few = WindowDataset(sgf_dataset, WindowConfig(window=6, split=None, actions=True, label_fraction=0.34))
    assert len(few.w.episode_ids) == 1


def test_world_model_path_reads_no_actions_sgf_or_state(sgf_dataset, tmp_path):
    """Strip actions, rewards, dones and the SGF from the shards: the video loader must not notice."""
    ds = tmp_path / "video_only"
    shutil.copytree(sgf_dataset, ds)
    for shard in ds.glob("shard_*.h5"):
        with h5py.File(shard, "a") as f:
            for g in f["data"].values():
                for k in ("actions", "rewards", "dones"):
                    del g[k]
                for k in ("sgf", "players", "result"):
                    del g.attrs[k]
    video = WindowDataset(ds, WindowConfig(window=6, split=None))
    n = sum(1 for _ in DataLoader(video, batch_size=16))
    assert n == (len(video) + 15) // 16
    stream = WindowStream(ds, WindowConfig(window=6, split=None))
    assert sum(1 for _ in stream) == len(video)
    with pytest.raises(Exception, match="actions"):  # the labelled path does need them
        WindowDataset(ds, WindowConfig(window=6, split=None, actions=True))[0]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_stream_shards_by_worker_and_rank_reading_each_window_once(sgf_dataset, num_workers):
    cfg = WindowConfig(window=4, split=None, stride=1)
    reader = DatasetReader(sgf_dataset)
    expected = _all_windows(reader, 4)
    seen: list[tuple[int, int]] = []
    per_rank = []
    for rank in (0, 1):
        stream = WindowStream(sgf_dataset, cfg, rank=rank, world_size=2, seed=5)
        got = [(int(e), int(s)) for b in DataLoader(stream, batch_size=8, num_workers=num_workers)
               for e, s in zip(b["episode"], b["start"], strict=True)]
        per_rank.append({e for e, _ in got})
        seen += got
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert not per_rank[0] & per_rank[1]  # ranks read disjoint episodes


def test_stream_epochs_reshuffle(sgf_dataset):
    stream = WindowStream(sgf_dataset, WindowConfig(window=4, split=None), seed=1)
    first = [(i["episode"], i["start"]) for i in stream]
    stream.set_epoch(1)
    second = [(i["episode"], i["start"]) for i in stream]
    assert sorted(first) == sorted(second) and first != second


def test_token_windows(sgf_dataset, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(sgf_dataset, ds)
    cache = TokenCache(ds, "t", config={"k": 1})
    reader = DatasetReader(ds)
    for e in reader.episodes:
        cache.write(e.id, np.full((e.frames, 16), e.id, np.int16))
    item = WindowDataset(ds, WindowConfig(window=6, split=None, tokens="t"))[0]
    assert set(item) == {"episode", "start", "tokens"} and item["tokens"].shape == (6, 16)
    assert next(iter(WindowStream(ds, WindowConfig(window=6, split=None, tokens="t"))))["tokens"].shape == (6, 16)
