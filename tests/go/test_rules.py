"""Rules on known positions, and the incremental engine against a slow, obviously-correct reference."""

import numpy as np
import pytest

from vw_envs.errors import IllegalMoveError
from vw_envs.go.coords import from_gtp
from vw_envs.go.rules import BLACK, EMPTY, WHITE, GoGame


def play(g: GoGame, *vertices: str) -> None:
    for v in vertices:
        g.play(from_gtp(v, g.n))


def from_diagram(rows: list[str], komi=0.0, ko_rule="positional", to_play="black") -> GoGame:
    """'X' black, 'O' white, '.' empty; row 0 on top (as in the picture)."""
    n = len(rows)
    g = GoGame(n, komi, ko_rule)
    g.setup([i for i, ch in enumerate("".join(rows)) if ch == "X"],
            [i for i, ch in enumerate("".join(rows)) if ch == "O"], to_play=to_play)
    return g


def test_single_capture_and_counts():
    g = GoGame(9)
    play(g, "E5", "E6", "D6", "pass", "F6", "pass", "E7")
    assert g.board[from_gtp("E6", 9)] == EMPTY
    assert g.captures[BLACK] == 1 and g.stone_count[WHITE] == 0


def test_multi_stone_capture_in_corner():
    g = from_diagram(["OO" + "." * 7, "O" + "." * 8] + ["." * 9] * 7)
    play(g, "C9", "pass", "B8", "pass")
    assert g.stone_count[WHITE] == 3
    captured = g.play(from_gtp("A7", 9))
    assert sorted(captured) == [0, 1, 9]
    assert g.stone_count[WHITE] == 0 and g.captures[BLACK] == 3
    assert g.legal_mask()[0]  # the emptied corner is playable again


def test_suicide_single_and_multi_stone():
    g = from_diagram([".X...", "X....", ".....", ".....", "....."], to_play="white")
    assert g.illegal_reason(0) == "suicide"
    with pytest.raises(IllegalMoveError, match="illegal move A5 by white: suicide"):
        g.play(0)
    assert not g.legal_mask()[0] and g.move_number == 0
    # White B5 would join A5-A4 into a chain with no liberties; Black B5 captures that chain instead.
    rows = ["O.X..", "OXX..", "X....", ".....", "....."]
    g = from_diagram(rows, to_play="white")
    assert g.illegal_reason(1) == "suicide"
    g = from_diagram(rows, to_play="black")
    assert sorted(g.play(1)) == [0, 5]


@pytest.mark.parametrize("ko_rule", ["simple", "positional"])
def test_simple_ko(ko_rule):
    g = from_diagram(["OX.X.", ".OX..", ".....", ".....", "....."], ko_rule=ko_rule, to_play="white")
    assert g.play(from_gtp("C5", 5)) == [from_gtp("B5", 5)]  # white takes the ko
    retake = from_gtp("B5", 5)
    assert g.illegal_reason(retake) == "ko" and not g.legal_mask()[retake]
    play(g, "E1", "D1")  # a ko threat and its answer
    assert g.illegal_reason(retake) is None
    assert g.play(retake) == [from_gtp("C5", 5)]


TRIPLE_KO = [
    "OX.X.XO.O",
    ".OX...XO.",
    ".........",
    ".........",
    ".........",
    ".........",
    ".........",
    ".XO......",
    "XO.O.....",
]


@pytest.mark.parametrize("ko_rule", ["simple", "positional"])
def test_triple_ko_cycle(ko_rule):
    """Three kos: each capture is legal under simple ko, and six of them recreate the start position."""
    g = from_diagram(TRIPLE_KO, ko_rule=ko_rule)
    start = g.hash
    cycle = ["H9", "C9", "C1", "G9", "B9", "B1"]
    for v in cycle[:-1]:
        assert len(g.play(from_gtp(v, 9))) == 1  # every move captures one stone
    last = from_gtp(cycle[-1], 9)
    if ko_rule == "simple":
        g.play(last)
        assert g.hash == start  # the position repeats: a cycle that could go on forever
    else:
        assert g.illegal_reason(last) == "superko"
        assert not g.legal_mask()[last]
        with pytest.raises(IllegalMoveError, match="superko"):
            g.play(last)


