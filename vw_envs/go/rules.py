"""The Go rules engine: incremental groups and liberties, Zobrist superko, Tromp-Taylor area scoring.

No Gymnasium here: the env, the GTP engine, the referee and the human window all share this class.

Rules (see ``../shared/ANCHORS.md`` for why): area scoring with every stone on the board alive, komi,
suicide illegal, positional superko by default (``ko_rule="simple"`` for simple ko only), two consecutive
passes end the game.

Speed comes from never copying the board: a move touches only the stones and groups around it.

* ``group_of[p]`` is the :class:`Group` (stones list, liberty set) at ``p``; merges relabel the smaller group.
* The Zobrist hash is updated by XOR; ``_seen`` holds the hash of every position of the game.
* The legal mask starts as "empty points" (a numpy compare) and only re-checks the few points where a
  move could be illegal: points with no empty neighbour (suicide candidates), last liberties of groups in
  atari (captures change the resulting hash), the simple-ko point, and points whose non-capturing move
  would recreate an earlier position. That last set is found without trying every point: a non-capturing
  move at ``p`` gives hash ``h ^ Z[c][p]``, so for each earlier position ``H`` with the same stone counts
  the only candidate is the point whose key is ``h ^ H``.
"""

from __future__ import annotations

import math

import numpy as np

from vw_envs.errors import IllegalMoveError
from vw_envs.go.coords import to_gtp

EMPTY, BLACK, WHITE = 0, 1, 2
COLOR_NAMES = {BLACK: "black", WHITE: "white"}
COLORS = {"black": BLACK, "white": WHITE, "b": BLACK, "w": WHITE}
KO_RULES = ("positional", "simple")

_ZOBRIST_SEED = 20250117  # fixed, so hashes are comparable across processes and runs


def color_of(name: str | int) -> int:
    """``"black"``/``"b"``/``1`` -> BLACK, ``"white"``/``"w"``/``2`` -> WHITE."""
    if name in (BLACK, WHITE):
        return int(name)
    try:
        return COLORS[str(name).lower()]
    except KeyError:
        raise ValueError(f"colour must be 'black' or 'white', got {name!r}") from None


def _neighbours(n: int) -> list[tuple[int, ...]]:
    out = []
    for p in range(n * n):
        r, c = divmod(p, n)
        nb = []
        if r > 0:
            nb.append(p - n)
        if r < n - 1:
            nb.append(p + n)
        if c > 0:
            nb.append(p - 1)
        if c < n - 1:
            nb.append(p + 1)
        out.append(tuple(nb))
    return out


class Group:
    """A chain of same-coloured stones and its liberties."""

    __slots__ = ("color", "stones", "libs")

    def __init__(self, color: int, stones: list[int], libs: set[int]):
        self.color = color
        self.stones = stones
        self.libs = libs


