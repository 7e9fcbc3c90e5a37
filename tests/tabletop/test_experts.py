"""The scripted experts solve every task; doing nothing solves none; experts chain via set_task."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from vw_envs.tabletop.experts import ExpertPolicy
from vw_envs.tabletop.policies import NoopPolicy
from vw_envs.tabletop.registration import MULTITASK_ID, env_id
from vw_envs.tabletop.tasks import TASK_NAMES


def _run(env, policy, obs, info, max_steps: int = 400) -> dict:
    for _ in range(max_steps):
        obs, _, terminated, truncated, info = env.step(policy.act(obs, info))
        if terminated or truncated:
            break
    return info


@pytest.mark.parametrize("task", TASK_NAMES)
def test_expert_succeeds(task):
    env = gym.make(env_id(task), frame_size=32)
    policy = ExpertPolicy()
    for seed in (0, 1, 2):
        obs, info = env.reset(seed=seed)
        policy.reset(seed)
        info = _run(env, policy, obs, info)
        assert info["is_success"], f"expert failed {task} at seed {seed}"
    env.close()


@pytest.mark.parametrize("task", TASK_NAMES)
def test_doing_nothing_is_not_success(task):
    env = gym.make(env_id(task), frame_size=16, max_episode_steps=40)
    policy = NoopPolicy()
    obs, info = env.reset(seed=0)
    info = _run(env, policy, obs, info)
    assert not info["is_success"]
    env.close()


def test_random_actions_rarely_succeed():
    env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=16, max_episode_steps=60)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=0)
    for _ in range(60):
        obs, _, terminated, truncated, info = env.step(rng.uniform(-1, 1, 7))
        if terminated or truncated:
            break
    assert not info["is_success"]
    env.close()


def test_set_task_chain_of_two_by_experts():
    env = gym.make(MULTITASK_ID, frame_size=32)
    policy = ExpertPolicy()
    obs, info = env.reset(seed=4, options={"task": "open_drawer"})
    info = _run(env, policy, obs, info)
    assert info["is_success"] and info["task"] == "open_drawer"
    feasible = env.unwrapped.feasible_tasks()
    assert "open_drawer" not in feasible and "close_drawer" in feasible
    second = "turn_on_lightbulb" if "turn_on_lightbulb" in feasible else "turn_off_lightbulb"
    info = env.unwrapped.set_task(second)  # mid-episode: no reset, success judged from now
    assert info["task"] == second and not info["is_success"]
    drawer = info["state"]["drawer"]
    info = _run(env, policy, None, info)
    assert info["is_success"] and info["task"] == second
    assert abs(info["state"]["drawer"] - drawer) < 0.03  # the first task's result stays put
    env.close()
