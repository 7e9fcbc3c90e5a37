"""Smoke tests of every `vw-agent` command, with tiny budgets."""

import subprocess
import sys

from click.testing import CliRunner
from sgfmill import sgf

from tests.conftest import needs_gnugo
from vw_cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "vw_cli.main", "--help"], capture_output=True, text=True, check=True)
    assert "play" in out.stdout and "players" in out.stdout


def test_players_lists_every_kind():
    res = run("players")
    assert res.exit_code == 0
    for kind in ("random", "gnugo:level=5", "human", "gtp:", "videoworld"):
        assert kind in res.output
    assert "apt-get install gnugo" in res.output


@needs_gnugo
def test_play_gnugo_vs_random_writes_sgf_and_gif(tmp_path):
    sgf_path, gif_path = tmp_path / "game.sgf", tmp_path / "game.gif"
    res = run("play", "--env", "VideoGo-9x9-v0", "--black", "gnugo:level=1", "--white", "random",
              "--sgf", str(sgf_path), "--gif", str(gif_path), "--seed", "1")
    assert res.exit_code == 0, res.output
    assert "gnugo:level=1 (B) vs random (W): B+" in res.output
    game = sgf.Sgf_game.from_bytes(sgf_path.read_bytes())
    assert game.get_size() == 9 and game.get_root().get("RE").startswith("B+")
    from PIL import Image

    total_ms = 0
    with Image.open(gif_path) as im:
        for i in range(im.n_frames):  # Pillow merges identical frames (passes) and adds their durations
            im.seek(i)
            total_ms += im.info["duration"]
    assert total_ms == 250 * len(game.get_main_sequence())  # the empty board + one frame per move, 4 fps


def test_play_bad_spec_is_one_line_exit_2():
    res = CliRunner().invoke(cli, ["play", "--black", "alphago"])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "unknown player kind 'alphago'" in res.output


def test_play_missing_engine_is_one_line_exit_2(tmp_path):
    res = CliRunner().invoke(cli, ["play", "--black", "gnugo:path=/nope/gnugo", "--sgf", str(tmp_path / "g.sgf")])
    assert res.exit_code == 2 and "apt-get install gnugo" in res.output and res.output.count("\n") == 1


def test_debug_shows_traceback():
    res = CliRunner().invoke(cli, ["--debug", "play", "--black", "alphago"])
    assert res.exit_code != 0 and res.exception is not None