class GoGame:
    """One game of Go under area scoring; moves are action indices (``N*N`` is pass).

    Args:
        board_size: N, the board is N x N (2..19).
        komi: points added to White's area.
        ko_rule: ``"positional"`` (superko: no move may recreate an earlier position) or ``"simple"``.

    Example:
        >>> g = GoGame(9)
        >>> g.play(40)           # black E5
        >>> g.to_play == WHITE
        True
    """

    def __init__(self, board_size: int = 19, komi: float = 7.5, ko_rule: str = "positional"):
        if not 2 <= board_size <= 19:
            raise ValueError(f"board_size must be 2..19, got {board_size}")
        if ko_rule not in KO_RULES:
            raise ValueError(f"ko_rule must be one of {KO_RULES}, got {ko_rule!r}")
        self.n = board_size
        self.komi = float(komi)
        if not math.isfinite(self.komi):  # a nan komi scores every game nan, and no SGF can hold it
            raise ValueError(f"komi must be a finite number, got {komi!r}")
        self.ko_rule = ko_rule
        self.pass_move = board_size * board_size
        self.nbrs = _neighbours(board_size)
        rng = np.random.default_rng(_ZOBRIST_SEED + board_size)
        keys = rng.integers(1, 2**63 - 1, size=(3, self.pass_move), dtype=np.int64)
        self._z = [None, [int(k) for k in keys[BLACK]], [int(k) for k in keys[WHITE]]]
        # key -> point, to find the one point whose non-capturing move yields a given hash
        self._zpoint = [None, {k: p for p, k in enumerate(self._z[BLACK])},
                        {k: p for p, k in enumerate(self._z[WHITE])}]
        self.clear()

    # ------------------------------------------------------------------ state
    def clear(self) -> None:
        """Empty board, Black to play, no history."""
        nn = self.pass_move
        self.board = [EMPTY] * nn
        self.board_np = np.zeros(nn, dtype=np.int8)  # numpy mirror for the renderer and the mask
        self.group_of: list[Group | None] = [None] * nn
        self._n_empty_nbrs = [len(nb) for nb in self.nbrs]
        self._surrounded: set[int] = set()  # empty points with no empty neighbour
        self._atari: list[set[Group]] = [set(), set(), set()]  # per colour, groups with one liberty
        self.hash = 0
        self._hash_before_last: int | None = None
        self.stone_count = [0, 0, 0]
        self.captures = [0, 0, 0]  # stones captured BY each colour
        self._seen: set[int] = {0}
        self._seen_by_count: dict[tuple[int, int], set[int]] = {(0, 0): {0}}
        self.to_play = BLACK
        self.consecutive_passes = 0
        self.ko_point: int | None = None  # simple ko only: the point the side to move may not retake
        self.moves: list[tuple[int, int]] = []  # (colour, move) after the setup
        self.setup_stones: tuple[list[int], list[int]] = ([], [])
        self._mask_cache: tuple[int, int, np.ndarray] | None = None

    def setup(self, black: list[int] = (), white: list[int] = (), to_play: int | str = BLACK) -> None:
        """Place handicap / setup stones (SGF AB/AW) on an empty board before any move."""
        if self.moves or any(self.board):
            raise ValueError("setup stones can only be placed on an empty board before the first move")
        for color, points in ((BLACK, black), (WHITE, white)):
            for p in points:
                if not 0 <= p < self.pass_move or self.board[p] != EMPTY:
                    raise IllegalMoveError(f"setup stone {p} is off the board or duplicated")
                if self._place(p, color):
                    raise IllegalMoveError(f"setup stone {to_gtp(p, self.n)} captures stones")
        for color in (BLACK, WHITE):
            if any(len(g.libs) == 0 for g in {self.group_of[p] for p in range(self.pass_move)
                                              if self.board[p] == color}):
                raise IllegalMoveError("setup stones leave a group without liberties")
        self.setup_stones = (list(black), list(white))
        self.captures = [0, 0, 0]
        self._seen = {self.hash}
        self._seen_by_count = {self._counts(): {self.hash}}
        self.to_play = color_of(to_play)
        self.ko_point = None

    @property
    def move_number(self) -> int:
        """Moves played so far (passes included, setup stones not)."""
        return len(self.moves)

    @property
    def over(self) -> bool:
        """True after two consecutive passes."""
        return self.consecutive_passes >= 2

    def board_array(self) -> np.ndarray:
        """(N, N) int8 copy: 0 empty, 1 black, 2 white; row 0 is the top row."""
        return self.board_np.reshape(self.n, self.n).copy()

    def _counts(self) -> tuple[int, int]:
        return (self.stone_count[BLACK], self.stone_count[WHITE])

    # ------------------------------------------------------------------ legality
    def illegal_reason(self, move: int, color: int | None = None) -> str | None:
        """Why ``move`` is illegal for ``color`` (default: side to move): ``"occupied"``, ``"suicide"``,
        ``"ko"``, ``"superko"``, ``"off board"``; ``None`` if it is legal."""
        c = self.to_play if color is None else color
        if move == self.pass_move:
            return None
        if not (0 <= move < self.pass_move):
            return "off board"
        if self.board[move] != EMPTY:
            return "occupied"
        return self._check(move, c)

    def _check(self, p: int, c: int) -> str | None:
        """Legality of an empty point: suicide, then (simple) ko or (positional) superko."""
        board, group_of = self.board, self.group_of
        has_lib = False
        captured: list[Group] = []
        for q in self.nbrs[p]:
            s = board[q]
            if s == EMPTY:
                has_lib = True
            elif s == c:
                if len(group_of[q].libs) > 1:
                    has_lib = True
            else:
                g = group_of[q]
                if len(g.libs) == 1 and g not in captured:
                    captured.append(g)
        if not captured and not has_lib:
            return "suicide"
        if self.ko_rule == "simple":
            return "ko" if p == self.ko_point and c == self.to_play else None
        h = self.hash ^ self._z[c][p]
        zo = self._z[3 - c]
        for g in captured:
            for s in g.stones:
                h ^= zo[s]
        if h in self._seen:
            # Retaking at once (back to the position before the opponent's move) is the ordinary ko;
            # any other repetition is superko.
            return "ko" if h == self._hash_before_last else "superko"
        return None

    def legal_mask(self, color: int | None = None) -> np.ndarray:
        """Bool array of length N*N+1 (pass is always legal); a fresh array each call."""
        c = self.to_play if color is None else color
        key = (len(self.moves), c)
        cache = self._mask_cache
        if cache is not None and cache[0] == key[0] and cache[1] == key[1]:
            return cache[2].copy()
        nn = self.pass_move
        mask = np.empty(nn + 1, dtype=bool)
        np.equal(self.board_np, EMPTY, out=mask[:nn])
        mask[nn] = True
        check = set(self._surrounded)
        for g in self._atari[3 - c]:
            check |= g.libs
        if self.ko_rule == "simple":
            if self.ko_point is not None:
                check.add(self.ko_point)
        else:
            counts = self._counts()
            after = (counts[0] + 1, counts[1]) if c == BLACK else (counts[0], counts[1] + 1)
            earlier = self._seen_by_count.get(after)
            if earlier:
                zp, h, board = self._zpoint[c], self.hash, self.board
                for prev in earlier:
                    p = zp.get(h ^ prev)
                    if p is not None and board[p] == EMPTY:
                        check.add(p)
        for p in check:
            if self._check(p, c) is not None:
                mask[p] = False
        self._mask_cache = (key[0], key[1], mask)
        return mask.copy()

    # ------------------------------------------------------------------ moves
    def play(self, move: int, color: int | str | None = None) -> list[int]:
        """Play ``move`` for ``color`` (default: side to move); returns the captured points.

        Raises:
            IllegalMoveError: naming the move and the reason; the game is unchanged.
        """
        c = self.to_play if color is None else color_of(color)
        move = int(move)
        reason = self.illegal_reason(move, c)
        if reason is not None:
            vertex = to_gtp(move, self.n) if 0 <= move <= self.pass_move else str(move)
            raise IllegalMoveError(f"illegal move {vertex} by {COLOR_NAMES[c]}: {reason}")
        self.moves.append((c, move))
        self._hash_before_last = self.hash
        self.to_play = 3 - c
        self._mask_cache = None
        if move == self.pass_move:
            self.consecutive_passes += 1
            self.ko_point = None
            return []
        self.consecutive_passes = 0
        captured = self._place(move, c)
        g = self.group_of[move]
        self.ko_point = (
            captured[0] if len(captured) == 1 and len(g.stones) == 1 and len(g.libs) == 1 else None
        )
        self._seen.add(self.hash)
        self._seen_by_count.setdefault(self._counts(), set()).add(self.hash)
        return captured

    def _place(self, p: int, c: int) -> list[int]:
        """Put a stone down, merge, capture; no legality checks."""
        board, group_of, nbrs, n_empty = self.board, self.group_of, self.nbrs, self._n_empty_nbrs
        opp = 3 - c
        board[p] = c
        self.board_np[p] = c
        self._surrounded.discard(p)
        self.hash ^= self._z[c][p]
        self.stone_count[c] += 1
        g = Group(c, [p], set())
        group_of[p] = g
        touched: list[Group] = []
        dead: list[Group] = []
        for q in nbrs[p]:
            n_empty[q] -= 1
            s = board[q]
            if s == EMPTY:
                g.libs.add(q)
                if n_empty[q] == 0:
                    self._surrounded.add(q)
            elif s == c:
                other = group_of[q]
                if other is not g:
                    g = self._merge(g, other)
            else:
                other = group_of[q]
                other.libs.discard(p)
                if not other.libs:
                    if other not in dead:
                        dead.append(other)
                else:
                    touched.append(other)
        g.libs.discard(p)
        captured: list[int] = []
        for d in dead:
            self._atari[opp].discard(d)
            captured.extend(d.stones)
            self._remove(d, touched)
        self.captures[c] += len(captured)
        touched.append(g)
        for t in touched:
            if group_of[t.stones[0]] is not t:
                continue  # merged away or captured since
            if len(t.libs) == 1:
                self._atari[t.color].add(t)
            else:
                self._atari[t.color].discard(t)
        return captured

    def _merge(self, a: Group, b: Group) -> Group:
        if len(a.stones) < len(b.stones):
            a, b = b, a
        group_of = self.group_of
        for s in b.stones:
            group_of[s] = a
        a.stones.extend(b.stones)
        a.libs |= b.libs
        self._atari[b.color].discard(b)
        return a

    def _remove(self, d: Group, touched: list[Group]) -> None:
        board, group_of, nbrs, n_empty = self.board, self.group_of, self.nbrs, self._n_empty_nbrs
        zc = self._z[d.color]
        for s in d.stones:
            board[s] = EMPTY
            self.board_np[s] = EMPTY
            group_of[s] = None
            self.hash ^= zc[s]
        self.stone_count[d.color] -= len(d.stones)
        for s in d.stones:
            for q in nbrs[s]:
                n_empty[q] += 1
                if board[q] == EMPTY:
                    self._surrounded.discard(q)
                else:
                    other = group_of[q]
                    other.libs.add(s)
                    touched.append(other)
        for s in d.stones:
            if n_empty[s] == 0:
                self._surrounded.add(s)

    def undo(self) -> tuple[int, int]:
        """Take back the last move (replays the game; undo is rare). Returns the (colour, move) undone."""
        if not self.moves:
            raise ValueError("nothing to undo")
        moves = self.moves[:-1]
        last = self.moves[-1]
        black, white = self.setup_stones
        first = moves[0][0] if moves else last[0]
        self.clear()
        if black or white:
            self.setup(black, white, to_play=first)
        else:
            self.to_play = first
        for c, m in moves:
            self.play(m, c)
        return last

    # ------------------------------------------------------------------ scoring
    def area(self) -> np.ndarray:
        """Tromp-Taylor ownership per point, (N*N,) int8: 1 black, 2 white, 0 neutral (dame or seki)."""
        board, nbrs = self.board, self.nbrs
        owner = np.array(board, dtype=np.int8)
        seen = [False] * self.pass_move
        for start in range(self.pass_move):
            if board[start] != EMPTY or seen[start]:
                continue
            region, reach, stack = [], 0, [start]
            seen[start] = True
            while stack:
                p = stack.pop()
                region.append(p)
                for q in nbrs[p]:
                    s = board[q]
                    if s == EMPTY:
                        if not seen[q]:
                            seen[q] = True
                            stack.append(q)
                    else:
                        reach |= s  # bit 1 black, bit 2 white
            if reach in (BLACK, WHITE):
                owner[region] = reach
        return owner

    def score(self) -> float:
        """Black's area minus White's area minus komi (positive: Black leads)."""
        owner = self.area()
        return float(np.count_nonzero(owner == BLACK) - np.count_nonzero(owner == WHITE)) - self.komi

    def result(self) -> tuple[str | None, float]:
        """(winner ``"black"``/``"white"`` or ``None`` for a draw, score Black minus White)."""
        s = self.score()
        return ("black" if s > 0 else "white" if s < 0 else None), s


def score_with_dead(game: GoGame, dead: set[int]) -> tuple[np.ndarray, float]:
    """Area ownership (N*N,) and score (Black minus White, komi included) with ``dead`` stones removed.

    Reuses the rules engine: the alive stones are set up on a scratch board and counted Tromp-Taylor.
    Removing stones only adds liberties, so the setup never fails on a position from a legal game.
    """
    board = game.board
    alive_b = [p for p in range(game.pass_move) if board[p] == BLACK and p not in dead]
    alive_w = [p for p in range(game.pass_move) if board[p] == WHITE and p not in dead]
    scratch = GoGame(game.n, game.komi)
    scratch.setup(alive_b, alive_w)
    return scratch.area(), scratch.score()
