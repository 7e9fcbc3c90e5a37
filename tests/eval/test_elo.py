"""Elo fit, bootstrap, nominal ranks, spec-list splitting and scheduling: pure Python, no engines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vw_agent.eval.elo import fit_bt, fit_games, nominal_ranks
from vw_agent.eval.ladder import LadderConfig, make_tasks, schedule_pairs, split_players
from vw_agent.eval.report import wilson
from vw_envs.errors import SpecError
from vw_envs.go.openings import opening_points
from vw_envs.go.rank_bot import parse_rank, rank_label


def _synthetic(true: dict[str, float], games_per_pair: int, seed: int, pairs=None) -> list[dict]:
    rng = np.random.default_rng(seed)
    names = list(true)
    pairs = pairs or [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    recs = []
    for a, b in pairs:
        p = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
        for k in range(games_per_pair):
            win = rng.random() < p
            black, white = (a, b) if k % 2 == 0 else (b, a)
            winner = ("black" if black == a else "white") if win else ("white" if black == a else "black")
            recs.append({"black": black, "white": white, "winner": winner, "result": "B+1.5"})
    return recs


def test_fit_recovers_known_ratings_within_intervals():
    true = {"a": 1100.0, "b": 1350.0, "gnugo:level=10": 1500.0, "d": 1800.0}
    recs = _synthetic(true, 80, seed=3)
    fit = fit_games(recs, n_boot=300)
    assert fit.anchor == "gnugo:level=10" and fit.rating("gnugo:level=10") == pytest.approx(1500)
    for i, name in enumerate(fit.names):
        if name == fit.anchor:
            continue
        assert fit.lo[i] <= true[name] <= fit.hi[i], (name, fit.ratings[i], fit.lo[i], fit.hi[i])
        assert abs(fit.ratings[i] - true[name]) < 120


def test_perfect_record_stays_finite_and_ordered():
    recs = [{"black": "strong", "white": "weak", "winner": "black", "result": "B+9.5"}] * 10
    fit = fit_games(recs, anchor="weak", n_boot=200)
    gap = fit.rating("strong") - fit.rating("weak")
    assert np.all(np.isfinite(fit.ratings)) and np.all(np.isfinite(fit.lo)) and np.all(np.isfinite(fit.hi))
    # One virtual draw per pair: 10-0 fits as 10.5 to 0.5 (less a hair for the sd-4000 Gaussian pull).
    assert gap == pytest.approx(400 * math.log10(10.5 / 0.5), abs=5)
    i = fit.names.index("strong")
    assert fit.hi[i] > fit.lo[i]  # the virtual draw keeps the bootstrap from collapsing


def test_draws_count_half_and_void_games_are_dropped():
    recs = [{"black": "a", "white": "b", "winner": None, "result": "0"}] * 4
    recs += [{"black": "a", "white": "b", "winner": None, "result": "Void"}] * 3
    fit = fit_games(recs, anchor="a", n_boot=0)
    assert fit.rating("b") == pytest.approx(1500, abs=1e-6)
    assert list(fit.games) == [4, 4]


def test_disconnected_players_stay_finite():
    w = np.zeros((4, 4))
    c = np.zeros((4, 4))
    w[0, 1], c[0, 1], c[1, 0] = 3, 3, 3
    w[3, 2], c[2, 3], c[3, 2] = 2, 2, 2
    r = fit_bt(4, w, c, anchor=0)
    assert np.all(np.isfinite(r)) and r[0] == pytest.approx(1500) and r[0] > r[1] and r[3] > r[2]


def test_nominal_rank_interpolates_between_rank_bots():
    true = {"katago:rank=10k": 1200.0, "x": 1400.0, "katago:rank=1k": 1600.0, "gnugo:level=10": 1500.0}
    pairs = [("katago:rank=10k", "x"), ("x", "gnugo:level=10"), ("gnugo:level=10", "katago:rank=1k")]
    fit = fit_games(_synthetic(true, 200, seed=1, pairs=pairs), n_boot=100)
    ranks = nominal_ranks(fit)
    assert ranks["katago:rank=10k"].kyu == pytest.approx(10) and ranks["katago:rank=1k"].kyu == pytest.approx(1)
    assert 2 < ranks["x"].kyu < 9
    assert ranks["x"].hi >= ranks["x"].kyu >= ranks["x"].lo
    assert "k" in ranks["x"].label()


def test_rank_parsing():
    assert parse_rank("18k") == 18 and parse_rank("1k") == 1 and parse_rank("1d") == 0 and parse_rank("3d") == -2
    assert rank_label(5) == "5.0k" and rank_label(-2) == "3.0d"
    for bad in ("19k", "4d", "0k", "5x", ""):
        with pytest.raises(SpecError):
            parse_rank(bad)


def test_split_players_rule():
    assert split_players("random,gnugo:level=1,timeout=5,katago:rank=5k") == [
        "random", "gnugo:level=1,timeout=5", "katago:rank=5k"]
    assert split_players("katago:policy,temperature=0.5,random") == ["katago:policy,temperature=0.5", "random"]
    assert split_players("gtp:prog --opt a,b;random") == ["gtp:prog --opt a,b", "random"]
    with pytest.raises(SpecError):
        split_players("level=1,random")
    with pytest.raises(SpecError):
        split_players(" , ")


def test_schedules_and_tasks():
    p = ["a", "b", "c", "d"]
    assert schedule_pairs(p, "neighbours")[1] == [("a", "b"), ("b", "c"), ("c", "d")]
    assert len(schedule_pairs(p, "round-robin")[1]) == 6
    players, pairs = schedule_pairs(p, "gauntlet:hero")
    assert players[-1] == "hero" and pairs == [("hero", x) for x in p]
    with pytest.raises(SpecError):
        schedule_pairs(p, "swiss")
    tasks = make_tasks(LadderConfig(players=["a", "b"], games_per_pair=4, board_size=9))
    assert [t.black for t in tasks] == ["a", "b", "a", "b"]  # colours alternate
    assert len({t.opening for t in tasks}) > 1  # openings vary
    pts = set(opening_points(9))
    for t in tasks:
        assert 2 <= len(t.opening) <= 4 and set(t.opening) <= pts
    assert make_tasks(LadderConfig(players=["a", "b"], games_per_pair=4)) == tasks  # deterministic


def test_wilson():
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(0.19, abs=0.01)
    assert wilson(10, 10)[1] == 1.0 and wilson(0, 10)[0] == 0.0
