"""SGF through sgfmill: a game -> SGF text, and SGF text -> a replayable move list.

``to_sgf`` writes any finished or interrupted game. ``read_sgf`` accepts handicap and setup stones
(AB/AW), keeps the file's komi and rules, and raises :class:`~vw_envs.errors.SGFError` with one line
for anything it cannot replay. :func:`vw_envs.go.env.replay_frames` turns an SGF into the env's frames: the
video of the game, one frame per move, exactly as the env renders it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from sgfmill import sgf

from vw_envs.errors import IllegalMoveError, SGFError
from vw_envs.go.coords import from_sgf_point, symmetric_action, to_gtp, to_sgf_point
from vw_envs.go.rules import BLACK, COLOR_NAMES, WHITE, GoGame

RULES_NAME = "Tromp-Taylor"  # area scoring, positional superko, no suicide


@dataclass
class SGFGame:
    """A game read from SGF, in our coordinates.

    Attributes:
        board_size: N.
        komi: as the file says (0 if absent).
        moves: ((colour, move), ...) with colour "black"/"white" and pass = N*N.
        setup_black, setup_white: AB/AW stones as action indices.
        first_to_play: who moves first (PL, or the first move's colour).
        result: the RE property, e.g. "W+3.5" (None if absent).
        rules: the RU property (None if absent).
        players: {"black": PB, "white": PW}.
    """

    board_size: int
    komi: float
    moves: list[tuple[str, int]]
    setup_black: list[int] = field(default_factory=list)
    setup_white: list[int] = field(default_factory=list)
    first_to_play: str = "black"
    result: str | None = None
    rules: str | None = None
    players: dict[str, str] = field(default_factory=dict)


def result_string(winner: str | None, score: float | None, reason: str | None) -> str:
    """SGF RE value: ``B+3.5``, ``W+R``, ``B+F`` (forfeit, e.g. illegal move), ``0`` (draw), ``Void``."""
    if reason in (None, "move_cap_unscored"):
        return "Void"
    if winner is None:
        return "0"
    w = "B" if winner == "black" else "W"
    if reason == "resign":
        return f"{w}+R"
    if reason in ("illegal", "forfeit"):
        return f"{w}+F"
    return f"{w}+{abs(score):g}" if score is not None else f"{w}+"


def to_sgf(game: GoGame, *, black: str = "", white: str = "", result: str | None = None,
           comment: str | None = None) -> str:
    """SGF text of ``game`` (setup stones, every move, komi, rules, players, result)."""
    n = game.n
    s = sgf.Sgf_game(size=n)
    root = s.get_root()
    root.set("KM", game.komi)
    root.set("RU", RULES_NAME if game.ko_rule == "positional" else "Tromp-Taylor, simple ko")
    root.set("AP", ("VideoWorld-Gym", "0.1"))
    if black:
        root.set("PB", black)
    if white:
        root.set("PW", white)
    if result:
        root.set("RE", result)
    if comment:
        root.set("C", comment)
    setup_b, setup_w = game.setup_stones
    if setup_b or setup_w:
        root.set_setup_stones([to_sgf_point(p, n) for p in setup_b], [to_sgf_point(p, n) for p in setup_w])
        if game.moves and game.moves[0][0] == WHITE:
            root.set("PL", "w")
    for color, move in game.moves:
        node = s.extend_main_sequence()
        node.set_move("b" if color == BLACK else "w", to_sgf_point(move, n))
    return s.serialise(wrap=None).decode("utf-8")


def _parse(text: str | bytes, name: str) -> sgf.Sgf_game:
    """sgfmill's game tree, or SGFError naming ``name``."""
    try:
        return sgf.Sgf_game.from_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    except ValueError as e:
        raise SGFError(f"{name}: not a readable SGF game ({e})") from None


def read_sgf(text: str | bytes, *, name: str = "SGF") -> SGFGame:
    """Parse one SGF game; ``name`` (a path) goes into error messages.

    Raises:
        SGFError: malformed text, unsupported board, or no way to replay it.
    """
    game = _parse(text, name)
    n = game.get_size()
    if not 2 <= n <= 19:
        raise SGFError(f"{name}: board size {n} is not supported (2..19)")
    root = game.get_root()
    try:
        komi = float(game.get_komi())
        setup_b, setup_w, _empty = root.get_setup_stones()
    except ValueError as e:
        raise SGFError(f"{name}: bad root property ({e})") from None
    if not math.isfinite(komi):
        raise SGFError(f"{name}: komi {komi} is not a finite number")
    if setup_b & setup_w:  # one point, both colours: the game cannot be set up (and one such file stopped a batch)
        p = to_gtp(from_sgf_point(min(setup_b & setup_w), n), n)
        raise SGFError(f"{name}: setup puts a black and a white stone on {p}")
    moves: list[tuple[str, int]] = []
    for k, node in enumerate(game.get_main_sequence()[1:], 1):
        try:
            colour, point = node.get_move()
        except ValueError as e:  # an off-board or malformed B/W value
            prop = "B" if node.has_property("B") else "W"
            why = str(e) or "off the board or malformed"
            raise SGFError(f"{name}: node {k}: bad {prop} property ({why})") from None
        if colour is None:
            if node.has_setup_stones():
                raise SGFError(f"{name}: setup stones after the first move are not supported")
            continue
        moves.append((COLOR_NAMES[BLACK] if colour == "b" else COLOR_NAMES[WHITE], from_sgf_point(point, n)))
    pl = root.get("PL") if root.has_property("PL") else None
    first = moves[0][0] if moves else ("white" if pl == "w" else "black")
    return SGFGame(
        board_size=n, komi=komi, moves=moves,
        setup_black=[from_sgf_point(p, n) for p in setup_b],
        setup_white=[from_sgf_point(p, n) for p in setup_w],
        first_to_play=first,
        result=root.get("RE") if root.has_property("RE") else None,
        rules=root.get("RU") if root.has_property("RU") else None,
        players={k: root.get(p) for k, p in (("black", "PB"), ("white", "PW")) if root.has_property(p)},
    )


# Point-valued properties other than moves and setup stones: marks, labels, territory, view. They do not
# change the game or its video, and mapping every one of them is not worth it: a transformed copy drops them.
_MARKUP = ("TR", "SQ", "CR", "MA", "SL", "LB", "AR", "LN", "TB", "TW", "DD", "VW")


def transform_sgf(text: str | bytes, sym: int, *, name: str = "SGF") -> str:
    """The same game under board symmetry ``sym`` (see :func:`~vw_envs.go.coords.symmetric_action`), as
    one-line SGF text: every move and setup stone is mapped, in every variation; markup is dropped.

    Raises:
        SGFError: malformed text (as :func:`read_sgf`).
    """
    game = _parse(text, name)
    n = game.get_size()

    def point(p: tuple[int, int] | None) -> tuple[int, int] | None:
        return to_sgf_point(symmetric_action(from_sgf_point(p, n), n, sym), n)

    try:
        stack = [game.get_root()]
        while stack:
            node = stack.pop()
            stack.extend(node)
            colour, p = node.get_move()
            if colour is not None:
                node.set_move(colour, point(p))
            if node.has_setup_stones():
                b, w, e = node.get_setup_stones()
                node.set_setup_stones([point(q) for q in b], [point(q) for q in w], [point(q) for q in e])
            for prop in _MARKUP:
                if node.has_property(prop):
                    node.unset(prop)
    except ValueError as e:
        raise SGFError(f"{name}: bad property ({e})") from None
    return game.serialise(wrap=None).decode("utf-8").strip()


def iter_sgf_file(path: str) -> Iterator[tuple[str, str]]:
    """(name, text) per game in a file: one game per ``.sgf``, or one per line in a ``.sgfs`` collection."""
    with open(path, encoding="utf-8", errors="replace") as f:
        if path.endswith(".sgfs"):
            for i, line in enumerate(f):
                if line.strip():
                    yield f"{path}:{i + 1}", line
        else:
            yield path, f.read()


def replay(g: SGFGame, *, ko_rule: str = "positional", name: str = "SGF") -> GoGame:
    """The rules engine after every move of ``g``; SGFError (naming the move) if one is illegal."""
    game = GoGame(g.board_size, g.komi, ko_rule=ko_rule)
    try:
        game.setup(g.setup_black, g.setup_white, to_play=g.first_to_play)
    except IllegalMoveError as e:
        raise SGFError(f"{name}: setup: {e}") from None
    for i, (c, m) in enumerate(g.moves):
        try:
            game.play(m, c)
        except IllegalMoveError as e:
            raise SGFError(f"{name}: move {i + 1}: {e}") from None
    return game
