"""The Go ladder: schedule games between player specs, referee them in worker processes, and resume.

A run folder holds ``config.json``, ``games.jsonl`` (one finished game per line) and ``games/*.sgf``.
Only the parent process writes: first the game's SGF (atomically), then its line, appended with one
``write`` and an ``fsync``. A run killed at any moment therefore loses at most the games in flight;
rerunning the same command skips every game whose key is already in ``games.jsonl``.

Example:
    >>> cfg = LadderConfig(players=["random", "gnugo:level=1"], games_per_pair=2, out="results/tiny")
    >>> run_ladder(cfg)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import vw_envs  # noqa: F401  (registers player kinds)
from vw_agent.eval.elo import fit_games
from vw_agent.parallel import run_jobs
from vw_envs.errors import SpecError, VWError
from vw_envs.fileio import write_text_atomic
from vw_envs.go.coords import RESIGN
from vw_envs.go.env import VideoGoEnv
from vw_envs.go.katago import close_engines
from vw_envs.go.match import play_game
from vw_envs.go.openings import sample_opening
from vw_envs.players import PLAYER_KINDS, make_player, parse_spec

# ----------------------------------------------------------------------------- config and specs


@dataclass
class LadderConfig:
    """One ladder run.

    Attributes:
        players: player specs, ordered by nominal strength (weakest first) for ``neighbours``.
        board_size: N.
        games_per_pair: games each scheduled pair plays; colours alternate (even games: first spec Black).
        schedule: ``neighbours`` (each player meets the ones next to it in the list), ``round-robin``,
            or ``gauntlet:SPEC`` (SPEC meets everyone else; it is added if not in ``players``).
        workers: parallel game processes; each owns its own engine processes.
        backend: ``local`` processes or ``ray`` actors (vw_agent.parallel); the games are the same.
        komi: 7.5 by default; the paper's 9x9 games used 5.5.
        out: the run folder.
        seed: base seed; each game's seed is derived from it and the game's key.
        opening_moves: the first k moves, k drawn from this inclusive range, are sampled uniformly from
            the legal points near the centre or a star point, so deterministic engines vary.
        frame_size: frames the referee renders (pixel players render their own).
    """

    players: list[str]
    board_size: int = 9
    games_per_pair: int = 10
    schedule: str = "neighbours"
    workers: int = 1
    backend: str = "local"
    komi: float = 7.5
    out: str = "results/go9"
    seed: int = 0
    opening_moves: tuple[int, int] = (2, 4)
    frame_size: int = 64

    # Settings that make earlier games incomparable if changed between a run and its resumption.
    _FIXED = ("board_size", "komi")


def split_players(text: str) -> list[str]:
    """Split a ``--players`` list into specs.

    Rule: if the text contains ``;``, specs are separated by ``;`` only. Otherwise it is split on commas,
    and a piece that is a bare ``key=value`` (an ``=`` before any ``:``) continues the previous spec.
    So ``random,gnugo:level=1,timeout=5,katago:rank=5k`` is three specs. A positional argument holding
    commas (``gtp:prog --opt a,b``) needs ``;`` or a repeated ``--player``.

    Raises:
        SpecError: an empty list, or a list that starts with a bare ``key=value``.
    """
    if ";" in text:
        specs = [p.strip() for p in text.split(";")]
    else:
        specs = []
        for piece in text.split(","):
            piece = piece.strip()
            head = piece.split(":", 1)[0]
            if "=" in head:
                if not specs:
                    raise SpecError(f"--players {text!r}: starts with {piece!r}, which is not a player spec")
                specs[-1] += "," + piece
            else:
                specs.append(piece)
    specs = [s for s in specs if s]
    if not specs:
        raise SpecError("--players is empty; give specs like random,gnugo:level=1,katago:rank=18k")
    return specs


def schedule_pairs(players: list[str], schedule: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(all players, the pairs to play) for a schedule; see :class:`LadderConfig`.

    Raises:
        SpecError: an unknown schedule or a player listed twice.
    """
    players = list(players)
    if len(set(players)) != len(players):
        raise SpecError(f"a player is listed twice: {players}")
    if schedule == "neighbours" or schedule == "neighbors":
        return players, list(zip(players[:-1], players[1:], strict=True))
    if schedule == "round-robin":
        return players, [(a, b) for i, a in enumerate(players) for b in players[i + 1:]]
    if schedule.startswith("gauntlet:"):
        hero = schedule.partition(":")[2].strip()
        if not hero:
            raise SpecError("write --schedule gauntlet:SPEC, e.g. gauntlet:videoworld")
        if hero not in players:
            players.append(hero)
        return players, [(hero, p) for p in players if p != hero]
    raise SpecError(f"unknown schedule {schedule!r}; valid: neighbours, round-robin, gauntlet:SPEC")


