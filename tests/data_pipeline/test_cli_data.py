"""Smoke tests of `vw-agent record`, `data info` and `data export`, with tiny budgets."""

from __future__ import annotations

import subprocess
import sys

import imageio.v2 as imageio
from click.testing import CliRunner
from sgfmill import sgf

from tests.data_pipeline.conftest import KATAGO3, vw_agent
from vw_agent.data.reader import DatasetReader
from vw_cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_record_and_data():
    out = vw_agent("--help")
    assert out.returncode == 0 and "record" in out.stdout and "data" in out.stdout
    assert "--from-sgf" in run("record", "--help").output
    assert "export" in run("data", "--help").output


def test_record_cli_selfplay_then_info(tmp_path):
    out = tmp_path / "go"
    res = vw_agent("record", "--env", "VideoGo-9x9-v0", "--black", "random:pass=0.1", "--white", "random:pass=0.1",
                   "--episodes", "2", "--frame-size", "64", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "recorded 2 episodes" in res.stdout
    assert "ep/s" in res.stderr or "s/ep" in res.stderr  # the tqdm bar, with its rate
    res = run("data", "info", str(out))
    assert res.exit_code == 0
    for word in ("episodes     2", "compression", "splits", "duplicates", "sources", "random:pass=0.1"):
        assert word in res.output, res.output
    # Resuming a complete dataset records nothing and keeps it; more episodes extend it.
    res = run("record", "--out", str(out), "--resume", "--episodes", "3", "--quiet")
    assert res.exit_code == 0 and "recorded 1 episodes" in res.output and "dataset: 3 episodes" in res.output


def test_record_cli_from_sgf_and_export(tmp_path):
    out = tmp_path / "sgf"
    res = run("record", "--from-sgf", str(KATAGO3), "--out", str(out), "--frame-size", "64", "--quiet")
    assert res.exit_code == 0 and "recorded 3 episodes" in res.output
    gif, mp4, sgf_path = tmp_path / "e.gif", tmp_path / "e.mp4", tmp_path / "e.sgf"
    res = run("data", "export", str(out), "--episode", "1", "--gif", str(gif), "--mp4", str(mp4),
              "--sgf", str(sgf_path))
    assert res.exit_code == 0, res.output
    n = len(DatasetReader(out).frames(1))
    assert len(imageio.mimread(mp4, format="FFMPEG")) == n
    game = sgf.Sgf_game.from_bytes(sgf_path.read_bytes())
    assert len(game.get_main_sequence()) == n  # root node + one node per move
    assert gif.stat().st_size > 0


def test_cli_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(cli, ["data", "export", str(tmp_path), "--episode", "0", "--gif", "x.gif"])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "meta.json" in res.output
    res = CliRunner().invoke(cli, ["record", "--env", "VideoGo-9x9-v0", "--black", "alphago", "--out",
                                   str(tmp_path / "x"), "--episodes", "1", "--quiet"])
    assert res.exit_code == 2 and "unknown player kind 'alphago'" in res.output


def test_command_modules_import_nothing_heavy():
    code = ("import sys, vw_cli.record, vw_cli.data; "
            "print([m for m in ('torch', 'h5py', 'gymnasium', 'tqdm') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
