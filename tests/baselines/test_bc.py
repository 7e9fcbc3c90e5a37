"""Behaviour cloning for real: a recorded dataset, the shared loader, held-out metrics, the bc: player."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from vw_agent.baselines import BaselineError
from vw_agent.baselines.bc import BCAgent, BCConfig, train_bc
from vw_agent.data.record import RecordConfig, record
from vw_envs.players import make_player

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def go_dataset(tmp_path_factory):
    """12 random-play 9x9 games at 64 px (~2000 frames), 10 train / 2 val: cheap, and every label is real."""
    out = tmp_path_factory.mktemp("ds") / "go9-random"
    record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), episodes=12, frame_size=64,
                        split_fractions={"train": 0.75, "val": 0.25, "test": 0.0}), progress=False)
    return out


@pytest.fixture(scope="module")
def bc_run(go_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "bc"
    summary = train_bc(BCConfig(str(go_dataset), str(out), epochs=8, batch_size=64, lr=2e-3, progress=False))
    return out, summary


@pytest.mark.slow
def test_bc_lowers_its_loss_and_beats_random_on_held_out_frames(bc_run):
    """"Beats random" = on the val split (games never trained on), lower cross-entropy than the uniform
    predictor over all 82 moves (log 82 = 4.407) and higher top-1 accuracy than it (1/82), unmasked.
    With random-play labels the best possible is about log(#legal), so this checks that it learnt where
    moves can go from pixels alone; the real oracle numbers come from GNU Go / KataGo datasets."""
    out, summary = bc_run
    hist = summary["history"]
    assert summary["train_frames"] > 1000 and summary["val_frames"] > 100
    assert hist[-1]["train_loss"] < hist[0]["train_loss"] - 0.05
    assert summary["uniform"]["loss"] == pytest.approx(math.log(82))
    assert hist[-1]["val_loss"] < math.log(82) - 0.02
    assert hist[-1]["val_accuracy"] > 1 / 82
    assert summary["peak_rss_mib"]["self"] > 0 and any((out / "tb").iterdir())
    saved = json.loads((out / "config.json").read_text())
    assert saved["kind"] == "bc" and saved["config"]["data"] == summary["data"] and saved["n_out"] == 82


@pytest.mark.slow
def test_bc_player_plays_legal_moves(bc_run):
    out, _ = bc_run
    player = make_player(f"bc:{out}")
    assert player.render_config.frame_size == 64
    env = gym.make("VideoGo-9x9-v0", opponent="random", frame_size=128, max_moves=40).unwrapped
    _, info = env.reset(seed=1)
    player.reset(9, env.komi, "black", seed=1)
    done = False
    while not done:
        move = player.genmove(env.state_for(player))
        assert info["action_mask"][move]
        _, _, terminated, truncated, info = env.step(move)
        done = terminated or truncated
    assert info["reason"] != "illegal"
    env.close()


@pytest.mark.slow
def test_bc_eval_scores_move_cap_games_only_when_asked(bc_run):
    """BC has no training env, so games cut at the move cap are not wins unless --score-move-cap says so."""
    from vw_agent.baselines.sb3_agent import evaluate_run

    out, _ = bc_run
    plain = evaluate_run(out, 2, opponent="random")
    scored = evaluate_run(out, 2, opponent="random", score_move_cap=True)
    assert plain["move_cap_scored"] is False and scored["move_cap_scored"] is True
    assert plain["move_cap_games"] == scored["move_cap_games"]  # same seeds, same games
    # Unscored, a game cut at the cap is never a win; scored, it may be.
    assert plain["win_rate"] * 2 <= 2 - plain["move_cap_games"] and plain["win_rate"] <= scored["win_rate"]


def test_bc_agent_masks_and_rejects_wrong_runs(bc_run, tmp_path):
    from vw_agent.baselines import BaselineError

    out, _ = bc_run
    agent = BCAgent(out)
    mask = np.zeros(82, bool)
    mask[[7, 60]] = True
    assert agent.act(np.zeros((64, 64, 3), np.uint8), mask) in (7, 60)
    with pytest.raises(BaselineError, match="not a baseline run folder"):
        make_player(f"bc:{tmp_path}")
    with pytest.raises(BaselineError, match="a bc run, not sb3; use bc:"):
        make_player(f"sb3:{out}")


@pytest.mark.slow
def test_bc_tabletop_regresses_actions_and_acts(tmp_path):
    """Tabletop BC: 7-D actions of the scripted expert; held-out MSE below the untrained net's and below
    uniformly random actions' (1/3 + a^2); then the run acts as a ``bc:`` tabletop policy."""
    from vw_agent.baselines.sb3_agent import evaluate_run
    from vw_envs.tabletop.policies import make_policy

    data = tmp_path / "drawer"
    record(RecordConfig(env_id="VideoTabletop-OpenDrawer-v0", out=str(data), episodes=4, frame_size=64,
                        policy="expert", split_fractions={"train": 0.5, "val": 0.5, "test": 0.0}), progress=False)
    out = tmp_path / "bc-drawer"
    summary = train_bc(BCConfig(str(data), str(out), epochs=6, batch_size=32, lr=1e-3, progress=False))
    final = summary["history"][-1]
    assert summary["val_frames"] > 0 and final["train_loss"] < summary["history"][0]["train_loss"]
    assert final["val_loss"] < summary["val_before"]["loss"] and final["val_loss"] < summary["uniform"]["loss"]

    env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=64)
    policy = make_policy(f"bc:{out}", env)
    obs, info = env.reset(seed=0)
    policy.reset(seed=0)
    act = policy.act(obs, info)
    # conditioned on the task, as the VideoWorld agent is: one run serves a multi-task dataset
    assert json.loads((out / "config.json").read_text())["n_cond"] == 20
    assert not np.array_equal(policy.act(obs, {**info, "task": "turn_on_led"}), act)
    with pytest.raises(BaselineError, match="unknown task 'fly'; valid tasks: close_drawer") as e:
        policy.act(obs, {**info, "task": "fly"})
    assert "\n" not in str(e.value)
    env.step(act)
    env.close()
    assert act.shape == (7,) and act.dtype == np.float32 and np.all(np.abs(act) <= 1)
    res = evaluate_run(out, 1)
    assert res["episodes"] == 1 and res["success_rate"] in (0.0, 1.0)


