"""``vw-agent baseline`` end to end: train, eval, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from vw_cli.main import cli
from vw_envs.errors import VWError


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_train_then_eval(tmp_path):
    out = tmp_path / "ppo-go9"
    res = run("baseline", "train", "--algo", "ppo", "--env", "VideoGo-9x9-v0", "--timesteps", "32", "--n-envs", "2",
              "--dummy-vec", "--hp", "n_steps=16", "--hp", "batch_size=16", "--hp", "n_epochs=1",
              "--hp", "env_kwargs={max_moves: 10}", "--eval-freq", "0", "--quiet", "--out", str(out))
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["timesteps"] >= 32 and "peak_rss_mib" in summary
    res = run("baseline", "eval", "--run", str(out), "--episodes", "2")
    assert res.exit_code == 0, res.output
    assert "win rate" in res.output and "against random" in res.output
    assert json.loads((out / "eval.json").read_text())["episodes"] == 2


@pytest.mark.parametrize(("args", "needle"), [
    (["--algo", "a2c", "--env", "VideoGo-9x9-v0"], "unknown algorithm 'a2c'; valid: ppo, dqn, maskable-ppo, sac, bc"),
    (["--algo", "sac", "--env", "VideoGo-9x9-v0"], "algorithms for VideoGo-9x9-v0: ppo, dqn, maskable-ppo"),
    (["--algo", "dqn", "--env", "VideoTabletop-OpenDrawer-v0"], "algorithms for VideoTabletop-OpenDrawer-v0: ppo, sac"),
    (["--algo", "maskable-ppo", "--env", "VideoTabletop-OpenDrawer-v0"], "only the Go envs have"),
    (["--algo", "ppo", "--env", "Nope-v0"], "unknown env 'Nope-v0'; valid: VideoGo-9x9-v0, VideoGo-13x13-v0"),
    (["--algo", "ppo"], "--algo ppo needs --env; valid: VideoGo-9x9-v0"),
    (["--algo", "bc"], "--algo bc needs --data DIR"),
    (["--algo", "ppo", "--env", "VideoGo-9x9-v0", "--opponent", "nosuch"], "unknown player kind 'nosuch'"),
])
def test_errors_are_one_line_exit_2(args, needle, tmp_path):
    res = CliRunner().invoke(cli, ["baseline", "train", *args, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert not (tmp_path / "x").exists()  # nothing is written before the config is known to be valid
    assert issubclass(type(res.exception), SystemExit) and not isinstance(res.exception, VWError)
