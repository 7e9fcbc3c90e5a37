"""The one coordinate convention, used everywhere: env actions, GTP, SGF, the renderer and the window.

* Action index ``a = r * N + c``; row ``r = 0`` is the **top** row of the picture, column ``c = 0`` the left.
* In GTP terms index ``a`` is column letter ``GTP_COLUMNS[c]`` (no ``I``) and row number ``N - r``,
  so ``a = 0`` on 9x9 is ``A9`` and ``a = 80`` is ``J1``.
* SGF points are ``(row, col)`` in sgfmill, with ``row = 0`` at the **bottom**: sgfmill row ``N - 1 - r``.
* Pass is ``N * N``. Resign is not an action; players signal it with :data:`RESIGN`.

Only this module converts. ``tests/go/test_coords.py`` checks it against GNU Go's ``list_stones``: a
mirrored mapping still plays legal games, so only that test catches one.
"""

from __future__ import annotations

import numpy as np

from vw_envs.errors import InvalidActionError

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRST"
RESIGN = -1  # returned by Player.genmove to resign; never an env action
BOARD_SIZES = (9, 13, 19)


def pass_action(n: int) -> int:
    """The pass action of an ``n`` x ``n`` board."""
    return n * n


def to_rc(a: int, n: int) -> tuple[int, int]:
    """Action index -> (row from top, column from left)."""
    return divmod(a, n)


def from_rc(r: int, c: int, n: int) -> int:
    """(row from top, column from left) -> action index."""
    return r * n + c


def to_gtp(a: int, n: int) -> str:
    """Action index -> GTP vertex (``"D4"``, ``"pass"``, ``"resign"``)."""
    if a == RESIGN:
        return "resign"
    if a == n * n:
        return "pass"
    if not 0 <= a < n * n:
        raise ValueError(f"action {a} is outside a {n}x{n} board (0..{n * n}, {n * n} = pass)")
    r, c = divmod(a, n)
    return f"{GTP_COLUMNS[c]}{n - r}"


def from_gtp(vertex: str, n: int) -> int:
    """GTP vertex (case-insensitive, ``pass``/``resign`` too) -> action index; ValueError if malformed."""
    v = vertex.strip().upper()
    if v == "PASS":
        return n * n
    if v == "RESIGN":
        return RESIGN
    if len(v) < 2 or v[0] not in GTP_COLUMNS[:n] or not v[1:].isdigit():
        raise ValueError(f"{vertex!r} is not a vertex of a {n}x{n} board (e.g. A1..{GTP_COLUMNS[n - 1]}{n})")
    c = GTP_COLUMNS.index(v[0])
    number = int(v[1:])
    if not 1 <= number <= n:
        raise ValueError(f"{vertex!r} is not a vertex of a {n}x{n} board (rows 1..{n})")
    return (n - number) * n + c


def to_sgf_point(a: int, n: int) -> tuple[int, int] | None:
    """Action index -> sgfmill ``(row, col)`` with row 0 at the bottom; ``None`` for pass."""
    if a == n * n:
        return None
    r, c = divmod(a, n)
    return (n - 1 - r, c)


def from_sgf_point(point: tuple[int, int] | None, n: int) -> int:
    """sgfmill ``(row, col)`` (row 0 at the bottom) or ``None`` (pass) -> action index."""
    if point is None:
        return n * n
    row, col = point
    return (n - 1 - row) * n + col


SYMMETRIES = 8  # the square board's dihedral group: 4 rotations, each optionally mirrored


def symmetric_action(a: int, n: int, sym: int) -> int:
    """Action index ``a`` under board symmetry ``sym`` (0 = identity .. 7); pass stays pass.

    ``sym`` bit 0 mirrors rows (top <-> bottom), bit 1 mirrors columns, bit 2 transposes first. The eight
    values are the eight distinct symmetries; Go's rules and scoring do not change under any of them.
    """
    if not 0 <= sym < SYMMETRIES:
        raise ValueError(f"symmetry must be 0..{SYMMETRIES - 1}, got {sym}")
    if a == n * n:
        return a
    r, c = divmod(a, n)
    if sym & 4:
        r, c = c, r
    if sym & 1:
        r = n - 1 - r
    if sym & 2:
        c = n - 1 - c
    return r * n + c


def star_points(n: int) -> list[int]:
    """Hoshi as action indices: the four corner points and tengen, plus the four side points on 19x19."""
    edge = 2 if n < 13 else 3
    lines = [edge, n // 2, n - 1 - edge]
    if n >= 19:
        return sorted(from_rc(r, c, n) for r in lines for c in lines)
    corners = [from_rc(r, c, n) for r in (lines[0], lines[2]) for c in (lines[0], lines[2])]
    return sorted([*corners, from_rc(n // 2, n // 2, n)])


def action_index(action: object) -> int:
    """A move as an ``int``: Python and numpy integers and 0-d integer arrays (SB3 and ``make_vec`` pass
    ``np.int64``); a float such as 3.7 or a string such as "5" raises :class:`InvalidActionError`, as
    ``action_space.contains`` would refuse it, instead of being truncated or parsed into a move."""
    if isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
        return int(action)
    if isinstance(action, (int, np.integer)) and not isinstance(action, (bool, np.bool_)):
        return int(action)
    raise InvalidActionError(f"a move is an integer action index, got {action!r} ({type(action).__name__})")
