"""The Player interface, the one spec grammar, and the registry of player kinds.

A :class:`Player` is anything that plays Go moves. The same object serves as the env's opponent, a side
in ``vw-agent play``, a contestant of the evaluation ladder and the brain of the GTP engine.

Specs are ``kind``, ``kind:arg`` or ``kind:key=value,key=value`` (``gnugo:level=5``, ``katago:rank=5k``,
``videoworld:runs/go9``). They are parsed only here, by :func:`parse_spec`. Kinds resolve to classes
through string entry points, so ``vw_envs`` never imports ``vw_agent`` and optional engines stay lazy.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vw_envs.errors import SpecError
from vw_envs.go.coords import from_gtp
from vw_envs.go.rules import COLORS, GoGame

# ----------------------------------------------------------------------------- the interface


@dataclass(frozen=True)
class GameState:
    """What a player sees when asked for a move.

    Engines use ``history``; pixel agents use ``frame``, which is rendered lazily with the asking
    player's own ``render_config`` (or the env's), so nobody pays for frames nobody looks at.

    Attributes:
        board_size: N.
        komi: White's compensation.
        to_play: ``"black"`` or ``"white"``.
        legal_mask: bool array of length N*N+1 (pass last).
        history: ((colour, move), ...) since the setup, moves as action indices.
        setup: (black stones, white stones) placed before the first move (handicap, SGF AB/AW).
        board: (N, N) int8, 0 empty / 1 black / 2 white, row 0 at the top.
    """

    board_size: int
    komi: float
    to_play: str
    legal_mask: np.ndarray
    history: tuple[tuple[str, int], ...]
    board: np.ndarray
    setup: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    render_fn: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def frame(self) -> np.ndarray:
        """(H, W, 3) uint8 frame of the current board, in the asking player's frame settings."""
        if self.render_fn is None:
            raise RuntimeError("this GameState carries no renderer")
        return self.render_fn()

    @property
    def move_number(self) -> int:
        return len(self.history)


@runtime_checkable
class Player(Protocol):
    """Plays Go moves. Moves are action indices (``N*N`` pass, ``coords.RESIGN`` resigns).

    Optional attributes: ``render_config`` (a ``RenderConfig`` for the frames this player wants to see)
    and ``last_imagination`` (frames the player imagined behind its last move, for the human window).
    """

    name: str

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        """A new game: board size, komi, the colour this player takes, and a seed for its randomness."""

    def observe(self, move: int, color: str) -> None:
        """Told every move of either side (including its own) after it is played."""

    def genmove(self, state: GameState) -> int:
        """Choose a move for ``state.to_play``; must not change the player's board (``observe`` does)."""

    def undo(self) -> None:
        """Take back the last observed move."""

    def close(self) -> None:
        """Release processes and windows; safe to call twice."""


