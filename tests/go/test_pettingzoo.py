"""The two-player PettingZoo env: PettingZoo's own API and seed tests, and the frames of the Gymnasium env."""

import gymnasium as gym
import numpy as np
import pytest

from vw_envs.go import pettingzoo_env

pytest.importorskip("pettingzoo")
from pettingzoo.test import api_test, seed_test  # noqa: E402


def test_api_test():
    env = pettingzoo_env(board_size=9, frame_size=64)
    api_test(env, num_cycles=200)  # 200 cycles of two agents: a whole random 9x9 game (capped at 162 moves)


def test_seed_test():
    seed_test(lambda: pettingzoo_env(board_size=9, frame_size=64), num_cycles=100)


def test_agents_spaces_and_mask():
    env = pettingzoo_env(board_size=9, frame_size=64)
    env.reset(seed=0)
    assert env.possible_agents == ["black_0", "white_0"] and env.agent_selection == "black_0"
    assert env.observation_space("white_0")["observation"] == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert env.action_space("black_0") == gym.spaces.Discrete(82)
    obs, *_ = env.last()
    assert obs["action_mask"].dtype == np.int8 and obs["action_mask"].sum() == 82  # empty board: all legal
    assert env.observe("white_0")["action_mask"].sum() == 0  # not White's turn
    env.step(40)  # Black takes the centre
    assert env.agent_selection == "white_0"
    assert env.observe("white_0")["action_mask"][40] == 0


def test_same_frames_as_gymnasium_env():
    """Both agents see the Gymnasium env's frame (opponent="none") after the same moves."""
    aec = pettingzoo_env(board_size=9, frame_size=64)
    gym_env = gym.make("VideoGo-9x9-v0", opponent="none", frame_size=64)
    aec.reset(seed=3)
    frame, info = gym_env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(30):
        assert np.array_equal(aec.observe(aec.agent_selection)["observation"], frame)
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        aec.step(action)
        frame, *_rest, info = gym_env.step(action)
    gym_env.close()
    aec.close()


def test_game_end_rewards_and_infos():
    """Two passes end the game: the area count decides (komi 7.5 on an empty board: White), zero-sum rewards."""
    env = pettingzoo_env(board_size=9, frame_size=64)
    env.reset(seed=0)
    env.step(81)
    env.step(81)
    assert all(env.terminations.values()) and not any(env.truncations.values())
    assert env.rewards == {"black_0": -1.0, "white_0": 1.0}
    assert env.infos["black_0"]["winner"] == "white" and env.infos["white_0"]["reason"] == "two_passes"
    for _agent in env.agent_iter():
        _obs, _r, term, _trunc, _info = env.last()
        assert term
        env.step(None)
    assert env.agents == []


def test_illegal_move_loses():
    env = pettingzoo_env(board_size=9, frame_size=64)
    env.reset(seed=0)
    env.step(40)
    env.step(40)  # White on Black's stone
    assert env.rewards == {"black_0": 1.0, "white_0": -1.0}
    assert env.infos["white_0"]["reason"] == "illegal"
