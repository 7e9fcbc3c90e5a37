"""play_episode (what `vw-agent play --env VideoTabletop-...` calls) and the policy-spec registry."""

from __future__ import annotations

import imageio.v2 as imageio
import pytest

from vw_envs.errors import SpecError
from vw_envs.tabletop.policies import POLICY_KINDS, make_policy
from vw_envs.tabletop.rollout import play_episode


def test_play_episode_writes_a_gif(tmp_path):
    gif = tmp_path / "push.gif"
    out = play_episode("VideoTabletop-PushRedBlockLeft-v0", "expert", seed=1, gif=str(gif), frame_size=64)
    assert out["success"] and out["task"] == "push_red_block_left" and out["steps"] > 5
    frames = imageio.mimread(gif)
    assert len(frames) > out["steps"] and frames[0].shape[:2] == (64, 64)


def test_play_episode_human_window_and_multitask():
    out = play_episode("VideoTabletop-MultiTask-v0", "expert", seed=2, render="human", frame_size=32,
                       task="turn_on_led")
    assert out["task"] == "turn_on_led" and out["success"]


def test_play_episode_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown tabletop env"):
        play_episode("VideoTabletop-Nope-v0")
    with pytest.raises(ValueError, match="task= only applies"):
        play_episode("VideoTabletop-OpenDrawer-v0", task="close_drawer")
    with pytest.raises(SpecError, match="unknown tabletop policy kind"):
        play_episode("VideoTabletop-OpenDrawer-v0", "wizard")


def test_policy_specs():
    assert {"expert", "random", "noop"} <= set(POLICY_KINDS)
    assert make_policy("random:seed=3").name == "random"
    with pytest.raises(SpecError):
        make_policy("expert:level=3")
    with pytest.raises(SpecError):
        make_policy("random:seed=x")


def test_play_chain_runs_calvin_style_subtasks(tmp_path):
    from vw_envs.tabletop.rollout import play_chain

    gif = tmp_path / "chain.gif"
    out = play_chain(["open_drawer", "push_red_block_left", "turn_on_led"], seed=3, gif=str(gif), frame_size=32)
    assert [r["task"] for r in out] == ["open_drawer", "push_red_block_left", "turn_on_led"]
    assert all(r["success"] for r in out) and gif.exists()
    with pytest.raises(ValueError, match="not feasible"):
        play_chain(["open_drawer", "open_drawer"], seed=0, frame_size=16)