@dataclass(frozen=True)
class GameTask:
    """One scheduled game. ``key`` names it in ``games.jsonl`` (resume skips done keys)."""

    key: str
    black: str
    white: str
    seed: int
    opening: tuple[int, ...]


def make_tasks(cfg: LadderConfig) -> list[GameTask]:
    """Every game of the run, in a fixed order (pairs interleaved so standings fill in evenly)."""
    _, pairs = schedule_pairs(cfg.players, cfg.schedule)
    tasks = []
    for i in range(cfg.games_per_pair):
        for a, b in pairs:
            key = f"{a} vs {b} #{i}"
            seed = zlib.crc32(f"{cfg.seed}|{key}".encode()) & 0x7FFFFFFF
            rng = np.random.default_rng(seed)
            black, white = (a, b) if i % 2 == 0 else (b, a)
            tasks.append(GameTask(key, black, white, seed,
                                  sample_opening(cfg.board_size, rng, *cfg.opening_moves)))
    return tasks


# ----------------------------------------------------------------------------- the referee (workers)


class _Forfeit(Exception):
    def __init__(self, color: str, message: str):
        super().__init__(message)
        self.color = color


class _Seat:
    """Wraps a player for one game: plays the scripted opening, validates output, blames failures."""

    def __init__(self, inner: Any, color: str, opening: tuple[int, ...], board_size: int):
        self.inner, self.color, self.opening, self.n = inner, color, opening, board_size
        self.illegal_at_reset = self.first_sample_illegal()  # until the game's reset (a forfeit before it: 0)
        self.name = inner.name
        self.render_config = getattr(inner, "render_config", None)

    def _guard(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001  (any failure of a player is its forfeit)
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise _Forfeit(self.color, f"{type(e).__name__} in {what}: {msg}") from e

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        self._guard(lambda: self.inner.reset(board_size, komi, color, seed=seed), "reset")
        # the game's count starts here: a player may zero its counter in reset (VideoWorldPlayer does) or not
        self.illegal_at_reset = self.first_sample_illegal()

    def first_sample_illegal(self) -> int:
        """The inner player's counter of first samples that were illegal (0 for players without one)."""
        return int(getattr(self.inner, "first_sample_illegal", 0) or 0)

    def observe(self, move: int, color: str) -> None:
        self._guard(lambda: self.inner.observe(move, color), "observe")

    def genmove(self, state: Any) -> int:
        k = state.move_number
        if k < len(self.opening):
            return self.opening[k]
        move = self._guard(lambda: self.inner.genmove(state), "genmove")
        try:
            move_i = int(move)
        except (TypeError, ValueError):
            raise _Forfeit(self.color, f"invalid output: genmove returned {move!r}") from None
        if move_i != move or not (move_i == RESIGN or 0 <= move_i <= self.n * self.n):
            raise _Forfeit(self.color, f"invalid output: genmove returned {move!r}")
        return move_i

    def undo(self) -> None:
        self.inner.undo()

    def close(self) -> None:
        self.inner.close()


_W: dict[str, Any] = {}  # per-process state: the config, the env, players by (spec, colour)


def _worker_init(cfg_dict: dict[str, Any]) -> None:
    _W.clear()
    _W["cfg"] = cfg_dict
    _W["players"] = {}


def _player(spec: str, color: str) -> Any:
    cache = _W["players"]
    if (spec, color) not in cache:
        cache[(spec, color)] = make_player(spec)
    return cache[(spec, color)]


def _drop_player(spec: str, color: str) -> None:
    p = _W["players"].pop((spec, color), None)
    if p is not None:
        try:
            p.close()
        except Exception:  # noqa: BLE001  (it is broken already; we only want its processes gone)
            pass


def _set_result(sgf: str, result: str) -> str:
    if "RE[" in sgf:
        return re.sub(r"RE\[[^\]]*\]", f"RE[{result}]", sgf, count=1)
    return sgf.replace("SZ[", f"RE[{result}]SZ[", 1)


def play_task(task: GameTask) -> dict[str, Any]:
    """Referee one game in this process; a broken player forfeits. Returns the ``games.jsonl`` record."""
    cfg = _W["cfg"]
    n = cfg["board_size"]
    if "env" not in _W:
        _W["env"] = VideoGoEnv(board_size=n, komi=cfg["komi"], opponent="none", frame_size=cfg["frame_size"])
    env = _W["env"]
    t0 = time.time()
    seats: dict[str, _Seat] = {}
    forfeit: tuple[str, str] | None = None
    rec = None
    for color, spec in (("black", task.black), ("white", task.white)):
        try:
            p = _player(spec, color)
        except VWError as e:  # a bad spec is the caller's mistake, not a forfeit
            raise SpecError(str(e)) from None
        seats[color] = _Seat(p, color, task.opening, n)
    try:
        rec = play_game(env, seats["black"], seats["white"], seed=task.seed, keep_frames=False)
    except _Forfeit as f:
        forfeit = (f.color, str(f))
    out: dict[str, Any] = {"key": task.key, "black": task.black, "white": task.white, "seed": task.seed,
                           "opening": list(task.opening), "board_size": n, "komi": cfg["komi"]}
    if forfeit is not None:
        color, reason = forfeit
        winner = "white" if color == "black" else "black"
        _drop_player(task.black if color == "black" else task.white, color)
        sgf = _set_result(env.to_sgf(black=task.black, white=task.white), "W+F" if winner == "white" else "B+F")
        out.update(winner=winner, score=None, reason="forfeit", forfeit={"color": color, "reason": reason},
                   result=("W+F" if winner == "white" else "B+F"), moves=[m for _c, m in env.state_for().history],
                   seconds=None, illegal={}, sgf=sgf)
    else:
        out.update(winner=rec.winner, score=rec.score, reason=rec.reason, result=rec.result, moves=rec.moves,
                   seconds={k: round(v, 3) for k, v in rec.seconds.items()}, illegal=rec.illegal, sgf=rec.sgf)
    # counted from each seat's reset at the start of this game (a reused player may zero its counter there)
    out["first_sample_illegal"] = {c: s.first_sample_illegal() - s.illegal_at_reset for c, s in seats.items()}
    out["wall_seconds"] = round(time.time() - t0, 3)
    return out


# ----------------------------------------------------------------------------- the run folder


def load_games(out: str | os.PathLike) -> list[dict[str, Any]]:
    """Finished games of a run; a torn last line (a kill mid-write) is dropped from the file."""
    path = Path(out) / "games.jsonl"
    if not path.exists():
        return []
    raw = path.read_bytes()
    games, good = [], 0
    for line in raw.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            games.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good += len(line)
    if good != len(raw):
        write_text_atomic(path, raw[:good].decode())
    return games


def _append_line(path: Path, record: dict[str, Any]) -> None:
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)  # one write of a whole line: a kill leaves it whole or absent
        os.fsync(fd)
    finally:
        os.close(fd)


