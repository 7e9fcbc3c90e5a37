"""The VideoWorld agent on the tabletop: a tiny run trained on real expert video, then acting in the real env."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import vw_envs  # noqa: F401  (registers the ids)
from vw_agent.agent import export_run
from vw_agent.agent_tabletop import VideoWorldPolicy
from vw_agent.checkpoint import STAGES, tabletop_task_ids
from vw_agent.data.reader import DatasetReader
from vw_agent.data.record import RecordConfig, record
from vw_agent.eval.tabletop import run_episode
from vw_agent.train import TrainConfig, episode_conds, train_stage
from vw_agent.transformer import GPT
from vw_envs.errors import SpecError, VWError
from vw_envs.tabletop.policies import make_policy

TASKS = ("open_drawer", "turn_on_led")
MULTI = "VideoTabletop-MultiTask-v0"


def cfg(data, out, stage, preset="tiny-tabletop", **kw) -> TrainConfig:
    return TrainConfig(stage=stage, data=str(data), out=str(out), preset=preset, steps=3, ckpt_every=3,
                       eval_windows=8, label_fraction=1.0, **kw)


@pytest.fixture(scope="module")
def tabletop_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("agent-tt") / "multi"
    record(RecordConfig(env_id=MULTI, out=str(out), episodes=6, policy="expert", tasks=",".join(TASKS),
                        frame_size=64), progress=False)
    return out


@pytest.fixture(scope="module")
def tabletop_run(tabletop_dataset, tmp_path_factory):
    """Every stage of tiny-tabletop, 3 steps each; the conditions the transformer saw are kept."""
    out = tmp_path_factory.mktemp("tt-run")
    torch.set_num_threads(1)
    seen, loss_on = [], GPT.loss_on

    def spy(self, frame_tokens, codes, cond):
        seen.append(cond.clone())
        return loss_on(self, frame_tokens, codes, cond)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(GPT, "loss_on", spy)
        for stage in STAGES:
            train_stage(cfg(tabletop_dataset, out, stage), progress=False)
    return out, seen


def test_transformer_is_conditioned_on_the_task(tabletop_dataset, tabletop_run):
    _, seen = tabletop_run
    reader = DatasetReader(tabletop_dataset)
    ids = tabletop_task_ids()
    assert list(ids) == sorted(ids) and len(ids) == 20  # one fixed order, whatever the dataset holds
    expected = {ep: ids[reader.attrs(ep)["task"]] for ep in reader.split_ids(None)}
    assert episode_conds(tabletop_dataset, reader.meta, 20) == expected
    assert sorted(set(expected.values())) == sorted(ids[t] for t in TASKS)
    conds = torch.cat(seen)  # 3 training steps of 16 windows, then the held-out windows
    assert len(conds) >= 3 * 16 and set(conds.tolist()) <= set(expected.values())
    assert len(set(conds.tolist())) == 2


def test_cond_vocab_must_cover_the_tasks(tabletop_dataset, tmp_path):
    with pytest.raises(VWError, match=r"task '(open_drawer|turn_on_led)' is condition id \d+, but the preset's "
                                      r"cond_vocab is 2; use a tabletop preset") as e:
        train_stage(cfg(tabletop_dataset, tmp_path, "transformer", preset="tiny"), progress=False)
    assert "\n" not in str(e.value)


def test_idm_regresses_the_action(tabletop_run):
    out, _ = tabletop_run
    m = json.loads((out / "idm-metrics.json").read_text())
    assert np.isfinite(m["action_mse"]) and 0 < m["zero_action_mse"] <= 1  # actions lie in [-1, 1]
    assert m["action_mse"] == pytest.approx(m["loss"], rel=1e-5) and "action_accuracy" not in m
    assert (out / "transformer-metrics.json").exists()


def test_policy_acts_in_the_real_env(tabletop_run):
    out, _ = tabletop_run
    env = gym.make(MULTI, frame_size=64)
    policy = make_policy(f"videoworld:run={out},temperature=1,seed=3", env)
    try:
        assert isinstance(policy, VideoWorldPolicy) and policy.name == f"videoworld:{out}"
        obs, info = env.reset(seed=0, options={"task": "open_drawer"})
        policy.reset(seed=0)
        for _ in range(5):
            a = policy.act(obs, info)
            assert a.shape == (7,) and a.dtype == np.float32 and np.isfinite(a).all() and np.abs(a).max() <= 1
            assert policy.last_imagination[0].shape == (64, 64, 3) and policy.last_imagination[0].dtype == np.uint8
            obs, _r, _term, _trunc, info = env.step(a)
        with pytest.raises(SpecError, match="unknown task 'fly'; valid tasks: close_drawer") as e:
            policy.act(obs, {**info, "task": "fly"})
        assert "\n" not in str(e.value)
    finally:
        policy.close()
        env.close()
    # a whole episode through the evaluation (ends at the 120-step time limit unless it succeeds)
    res = run_episode(f"videoworld:{out}", "turn_on_led", seed=1, frame_size=64)
    assert 1 <= res["steps"] <= 120 and res["success"] in (True, False)


def test_cli_imagine_tabletop(tabletop_run, tmp_path):
    """Imagined frames beside the real env stepped open loop with the imagined actions, and the errors."""
    from click.testing import CliRunner
    from PIL import Image

    from vw_cli.main import cli

    out, _ = tabletop_run
    gif = tmp_path / "imagined.gif"
    res = CliRunner().invoke(cli, ["imagine", "--run", str(out), "--env", MULTI, "--task", "open_drawer",
                                   "--steps", "3", "--gif", str(gif)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "imagining 3 steps of open_drawer from reset(seed=0)" in res.output
    assert "mean MSE over 3 steps: imagined 0." in res.output and "(imagined left, real right)" in res.output
    with Image.open(gif) as im:
        assert im.size == (2 * 64 * 4, 64 * 4) and im.n_frames >= 2  # start + 3 steps, side by side, 4x
    run = ["imagine", "--run", str(out)]
    for args, message in (([*run, "--env", MULTI, "--moves", "E5"], "are for Go envs"),
                          ([*run, "--env", MULTI, "--task", "fly"], "unknown task 'fly'"),
                          ([*run, "--env", "VideoGo-9x9-v0"], f"learned {MULTI}; imagine with --env {MULTI}")):
        res = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert res.exit_code != 0 and message in res.output and "Traceback" not in res.output, res.output
    res = CliRunner().invoke(cli, ["imagine", "--env", MULTI], catch_exceptions=False)
    assert res.exit_code == 2 and "no tabletop checkpoint ships" in res.output


def test_save_load_gives_the_same_action(tabletop_run, tmp_path):
    out, _ = tabletop_run
    shipped = export_run(out, tmp_path / "shipped")
    env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=64)
    try:
        obs, info = env.reset(seed=2)
        actions = []
        for run in (out, shipped, out):
            policy = make_policy(f"videoworld:run={run},temperature=0", env)
            policy.reset(seed=5)
            actions.append(policy.act(obs, info))
        np.testing.assert_array_equal(actions[0], actions[1])
        np.testing.assert_array_equal(actions[0], actions[2])
    finally:
        env.close()


def test_policy_spec_errors(tabletop_run):
    out, _ = tabletop_run
    env = gym.make(MULTI, frame_size=80)
    try:
        with pytest.raises(SpecError, match="sees 64 px frames, the env renders 80 px; make the env with frame_size"):
            make_policy(f"videoworld:{out}", env)
    finally:
        env.close()
    with pytest.raises(SpecError, match="give a tabletop run folder"):
        make_policy("videoworld:temperature=0")
