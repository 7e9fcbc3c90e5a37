"""KataGo for real: install discovery, the analysis engine, the players, the rank bot, missing installs."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vw_envs.errors import EngineNotFoundError, SpecError
from vw_envs.go import katago, katago_install, rank_bot
from vw_envs.go.coords import from_gtp
from vw_envs.players import make_player, parse_spec

needs_katago = pytest.mark.skipif(
    katago_install.check_installed() is not None and not os.environ.get("CI"),
    reason="KataGo is not installed (pip install --no-deps katrain==1.20.0 + OpenCL); CI always has it",
)


def test_missing_katago_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setenv("VW_KATAGO", str(tmp_path / "nowhere" / "katago"))
    reason = katago_install.check_installed()
    assert reason is not None and "pip install --no-deps katrain==1.20.0" in reason and "\n" not in reason
    with pytest.raises(EngineNotFoundError) as e:
        katago.KataGoEngine(9)
    assert "katrain" in str(e.value) and "\n" not in str(e.value)
    # The spec still parses: only using the player needs KataGo.
    assert make_player("katago:policy").name == "katago:policy"


def test_missing_network_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setenv("VW_KATAGO_MODEL", str(tmp_path / "none.bin.gz"))
    if katago_install.katago_source() and os.path.exists(katago_install.katago_source()):
        reason = katago_install.check_installed()
        assert reason is not None and "network" in reason and "katrain" in reason


def test_specs():
    assert make_player("katago:policy").name == "katago:policy"
    assert make_player("katago:policy,temperature=0.5").temperature == 0.5
    assert make_player("katago:temperature=1").mode == "policy"
    assert make_player("katago:visits=8").visits == 8
    p = make_player("katago:rank=5k")
    assert p.mode == "rank" and p.kyu == 5 and p.name == "katago:rank=5k"
    assert make_player("katago:policy,cleanup=0").cleanup is False
    for bad in ("katago", "katago:rank=30k", "katago:visits=0", "katago:rank=5k,visits=3", "katago:foo",
                "katago:policy,depth=3"):
        with pytest.raises(SpecError):
            make_player(bad)
    assert parse_spec("katago:rank=1d").params == {"rank": "1d"}


def test_rank_move_rules():
    rng = np.random.default_rng(0)
    b = 81
    pol = np.full(b + 1, 0.5 / b)
    pol[40] = 0.5
    pol[b] = 0.0
    assert rank_bot.rank_move(pol, 18, rng) == 40  # the top two carry enough mass at 18k
    flat = np.full(b + 1, 1.0 / (b + 1))
    flat[b] = 1e-6
    picks = {rank_bot.rank_move(flat, 18, rng) for _ in range(50)}
    assert len(picks) > 5  # a weak bot samples few candidates: its choices spread
    strong = {rank_bot.rank_move(flat + np.arange(b + 1) * 1e-5, -2, rng) for _ in range(50)}
    assert np.mean([m >= 70 for m in strong]) > 0.5  # a 3d bot sees most moves, so it finds the best ones
    passing = np.full(b + 1, 0.001)
    passing[b] = 0.9
    assert rank_bot.rank_move(passing, 5, rng) == b  # pass in the top five: play the top move


@needs_katago
def test_policy_coordinates_and_visits():
    eng = katago.shared_engine(9)
    e5 = from_gtp("E5", 9)
    pol = eng.policy([("black", e5)], komi=7.5)
    assert pol.shape == (82,) and pol[e5] == -1  # occupied point: illegal
    assert np.sum(pol[pol > 0]) == pytest.approx(1.0, abs=1e-3)
    # Setup stones: a white stone at C3 makes C3 illegal for Black.
    c3 = from_gtp("C3", 9)
    pol2 = eng.policy([], komi=7.5, setup=((), (c3,)), first_player="black")
    assert pol2[c3] == -1
    msg = eng.query([("black", e5)], komi=7.5, max_visits=4, include_policy=False)
    assert msg["moveInfos"] and msg["moveInfos"][0]["move"]


@needs_katago
def test_players_choose_legal_moves():
    from vw_envs.go.env import VideoGoEnv

    env = VideoGoEnv(board_size=9, opponent="none", frame_size=64)
    env.reset(seed=0)
    for m in ("E5", "C3", "G7", "C7"):
        env.step(from_gtp(m, 9))
    state = env.state_for()
    for spec in ("katago:policy", "katago:policy,temperature=1", "katago:visits=2", "katago:rank=18k",
                 "katago:rank=3d"):
        p = make_player(spec)
        p.reset(9, 7.5, "black", seed=1)
        move = p.genmove(state)
        assert 0 <= move < 81 and state.legal_mask[move], (spec, move)
        p.close()
    env.close()


def test_cleanup_does_not_pass_into_a_lost_count():
    """Where KataGo would pass with enemy stones left in its area, cleanup plays on (not into its own eye)."""
    from vw_envs.go.rules import GoGame
    from vw_envs.players import GameState

    g = GoGame(9, 7.5)
    black = [from_gtp(v, 9) for v in ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "A1", "B2", "C1")]
    white = [from_gtp(v, 9) for v in ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "B5")]
    g.setup(black, white, to_play="black")

    def state(history):
        return GameState(9, 7.5, "black", g.legal_mask(), tuple(history), g.board_array().reshape(9, 9).copy())

    pol = np.full(82, 0.001)
    pol[81] = 0.9  # KataGo wants to pass
    pol[from_gtp("B1", 9)] = 0.05  # fills Black's own eye (A1-B2-... surround it): never chosen
    pol[from_gtp("B4", 9)] = 0.02  # next to the white stone in Black's area
    assert katago.cleanup_instead_of_pass(state([("white", from_gtp("G5", 9))]), pol) == from_gtp("B4", 9)
    # The opponent passed but the count loses (komi, and B5 counts for White): still play on.
    assert katago.cleanup_instead_of_pass(state([("white", 81)]), pol) == from_gtp("B4", 9)
    # The count wins: pass, whatever the opponent did last.
    g2 = GoGame(9, 0.5)
    g2.setup(black + [from_gtp("E5", 9)], [], to_play="black")
    for last in (81, from_gtp("H5", 9)):
        st = GameState(9, 0.5, "black", g2.legal_mask(), (("white", last),), g2.board_array().reshape(9, 9).copy())
        assert katago.cleanup_instead_of_pass(st, pol) == 81
