"""The human-vs-agent window, driven by real pygame events (SDL's dummy driver; one test under Xvfb)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner
from sgfmill import sgf

from tests.conftest import needs_gnugo, needs_xvfb
from vw_cli.main import cli
from vw_envs.go.coords import from_gtp
from vw_envs.go.render import BOARD_RGB, BoardRenderer, RenderConfig
from vw_envs.go.rules import BLACK, WHITE, GoGame
from vw_envs.go.sgf import to_sgf
from vw_envs.go.window import GoWindow
from vw_envs.players import GameState, RandomPlayer, make_player

pygame = pytest.importorskip("pygame")


def v(vertex: str) -> int:
    return from_gtp(vertex, 9)


@pytest.fixture
def open_window():
    windows = []

    def make(black, white, **kw) -> GoWindow:
        kw.setdefault("dead_stones", None)
        w = GoWindow(black, white, board_size=9, seed=kw.pop("seed", 0), **kw).open()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
        for p in w.players.values():
            if p is not None:
                p.close()


def click(w: GoWindow, p: int) -> None:
    """A real left click on intersection ``p``, through pygame's event queue."""
    x, y = w.pixel_of(p)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1))
    w.tick()


def key(w: GoWindow, k: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))
    w.tick()


def test_clicks_play_moves_against_random(open_window):
    w = open_window(None, make_player("random"))
    click(w, v("E5"))
    w.wait_idle()
    assert w.game.moves[0] == (BLACK, v("E5")) and w.game.moves[1][0] == WHITE and len(w.game.moves) == 2
    reply = w.game.moves[1][1]
    click(w, v("C3"))
    w.wait_idle()
    assert len(w.game.moves) == 4 and w.game.board[v("C3")] == BLACK
    before = list(w.game.moves)
    click(w, reply)  # the agent's stone
    assert w.game.moves == before and "occupied" in w.message[0]
    assert w.think_last[WHITE] is not None and w.think_last[BLACK] is None
    saved = sgf.Sgf_game.from_bytes(w.to_sgf().encode())
    assert [n.get_move()[0] for n in saved.get_main_sequence()[1:]] == ["b", "w", "b", "w"]


def ko_game() -> GoGame:
    """White to move, just after Black took a ko at F5; A1 is suicide for White."""
    g = GoGame(9, 7.5)
    g.setup([v("D5"), v("E4"), v("E6"), v("A2"), v("B1")], [v("F4"), v("F6"), v("G5"), v("E5")], to_play="black")
    g.play(v("F5"))
    return g


def test_illegal_clicks_are_refused_with_the_reason(open_window):
    w = open_window(make_player("random"), None, game=ko_game())
    assert w.game.to_play == WHITE and not w.thinking
    h, n = w.game.hash, w.game.move_number
    for vertex, reason in (("E5", "ko"), ("A1", "suicide"), ("F5", "occupied")):
        click(w, v(vertex))
        assert w.message[0].startswith(f"{vertex} is illegal: {reason}"), w.message
        assert (w.game.hash, w.game.move_number) == (h, n)
    w.draw()  # the reason is drawn in the panel without error
    click(w, v("H8"))
    w.wait_idle()
    assert w.game.moves[1] == (WHITE, v("H8")) and len(w.game.moves) == 3


def test_undo_pass_resign_and_new_game(open_window):
    w = open_window(None, make_player("random"))
    click(w, v("E5"))
    w.wait_idle()
    click(w, v("D4"))
    w.wait_idle()
    key(w, pygame.K_u)  # the human's last move plus the reply
    assert [m for _c, m in w.game.moves][0] == v("E5") and len(w.game.moves) == 2
    key(w, pygame.K_u)
    assert w.game.moves == []
    key(w, pygame.K_u)
    assert w.message[0] == "nothing to undo"
    key(w, pygame.K_p)
    w.wait_idle()
    assert w.game.moves[0] == (BLACK, 81) and len(w.game.moves) == 2
    # Buttons work like keys: find Resign in the panel and click it.
    rect = next(r for r, action, _ in w._buttons if action == "resign")
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=rect.center, button=1))
    w.tick()
    assert w.phase == "over" and w.result == "W+R"
    click(w, v("C3"))
    assert w.game.board[v("C3")] == 0 and "the game is over" in w.message[0]
    key(w, pygame.K_n)
    assert w.phase == "play" and w.game.moves == [] and w.games_started == 1
    click(w, v("G7"))
    w.wait_idle()
    assert len(w.game.moves) == 2


