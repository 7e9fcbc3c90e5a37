"""The VideoWorld agent on the tabletop: a tiny run trained on real expert video, then acting in the real env."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
from vw_agent.tokenizer import to_uint8
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
    # the chunk's first action, and the IDM given another window's codes and frame t+1 (the imagination's test)
    assert np.isfinite(m["first_action_mse"]) and np.isfinite(m["shuffled_next_action_mse"]) and m["windows"] > 0


def test_idm_reads_a_chunk_of_actions(tabletop_run):
    """tiny-tabletop's IDM reads 2 actions per imagination, trained on each window's first 2 actions."""
    from vw_agent.agent import VideoWorldAgent
    from vw_agent.train import idm_targets

    out, _ = tabletop_run
    agent = VideoWorldAgent.load(out)
    assert agent.idm.config.chunk == 2
    frame = torch.zeros(3, 64, 64, 3, dtype=torch.uint8)
    chunk, loss = agent.idm(frame, torch.zeros(3, 2, dtype=torch.long), frame, torch.zeros(3, 2, 7))
    assert chunk.shape == (3, 2, 7) and loss.item() >= 0
    window = torch.arange(3 * 3 * 7, dtype=torch.float32).reshape(3, 3, 7)  # a window of H=3 actions
    assert torch.equal(idm_targets(agent.idm, window), window[:, :2])
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
        assert policy.imaginations == 3  # a chunk of 2 actions per imagination: steps 1, 3 and 5 imagine
        # the LDM rendered a frame for each step of the chunk, and each step shows its own
        assert policy.agent.future.shape == (1, 2, 64, 64, 3)
        assert np.array_equal(policy.last_imagination[0], to_uint8(policy.agent.future[0, 0]).numpy())
        policy.act(obs, {**info, "task": "turn_on_led"})  # a new task drops the rest of the chunk
        assert policy.imaginations == 4
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
    res = CliRunner().invoke(cli, ["imagine", "--env", MULTI, "--task", "turn_on_led", "--steps", "2"],
                             catch_exceptions=False)  # no --run: the shipped tabletop checkpoint
    assert res.exit_code == 0 and "imagining 2 steps of turn_on_led" in res.output, res.output


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
    with pytest.raises(SpecError, match="unknown key 'tempo'"):
        make_policy("videoworld:tempo=0")
    env = gym.make(MULTI, frame_size=64)
    try:
        with pytest.raises(SpecError, match=r"execute=3: this run's IDM reads 2 actions per imagination") as e:
            make_policy(f"videoworld:run={out},execute=3", env)
        assert "\n" not in str(e.value)
        policy = make_policy(f"videoworld:run={out},execute=1", env)
        obs, info = env.reset(seed=0, options={"task": "open_drawer"})
        policy.reset(seed=0)
        for _ in range(3):
            obs, *_, info = env.step(policy.act(obs, info))
        assert policy.imaginations == 3  # execute=1: imagine before every step
    finally:
        env.close()


def _run_with(src: Path, run: Path, stages: tuple[str, ...]) -> Path:
    """A new run folder holding ``stages`` copied from run ``src`` (as the ablations reuse a run's stages)."""
    run.mkdir()
    for stage in stages:
        shutil.copy(src / f"{stage}.pt", run / f"{stage}.pt")
    return run


def _acts_three_steps(env, run: Path, task: str):
    """Run ``run``'s policy for 3 steps of ``task``, each action 7-D within [-1, 1]; the policy afterwards."""
    policy = make_policy(f"videoworld:run={run},seed=1", env)
    obs, info = env.reset(seed=0, options={"task": task})
    policy.reset(seed=0)
    for _ in range(3):
        a = policy.act(obs, info)
        assert a.shape == (7,) and np.abs(a).max() <= 1
        obs, *_, info = env.step(a)
    return policy


def test_agent_without_the_ldm_shares_the_runs_tokenizer_and_ldm(tabletop_dataset, tabletop_run, tmp_path):
    """The "video only" ablation: a preset whose GPT imagines frame t+1's tokens with no codes reuses a run's
    tokenizer and LDM (their configs match), trains its own GPT and IDM, and acts; another preset's LDM is
    refused in one line."""
    from vw_agent.checkpoint import CheckpointError

    out, _ = tabletop_run
    run = _run_with(out, tmp_path / "noldm", ("tokenizer", "ldm"))
    for stage in ("transformer", "idm"):
        train_stage(cfg(tabletop_dataset, run, stage, preset="tiny-tabletop-noldm"), progress=False)
    env = gym.make(MULTI, frame_size=64)
    try:
        policy = _acts_three_steps(env, run, "open_drawer")
        assert policy.agent.gpt.config.codes_per_step == 0 and not policy.agent.idm.config.use_codes
        assert policy.imaginations == 2 and policy.agent.future is None  # the GPT drew frame t+1 itself
        # shipped, it leaves out the LDM it never uses, and acts as before
        shipped = export_run(run, tmp_path / "shipped")
        assert not (shipped / "ldm.pt").exists() and (shipped / "idm.pt").exists()
        again = make_policy(f"videoworld:run={shipped},seed=1", env)
        obs, info = env.reset(seed=0, options={"task": "open_drawer"})
        policy.reset(seed=0)
        again.reset(seed=0)
        np.testing.assert_array_equal(policy.act(obs, info), again.act(obs, info))
    finally:
        env.close()
    with pytest.raises(CheckpointError, match=r"made with preset 'tiny-tabletop', not 'tabletop-chunk'") as e:
        train_stage(cfg(tabletop_dataset, run, "transformer", preset="tabletop-chunk"), progress=False)
    assert "\n" not in str(e.value)


def test_gpt_of_the_codes_alone_acts_through_the_ldm(tabletop_dataset, tabletop_run, tmp_path):
    """tabletop-code's path at test size: a GPT trained on the codes alone (no frame t+1 in its sequence) reuses
    a run's tokenizer, LDM and IDM, acts in chunks with the LDM rendering every step, and refuses to draw frame
    t+1 itself."""
    from vw_agent.agent import AgentConfig, VideoWorldAgent
    from vw_agent.checkpoint import CheckpointError

    out, _ = tabletop_run
    run = _run_with(out, tmp_path / "code", ("tokenizer", "ldm", "idm"))
    train_stage(cfg(tabletop_dataset, run, "transformer", preset="tiny-tabletop-code"), progress=False)
    env = gym.make(MULTI, frame_size=64)
    try:
        policy = _acts_three_steps(env, run, "turn_on_led")
        assert policy.agent.gpt.config.next_frame_loss_weight == 0
        chunk = policy.agent.idm.config.chunk
        assert policy.imaginations == -(-3 // chunk) and policy.agent.future.shape[1] == chunk  # the LDM drew them
    finally:
        env.close()
    with pytest.raises(CheckpointError, match="codes alone") as e:
        VideoWorldAgent.load(run, AgentConfig(imagine="gpt"))
    assert "\n" not in str(e.value)


def test_cli_chain_gif_shows_what_the_agent_saw_beside_what_it_imagined(tabletop_run, tmp_path):
    """The README's chain command: the frame size follows the run, and each GIF frame is the camera frame the
    agent acted on beside the frame it imagined for that step."""
    from click.testing import CliRunner
    from PIL import Image

    from vw_cli.main import cli

    out, _ = tabletop_run
    gif = tmp_path / "chain.gif"
    res = CliRunner().invoke(cli, ["play", "--env", MULTI, "--policy", f"videoworld:{out}", "--seed", "10006",
                                   "--chain", "open_drawer,turn_on_led,move_slider_left", "--gif", str(gif)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("open_drawer: ") and lines[-1].startswith("chain length ") and str(gif) in lines[-1]
    with Image.open(gif) as im:
        assert im.size == (2 * 64, 64) and im.n_frames > 30
        im.seek(5)
        frame = np.asarray(im.convert("RGB")).astype(int)
    assert frame[:, 64:].std() > 5  # an imagined scene on the right, not the black of "nothing imagined"
    bad = CliRunner().invoke(cli, ["play", "--env", MULTI, "--chain", "open_drawer", "--task", "open_drawer"])
    assert bad.exit_code == 2 and "--chain needs --env VideoTabletop-MultiTask-v0, and takes no --task" in bad.output


def test_bare_videoworld_resolves_by_env(monkeypatch, tmp_path):
    """A bare ``videoworld`` is the shipped tabletop checkpoint on a tabletop env, and the Go one on a Go env; an
    install without the tabletop checkpoint says so in one line."""
    from vw_agent import agent_tabletop
    from vw_agent.agent import SHIPPED_TABLETOP, shipped_run
    from vw_envs.players import make_player

    env = gym.make(MULTI, frame_size=64)
    try:
        policy = make_policy("videoworld", env)
        assert policy.name == "videoworld" and policy.agent.info["preset"] == "tabletop-noldm"
        assert policy.agent.config.temperature == 0  # greedy unless the spec says otherwise
        assert policy.agent.info["run"] == str(shipped_run(SHIPPED_TABLETOP)) and policy.agent.frame_size == 64
        obs, info = env.reset(seed=10_000, options={"task": "turn_on_led"})
        policy.reset(seed=0)
        assert policy.act(obs, info).shape == (7,)
        go = make_player("videoworld")
        assert go.agent.info["preset"] == "go9-code" and go.agent.config.temperature == 0.5  # its acting.json
        go.close()
        monkeypatch.setattr(agent_tabletop, "shipped_run", lambda name: tmp_path / name)
        with pytest.raises(SpecError, match="no tabletop checkpoint ships with this install; give a run folder") as e:
            make_policy("videoworld", env)
        assert "\n" not in str(e.value)
    finally:
        env.close()
    assert agent_tabletop.policy_frame_size("expert") == 128 and agent_tabletop.policy_frame_size("expert", 80) == 80
