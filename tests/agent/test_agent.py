"""The VideoWorld agent end to end: a tiny run trained here, acting, imagining, playing GNU Go, shipping."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from tests.agent.conftest import train_tiny_run
from vw_agent.agent import AgentConfig, VideoWorldAgent, VideoWorldPlayer, export_run, shipped_run
from vw_agent.checkpoint import STAGES, CheckpointError, checkpoint_path
from vw_agent.eval.imagination import evaluate_agent, legal_transition
from vw_envs.errors import SpecError
from vw_envs.go.env import VideoGoEnv
from vw_envs.go.match import play_game
from vw_envs.go.rules import GoGame
from vw_envs.players import make_player


@pytest.fixture(scope="module")
def tiny_run(go_dataset, tmp_path_factory):
    return train_tiny_run(go_dataset, tmp_path_factory.mktemp("tiny-run"), "tiny")


def first_frame(agent: VideoWorldAgent) -> np.ndarray:
    from vw_envs.go.render import BoardRenderer, RenderConfig

    game = GoGame(9)
    game.play(40)  # E5
    return BoardRenderer(9, RenderConfig(agent.frame_size)).render(game.board_array())


def test_train_writes_agent_metrics(tiny_run):
    m = json.loads((tiny_run / "agent-metrics.json").read_text())
    assert m["positions"] == 6
    for k in range(1, 5):
        assert 0 <= m[f"imagine_k{k}_board_accuracy"] <= 1 and 0 <= m[f"imagine_k{k}_legal_transition"] <= 1
        assert 0 <= m[f"imagine_k{k}_pass"] <= m[f"imagine_k{k}_legal_transition"]
        assert m[f"copy_k{k}_board_accuracy"] > 0.9  # one move changes at most a few of 81 points
    assert 0 <= m["first_sample_legal_rate"] <= 1
    data = torch.load(checkpoint_path(tiny_run, "idm"), weights_only=False)["data"]
    assert data["kind"] == "go" and data["render"]["board_size"] == 9 and data["sources"][0].startswith("sgf:")


def test_act_imagine_and_counters(tiny_run):
    agent = VideoWorldAgent.load(tiny_run, AgentConfig(seed=3))
    frame = first_frame(agent)
    frames = agent.imagine(frame, steps=3, to_play="white")
    assert len(frames) == 3 and all(f.shape == frame.shape and f.dtype == np.uint8 for f in frames)
    mask = np.zeros(82, dtype=bool)
    mask[81] = True  # only a pass is legal: every read but a pass is illegal
    move = agent.act(frame, "white", mask)
    assert move == 81 and agent.moves == 1
    assert agent.first_sample_illegal + agent.fallbacks <= 2
    assert agent.last_imagination[0].shape == frame.shape


def test_resample_flag_off_plays_the_first_read(tiny_run):
    on = VideoWorldAgent.load(tiny_run, AgentConfig(temperature=0))
    off = VideoWorldAgent.load(tiny_run, AgentConfig(temperature=0, resample=False))
    frame = first_frame(on)
    first = off.act(frame, "white", None)  # no mask: the first read, unjudged
    mask = np.ones(82, dtype=bool)
    mask[first] = False
    assert off.act(frame, "white", mask) == first and off.first_sample_illegal == 1  # played, and counted
    assert on.act(frame, "white", mask) != first and on.first_sample_illegal == 1  # resampled or fell back


def test_deterministic_after_save_and_load(tiny_run, tmp_path):
    dest = export_run(tiny_run, tmp_path / "shipped")
    assert all("optim" not in torch.load(checkpoint_path(dest, s), weights_only=False) for s in STAGES)
    assert json.loads((dest / "run.json").read_text())["data"]["kind"] == "go"
    a, b = (VideoWorldAgent.load(r, AgentConfig(seed=7)) for r in (tiny_run, dest))
    frame = first_frame(a)
    mask = GoGame(9).legal_mask()
    assert [a.act(frame, "white", mask) for _ in range(3)] == [b.act(frame, "white", mask) for _ in range(3)]
    greedy = [VideoWorldAgent.load(dest, AgentConfig(temperature=0, seed=s)) for s in (1, 2)]
    assert greedy[0].act(frame, "white", mask) == greedy[1].act(frame, "white", mask)


def test_plays_a_real_game_against_gnugo(tiny_run):
    player = make_player(f"videoworld:run={tiny_run},seed=1,threads=1")
    gnugo = make_player("gnugo:level=1")
    env = VideoGoEnv(board_size=9, opponent="none", max_moves=40)
    try:
        record = play_game(env, player, gnugo, seed=0, keep_frames=False)
    finally:
        gnugo.close()
        env.close()
    assert record.reason != "illegal" and not record.illegal  # resampling, then the fallback, keep it legal
    assert len(record.moves) > 1 and player.agent.moves == (len(record.moves) + 1) // 2
    assert 0 <= player.first_sample_illegal <= player.agent.moves
    assert player.last_imagination[0].shape == (64, 64, 3)


def test_spec_errors_are_one_line(tiny_run, tmp_path):
    with pytest.raises(SpecError, match="valid keys"):
        make_player(f"videoworld:run={tiny_run},temp=1")
    with pytest.raises(CheckpointError, match="no such run folder"):
        make_player(f"videoworld:{tmp_path / 'nope'}")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_run, broken)
    (broken / "transformer.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        make_player(f"videoworld:{broken}")
    player = VideoWorldPlayer(tiny_run)
    with pytest.raises(SpecError, match="cannot play 19x19"):
        player.reset(19, 7.5, "black")


def test_legal_transition():
    game = GoGame(9)
    for move in (1, 0, 9):  # B B1-ish, W A9, B A8: white A9 is captured by the last move
        game.play(move)
    before = GoGame(9)
    before.play(1)
    before.play(0)
    after = game.board_array()
    assert legal_transition(before.board_array(), after, 1)  # one black stone, one capture
    uncaptured = after.copy()
    uncaptured[0, 0] = 2
    assert not legal_transition(before.board_array(), uncaptured, 1)  # the capture is missing
    assert not legal_transition(before.board_array(), after, 2)  # wrong colour
    assert legal_transition(after, after, 2)  # a pass
    two = after.copy()
    two[4, 4] = two[5, 5] = 2
    assert not legal_transition(after, two, 2)
    dead = np.zeros((9, 9), dtype=np.int8)
    dead[0, 0], dead[0, 1], dead[1, 0] = 2, 1, 1  # white A9 without liberties: no legal position
    later = dead.copy()
    later[8, 8] = 2
    assert not legal_transition(dead, later, 2)


def test_evaluate_agent_counts(tiny_run, go_dataset):
    m = evaluate_agent(VideoWorldAgent.load(tiny_run), go_dataset, positions=4, horizon=2)
    assert m["positions"] == 4 and set(m) >= {"imagine_k2_board_accuracy", "move_agreement"}


def test_shipped_checkpoint_plays():
    if not (shipped_run() / "idm.pt").exists():
        pytest.fail("the package ships no checkpoint under assets/checkpoints/go9")
    player = make_player("videoworld:run=" + str(shipped_run()) + ",seed=0")
    env = VideoGoEnv(board_size=9, opponent="none", max_moves=12)
    record = play_game(env, player, make_player("random"), seed=0, keep_frames=False)
    assert len(record.moves) == 12 and not record.illegal


def test_cli_imagine(tiny_run, tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from vw_cli.main import cli

    gif = tmp_path / "imagined.gif"
    res = CliRunner().invoke(cli, ["imagine", "--run", str(tiny_run), "--moves", "E5 C3", "--steps", "3",
                                   "--gif", str(gif)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "after move 2 (black to play)" in res.output and "/3 imagined moves are legal Go moves" in res.output
    with Image.open(gif) as im:
        assert im.size == (256, 256) and im.n_frames >= 2  # the start and imagined frames, 4x upscaled
    for args, message in ((["--moves", "E5 E5"], "occupied"), (["--env", "VideoGo-19x19-v0"], "learned 9x9 Go")):
        res = CliRunner().invoke(cli, ["imagine", "--run", str(tiny_run), *args], catch_exceptions=False)
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
