"""A tiny tabletop dataset recorded with the scripted experts, read back and replayed."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from vw_agent.data.format import read_meta
from vw_agent.data.loader import WindowConfig, WindowDataset
from vw_agent.data.reader import DatasetReader
from vw_agent.data.record import RecordConfig, record
from vw_envs.errors import DatasetError


@pytest.fixture(scope="module")
def tabletop_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("tt") / "multi"
    s = record(RecordConfig(env_id="VideoTabletop-MultiTask-v0", out=str(out), episodes=2, policy="expert",
                            tasks="push_red_block_left,turn_on_led", frame_size=64, workers=2), progress=False)
    assert s.recorded == 2
    return out


def test_tabletop_round_trip(tabletop_dataset):
    meta = read_meta(tabletop_dataset)
    assert meta["kind"] == "tabletop" and meta["frame_size"] == 64 and meta["complete"]
    reader = DatasetReader(tabletop_dataset)
    tasks = []
    for e in reader.episodes:
        ep = reader.episode(e.id)
        n = len(ep.frames)
        assert ep.frames.shape == (n, 64, 64, 3) and ep.actions.shape == (n - 1, 7)
        assert ep.actions.dtype == np.float32 and ep.dones[-1] and not ep.dones[:-1].any()
        assert ep.state["robot"].shape[0] == n and ep.state["drawer"].shape == (n,)
        assert ep.attrs["success"] and ep.attrs["instruction"] and ep.attrs["camera"]["fov"] > 0
        assert ep.attrs["camera"]["width"] == 64 and ep.attrs["players"] == {"policy": "expert"}
        tasks.append(ep.attrs["task"])
    assert tasks == ["push_red_block_left", "turn_on_led"]


def test_tabletop_episode_replays_from_its_seed_and_actions(tabletop_dataset):
    """Frame 0 is the episode's own reset, and its actions reproduce every stored frame: no frame of
    another episode (e.g. a worker's next reset) is in it."""
    reader = DatasetReader(tabletop_dataset)
    ep = reader.episode(1)
    env = gym.make("VideoTabletop-MultiTask-v0", frame_size=64)
    try:
        obs, info = env.reset(seed=ep.attrs["seed"], options={"task": ep.attrs["task"]})
        np.testing.assert_array_equal(obs, ep.frames[0])
        np.testing.assert_allclose(info["state"]["robot"], ep.state["robot"][0])
        for t, a in enumerate(ep.actions):
            obs, *_ = env.step(a)
            np.testing.assert_array_equal(obs, ep.frames[t + 1])
    finally:
        env.close()


def test_tabletop_loader_windows(tabletop_dataset):
    item = WindowDataset(tabletop_dataset, WindowConfig(window=10, split=None, actions=True))[0]
    assert item["frames"].shape == (10, 64, 64, 3) and item["actions"].shape == (9, 7)
    assert item["actions"].dtype == torch.float32


def test_tasks_only_for_multitask(tmp_path):
    with pytest.raises(DatasetError, match="MultiTask"):
        record(RecordConfig(env_id="VideoTabletop-OpenDrawer-v0", out=str(tmp_path / "x"), tasks="open_drawer"),
               progress=False)
    with pytest.raises(DatasetError, match="unknown task 'fly'"):
        record(RecordConfig(env_id="VideoTabletop-MultiTask-v0", out=str(tmp_path / "y"), tasks="fly"),
               progress=False)


def test_tabletop_dataset_does_not_depend_on_workers(tabletop_dataset, tmp_path):
    """One process recording both episodes in turn gives the same bytes as two workers (each episode
    gets a fresh scene: a reused PyBullet scene was measured to drift by a few pixel values)."""
    out = tmp_path / "one"
    record(RecordConfig(env_id="VideoTabletop-MultiTask-v0", out=str(out), episodes=2, policy="expert",
                        tasks="push_red_block_left,turn_on_led", frame_size=64, workers=1), progress=False)
    a, b = DatasetReader(tabletop_dataset), DatasetReader(out)
    assert [a.attrs(i)["content_hash"] for i in (0, 1)] == [b.attrs(i)["content_hash"] for i in (0, 1)]


def test_training_seeds_stay_below_the_evaluation_seeds(tabletop_dataset, tmp_path):
    from vw_agent.eval.tabletop import TabletopEvalConfig
    from vw_envs.tabletop.tasks import EVAL_SEED_START

    reader = DatasetReader(tabletop_dataset)
    assert [reader.attrs(e.id)["seed"] for e in reader.episodes] == [0, 1]  # seed + k: checkable, not hashed
    assert TabletopEvalConfig().seed == EVAL_SEED_START == 10_000
    with pytest.raises(DatasetError, match=r"seeds 9999..10000, but training seeds stay in 0..9999"):
        record(RecordConfig(env_id="VideoTabletop-TurnOnLed-v0", out=str(tmp_path / "late"), episodes=2,
                            seed=9_999, frame_size=64), progress=False)
    assert not (tmp_path / "late").exists()  # refused before anything was written


def test_hold_steps_after_success(tmp_path):
    """--hold-steps: after success the robot holds still (zero motion, the gripper as it was) for exactly that many
    recorded steps, so the task's last steps start full windows; the episode replays from its actions."""
    out = tmp_path / "hold"
    record(RecordConfig(env_id="VideoTabletop-MultiTask-v0", out=str(out), episodes=2, policy="expert",
                        tasks="turn_on_led,open_drawer", frame_size=64, hold_steps=3), progress=False)
    reader = DatasetReader(out)
    for e in reader.episodes:
        ep = reader.episode(e.id)
        k = ep.attrs["success_step"]
        assert ep.attrs["success"] and ep.attrs["hold_steps"] == 3 and k > 10
        assert len(ep.actions) == k + 3 == ep.attrs["steps"]
        held = ep.actions[k:]
        assert not held[:, :6].any() and (held[:, 6] == ep.actions[k - 1, 6]).all()
        assert ep.actions[:k, :6].any(axis=1).all()  # the expert's own steps all move
    env = gym.make("VideoTabletop-MultiTask-v0", frame_size=64, terminate_on_success=False)
    try:
        ep = reader.episode(1)
        obs, _ = env.reset(seed=ep.attrs["seed"], options={"task": ep.attrs["task"]})
        for t, a in enumerate(ep.actions):
            obs, *_ = env.step(a)
            np.testing.assert_array_equal(obs, ep.frames[t + 1])
    finally:
        env.close()
    # resuming keeps the recording's hold; asking for another is refused in one line
    with pytest.raises(DatasetError, match=r"recorded with hold_steps=3, not 5; --resume continues"):
        record(RecordConfig(env_id="VideoTabletop-MultiTask-v0", out=str(out), episodes=3, hold_steps=5),
               resume=True, given={"hold_steps"}, progress=False)
    with pytest.raises(DatasetError, match="only tabletop episodes hold after success"):
        record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(tmp_path / "go"), episodes=1, hold_steps=2),
               progress=False)
    assert not (tmp_path / "go").exists()
