"""The headless game session behind the window: moves, undo, scoring, engine threads, without a display."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import needs_gnugo
from vw_envs.go.coords import from_gtp
from vw_envs.go.rules import BLACK, WHITE, GoGame
from vw_envs.go.session import GoSession, as_rgb, score_text
from vw_envs.players import make_player


def v(vertex: str) -> int:
    return from_gtp(vertex, 9)


@pytest.fixture
def session():
    sessions = []

    def make(black, white, **kw) -> GoSession:
        kw.setdefault("dead_stones", None)
        s = GoSession(black, white, board_size=9, **kw).start()
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()
        for p in s.players.values():
            if p is not None:
                p.close()


def test_moves_illegal_moves_and_the_agent_reply(session):
    s = session(None, make_player("random"))
    s.click_point(v("E5"))
    s.wait_idle()
    assert s.game.moves[0] == (BLACK, v("E5")) and s.game.moves[1][0] == WHITE
    assert s.think_last[WHITE] is not None and s.think_last[BLACK] is None
    before = list(s.game.moves)
    s.click_point(v("E5"))
    assert s.game.moves == before and s.message == ("E5 is illegal: occupied: there is a stone there already",
                                                     "error")


def test_undo_takes_back_the_human_move_and_the_reply(session):
    s = session(None, make_player("random"))
    s.click_point(v("E5"))
    s.wait_idle()
    s.click_point(v("C3") if s.game.board[v("C3")] == 0 else v("G7"))
    s.wait_idle()
    assert len(s.game.moves) == 4
    s.undo()
    s.wait_idle()
    assert len(s.game.moves) == 2 and s.game.moves[0] == (BLACK, v("E5"))
    s.undo()
    assert s.game.moves == [] and s.message == ("undone", "info")
    s.undo()
    assert s.message == ("nothing to undo", "info")


def test_resign_new_game_and_the_sgf(session):
    s = session(None, make_player("random"), seed=3)
    assert s.enabled("resign") and not s.enabled("done")
    s.do("resign")
    assert s.phase == "over" and s.result == "W+R" and not s.enabled("pass")
    s.click_point(v("C3"))
    assert s.game.moves == [] and "the game is over" in s.message[0]
    s.do("new")
    assert s.phase == "play" and s.games_started == 1 and s.result == "?"
    assert "PB[human]" in s.to_sgf()


def test_two_humans_score_by_hand_without_gnugo(session):
    g = GoGame(9, 7.5)
    g.setup([v(f"C{i}") for i in range(1, 10)] + [v("A6"), v("B5")], [v(f"E{i}") for i in range(1, 10)] + [v("A5")],
            to_play="black")
    s = session(None, None, game=g)
    s.do("pass")
    s.do("pass")
    assert s.phase == "scoring" and s.counted and s.dead == set()
    s.click_point(v("A5"))  # while scoring a click toggles the group
    assert s.dead == {v("A5")} and s.scores() == (-35.5, -25.5)
    s.do("done")
    assert s.phase == "over" and s.result == "W+35.5" and s.end["score_dead_removed"] == -25.5
    assert score_text(-25.5) == "W+25.5" and score_text(0) == "draw"


@needs_gnugo
def test_gnugo_proposes_the_dead_stones_of_a_finished_game(session):
    g = GoGame(9, 7.5)
    g.setup([v(f"C{i}") for i in range(1, 10)] + [v("A6"), v("B5")], [v(f"E{i}") for i in range(1, 10)] + [v("A5")],
            to_play="black")
    s = session(None, make_player("random:pass=1"), game=g, dead_stones="gnugo")
    s.do("pass")
    s.wait_idle()  # White passes, then GNU Go reads the position in the worker thread
    assert s.phase == "scoring" and s.dead == {v("A5")}
    assert "GNU Go marks 1 group(s) dead" in s.message[0]
    s.accept_score()
    assert s.result == "W+35.5" and s.end["score_dead_removed"] == -25.5


def test_as_rgb_takes_decoder_output_as_it_comes():
    assert as_rgb(np.zeros((3, 8, 8), np.float32)).shape == (8, 8, 3)
    assert as_rgb(np.full((8, 8), 1.0))[0, 0].tolist() == [255, 255, 255]
    assert as_rgb(np.zeros(5)) is None