class SlowPlayer(RandomPlayer):
    """A random player that takes its time, like a big model on a CPU."""

    def __init__(self):
        super().__init__()
        self.name = "slow"

    def genmove(self, state: GameState) -> int:
        time.sleep(0.6)
        return super().genmove(state)


def test_agent_thinks_off_the_ui_thread(open_window):
    w = open_window(None, SlowPlayer())
    click(w, v("E5"))
    assert w.thinking
    worst = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        w.tick()
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.2  # the window keeps drawing while the agent thinks
    click(w, v("C3"))
    assert "wait: slow is thinking" in w.message[0] and w.game.board[v("C3")] == 0
    key(w, pygame.K_u)
    assert len(w.game.moves) == 1  # undo waits for the reply
    w.wait_idle(timeout=10)
    assert len(w.game.moves) == 2 and w.think_last[WHITE] >= 0.6


class ImaginingPlayer(RandomPlayer):
    """A test player that, like the VideoWorld agent, leaves the frames it 'imagined' in last_imagination:
    here the real rendered frames of the current board and of the board after its chosen move."""

    def __init__(self):
        super().__init__()
        self.name = "imagining"

    def genmove(self, state: GameState) -> int:
        move = super().genmove(state)
        renderer = BoardRenderer(state.board_size, RenderConfig(frame_size=64))
        after = state.board.reshape(-1).copy()
        if move < after.size:
            after[move] = 1 if state.to_play == "black" else 2
        imagined = renderer.render(after)
        # The third as a decoder may hand it over: floats in [0, 1], channels first.
        self.last_imagination = [renderer.render(state.board), imagined, imagined.transpose(2, 0, 1) / 255.0]
        return move


def test_imagined_frames_become_thumbnails(open_window, tmp_path):
    player = ImaginingPlayer()
    w = open_window(None, player)
    assert w.imagination == []
    click(w, v("E5"))
    w.wait_idle()
    w.tick()
    assert len(w.imagination) == 3 and w.imagined_by == "imagining"
    np.testing.assert_array_equal(w.imagination[1], player.last_imagination[1])
    assert np.abs(w.imagination[2].astype(int) - w.imagination[1]).max() <= 1
    assert len(w._thumbs) == 3
    # The thumbnails are on screen: the panel holds board-coloured pixels now.
    path = tmp_path / "shot.png"
    w.save_screenshot(str(path))
    shot = pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2)
    panel = shot[:, w._panel_x:]
    assert (np.abs(panel.astype(int) - BOARD_RGB).sum(-1) < 30).sum() > 1000


def dead_stone_game() -> GoGame:
    """Black wall on C, White wall on E, and a dead white stone on A5 inside Black's side."""
    g = GoGame(9, 7.5)
    black = [v(f"C{i}") for i in range(1, 10)] + [v("A6"), v("B5")]
    white = [v(f"E{i}") for i in range(1, 10)] + [v("A5")]
    g.setup(black, white, to_play="black")
    return g


@needs_gnugo
def test_two_passes_gnugo_proposes_dead_stones_and_both_scores_show(open_window):
    w = open_window(None, make_player("random:pass=1"), game=dead_stone_game(), dead_stones="gnugo")
    key(w, pygame.K_p)
    w.wait_idle()  # White passes, then GNU Go reads the position, all off the UI thread
    assert w.phase == "scoring" and w.dead == {v("A5")}
    assert w.scores() == (-35.5, -25.5)
    click(w, v("A5"))  # the human disagrees
    assert w.dead == set() and w.scores() == (-35.5, -35.5)
    click(w, v("A5"))
    click(w, v("E3"))  # a whole group toggles
    assert w.dead == {v("A5")} | {v(f"E{i}") for i in range(1, 10)}
    click(w, v("E7"))
    assert w.dead == {v("A5")}
    key(w, pygame.K_RETURN)
    assert w.phase == "over" and w.result == "W+35.5"
    assert w.end["score_dead_removed"] == -25.5
    assert "with 1 dead stones removed: W+25.5" in w.to_sgf()


