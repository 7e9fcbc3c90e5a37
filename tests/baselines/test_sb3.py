"""SB3 baselines for real: tiny learns on each env family, save -> load -> same predict, players, errors."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
import pytest
import torch

from tests.conftest import needs_gnugo
from vw_agent.baselines import BaselineError
from vw_agent.baselines.sb3 import (
    SB3Config,
    algo_class,
    hyperparams_for,
    load_hyperparams,
    make_vec,
    resolve,
    train,
    train_model,
)
from vw_agent.baselines.sb3_agent import FramePipeline, SB3Agent, evaluate_run
from vw_envs.players import make_player
from vw_envs.tabletop.policies import make_policy

torch.set_num_threads(1)
GO9, DRAWER = "VideoGo-9x9-v0", "VideoTabletop-OpenDrawer-v0"

# Tiny settings per algorithm: a couple of updates, and Go games capped at 12 moves so episodes end.
TINY: dict[str, dict] = {
    "ppo": {"n_envs": 2, "n_steps": 16, "batch_size": 16, "n_epochs": 1},
    "maskable-ppo": {"n_envs": 2, "n_steps": 16, "batch_size": 16, "n_epochs": 1},
    "dqn": {"n_envs": 1, "buffer_size": 64, "learning_starts": 8, "batch_size": 8, "target_update_interval": 8},
    "sac": {"n_envs": 1, "buffer_size": 64, "learning_starts": 8, "batch_size": 8},
}
CASES = [("ppo", GO9), ("dqn", GO9), ("maskable-ppo", GO9), ("ppo", DRAWER), ("sac", DRAWER)]


def tiny_config(algo: str, env_id: str, out, **kw) -> SB3Config:
    hp = dict(TINY[algo])
    if env_id.startswith("VideoGo"):
        hp["env_kwargs"] = {"max_moves": 12}
    else:
        hp["env_kwargs"] = {"reward_type": "dense"}
    kw.setdefault("timesteps", 32)
    return SB3Config(algo, env_id, str(out), eval_freq=kw.pop("eval_freq", 0), checkpoint_freq=0, subproc=False,
                       progress=False, hyperparams=hp, **kw)


@pytest.fixture(scope="module")
def mppo_run(tmp_path_factory):
    """A tiny MaskablePPO run on 9x9 with one periodic evaluation (win rate) and a checkpoint."""
    out = tmp_path_factory.mktemp("runs") / "mppo"
    cfg = tiny_config("maskable-ppo", GO9, out, eval_freq=32, eval_episodes=2)
    cfg.checkpoint_freq = 32
    train(cfg)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("algo", "env_id"), CASES)
def test_learn_save_load_same_predict(algo, env_id, tmp_path):
    out = tmp_path / "run"
    trained, summary = train_model(tiny_config(algo, env_id, out))
    assert summary["timesteps"] >= 32 and summary["peak_rss_mib"]["self"] > 0
    assert (out / "model.zip").exists() and any((out / "tb").iterdir())
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "sb3" and config["config"]["algo"] == algo and config["hyperparams"]["n_envs"]

    r = resolve(SB3Config(algo, env_id, str(out), hyperparams=config["config"]["hyperparams"]))
    venv = make_vec(SB3Config(algo, env_id, str(out)), r["env_kwargs"], 1, r["frame_stack"], 0, False)
    obs = np.concatenate([venv.reset()] + [venv.step(np.array([venv.action_space.sample()]))[0] for _ in range(3)])
    venv.close()
    assert obs.shape[1:] == (3 * r["frame_stack"], 64, 64)
    loaded = algo_class(algo).load(str(out / "model.zip"), device="cpu")
    a1, _ = trained.predict(obs, deterministic=True)
    a2, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)

    agent = SB3Agent(out)
    frame = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    if env_id == GO9:
        mask = np.zeros(82, bool)
        mask[[3, 40, 81]] = True  # only three legal moves: the agent must pick one of them
        assert agent.act(frame, mask) in (3, 40, 81)
    else:
        policy = make_policy(f"sb3:{out}")
        env = gym.make(env_id, frame_size=64)
        o, info = env.reset(seed=0)
        policy.reset(seed=0)
        act = policy.act(o, info)
        env.step(act)
        env.close()
        assert act.shape == (7,) and act.dtype == np.float32 and np.all(np.abs(act) <= 1)


def test_max_minutes_stops_training_and_still_saves(tmp_path):
    """A spent wall-clock budget stops learn() at its first step, long before --timesteps; the model is saved."""
    out = tmp_path / "run"
    summary = train(tiny_config("ppo", GO9, out, timesteps=100_000, max_minutes=1e-6))
    assert summary["stopped_by_time"] is True and summary["timesteps"] < 100_000
    assert (out / "model.zip").exists() and json.loads((out / "summary.json").read_text()) == summary
    assert train(tiny_config("ppo", GO9, tmp_path / "full"))["stopped_by_time"] is False
    with pytest.raises(BaselineError, match="max_minutes must be > 0"):
        SB3Config("ppo", GO9, "x", max_minutes=0)


def test_frame_pipeline_matches_vec_frame_stack(tmp_path):
    """The players' preprocessing is the training envs' one: same frames, same stack."""
    cfg = SB3Config("ppo", GO9, str(tmp_path))
    kwargs = {"frame_size": 64, "opponent": "random", "max_moves": 20}
    venv = make_vec(cfg, kwargs, 1, 3, 5, False)
    raw = gym.make(GO9, **kwargs)
    pipe = FramePipeline(64, 3)
    obs, (frame, _) = venv.reset(), raw.reset(seed=5)
    np.testing.assert_array_equal(obs[0], pipe(frame).transpose(2, 0, 1))
    for a in (40, 30, 50):
        obs = venv.step(np.array([a]))[0]
        frame = raw.step(a)[0]
        np.testing.assert_array_equal(obs[0], pipe(frame).transpose(2, 0, 1))
    venv.close()
    raw.close()


@pytest.mark.slow
def test_periodic_eval_checkpoint_and_eval_command(mppo_run):
    ev = np.load(mppo_run / "evaluations.npz")
    assert ev["results"].shape == (1, 2) and ev["successes"].shape == (1, 2)
    summary = json.loads((mppo_run / "summary.json").read_text())
    assert set(summary["last_eval"]) == {"timesteps", "mean_reward", "std_reward", "success_rate"}
    assert (mppo_run / "best_model.zip").exists() and list((mppo_run / "checkpoints").glob("model_*_steps.zip"))
    res = evaluate_run(mppo_run, 2, opponent="random")
    assert res["episodes"] == 2 and 0 <= res["win_rate"] <= 1 and res["opponent"] == "random"
    assert json.loads((mppo_run / "eval.json").read_text()) == res


@needs_gnugo
@pytest.mark.slow
@pytest.mark.gnugo
def test_sb3_player_plays_a_full_game_against_gnugo(mppo_run):
    """The run as a player (legal moves only) plays a whole uncapped 9x9 game against GNU Go level 1."""
    env = gym.make(GO9, opponent="gnugo:level=1", frame_size=128).unwrapped  # the player renders its own 64 px
    player = make_player(f"sb3:run={mppo_run},model=best_model")
    assert player.render_config.frame_size == 64
    _, info = env.reset(seed=0)
    player.reset(9, env.komi, "black", seed=0)
    done, moves = False, 0
    while not done:
        move = player.genmove(env.state_for(player))
        assert info["action_mask"][move]
        _, _, terminated, truncated, info = env.step(move)
        done, moves = terminated or truncated, moves + 1
    env.close()
    player.close()
    assert info["reason"] in ("two_passes", "move_cap", "resign") and info["reason"] != "illegal"
    assert moves > 5


@pytest.mark.slow
def test_self_play_trains_against_a_frozen_copy(tmp_path):
    cfg = tiny_config("maskable-ppo", GO9, tmp_path / "sp", self_play=True, selfplay_every=16)
    r = resolve(cfg)
    assert r["env_kwargs"]["opponent"].startswith("sb3:run=") and r["eval_env_kwargs"]["opponent"] == "random"
    train(cfg)
    assert (tmp_path / "sp" / "selfplay.zip").exists()


def test_yaml_rl_zoo_defaults_and_buffer_cap():
    ppo = load_hyperparams("ppo")[GO9]
    assert (ppo["n_envs"], ppo["n_steps"], ppo["n_epochs"], ppo["batch_size"]) == (8, 128, 4, 256)
    assert (ppo["learning_rate"], ppo["clip_range"], ppo["ent_coef"]) == ("lin_2.5e-4", "lin_0.1", 0.01)
    for algo in ("dqn", "sac"):
        for hp in load_hyperparams(algo).values():
            assert hp["buffer_size"] <= 50_000
    assert hyperparams_for("dqn", GO9)["optimize_memory_usage"] is True


@pytest.mark.parametrize(("algo", "env_id", "needle"), [
    ("sac", GO9, "sac needs continuous (Box) actions"),
    ("dqn", DRAWER, "dqn needs Discrete actions"),
    ("maskable-ppo", DRAWER, "maskable-ppo needs action masks"),
    ("ppo", "Nope-v0", "unknown env 'Nope-v0'; valid: VideoGo-9x9-v0"),
])
def test_errors_list_valid_choices(algo, env_id, needle):
    with pytest.raises(BaselineError, match=re.escape(needle)) as e:
        hyperparams_for(algo, env_id)
    message = str(e.value)
    assert "\n" not in message and ("valid: " in message or f"algorithms for {env_id}: ppo" in message)
    with pytest.raises(BaselineError, match="unknown algorithm 'a2c'; valid: ppo, dqn, maskable-ppo, sac, bc"):
        SB3Config("a2c", GO9, "x")
    with pytest.raises(BaselineError, match="obs_size must be in 36..84"):
        SB3Config("ppo", GO9, "x", obs_size=128)


def test_player_spec_errors(tmp_path):
    from vw_envs.errors import SpecError

    with pytest.raises(BaselineError, match="not a baseline run folder"):
        make_player(f"sb3:{tmp_path}")
    with pytest.raises(SpecError, match="unknown key 'foo' for sb3; valid keys: greedy, model, reload, run, seed"):
        make_player(f"sb3:run={tmp_path},foo=1")


def test_resize_frame_is_a_block_mean_at_integer_factors():
    from vw_agent.baselines.sb3 import resize_frame

    frame = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    small = resize_frame(frame, 64)
    assert small.shape == (64, 64, 3) and small.dtype == np.uint8
    expected = frame[:2, :2].reshape(4, 3).astype(float).mean(0)
    assert np.all(np.abs(small[0, 0].astype(float) - expected) <= 0.5 + 1e-9)
    assert resize_frame(small, 64) is small
    try:
        import cv2  # noqa: F401
    except ImportError:  # without OpenCV only integer factors can be resized
        with pytest.raises(BaselineError, match="multiple of 64"):
            resize_frame(np.zeros((100, 100, 3), np.uint8), 64)
    else:
        assert resize_frame(np.zeros((100, 100, 3), np.uint8), 64).shape == (64, 64, 3)


@pytest.mark.parametrize("score_move_cap", [False, True])
def test_go_outcome_scores_games_cut_at_the_move_cap(score_move_cap):
    """Against random, games end at the move cap; with score_move_cap they pay +-1 by area count."""
    from vw_agent.baselines.sb3 import make_env

    env = make_env(GO9, {"frame_size": 64, "opponent": "random", "max_moves": 30}, 64, score_move_cap)
    _, info = env.reset(seed=3)
    rng = np.random.default_rng(3)
    done = False
    while not done:
        legal = np.flatnonzero(info["action_mask"][:-1])
        _, reward, terminated, truncated, info = env.step(int(rng.choice(legal)) if len(legal) else 81)
        done = terminated or truncated
    env.close()
    assert truncated and info["reason"] == "move_cap" and info["winner"] in ("black", "white")
    won = info["winner"] == "black"
    if score_move_cap:
        assert reward == (1.0 if won else -1.0) and info["is_success"] == won
    else:
        assert reward == 0.0 and info["is_success"] is False