SEKI = [
    "X.OX.",
    "X.OX.",
    "OOOX.",
    "XXXX.",
    ".....",
]


def test_seki_and_area_scoring():
    """Black's corner pair and White's chain share two liberties: whoever fills one is captured."""
    g = from_diagram(SEKI, komi=0.5)
    for color in (BLACK, WHITE):
        trial = from_diagram(SEKI, komi=0.5, to_play=color)
        trial.play(1)  # fill a shared liberty: self-atari
        assert len(trial.group_of[1].libs) == 1
        assert trial.illegal_reason(6) is None
        assert len(trial.play(6)) >= 2  # the opponent captures the filler's chain
    owner = g.area().reshape(5, 5)
    assert owner[0, 1] == EMPTY and owner[1, 1] == EMPTY  # shared liberties count for nobody
    assert (owner == BLACK).sum() == 18 and (owner == WHITE).sum() == 5  # seki stones all count
    assert g.score() == 18 - 5 - 0.5
    assert g.result() == ("black", 12.5)


def test_draw_with_integer_komi():
    g = from_diagram(["X.O", "X.O", "X.O"], komi=0)
    assert g.result() == (None, 0.0)


def test_two_passes_end_the_game():
    g = GoGame(9)
    play(g, "pass", "E5", "pass")
    assert not g.over
    play(g, "pass")
    assert g.over and g.move_number == 4


def test_setup_rejects_dead_stones():
    with pytest.raises(IllegalMoveError, match="without liberties|captures"):
        from_diagram(["OX.", "X..", "..."])


def test_undo_restores_everything():
    g = GoGame(9)
    rng = np.random.default_rng(3)
    hashes, masks = [g.hash], [g.legal_mask()]
    for _ in range(60):
        g.play(int(rng.choice(np.flatnonzero(g.legal_mask()[:-1]))))
        hashes.append(g.hash)
        masks.append(g.legal_mask())
    for k in range(60, 45, -1):
        g.undo()
        assert g.hash == hashes[k - 1] and g.move_number == k - 1
        assert np.array_equal(g.legal_mask(), masks[k - 1])


# ------------------------------------------------------------------ reference implementation


def _ref_legal(board: list[int], n: int, p: int, c: int, seen: set[tuple]) -> bool:
    """Copy the board, place, capture by flood fill, check suicide and positional superko."""
    if board[p] != EMPTY:
        return False
    b = list(board)
    b[p] = c

    def nbrs(q):
        r, cc = divmod(q, n)
        return [x for x, ok in ((q - n, r > 0), (q + n, r < n - 1), (q - 1, cc > 0), (q + 1, cc < n - 1)) if ok]

    def chain(q):
        col, todo, grp, libs = b[q], [q], {q}, set()
        while todo:
            x = todo.pop()
            for y in nbrs(x):
                if b[y] == EMPTY:
                    libs.add(y)
                elif b[y] == col and y not in grp:
                    grp.add(y)
                    todo.append(y)
        return grp, libs

    for q in nbrs(p):
        if b[q] == 3 - c:
            grp, libs = chain(q)
            if not libs:
                for s in grp:
                    b[s] = EMPTY
    if not chain(p)[1]:
        return False
    return tuple(b) not in seen


@pytest.mark.parametrize("n,seed", [(5, 0), (5, 1), (7, 2), (9, 3), (19, 4)])
def test_legal_mask_matches_reference_over_random_games(n, seed):
    g = GoGame(n)
    rng = np.random.default_rng(seed)
    seen = {tuple(g.board)}
    captures = 0
    for _ in range(3 * n * n):
        mask = g.legal_mask()
        ref = np.array([_ref_legal(g.board, n, p, g.to_play, seen) for p in range(n * n)] + [True])
        assert np.array_equal(mask, ref), (g.move_number, np.flatnonzero(mask != ref))
        moves = np.flatnonzero(mask[:-1])
        move = int(rng.choice(moves)) if len(moves) and rng.random() > 0.03 else n * n
        captures += len(g.play(move))
        seen.add(tuple(g.board))
        if g.over:
            break
    assert captures > n  # the games were long enough to exercise captures
