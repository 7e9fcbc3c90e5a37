"""Bad option values fail at the command line: one line, exit code 2, nothing written, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from vw_cli.main import cli

CASES = [
    ("record --out {tmp}/ds --frame-size 7", "Invalid value for '--frame-size'"),
    ("record --out {tmp}/ds --env VideoGo-25x25-v0", "unknown env 'VideoGo-25x25-v0'"),
    ("record --out {tmp}/ds --komi nan", "'nan' is not a finite number"),
    ("play --frame-size 7", "Invalid value for '--frame-size'"),
    ("play --env Nope-v0", "unknown env 'Nope-v0'"),
    ("play --seed -1", "Invalid value for '--seed'"),
    ("play --env VideoTabletop-MultiTask-v0 --task nope", "unknown task 'nope'"),
    ("play --komi nan --sgf {tmp}/g.sgf", "'nan' is not a finite number"),
    ("play --komi inf --sgf {tmp}/g.sgf", "'inf' is not a finite number"),
    ("train tokenizer --data {tmp} --out {tmp}/run --lr nan", "'nan' is not a finite number"),
    ("train tokenizer --data {tmp} --out {tmp}/run --label-fraction 7", "7.0 must be <= 1.0"),
    ("train tokenizer --data {tmp} --out {tmp}/run --steps -5", "Invalid value for '--steps'"),
    ("train tokenizer --data {tmp} --out {tmp}/run --batch-size 0", "Invalid value for '--batch-size'"),
    ("data export {tmp} --episode 0 --gif {tmp}/a.gif --fps -3", "-3.0 must be > 0.0"),
    ("imagine --moves ZZ9", "--moves: 'ZZ9' is not a vertex"),
    ("imagine --temperature -1", "-1.0 must be >= 0.0"),
    ("imagine --temperature nan", "'nan' is not a finite number"),
    ("imagine --sgf {tmp}/g.sgf --move-number -1", "Invalid value for '--move-number'"),
    ("gtp --komi nan", "'nan' is not a finite number"),
]


@pytest.mark.parametrize(("args", "message"), CASES)
def test_bad_values_are_one_line_errors(args, message, tmp_path):
    (tmp_path / "g.sgf").write_text("(;GM[1]SZ[9];B[ee])")
    result = CliRunner().invoke(cli, args.format(tmp=tmp_path).split())
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "ds").exists() and not (tmp_path / "run").exists() and not (tmp_path / "a.gif").exists()