def test_scoring_without_gnugo_starts_all_alive(open_window):
    w = open_window(None, make_player("random:pass=1"), game=dead_stone_game(), dead_stones=None)
    key(w, pygame.K_p)
    w.wait_idle()
    assert w.phase == "scoring" and w.dead == set() and "click the dead groups" in w.message[0]
    click(w, v("A5"))
    assert w.scores() == (-35.5, -25.5)
    key(w, pygame.K_u)  # undo reopens the game
    assert w.phase == "play" and w.game.moves == []


def test_resize_renders_the_board_at_the_new_pixel_size(open_window):
    w = open_window(None, make_player("random"))
    small = w._board.config.frame_size
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(1400, 1000), w=1400, h=1000))
    w.tick()
    time.sleep(0.2)
    w.tick()
    assert w._board.config.frame_size > small + 200
    click(w, v("B8"))
    w.wait_idle()
    assert w.game.moves[0] == (BLACK, v("B8"))


def test_cli_window_loads_a_game_and_saves_the_sgf_on_close(tmp_path):
    g = GoGame(9, 6.5)
    for vertex in ("E5", "C3", "G7", "D4"):
        g.play(v(vertex))
    load, out = tmp_path / "in.sgf", tmp_path / "out.sgf"
    load.write_text(to_sgf(g, black="me", white="random"))

    def press_then_close() -> None:
        deadline = time.monotonic() + 20
        while pygame.display.get_surface() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_p, mod=0, unicode="p", scancode=0))
        time.sleep(1.0)  # the random reply takes milliseconds
        pygame.event.post(pygame.event.Event(pygame.QUIT))

    helper = threading.Thread(target=press_then_close, daemon=True)
    helper.start()
    res = CliRunner().invoke(cli, ["play", "--env", "VideoGo-9x9-v0", "--black", "human", "--white", "random",
                                   "--render", "human", "--load", str(load), "--sgf", str(out)],
                             catch_exceptions=False)
    helper.join()
    assert res.exit_code == 0, res.output
    assert "human (B) vs random (W): ? after 6 moves (unfinished)" in res.output
    saved = sgf.Sgf_game.from_bytes(out.read_bytes())
    moves = [n.get_move() for n in saved.get_main_sequence()[1:]]
    assert len(moves) == 6 and moves[4] == ("b", None) and saved.get_komi() == 6.5


def test_cli_load_needs_the_window(tmp_path):
    load = tmp_path / "in.sgf"
    load.write_text(to_sgf(GoGame(9)))
    res = CliRunner().invoke(cli, ["play", "--load", str(load)])
    assert res.exit_code == 2 and "--render human" in res.output
    res = CliRunner().invoke(cli, ["play", "--env", "VideoGo-13x13-v0", "--black", "human", "--render", "human",
                                   "--load", str(load)])
    assert res.exit_code == 2 and "use --env VideoGo-9x9-v0" in res.output


XVFB_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import pygame
    from PIL import ImageGrab
    from vw_envs.go.coords import from_gtp
    from vw_envs.go.window import GoWindow
    from vw_envs.players import make_player

    display, shot = sys.argv[1], sys.argv[2]
    w = GoWindow(None, make_player("random"), board_size=9, size=(900, 640), dead_stones=None).open()
    for vertex in ("E5", "C3", "G7"):
        x, y = w.pixel_of(from_gtp(vertex, 9))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1))
        w.tick()
        w.wait_idle()
    for _ in range(5):
        w.tick()
        time.sleep(0.05)
    ImageGrab.grab(xdisplay=display).save(shot)  # what the X server shows, not pygame's buffer
    print(json.dumps({"driver": pygame.display.get_driver(), "moves": w.game.moves,
                      "size": list(w._screen.get_size())}))
    w.close()
""")


@needs_xvfb
def test_real_window_under_xvfb(tmp_path, xvfb_env):
    env, display = xvfb_env, xvfb_env["DISPLAY"]
    shot = tmp_path / "screen.png"
    out = subprocess.run([sys.executable, "-c", XVFB_SCRIPT, display, str(shot)], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["driver"] == "x11" and report["size"] == [900, 640]
    moves = [tuple(m) for m in report["moves"]]
    assert [m for c, m in moves if c == BLACK] == [v("E5"), v("C3"), v("G7")] and len(moves) == 6
    from PIL import Image

    screen = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    board = (np.abs(screen - BOARD_RGB).sum(-1) < 40).sum()
    black = (screen.sum(-1) < 30).sum()
    assert board > 200_000 and black > 3 * 1000, (board, black)  # the board and the stones are on screen
