"""Real games against the real GNU Go, and what happens when an engine is missing, dies or babbles."""

import os
import signal
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import needs_gnugo
from vw_cli.main import cli
from vw_envs.errors import (
    EngineCrashedError,
    EngineNotFoundError,
    EngineProtocolError,
    EngineTimeoutError,
    SpecError,
)
from vw_envs.go.gtp import GTPClient, GTPPlayer
from vw_envs.go.match import play_game
from vw_envs.players import make_player


@needs_gnugo
def test_full_game_against_gnugo_and_board_agrees():
    """A whole 9x9 game, random vs GNU Go; after it our board equals GNU Go's own list_stones."""
    env = gym.make("VideoGo-9x9-v0", opponent="gnugo:level=1", agent_color="black")
    gnugo = env.unwrapped.opponent
    obs, info = env.reset(seed=5)
    rng = np.random.default_rng(5)
    done, moves = False, 0
    while not done:
        legal = np.flatnonzero(info["action_mask"][:-1])
        action = rng.choice(legal) if len(legal) and moves < 60 else 81
        obs, reward, term, trunc, info = env.step(action)
        done, moves = term or trunc, moves + 1
    assert info["reason"] == "two_passes" and reward in (-1.0, 1.0)
    game = env.unwrapped.game
    from vw_envs.go.coords import from_gtp

    for color, code in (("black", 1), ("white", 2)):
        listed = {from_gtp(v, 9) for v in gnugo.client.command(f"list_stones {color}").split()}
        assert listed == {p for p in range(81) if game.board[p] == code}
    assert info["winner"] == "white"  # GNU Go beats random
    env.close()


@needs_gnugo
def test_gnugo_vs_gnugo_refereed():
    env = gym.make("VideoGo-9x9-v0", opponent="none")
    black, white = make_player("gnugo:level=1"), make_player("gnugo:level=1")
    try:
        rec = play_game(env.unwrapped, black, white, seed=2)
    finally:
        black.close()
        white.close()
    assert rec.reason == "two_passes" and rec.winner in ("black", "white")
    assert len(rec.frames) == len(rec.moves) + 1 > 20
    assert rec.result.startswith("B+" if rec.winner == "black" else "W+")


def test_missing_binary_names_the_install_command():
    with pytest.raises(EngineNotFoundError, match="apt-get install gnugo"):
        p = make_player("gnugo:level=1,path=/nonexistent/gnugo")
        p.reset(9, 7.5, "black")
    with pytest.raises(EngineNotFoundError, match="not found"):
        GTPClient(["no-such-engine-xyz"])


def test_bad_gnugo_spec():
    with pytest.raises(SpecError, match="level must be in 0..10"):
        make_player("gnugo:level=11")
    with pytest.raises(SpecError, match="valid keys: level, path, timeout"):
        make_player("gnugo:strength=3")


@needs_gnugo
def test_engine_killed_mid_game_raises_not_hangs():
    env = gym.make("VideoGo-9x9-v0", opponent="gnugo:level=1")
    _, info = env.reset(seed=0)
    env.step(40)
    os.kill(env.unwrapped.opponent.client.proc.pid, signal.SIGKILL)
    t = time.monotonic()
    with pytest.raises(EngineCrashedError, match=r"GNU Go exited \(code -9\)"):
        env.step(10)
    assert time.monotonic() - t < 5
    env.close()
    env.close()


FAKE_ENGINE = """
import sys
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "genmove":
        print("= banana\\n", flush=True)
    elif cmd[0] == "slow":
        import time; time.sleep(60)
    elif cmd[0] == "die":
        sys.exit(3)
    else:
        print("= \\n", flush=True)
"""


def test_nonsense_timeout_and_death_are_typed(tmp_path):
    script = tmp_path / "engine.py"
    script.write_text(FAKE_ENGINE)
    player = GTPPlayer([sys.executable, str(script)], timeout=5)
    player.reset(9, 7.5, "black")
    env = gym.make("VideoGo-9x9-v0", opponent="none")
    _, info = env.reset(seed=0)
    with pytest.raises(EngineProtocolError, match="banana"):
        player.genmove(env.unwrapped.state_for(player))
    t = time.monotonic()
    with pytest.raises(EngineTimeoutError, match="within 0.5 s"):
        player.client.command("slow", timeout=0.5)
    assert time.monotonic() - t < 3 and not player.client.alive
    player.close()
    client = GTPClient([sys.executable, str(script)])
    with pytest.raises(EngineCrashedError, match="exited \\(code 3\\)"):
        client.command("die")
    client.close()
    client.close()


@needs_gnugo
def test_gtp_spec_drives_any_engine():
    p = make_player("gtp:/usr/games/gnugo --mode gtp --level 1")
    env = gym.make("VideoGo-9x9-v0", opponent=p)
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(40)
    assert info["move_number"] == 2 and info["opponent_move"] != 40
    env.close()


def test_a_chatty_engine_is_stopped_not_waited_on(tmp_path):
    """`yes` answers every command with endless 'y' lines: the answer is bounded by lines and bytes (the time-out
    never fired while lines kept arriving, and memory grew from 90 to 278 MB in 70 s)."""
    t = time.monotonic()
    client = GTPClient(["yes"], timeout=60)
    with pytest.raises(EngineProtocolError, match="without ending a GTP response"):
        client.command("name")
    assert time.monotonic() - t < 10 and not client.alive
    client.close()
    # a slow trickle within the line bound still ends at the time-out
    script = tmp_path / "trickle.py"
    script.write_text("import sys, time\nfor line in sys.stdin:\n    while True:\n        print('noise', flush=True)\n"
                      "        time.sleep(0.05)\n")
    client = GTPClient([sys.executable, str(script)])
    t = time.monotonic()
    with pytest.raises(EngineTimeoutError, match="within 1 s"):
        client.command("name", timeout=1)
    assert time.monotonic() - t < 5
    client.close()


def test_cli_play_against_a_chatty_engine_is_one_line():
    r = CliRunner().invoke(cli, ["play", "--black", "gtp:yes", "--white", "random"])
    assert r.exit_code == 2 and "without ending a GTP response" in r.output and "Traceback" not in r.output
