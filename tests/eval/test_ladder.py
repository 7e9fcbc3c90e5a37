"""The ladder with real engines: a mini ladder, forfeits, resume after a kill, CLI smoke tests, knowledge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import needs_gnugo
from tests.eval.test_katago import needs_katago
from vw_agent.eval.elo import fit_games
from vw_agent.eval.ladder import LadderConfig, load_games, run_ladder
from vw_cli.main import cli

SGFS = str(Path(__file__).resolve().parents[1] / "data" / "katago9-3games.sgfs")


@pytest.mark.slow
@needs_gnugo
@needs_katago
def test_mini_ladder_cli(tmp_path):
    """random, gnugo:level=1, katago:rank=18k round robin, 2 games a pair, 2 workers, through the CLI."""
    out = tmp_path / "go9"
    r = CliRunner().invoke(cli, ["eval", "go", "--board", "9", "--players", "random,gnugo:level=1,katago:rank=18k",
                                 "--games-per-pair", "2", "--schedule", "round-robin", "--workers", "2",
                                 "--out", str(out), "--bootstrap", "100"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    games = load_games(out)
    assert len(games) == 6 and len({g["key"] for g in games}) == 6
    for g in games:
        assert (out / g["sgf_file"]).read_text().startswith("(;")
        assert g["reason"] != "forfeit", g
        assert set(g) >= {"black", "white", "result", "score", "moves", "first_sample_illegal", "seconds"}
    fit = fit_games(games, n_boot=0)
    assert fit.rating("random") < fit.rating("gnugo:level=1")
    assert fit.rating("random") < fit.rating("katago:rank=18k")
    report = (out / "report.md").read_text()
    assert "| Elo |" in report and "elo.png" in report
    assert (out / "elo.png").read_bytes()[:4] == b"\x89PNG"


@needs_gnugo
def test_broken_players_forfeit_and_the_run_goes_on(tmp_path, monkeypatch):
    # KataGo "missing" (workers inherit the environment) and a GTP engine that dies at once.
    monkeypatch.setenv("VW_KATAGO", str(tmp_path / "no-katago"))
    from vw_envs.go.katago import close_engines

    close_engines()  # an engine another test started in this process would otherwise be reused
    cfg = LadderConfig(players=["gtp:/bin/false", "random", "katago:policy", "gnugo:level=1"], games_per_pair=2,
                       out=str(tmp_path / "run"), schedule="neighbours")
    games = run_ladder(cfg, progress=False)
    by_pair = {}
    for g in games:
        by_pair.setdefault(frozenset((g["black"], g["white"])), []).append(g)
    for g in by_pair[frozenset(("gtp:/bin/false", "random"))]:
        assert g["reason"] == "forfeit" and g["winner"] == ("black" if g["black"] == "random" else "white")
        assert "exited" in g["forfeit"]["reason"] or "Crashed" in g["forfeit"]["reason"]
    for g in by_pair[frozenset(("random", "katago:policy"))] + by_pair[frozenset(("katago:policy", "gnugo:level=1"))]:
        assert g["reason"] == "forfeit" and "katrain" in g["forfeit"]["reason"]
        loser = g["black"] if g["forfeit"]["color"] == "black" else g["white"]
        assert loser == "katago:policy"
    assert len(games) == 6


@pytest.mark.slow
@needs_gnugo
def test_resume_after_kill(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "vw_cli.main", "eval", "go", "--players", "random,gnugo:level=1",
           "--games-per-pair", "8", "--out", str(out), "--bootstrap", "0"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    jsonl = out / "games.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its GNU Go processes, mid-game
    proc.wait()
    before = load_games(out)
    assert 2 <= len(before) < 8
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    after = load_games(out)
    assert len(after) == 8 and len({g["key"] for g in after}) == 8
    assert after[: len(before)] == before  # finished games were kept, not replayed
    assert len(list((out / "games").glob("*.sgf"))) >= 8
    runs = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert runs[-1]["games_played"] == 8 - len(before)


@pytest.mark.slow
@needs_katago
def test_action_value_of_katagos_own_top_move_is_one(tmp_path):
    from vw_agent.eval.knowledge import evaluate_players, load_positions

    positions, n_games = load_positions([SGFS], 9, max_positions=40, seed=1)
    assert n_games == 3 and len(positions) == 40
    top, rnd = evaluate_players(["katago:policy,cleanup=0", "random"], positions)
    assert top["action_value"] == 1.0 and top["best_action_acc"] == 1.0 and top["legal_rate"] == 1.0
    assert rnd["legal_rate"] == 1.0 and rnd["action_value"] < 0.5


@needs_gnugo
@needs_katago
def test_knowledge_cli(tmp_path):
    r = CliRunner().invoke(cli, ["eval", "knowledge", "--players", "gnugo:level=1,random", "--games", SGFS,
                                 "--positions", "12", "--out", str(tmp_path)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "Action-Value" in r.output
    data = json.loads((tmp_path / "knowledge.json").read_text())
    assert data["positions"] == 12 and [x["player"] for x in data["rows"]] == ["gnugo:level=1", "random"]


def test_bad_specs_fail_before_any_game(tmp_path):
    r = CliRunner().invoke(cli, ["eval", "go", "--players", "random,nosuchbot", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "nosuchbot" in r.output
    r = CliRunner().invoke(cli, ["eval", "go", "--players", "random,gnugo:level=1", "--schedule", "swiss",
                                 "--out", str(tmp_path / "y")])
    assert r.exit_code == 2 and "schedule" in r.output


def test_knowledge_positions_come_from_the_test_split_only(tmp_path):
    from vw_agent.data.reader import DatasetReader
    from vw_agent.eval.knowledge import load_positions

    ds = tmp_path / "ds"
    r = CliRunner().invoke(cli, ["record", "--episodes", "40", "--frame-size", "64", "--out", str(ds), "--quiet"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    reader = DatasetReader(ds)
    test_ids = reader.split_ids("test")
    assert test_ids  # 40 games at 5% test: the split seed 0 gives some
    lengths = sorted(len(reader.actions(i)) for i in test_ids)
    positions, n_games = load_positions([str(ds)], 9)
    assert n_games == len(test_ids)
    assert len(positions) == sum(lengths)  # one position before every move of every test game
    val_ids = reader.split_ids("val")  # settings are chosen on val: disjoint games
    assert val_ids and not set(val_ids) & set(test_ids)
    positions, n_games = load_positions([str(ds)], 9, split="val")
    assert n_games == len(val_ids) and len(positions) == sum(len(reader.actions(i)) for i in val_ids)


@pytest.mark.slow
def test_first_sample_illegal_is_counted_per_game_for_a_reused_player():
    """A worker reuses a player across games, and the VideoWorld player zeroes its counter in reset: the game's
    count must start at that reset. It was read before the game, so a count left by the game before was
    subtracted (negative in 10 of 20 games of one evaluation)."""
    from dataclasses import asdict

    from vw_agent.agent import shipped_run
    from vw_agent.eval import ladder

    spec = f"videoworld:run={shipped_run()},seed=3"
    cfg = LadderConfig(players=[spec, "random"], games_per_pair=2, out="unused", schedule="neighbours")
    ladder._worker_init(asdict(cfg))
    try:
        player = ladder._player(spec, "black")
        for k, task in enumerate(t for t in ladder.make_tasks(cfg) if t.black == spec):
            player.agent.first_sample_illegal = 7 + k  # what the game before this one left in the reused player
            rec = ladder.play_task(task)
            assert rec["first_sample_illegal"]["black"] == player.first_sample_illegal >= 0
            assert rec["first_sample_illegal"]["white"] == 0  # random has no counter
    finally:
        ladder._W.clear()


def test_knowledge_positions_skip_a_bad_file_and_name_it(tmp_path):
    from vw_agent.eval.knowledge import load_positions

    games = tmp_path / "games"
    games.mkdir()
    (games / "good.sgfs").write_text(Path(SGFS).read_text())
    (games / "both.sgf").write_text("(;GM[1]SZ[9]AB[ee]AW[ee];B[cc])")
    (games / "garbage.sgf").write_text("not SGF")
    skipped: list[str] = []
    positions, n_games = load_positions([str(games)], 9, skipped=skipped)
    assert n_games == 3 and len(positions) > 100  # the 3 good games
    assert len(skipped) == 2 and any("both.sgf" in m and "E5" in m for m in skipped)
