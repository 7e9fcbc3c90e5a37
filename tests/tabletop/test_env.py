"""VideoTabletopEnv against the Gymnasium contract, with the real simulator."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vw_envs
from vw_envs.tabletop.registration import MULTITASK_ID, TABLETOP_ENV_IDS, env_id
from vw_envs.tabletop.tasks import TASK_NAMES


def test_ids_are_registered():
    assert len(TABLETOP_ENV_IDS) == 21 and MULTITASK_ID in TABLETOP_ENV_IDS
    assert set(TABLETOP_ENV_IDS) <= set(vw_envs.ENV_IDS)
    assert env_id("push_red_block_left") == "VideoTabletop-PushRedBlockLeft-v0"
    for i in TABLETOP_ENV_IDS:
        assert i in gym.registry and gym.registry[i].max_episode_steps


def test_registration_does_not_import_pybullet():
    code = "import sys, vw_envs; assert 'pybullet' not in sys.modules, 'registration imported pybullet'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("env_id", TABLETOP_ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id, frame_size=64)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", TABLETOP_ENV_IDS)
def test_same_seed_same_frames(env_id):
    envs = [gym.make(env_id, frame_size=64) for _ in range(2)]
    rng = np.random.default_rng(1)
    actions = rng.uniform(-1, 1, (6, 7)).astype(np.float32)
    runs = []
    for env in envs:
        obs, info = env.reset(seed=7)
        frames = [obs]
        for a in actions:
            frames.append(env.step(a)[0])
        runs.append((frames, info["task"]))
        env.close()
    assert runs[0][1] == runs[1][1]
    for f0, f1 in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(f0, f1)


def test_reused_env_replays_a_seed_like_a_fresh_one():
    """Recorders reuse one env for many episodes; a seed must not depend on what ran before it."""
    actions = np.random.default_rng(2).uniform(-1, 1, (40, 7)).astype(np.float32)

    def run(env, seed):
        frames = [env.reset(seed=seed)[0]]
        frames += [env.step(a)[0] for a in actions]
        return frames

    reused = gym.make("VideoTabletop-PushRedBlockLeft-v0", frame_size=64)
    run(reused, 3)
    again = run(reused, 7)
    fresh = gym.make("VideoTabletop-PushRedBlockLeft-v0", frame_size=64)
    for a, b in zip(again, run(fresh, 7), strict=True):
        np.testing.assert_array_equal(a, b)
    reused.close()
    fresh.close()


def test_different_seeds_give_different_scenes():
    env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=64)
    a, _ = env.reset(seed=0)
    b, _ = env.reset(seed=1)
    env.close()
    assert not np.array_equal(a, b)


def test_close_twice():
    env = gym.make("VideoTabletop-CloseFridge-v0", frame_size=32)
    env.reset(seed=0)
    env.close()
    env.close()


@pytest.mark.parametrize("size", [64, 100, 128])
def test_render_shapes(size):
    env = gym.make("VideoTabletop-TurnOnLed-v0", frame_size=size, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (size, size, 3) and obs.dtype == np.uint8
    frame = env.render()
    assert frame.shape == (size, size, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, obs)
    assert obs.std() > 10  # a scene, not a blank image
    env.close()


def test_gripper_camera_dict_observation():
    env = gym.make("VideoTabletop-LiftRedBlock-v0", frame_size=64, gripper_camera=True, gripper_frame_size=48)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"static", "gripper"}
    assert obs["static"].shape == (64, 64, 3) and obs["gripper"].shape == (48, 48, 3)
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(np.zeros(7, np.float32))
    assert env.observation_space.contains(obs)
    env.close()


def test_human_render_mode_opens_a_window():
    env = gym.make("VideoTabletop-TurnOnLed-v0", frame_size=32, render_mode="human")
    env.reset(seed=0)
    env.step(np.zeros(7, np.float32))
    assert env.render() is None
    env.close()
    env.close()


@pytest.mark.parametrize(
    "action, match",
    [
        (np.full(7, np.nan), "NaN"),
        (np.array([0, 0, np.inf, 0, 0, 0, 1.0]), "NaN or inf"),
        (np.zeros(6), "shape"),
        (np.zeros((1, 7)), "shape"),
        ("left", "7-vector|shape"),
    ],
)
def test_bad_action_is_a_clear_error(action, match):
    env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=32).unwrapped
    env.reset(seed=0)
    before = env.state["robot"].copy()
    with pytest.raises(ValueError, match=match):
        env.step(action)
    np.testing.assert_array_equal(env.state["robot"], before)  # nothing moved
    obs, *_ = env.step(np.zeros(7, np.float32))  # and the env still works
    assert obs.shape == (32, 32, 3)
    env.close()


def test_info_carries_task_and_state_never_the_observation():
    env = gym.make("VideoTabletop-PushBlueBlockRight-v0", frame_size=32)
    obs, info = env.reset(seed=0)
    assert isinstance(obs, np.ndarray)
    assert info["task"] == "push_blue_block_right" and info["instruction"] == "push the blue block to the right"
    assert info["is_success"] is False
    s = info["state"]
    assert s["robot"].shape == (15,) and s["red_block"].shape == (7,)
    for key in ("drawer", "slider", "switch", "button", "microwave", "fridge", "led", "lightbulb", "stacked"):
        assert key in s
    _, _, _, _, info = env.step(np.zeros(7, np.float32))
    assert {"task", "instruction", "is_success", "state"} <= set(info)
    env.close()


@pytest.mark.parametrize("task", TASK_NAMES)
def test_reset_makes_the_task_feasible(task):
    env = gym.make(env_id(task), frame_size=16).unwrapped
    for seed in range(3):
        env.reset(seed=seed)
        assert task in env.feasible_tasks()
    env.close()


def test_multitask_reset_option_and_errors():
    env = gym.make(MULTITASK_ID, frame_size=32)
    _, info = env.reset(seed=0, options={"task": "close_fridge"})
    assert info["task"] == "close_fridge" and info["state"]["fridge"] > 0.5
    _, info = env.reset(seed=3)
    assert info["task"] in TASK_NAMES
    with pytest.raises(ValueError, match="unknown task"):
        env.reset(seed=0, options={"task": "fly"})
    with pytest.raises(ValueError, match="unknown task"):
        env.unwrapped.set_task("fly")
    info = env.unwrapped.set_task("open_drawer")
    assert info["task"] == "open_drawer"
    env.close()
    fixed = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=32)
    with pytest.raises(ValueError, match="fixed to"):
        fixed.reset(seed=0, options={"task": "close_drawer"})
    fixed.close()


def test_bad_kwargs():
    with pytest.raises(ValueError, match="unknown task"):
        gym.make("VideoTabletop-MultiTask-v0", task="nope")
    with pytest.raises(ValueError, match="reward_type"):
        gym.make("VideoTabletop-OpenDrawer-v0", reward_type="shaped")
    with pytest.raises(ValueError, match="visuals"):
        gym.make("VideoTabletop-OpenDrawer-v0", robot_visuals="fancy")


def test_dense_reward_tracks_progress():
    env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=16, reward_type="dense")
    from vw_envs.tabletop.experts import ExpertPolicy

    policy = ExpertPolicy()
    obs, info = env.reset(seed=0)
    rewards = []
    done = False
    while not done:
        obs, r, terminated, truncated, info = env.step(policy.act(obs, info))
        rewards.append(r)
        done = terminated or truncated
    assert info["is_success"] and rewards[-1] == 1.0
    assert all(0.0 <= r <= 1.0 for r in rewards) and 0.0 < max(rewards[:-1]) < 1.0
    env.close()


def test_cached_backdrop_renders_the_same_frames():
    """The static camera draws the table and floor from a cached layer; it must not change a pixel."""
    from vw_envs.tabletop.env import STATIC_CAMERA
    from vw_envs.tabletop.experts import ExpertPolicy

    env = gym.make("VideoTabletop-StackBlock-v0", frame_size=96).unwrapped
    policy = ExpertPolicy()
    obs, info = env.reset(seed=0)
    for _ in range(30):
        obs, _, _, _, info = env.step(policy.act(obs, info))
        np.testing.assert_array_equal(obs, env.sim.render(STATIC_CAMERA, 96, 96, cached=False))
    env.close()


def test_frame_size_bounds():
    with pytest.raises(ValueError, match="16..512"):
        gym.make("VideoTabletop-OpenDrawer-v0", frame_size=100_000)  # would have asked for 224 GiB
    with pytest.raises(ValueError, match="16..512"):
        gym.make("VideoTabletop-OpenDrawer-v0", frame_size=8)


def test_step_after_success_needs_reset_and_set_task_rearms():
    from vw_envs.tabletop.experts import ExpertPolicy

    env = gym.make("VideoTabletop-MultiTask-v0", frame_size=16).unwrapped
    policy = ExpertPolicy()
    obs, info = env.reset(seed=0, options={"task": "turn_on_led"})
    terminated = False
    for _ in range(200):
        obs, r, terminated, _trunc, info = env.step(policy.act(obs, info))
        if terminated:
            break
    assert terminated and r == 1.0
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(7, dtype=np.float32))  # no second reward for the same success
    info = env.set_task("turn_off_led")  # a chain goes on from here
    env.step(policy.act(obs, info))
    env.reset(seed=1)
    env.step(np.zeros(7, dtype=np.float32))
    env.close()


def test_step_after_truncation_needs_reset():
    env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=16, max_episode_steps=3)
    env.reset(seed=0)
    truncated = False
    for _ in range(3):
        *_, truncated, _info = env.step(np.zeros(7, dtype=np.float32))
    assert truncated
    with pytest.raises(RuntimeError, match=r"truncated at its time limit \(3 steps\); call reset"):
        env.step(np.zeros(7, dtype=np.float32))
    env.reset(seed=1)  # a new episode steps again
    *_, truncated, _info = env.step(np.zeros(7, dtype=np.float32))
    assert not truncated
    env.close()
