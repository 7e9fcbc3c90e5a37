"""The KataGo teacher corpus for real: games played by KataGo, resumed, deduplicated, and bad input refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.data_pipeline.conftest import KATAGO3, vw_agent
from tests.eval.test_katago import needs_katago
from vw_agent.data.katago_games import KataGoGamesConfig, play_katago_games, progress_path, sample_move
from vw_envs.errors import DatasetError
from vw_envs.go.sgf import iter_sgf_file, read_sgf, replay, transform_sgf


def test_sample_move_follows_the_recipe():
    policy = np.full(82, -1.0)
    policy[[10, 40, 81]] = [0.2, 0.7, 0.1]  # everything else illegal
    rng = np.random.default_rng(0)
    early = [sample_move(policy, 0, rng) for _ in range(2000)]  # temperature 1: the policy itself
    assert set(early) <= {10, 40, 81}
    assert abs(early.count(40) / 2000 - 0.7) < 0.04
    mid = [sample_move(policy, 10, rng) for _ in range(2000)]  # temperature 0.5: squared and renormalised
    assert abs(mid.count(40) / 2000 - 0.49 / 0.54) < 0.03
    assert {sample_move(policy, 20, rng) for _ in range(50)} == {40}  # from move 21 on: the top move


@needs_katago
def test_games_resume_and_duplicates(tmp_path):
    out = tmp_path / "kg.sgfs"
    # one game at a time: each query is evaluated alone, so replaying these games below gives the same games
    done = play_katago_games(KataGoGamesConfig(out=str(out), games=2, in_flight=1, seed=7))
    assert (done.played, done.recorded + done.dropped) == (2, 2) and done.recorded >= 1
    for name, text in iter_sgf_file(str(out)):
        g = read_sgf(text, name=name)
        assert g.komi == 7.5 and "seed 7 game" in text
        game = replay(g)  # every move legal under the env's rules
        assert game.over  # ended by two passes, not the cap
        winner, score = game.result()
        assert g.result == (f"{'B' if winner == 'black' else 'W'}+{abs(score):g}" if winner else "0")

    # Resume: a larger --games plays only the new numbers, here two at once; the file's games stay as they were.
    before = out.read_text()
    more = play_katago_games(KataGoGamesConfig(out=str(out), games=4, in_flight=2, seed=7))
    assert more.played == 2 and out.read_text().startswith(before)
    recorded = {int(line.split("game ")[1].split("]")[0]) for line in out.read_text().splitlines()}
    assert recorded | set(json.loads(progress_path(out).read_text())["dropped"]) == {0, 1, 2, 3}

    # Games 0 and 1 again, with the first run's games (one of them rotated) excluded: both are dropped as
    # duplicates, listed in the progress file, and a rerun does not play them again.
    ex = tmp_path / "ex.sgfs"
    first = before.splitlines()
    ex.write_text(transform_sgf(first[0], 5) + "\n" + "\n".join(first[1:]) + "\n")
    again = tmp_path / "again.sgfs"
    dup = play_katago_games(KataGoGamesConfig(out=str(again), games=2, in_flight=1, seed=7, exclude=(str(ex),)))
    assert (dup.played, dup.recorded, dup.dropped) == (2, 0, 2)  # (a game the first run dropped repeats one it kept)
    assert json.loads(progress_path(again).read_text())["dropped"] == [0, 1] and again.read_text() == ""
    assert play_katago_games(KataGoGamesConfig(out=str(again), games=2, seed=7, exclude=(str(ex),))).played == 0


def test_foreign_or_mismatched_output_is_a_one_line_error_and_kept(tmp_path):
    out = tmp_path / "other.sgfs"
    shutil.copy(KATAGO3, out)  # games of another run: no C[seed S game k]
    before = out.read_bytes()
    with pytest.raises(DatasetError, match="not a game of this run"):
        play_katago_games(KataGoGamesConfig(out=str(out), games=1))
    assert out.read_bytes() == before

    mine = tmp_path / "mine.sgfs"
    mine.write_text("(;FF[4]GM[1]SZ[9]KM[7.5]C[seed 3 game 0];B[ee])\n")
    progress_path(mine).write_text(json.dumps({"seed": 3, "board_size": 9, "komi": 7.5, "dropped": []}))
    r = vw_agent("data", "katago-games", "--out", str(mine), "--games", "1", "--seed", "4")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--seed 3" in r.stderr
    assert mine.read_text().startswith("(;FF[4]GM[1]SZ[9]KM[7.5]C[seed 3 game 0]")