class BasePlayer:
    """Convenience base with no-op bookkeeping; subclasses implement :meth:`genmove`."""

    name = "player"
    render_config = None
    last_imagination: list[np.ndarray] | None = None

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        self.board_size, self.komi, self.color = board_size, komi, color

    def observe(self, move: int, color: str) -> None:
        pass

    def genmove(self, state: GameState) -> int:
        raise NotImplementedError

    def undo(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# ----------------------------------------------------------------------------- the spec grammar


@dataclass(frozen=True)
class PlayerSpec:
    """A parsed spec: ``kind``, an optional positional ``arg``, and ``key=value`` params (strings)."""

    kind: str
    arg: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def check_keys(self, allowed: set[str] | frozenset[str], *, arg_allowed: bool = False) -> None:
        """Reject unknown keys (and a positional arg unless allowed) with a message listing valid keys."""
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            valid = ", ".join(sorted(allowed)) or "none"
            raise SpecError(f"{self.text!r}: unknown key {unknown[0]!r} for {self.kind}; valid keys: {valid}")
        if self.arg is not None and not arg_allowed:
            keys = ", ".join(f"{k}=..." for k in sorted(allowed)) or "no arguments"
            raise SpecError(f"{self.text!r}: {self.kind} takes {keys}, not {self.arg!r}")

    def get_int(self, key: str, default: int, lo: int, hi: int) -> int:
        raw = self.params.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SpecError(f"{self.text!r}: {key} must be an integer in {lo}..{hi}, got {raw!r}") from None
        if not lo <= value <= hi:
            raise SpecError(f"{self.text!r}: {key} must be in {lo}..{hi}, got {value}")
        return value

    def get_float(self, key: str, default: float, lo: float, hi: float) -> float:
        raw = self.params.get(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SpecError(f"{self.text!r}: {key} must be a number in {lo}..{hi}, got {raw!r}") from None
        if not lo <= value <= hi:
            raise SpecError(f"{self.text!r}: {key} must be in {lo}..{hi}, got {value}")
        return value


_KEY = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=")


def parse_spec(text: str) -> PlayerSpec:
    """``"gnugo:level=5,seed=3"`` -> PlayerSpec("gnugo", None, {"level": "5", "seed": "3"}).

    A colon-part without ``=`` is the positional ``arg`` (``videoworld:runs/go9``, ``gtp:<command line>``);
    everything after the first colon is kept verbatim for it, so paths and command lines may hold commas.
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"empty player spec; valid kinds: {', '.join(sorted(PLAYER_KINDS))}")
    text = text.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not kind.replace("_", "").replace("-", "").isalnum():
        raise SpecError(f"{text!r}: bad kind {kind!r}; valid kinds: {', '.join(sorted(PLAYER_KINDS))}")
    if not sep:
        return PlayerSpec(kind, None, {}, text)
    if not rest.strip():
        raise SpecError(f"{text!r}: nothing after ':'; write {kind} or {kind}:key=value")
    parts = rest.split(",")
    if all(_KEY.match(p) for p in parts):
        params: dict[str, str] = {}
        for p in parts:
            k, _, v = p.partition("=")
            k, v = k.strip().lower(), v.strip()
            if not k or not v:
                raise SpecError(f"{text!r}: {p!r} is not key=value")
            if k in params:
                raise SpecError(f"{text!r}: {k} given twice")
            params[k] = v
        return PlayerSpec(kind, None, params, text)
    return PlayerSpec(kind, rest.strip(), {}, text)


# ----------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class PlayerKind:
    """One kind of player or policy: its domain, where its class lives, an example spec, what it needs installed.

    One registry holds both domains: ``"go"`` players (``from_spec(spec) -> Player``) and ``"tabletop"`` policies
    (``from_spec(spec, env) -> policy``, :mod:`vw_envs.tabletop.policies`). ``random``, ``videoworld``, ``sb3`` and
    ``bc`` exist in both, with different classes; a bare spec resolves in the domain of the env it acts in.
    """

    name: str
    entry_point: str  # "module:Class"; the class has ``from_spec(spec[, env])``
    example: str
    needs: str
    help: str
    check: str | None = None  # "module:function" returning None if usable, else a one-line reason
    domain: str = "go"  # "go" or "tabletop"


DOMAINS = ("go", "tabletop")
KINDS: dict[str, dict[str, PlayerKind]] = {d: {} for d in DOMAINS}  # domain -> name -> kind
PLAYER_KINDS = KINDS["go"]  # the Go players (the same dict, so later registrations show)


def register_player_kind(kind: PlayerKind) -> None:
    """Add (or replace) a kind in its domain; other packages call this, or get a line in the tables below."""
    if kind.domain not in KINDS:
        raise ValueError(f"unknown domain {kind.domain!r}; valid: {', '.join(DOMAINS)}")
    KINDS[kind.domain][kind.name] = kind


def _resolve(entry_point: str) -> Any:
    module, _, attr = entry_point.partition(":")
    return getattr(importlib.import_module(module), attr)


def kind_status(kind: PlayerKind) -> str | None:
    """None if the kind can be used on this machine, else a one-line reason naming what to install."""
    if kind.check is None:
        return None
    try:
        return _resolve(kind.check)()
    except ImportError as e:
        return f"cannot import {kind.check.partition(':')[0]}: {e}"


def make_player(spec: str | Player) -> Player:
    """A Player from a spec string (or a Player, returned as is).

    Raises:
        SpecError: unknown kind or bad value; the message lists what is valid.
    """
    if not isinstance(spec, str):
        if isinstance(spec, Player):
            return spec
        raise SpecError(f"a player must be a spec string or a Player, got {type(spec).__name__}")
    parsed = parse_spec(spec)
    kind = PLAYER_KINDS.get(parsed.kind)
    if kind is None:
        raise SpecError(f"unknown player kind {parsed.kind!r}; valid kinds: {', '.join(sorted(PLAYER_KINDS))}")
    try:
        cls = _resolve(kind.entry_point)
    except ImportError as e:
        raise SpecError(f"{spec!r}: {kind.name} players need {kind.needs} ({e})") from None
    return cls.from_spec(parsed)


# ----------------------------------------------------------------------------- built-in players


class RandomPlayer(BasePlayer):
    """Uniformly random legal move; passes only when nothing else is legal (``pass=P`` to pass with
    probability P), so random games end by the move cap or when the board fills with eyes."""

    def __init__(self, pass_prob: float = 0.0):
        self.name = "random" if pass_prob == 0 else f"random:pass={pass_prob:g}"
        self.pass_prob = pass_prob
        self.rng = np.random.default_rng()

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> RandomPlayer:
        spec.check_keys({"pass"})
        return cls(pass_prob=spec.get_float("pass", 0.0, 0.0, 1.0))

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        super().reset(board_size, komi, color, seed=seed)
        self.rng = np.random.default_rng(seed)

    def genmove(self, state: GameState) -> int:
        n2 = state.board_size**2
        moves = np.flatnonzero(state.legal_mask[:n2])
        if len(moves) == 0 or (self.pass_prob > 0 and self.rng.random() < self.pass_prob):
            return n2
        return int(moves[self.rng.integers(len(moves))])


class HumanPlayer(BasePlayer):
    """A person at the terminal typing GTP vertices (``D4``, ``pass``, ``resign``); illegal input is
    refused with the reason and asked again. The pygame window replaces this when there is a screen."""

    name = "human"

    def __init__(self, stream_in=None, stream_out=None):
        self._in = stream_in
        self._out = stream_out

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> HumanPlayer:
        spec.check_keys(set())
        return cls()

    def genmove(self, state: GameState) -> int:
        fin = self._in or sys.stdin
        fout = self._out or sys.stdout
        n = state.board_size
        while True:
            fout.write(f"{state.to_play} to play (move {state.move_number + 1}), e.g. D4 / pass / resign: ")
            fout.flush()
            line = fin.readline()
            if not line:
                raise EOFError("input closed while waiting for the human's move")
            try:
                move = from_gtp(line.strip(), n)
            except ValueError as e:
                fout.write(f"  {e}\n")
                continue
            if move < 0 or state.legal_mask[move]:
                return move
            # Say why, from a scratch replay (rare, human speed).
            g = GoGame(n, state.komi)
            g.setup(list(state.setup[0]), list(state.setup[1]),
                    to_play=state.history[0][0] if state.history else state.to_play)
            for c, m in state.history:
                g.play(m, COLORS[c])
            fout.write(f"  illegal: {g.illegal_reason(move, COLORS[state.to_play])}\n")


register_player_kind(PlayerKind(
    "random", "vw_envs.players:RandomPlayer", "random", "nothing",
    "uniformly random legal moves (pass=P: pass with probability P)"))
register_player_kind(PlayerKind(
    "human", "vw_envs.players:HumanPlayer", "human", "nothing (a screen for the pygame window)",
    "a person: the pygame window with --render human, else GTP vertices typed at the terminal"))
register_player_kind(PlayerKind(
    "gnugo", "vw_envs.go.gnugo:GnuGoPlayer", "gnugo:level=5", "GNU Go 3.8: sudo apt-get install gnugo",
    "GNU Go over GTP; level=0..10 (10 is its default, about 8 kyu), seed=, path=",
    check="vw_envs.go.gnugo:check_installed"))
register_player_kind(PlayerKind(
    "gtp", "vw_envs.go.gtp:GTPPlayer", "gtp:gnugo --mode gtp --level 1", "the GTP program named",
    "any GTP v2 engine, started by the command line after 'gtp:' (quote it in the shell)"))
register_player_kind(PlayerKind(
    "sb3", "vw_agent.baselines.sb3_agent:SB3Player", "sb3:runs/ppo-go9", "stable-baselines3, sb3-contrib",
    "a trained SB3 baseline run (vw-agent baseline train); illegal moves masked; run=,model=,greedy=,reload="))
register_player_kind(PlayerKind(
    "bc", "vw_agent.baselines.bc:BCPlayer", "bc:runs/bc-go9", "torch",
    "a behaviour-cloning baseline run (vw-agent baseline train --algo bc); illegal moves masked"))
register_player_kind(PlayerKind(
    "videoworld", "vw_agent.agent:VideoWorldPlayer", "videoworld", "torch",
    "the VideoWorld agent: the shipped 9x9 checkpoint, or videoworld:RUN (vw-agent train); "
    "temperature=,top_k=,resample=0|1,draws=,seed=,threads="))
register_player_kind(PlayerKind(
    "katago", "vw_envs.go.katago:KataGoPlayer", "katago:rank=5k",
    "KataGo from katrain: pip install --no-deps katrain==1.20.0; OpenCL: sudo apt-get install "
    "ocl-icd-libopencl1 pocl-opencl-icd",
    "KataGo's analysis engine: policy[,temperature=T] (raw policy), visits=V (search), rank=18k..3d "
    "(KaTrain's rank bot); timeout=", check="vw_envs.go.katago_install:check_installed"))