@pytest.mark.slow
def test_bc_budget_stops_inside_an_epoch(go_dataset, tmp_path):
    summary = train_bc(BCConfig(str(go_dataset), str(tmp_path / "bc"), epochs=5, max_minutes=0.0, progress=False))
    assert summary["steps"] == 1 and summary["epochs"] == 1 and summary["labels"] == "recorded"
    assert (tmp_path / "bc" / "model.pt").exists()


@pytest.mark.slow
def test_vpt_trains_on_what_the_idm_reads(go_dataset, tmp_path):
    """VPT: a VideoWorld run's code-blind IDM labels the train split. Its agreement with the recorded moves on the
    val split is reported, and equals the IDM's own accuracy there."""
    from tests.agent.conftest import train_tiny_run
    from vw_agent.baselines.bc import _dataset, _labeller
    from vw_agent.data.format import read_meta

    run = train_tiny_run(go_dataset, tmp_path / "vw", "tiny-move")
    summary = train_bc(BCConfig(str(go_dataset), str(tmp_path / "vpt"), epochs=1, label_run=str(run),
                                progress=False))
    assert summary["labels"] == f"the IDM of {run} (VPT)" and summary["steps"] > 0
    label = _labeller(str(run), read_meta(str(go_dataset)))
    val = _dataset(str(go_dataset), "val")
    right = sum(int(label(w["frames"][None])[0] == w["actions"][0]) for w in (val[i] for i in range(len(val))))
    assert summary["label_agreement_val"] == pytest.approx(right / len(val))
    assert "actions" not in _dataset(str(go_dataset), "train", actions=False)[0]  # the record's moves stay unread
    train_tiny_run(go_dataset, tmp_path / "tiny", "tiny")  # tiny's IDM reads the codes as well
    with pytest.raises(BaselineError, match="reads the LDM's codes too"):
        train_bc(BCConfig(str(go_dataset), str(tmp_path / "x"), label_run=str(tmp_path / "tiny"), progress=False))
