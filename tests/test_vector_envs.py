"""``gym.make_vec`` over every registered id: batched spaces, batched steps, same seeds same frames."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector.utils import batch_space

from vw_envs import ENV_IDS

N_ENVS = 2
FRAME = 64  # the smallest Go frame: these tests are about batching, not pictures


def make_vec(env_id: str, mode: str, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=N_ENVS, vectorization_mode=mode, frame_size=FRAME, **kwargs)


def actions_for(envs: gym.vector.VectorEnv, info: dict, rng: np.random.Generator) -> np.ndarray:
    """Go: a legal move per env from the batched ``action_mask``; tabletop: a sample of the batched Box."""
    if "action_mask" in info:
        return np.array([rng.choice(np.flatnonzero(m)) for m in info["action_mask"]])
    envs.action_space.seed(int(rng.integers(2**31)))
    return envs.action_space.sample()


def rollout(envs: gym.vector.VectorEnv, seed: int, steps: int) -> list[np.ndarray]:
    """Check the batched spaces and every batched step; returns the observations."""
    single_obs, single_act = envs.single_observation_space, envs.single_action_space
    assert single_obs == gym.spaces.Box(0, 255, (FRAME, FRAME, 3), np.uint8)
    assert envs.observation_space == batch_space(single_obs, N_ENVS)
    assert envs.action_space == batch_space(single_act, N_ENVS)
    obs, info = envs.reset(seed=seed)
    seen, rng = [obs], np.random.default_rng(seed)
    for _ in range(steps):
        assert obs.shape == (N_ENVS, FRAME, FRAME, 3) and obs.dtype == np.uint8 and obs in envs.observation_space
        actions = actions_for(envs, info, rng)
        assert actions in envs.action_space
        obs, reward, terminated, truncated, info = envs.step(actions)
        assert reward.shape == (N_ENVS,) and terminated.shape == truncated.shape == (N_ENVS,)
        assert terminated.dtype == truncated.dtype == np.bool_
        seen.append(obs)
    return seen


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_sync(env_id):
    a, b = make_vec(env_id, "sync"), make_vec(env_id, "sync")
    assert a.num_envs == N_ENVS and a.spec.id == env_id
    fa, fb = rollout(a, seed=3, steps=3), rollout(b, seed=3, steps=3)
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))  # same seeds, same frames
    a.close()
    b.close()


def test_make_vec_async_go():
    """Subprocess workers give the frames of the in-process ones."""
    sync, asyn = make_vec("VideoGo-9x9-v0", "sync"), make_vec("VideoGo-9x9-v0", "async")
    fs, fa = rollout(sync, seed=5, steps=4), rollout(asyn, seed=5, steps=4)
    assert all(np.array_equal(x, y) for x, y in zip(fs, fa, strict=True))
    sync.close()
    asyn.close()


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_async(env_id):
    sync, asyn = make_vec(env_id, "sync"), make_vec(env_id, "async")
    fs, fa = rollout(sync, seed=7, steps=3), rollout(asyn, seed=7, steps=3)
    assert all(np.array_equal(x, y) for x, y in zip(fs, fa, strict=True))
    sync.close()
    asyn.close()


def test_make_vec_autoreset_after_a_game():
    """Two passes end both games; the next step resets them (Gymnasium's next-step autoreset)."""
    envs = make_vec("VideoGo-9x9-v0", "sync", opponent="none")  # one move a step
    first, _info = envs.reset(seed=0)
    envs.step(np.full(N_ENVS, 81))
    _obs, reward, terminated, _trunc, info = envs.step(np.full(N_ENVS, 81))
    assert terminated.all() and (reward == -1).all() and list(info["reason"]) == ["two_passes"] * N_ENVS
    obs, reward, terminated, _trunc, info = envs.step(np.zeros(N_ENVS, np.int64))  # ignored: this step resets
    assert np.array_equal(obs, first) and not terminated.any() and (info["move_number"] == 0).all()
    envs.close()
