from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from vw_envs.errors import SGFError
from vw_envs.go.coords import SYMMETRIES, from_gtp, symmetric_action
from vw_envs.go.env import replay_frames
from vw_envs.go.sgf import iter_sgf_file, read_sgf, replay, transform_sgf

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("n", [9, 13])
def test_play_sgf_replay_identical_frames(n):
    env = gym.make(f"VideoGo-{n}x{n}-v0", opponent="none")
    obs, info = env.reset(seed=4)
    frames, rng = [obs], np.random.default_rng(4)
    for _ in range(120):
        obs, _r, term, trunc, info = env.step(rng.choice(np.flatnonzero(info["action_mask"])))
        frames.append(obs)
        if term or trunc:
            break
    text = env.unwrapped.to_sgf(black="b-bot", white="w-bot")
    g = read_sgf(text)
    assert g.players == {"black": "b-bot", "white": "w-bot"} and g.komi == 7.5
    replayed, actions = replay_frames(g)
    assert len(replayed) == len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(frames, replayed, strict=True))
    assert [m for _c, m in g.moves] == actions.tolist()


def test_interrupted_game_is_saved_without_result():
    env = gym.make("VideoGo-9x9-v0", opponent="none")
    env.reset(seed=0)
    env.step(40)
    text = env.unwrapped.to_sgf()
    assert "RE[" not in text and ";B[ee]" in text


def test_handicap_setup_stones_replay():
    sgf = "(;GM[1]FF[4]SZ[9]KM[0.5]HA[2]AB[cc][gg]AW[ee]PL[W];W[dd];B[ff])"
    g = read_sgf(sgf)
    assert sorted(g.setup_black) == sorted([from_gtp("C7", 9), from_gtp("G3", 9)])
    assert g.setup_white == [from_gtp("E5", 9)] and g.first_to_play == "white"
    frames, actions = replay_frames(g)
    assert len(frames) == 3 and actions.tolist() == [from_gtp("D6", 9), from_gtp("F4", 9)]
    assert replay(g).stone_count[1:] == [3, 2]


def test_katago_corpus_games_replay():
    games = list(iter_sgf_file(str(DATA / "katago9-3games.sgfs")))
    assert len(games) == 3
    for name, text in games:
        g = read_sgf(text, name=name)
        frames, actions = replay_frames(g)
        assert len(frames) == len(g.moves) + 1 and g.board_size == 9


@pytest.mark.parametrize("bad,match", [
    ("not an sgf", "not a readable SGF"),
    ("(;SZ[25];B[aa])", "board size 25"),
    ("(;SZ[9];B[aa];W[aa])", "move 2: illegal move A9 by white: occupied"),
    ("(;SZ[9];B[aa];B[bb])", "second black move in a row"),
])
def test_malformed_sgf_one_line_errors(bad, match):
    with pytest.raises(SGFError, match=match):
        g = read_sgf(bad, name="x.sgf")
        replay_frames(g, name="x.sgf")


def test_the_eight_symmetries_are_distinct_permutations_that_fix_pass():
    n = 9
    perms = {tuple(symmetric_action(a, n, s) for a in range(n * n)) for s in range(SYMMETRIES)}
    assert len(perms) == SYMMETRIES and all(sorted(p) == list(range(n * n)) for p in perms)
    assert tuple(range(n * n)) in perms  # symmetry 0 is the identity
    assert all(symmetric_action(n * n, n, s) == n * n for s in range(SYMMETRIES))
    # A rotation / mirror keeps neighbours neighbours: the rules cannot tell a game from its image.
    for s in range(SYMMETRIES):
        r0, c0 = divmod(symmetric_action(from_gtp("D4", n), n, s), n)
        r1, c1 = divmod(symmetric_action(from_gtp("D5", n), n, s), n)
        assert abs(r0 - r1) + abs(c0 - c1) == 1
    with pytest.raises(ValueError, match="symmetry must be 0..7"):
        symmetric_action(0, n, 8)


def test_transform_sgf_maps_every_move_and_the_final_position():
    name, text = next(iter_sgf_file(str(DATA / "katago9-3games.sgfs")))
    g = read_sgf(text, name=name)
    final = replay(g).board_array()
    for s in range(SYMMETRIES):
        t = transform_sgf(text, s, name=name)
        assert "\n" not in t  # one line: fits an .sgfs collection
        h = read_sgf(t, name=name)
        assert [c for c, _m in h.moves] == [c for c, _m in g.moves]
        assert [m for _c, m in h.moves] == [symmetric_action(m, 9, s) for _c, m in g.moves]
        assert (h.komi, h.result, h.players) == (g.komi, g.result, g.players)
        image = np.zeros_like(final).reshape(-1)
        image[[symmetric_action(a, 9, s) for a in range(81)]] = final.reshape(-1)
        np.testing.assert_array_equal(replay(h).board_array(), image.reshape(final.shape))


def test_transform_sgf_maps_setup_stones_and_drops_markup():
    text = "(;GM[1]FF[4]SZ[9]KM[0]AB[aa][bb]AW[ia];W[ii]TR[ii]LB[ii:x])"
    t = transform_sgf(text, 1)  # rows mirrored
    g = read_sgf(t)
    assert sorted(g.setup_black) == sorted(symmetric_action(from_gtp(v, 9), 9, 1) for v in ("A9", "B8"))
    assert g.setup_white == [symmetric_action(from_gtp("J9", 9), 9, 1)]
    assert g.moves == [("white", symmetric_action(from_gtp("J1", 9), 9, 1))] and g.first_to_play == "white"
    assert "TR" not in t and "LB" not in t
    with pytest.raises(SGFError, match="not a readable SGF game"):
        transform_sgf("(;GM[1]SZ[9]", 3, name="bad.sgf")