def _sgf_name(index: int, key: str) -> str:
    return f"{index:05d}_" + re.sub(r"[^A-Za-z0-9=.+-]+", "_", key).strip("_")[:120] + ".sgf"


def _check_config(out: Path, cfg: LadderConfig) -> None:
    path = out / "config.json"
    if path.exists():
        old = json.loads(path.read_text())
        for k in LadderConfig._FIXED:
            if k in old and old[k] != getattr(cfg, k):
                raise VWError(f"{out} holds games with {k}={old[k]}, not {getattr(cfg, k)}; "
                              f"use another --out or the same {k}")
        players = list(dict.fromkeys([*old.get("players", []), *cfg.players]))
    else:
        players = cfg.players
    d = asdict(cfg)
    d["players"] = players
    write_text_atomic(path, json.dumps(d, indent=2) + "\n")


def run_ladder(cfg: LadderConfig, *, progress: bool = True,
               on_game: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Play every game of ``cfg`` that ``cfg.out`` does not hold yet; return all finished games.

    Raises:
        SpecError: a bad spec or schedule (checked before any game starts).
    """
    all_players, _ = schedule_pairs(cfg.players, cfg.schedule)
    for spec in all_players:
        kind = parse_spec(spec).kind
        if kind not in PLAYER_KINDS:
            raise SpecError(f"unknown player kind {kind!r} in {spec!r}; valid kinds: {', '.join(sorted(PLAYER_KINDS))}")
    out = Path(cfg.out)
    (out / "games").mkdir(parents=True, exist_ok=True)
    _check_config(out, cfg)
    games = load_games(out)
    done = {g["key"] for g in games}
    todo = [t for t in make_tasks(cfg) if t.key not in done]
    jsonl = out / "games.jsonl"
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo) + len(done), initial=len(done), unit="game", dynamic_ncols=True)
        bar.set_postfix_str(standings(games))

    def finish(rec: dict[str, Any]) -> None:
        index = len(games)
        sgf = rec.pop("sgf")
        rec["sgf_file"] = f"games/{_sgf_name(index, rec['key'])}"
        write_text_atomic(out / rec["sgf_file"], sgf)
        _append_line(jsonl, rec)
        games.append(rec)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(standings(games))
        if on_game is not None:
            on_game(rec)

    cfg_dict = asdict(cfg)
    t0 = time.time()
    try:
        run_jobs(play_task, todo, workers=cfg.workers, initializer=_worker_init, initargs=(cfg_dict,),
                 on_result=finish, finalizer=_close_worker, backend=cfg.backend)
    finally:
        if bar is not None:
            bar.close()
    _record_wall(out, time.time() - t0, len(todo))
    return games


def _close_worker() -> None:
    for key in list(_W.get("players", {})):
        _drop_player(*key)
    env = _W.pop("env", None)
    if env is not None:
        env.close()
    try:
        close_engines()
    except ImportError:
        pass


def _record_wall(out: Path, seconds: float, n_games: int) -> None:
    path = out / "runs.jsonl"
    _append_line(path, {"finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "wall_seconds": round(seconds, 1), "games_played": n_games})


def standings(games: list[dict[str, Any]], top: int = 4) -> str:
    """A short line for the progress bar: the best few players by a quick Elo fit (no bootstrap)."""
    if not games:
        return "no games yet"
    try:
        fit = fit_games(games, n_boot=0)
    except Exception:  # noqa: BLE001  (the progress line must never stop a run)
        return f"{len(games)} games"
    order = np.argsort(-fit.ratings)
    return " | ".join(f"{fit.names[i]} {fit.ratings[i]:.0f}" for i in order[:top])


@dataclass
class PairStats:
    """Score of ``a`` against ``b`` (wins + draws/2) over ``games``."""

    a: str
    b: str
    wins: int = 0
    losses: int = 0
    draws: int = 0
    forfeits: list[str] = field(default_factory=list)

    @property
    def games(self) -> int:
        return self.wins + self.losses + self.draws


def unique_games(games: list[dict[str, Any]]) -> int:
    """How many distinct move sequences the games hold."""
    return len({tuple(g.get("moves") or ()) for g in games})
