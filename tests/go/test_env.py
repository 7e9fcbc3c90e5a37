"""VideoGoEnv: the Gymnasium contract, determinism, opponents, illegal actions, render modes."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from tests.conftest import needs_gnugo
from vw_envs import GO_ENV_IDS
from vw_envs.errors import IllegalMoveError
from vw_envs.go.coords import from_gtp
from vw_envs.go.render import RenderConfig, frame_to_board


def rollout(env, seed, steps=40):
    obs, info = env.reset(seed=seed)
    frames, rng = [obs], np.random.default_rng(seed)
    for _ in range(steps):
        action = rng.choice(np.flatnonzero(info["action_mask"]))
        obs, _r, term, trunc, info = env.step(action)
        frames.append(obs)
        if term or trunc:
            break
    return frames


@pytest.mark.parametrize("env_id", GO_ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id", GO_ENV_IDS)
def test_spaces_and_info(env_id):
    env = gym.make(env_id)
    n = env.unwrapped.board_size
    assert env.observation_space == gym.spaces.Box(0, 255, (128, 128, 3), np.uint8)
    assert env.action_space == gym.spaces.Discrete(n * n + 1)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.uint8 and obs.shape == (128, 128, 3)
    assert info["action_mask"].dtype == bool and info["action_mask"].shape == (n * n + 1,)
    assert info["to_play"] == "black" and info["move_number"] == 0
    assert np.array_equal(env.unwrapped.action_masks(), info["action_mask"])
    action = env.action_space.sample(mask=info["action_mask"].astype("int8"))
    obs2, reward, term, trunc, info = env.step(action)
    assert info["to_play"] == "black" and info["move_number"] == 2  # the random opponent replied
    assert "opponent_frame" in info and "opponent_move" in info
    assert not np.shares_memory(obs, obs2)
    env.close()
    env.close()  # twice is fine


@pytest.mark.parametrize("env_id", GO_ENV_IDS)
def test_same_seed_same_frames(env_id):
    a, b = gym.make(env_id), gym.make(env_id)
    fa, fb = rollout(a, seed=7), rollout(b, seed=7)
    assert len(fa) == len(fb) and all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))
    fc = rollout(a, seed=8)
    assert not all(np.array_equal(x, y) for x, y in zip(fa, fc, strict=False))


def test_frames_never_alias():
    env = gym.make("VideoGo-9x9-v0", opponent="none")
    frames = rollout(env, seed=1, steps=10)
    copies = [f.copy() for f in frames]
    assert all(np.array_equal(f, c) for f, c in zip(frames, copies, strict=True))
    assert all(not np.shares_memory(frames[i], frames[j]) for i in range(5) for j in range(i + 1, 6))


def test_observation_is_the_board():
    env = gym.make("VideoGo-9x9-v0", opponent="none")
    env.reset(seed=0)
    for v in ("C3", "D4", "E5"):
        obs, *_ = env.step(from_gtp(v, 9))
    board = frame_to_board(obs, 9, RenderConfig())
    assert np.array_equal(board.reshape(-1), env.unwrapped.game.board_np)
    assert board[6, 2] == 1 and board[5, 3] == 2 and board[4, 4] == 1  # C3 black, D4 white, E5 black


def test_opponent_none_plays_both_colours_and_black_reward():
    env = gym.make("VideoGo-9x9-v0", opponent="none", komi=0.5)
    env.reset(seed=0)
    _, _, _, _, info = env.step(40)
    assert info["to_play"] == "white" and info["move_number"] == 1
    env.step(81)
    obs, reward, term, trunc, info = env.step(81)  # black passes too: black owns the board
    assert term and not trunc and reward == 1.0
    assert info["winner"] == "black" and info["score"] == 81 - 0.5 and info["reason"] == "two_passes"
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_white_agent_loses_when_passing_out():
    env = gym.make("VideoGo-9x9-v0", opponent="random", agent_color="white", komi=0.5)
    obs, info = env.reset(seed=3)
    assert info["move_number"] == 1 and info["to_play"] == "white"  # black (the opponent) opened
    _, reward, term, _, info = env.step(81)
    while not term:
        _, reward, term, trunc, info = env.step(81)
        assert not trunc
    assert reward == (1.0 if info["winner"] == "white" else -1.0)


def test_illegal_action_lose_and_raise():
    env = gym.make("VideoGo-9x9-v0", opponent="none")
    env.reset(seed=0)
    env.step(0)
    obs, reward, term, trunc, info = env.step(0)  # white plays on the occupied point
    assert term and reward == 1.0  # from Black's point of view: white forfeited
    assert info["reason"] == "illegal" and info["winner"] == "black"
    assert "illegal move A9 by white: occupied" in env.unwrapped.to_sgf()
    env = gym.make("VideoGo-9x9-v0", opponent="random", illegal_action="raise")
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(IllegalMoveError, match="illegal move A9 by black: occupied"):
        env.step(0)
    with pytest.raises(IllegalMoveError, match="off board"):
        env.step(999)


def test_move_cap_truncates():
    env = gym.make("VideoGo-9x9-v0", opponent="random", max_moves=10)
    _, info = env.reset(seed=0)
    steps, trunc = 0, False
    while not trunc:
        _, reward, term, trunc, info = env.step(np.flatnonzero(info["action_mask"][:-1])[0])
        assert not term
        steps += 1
    assert info["move_number"] == 10 and info["reason"] == "move_cap" and reward == 0.0
    assert steps == 5
    assert gym.make("VideoGo-19x19-v0").unwrapped.max_moves == 2 * 19 * 19


def test_setup_options_and_render_styles():
    env = gym.make("VideoGo-9x9-v0", opponent="none", last_move_marker=True, coordinates=True, frame_size=256)
    obs, info = env.reset(seed=0, options={"setup_black": [20, 24], "setup_white": [60], "to_play": "white"})
    assert info["to_play"] == "white" and obs.shape == (256, 256, 3)
    plain = gym.make("VideoGo-9x9-v0", opponent="none", frame_size=256).reset(seed=0)[0]
    assert not np.array_equal(obs, plain)  # coordinates and stones differ
    before = env.step(40)[0]
    after = env.step(41)[0]
    assert not np.array_equal(before, after)


def test_19x19_stones_are_legible_at_default_size():
    from vw_envs.go.render import BoardRenderer

    r = BoardRenderer(19, RenderConfig())
    empty = r.render(np.zeros(361, np.int8))
    for color in (1, 2):
        board = np.zeros(361, np.int8)
        board[180] = color
        changed = (r.render(board) != empty).any(axis=-1)
        ys, xs = np.nonzero(changed)
        assert ys.max() - ys.min() + 1 >= 5 and xs.max() - xs.min() + 1 >= 5  # a disc >= 5 px across


def test_human_render_mode_opens_a_window():
    env = gym.make("VideoGo-9x9-v0", render_mode="human", opponent="random")
    env.reset(seed=0)
    env.step(40)
    assert env.unwrapped._viewer is not None and env.unwrapped._viewer.is_open
    env.close()
    env.close()


def test_rgb_array_render_returns_copy():
    env = gym.make("VideoGo-9x9-v0", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    frame = env.render()
    assert np.array_equal(frame, obs) and not np.shares_memory(frame, obs)


@needs_gnugo
def test_gnugo_opponent_determinism_and_full_game():
    frames = []
    for _ in range(2):
        env = gym.make("VideoGo-9x9-v0", opponent="gnugo:level=1", agent_color="white")
        fr = rollout(env, seed=11, steps=500)
        frames.append(fr)
        env.close()
    assert len(frames[0]) == len(frames[1])
    assert all(np.array_equal(x, y) for x, y in zip(*frames, strict=True))


def test_actions_must_be_integers():
    from vw_envs.errors import InvalidActionError

    env = gym.make("VideoGo-9x9-v0", opponent="none", frame_size=64).unwrapped
    env.reset(seed=0)
    for bad in (3.7, "5", np.float32(2.0), np.array([3]), True):
        with pytest.raises(InvalidActionError, match="integer action index"):
            env.step(bad)
    assert env.game.move_number == 0  # nothing was played
    for good in (3, np.int64(4), np.array(5), np.int32(6)):  # SB3 and make_vec pass numpy integers
        env.step(good)
    assert env.game.move_number == 4
    env.close()


def test_reset_options_and_komi_are_checked():
    from vw_envs.errors import InvalidActionError

    env = gym.make("VideoGo-9x9-v0", opponent="none", frame_size=64).unwrapped
    with pytest.raises(TypeError, match="options must be a dict"):
        env.reset(options="str")
    with pytest.raises(InvalidActionError, match="Z99"):
        env.reset(options={"setup_black": ["Z99"]})
    env.reset(options={"setup_black": [np.int64(40)]})
    for komi in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="komi must be a finite number"):
            gym.make("VideoGo-9x9-v0", komi=komi)
    env.close()
