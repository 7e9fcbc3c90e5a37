"""The teacher corpus for Go video: games of KataGo's raw policy against itself, written as an SGF collection.

``assets/sgf/`` ships 1,175 such games; this module plays more with the same recipe, so the corpus can grow
across sessions (``vw-agent data katago-games``):

* **Players.** Both sides are KataGo's raw policy (one visit, the network of the ``katrain`` wheel).
* **Openings.** Moves 1-4 are sampled from the policy at temperature 1, moves 5-20 at temperature 0.5, then
  the top move is played. Game ``k``'s samples come from a generator seeded by ``(seed, k)`` and the network
  is deterministic (``nnRandomize = false``), so a game is a function of ``(seed, k)`` (with games in flight,
  up to the rounding of KataGo's batched evaluation).
* **Rules.** Positional superko, area scoring, no suicide, komi 7.5, ``friendlyPassOk`` false: KataGo
  captures dead stones before it passes, so the Tromp-Taylor count of the final board is the result.
* **Duplicates.** Sampling only in the first 20 moves repeats ~7% of games. A game whose moves, under any of
  the 8 board symmetries, equal an earlier game of the output or of an ``exclude`` file is dropped. Pass the
  held-out games and the earlier corpus files as ``exclude``, so the dataset's splits stay disjoint.

Many games share one KataGo process (``in_flight`` of them, one thread each): the engine batches their
queries through the network, ~1.5x the throughput of one game at a time on 2 cores. A job is ``in_flight``
game numbers; :func:`vw_agent.parallel.imap_jobs` runs the jobs, so more ``workers`` (each with its own KataGo)
or the ``ray`` backend spread them over GPUs or nodes. The parent alone writes: after every job the collection
and its progress file are rewritten atomically, and a rerun skips every game number already played (recorded
or dropped), so a killed run resumes where it stopped.
"""

from __future__ import annotations

import atexit
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vw_agent.data.sources import source_hash
from vw_agent.parallel import imap_jobs
from vw_envs.errors import DatasetError
from vw_envs.fileio import write_text_atomic
from vw_envs.go.coords import SYMMETRIES
from vw_envs.go.katago import KataGoEngine
from vw_envs.go.rules import BLACK, WHITE, GoGame
from vw_envs.go.sgf import iter_sgf_file, read_sgf, result_string, to_sgf, transform_sgf

# (moves played before it, temperature): moves 1-4 at 1.0, 5-20 at 0.5, then the top move
OPENING_TEMPERATURES = ((4, 1.0), (20, 0.5))
PLAYER = "KataGo raw policy"
_COMMENT = re.compile(r"seed (-?\d+) game (\d+)")


@dataclass
class KataGoGamesConfig:
    """One self-play run. The output and its progress file hold everything needed to resume it.

    Attributes:
        out: the ``.sgfs`` collection (one game per line); an existing one is resumed.
        games: game numbers ``0 .. games-1`` to play (recorded ones plus dropped duplicates).
        seed: base seed of the opening samples; a resumed file keeps its own (a different one is an error).
        board_size: board width.
        komi: komi of every game.
        in_flight: games that share one KataGo process; its analysis threads and network batch.
        workers: KataGo processes (one already fills a 2-core CPU; more are for machines with more).
        backend: ``local`` or ``ray`` (see :mod:`vw_agent.parallel`).
        exclude: ``.sgf`` / ``.sgfs`` files whose games, under every symmetry, are not recorded again.
        timeout: seconds per KataGo query.
    """

    out: str
    games: int = 500
    seed: int = 2026
    board_size: int = 9
    komi: float = 7.5
    in_flight: int = 16
    workers: int = 1
    backend: str = "local"
    exclude: tuple[str, ...] = ()
    timeout: float = 120.0


@dataclass
class KataGoGamesSummary:
    recorded: int  # games in the collection now
    played: int  # game numbers played by this call
    dropped: int  # of those, duplicates left out
    out: str


def progress_path(out: str | Path) -> Path:
    """The progress file beside ``out``: the run's seed, rules and the dropped game numbers."""
    out = Path(out)
    return out.with_name(out.name + ".progress.json")


# ----------------------------------------------------------------------------- one game


def sample_move(policy: np.ndarray, ply: int, rng: np.random.Generator) -> int:
    """The move at ``ply`` (0-based) from KataGo's raw ``policy`` (-1 on illegal points), by the recipe."""
    legal = np.where(policy > 0, policy, 0.0)
    for before, temperature in OPENING_TEMPERATURES:
        if ply < before:
            p = legal ** (1.0 / temperature)
            return int(rng.choice(len(p), p=p / p.sum()))
    return int(np.argmax(legal))


def play_game(engine: KataGoEngine, seed: int, k: int, komi: float) -> str:
    """Game ``k`` of KataGo's raw policy against itself, as one line of SGF (``C[seed S game k]``)."""
    n = engine.board_size
    game = GoGame(n, komi)
    rng = np.random.default_rng([seed, k])
    history: list[tuple[str, int]] = []
    while not game.over and len(history) < 2 * n * n:  # the env's move cap; KataGo's games end far sooner
        colour = "black" if len(history) % 2 == 0 else "white"
        move = sample_move(engine.policy(history, komi=komi), len(history), rng)
        reason = game.illegal_reason(move, BLACK if colour == "black" else WHITE)
        if reason is not None:  # KataGo marks illegal points -1, so this is a rules disagreement
            raise DatasetError(f"KataGo played an illegal move ({reason}) in game {k}: {history + [(colour, move)]}")
        game.play(move, colour)
        history.append((colour, move))
    winner, score = game.result()
    return to_sgf(game, black=PLAYER, white=PLAYER, comment=f"seed {seed} game {k}",
                  result=result_string(winner, score, "two_passes" if game.over else "move_cap")).strip()


# ----------------------------------------------------------------------------- workers

_ENGINE: KataGoEngine | None = None


def _start(board_size: int, in_flight: int, timeout: float) -> None:
    global _ENGINE
    _ENGINE = KataGoEngine(board_size, timeout=timeout, analysis_threads=in_flight)
    atexit.register(_stop)  # a pool worker's engine ends with the worker


def _stop() -> None:
    global _ENGINE
    if _ENGINE is not None:
        _ENGINE.close()
        _ENGINE = None


def _play_job(job: tuple[int, float, list[int]]) -> list[tuple[int, str]]:
    """Play a job's games at once, one thread each, on this worker's engine: [(k, sgf line)] in k order."""
    seed, komi, ks = job
    with ThreadPoolExecutor(len(ks)) as pool:
        return list(zip(ks, pool.map(lambda k: play_game(_ENGINE, seed, k, komi), ks), strict=True))


# ----------------------------------------------------------------------------- the run


def symmetric_hashes(text: str, name: str) -> list[str]:
    """The move hashes of an SGF game under the 8 board symmetries, the game as played first."""
    return [source_hash(read_sgf(transform_sgf(text, s, name=name) if s else text, name=name))
            for s in range(SYMMETRIES)]


def _read_out(cfg: KataGoGamesConfig) -> tuple[list[str], set[int], set[int]]:
    """An existing run's lines, its recorded and dropped game numbers; checks the seed and rules agree."""
    out, prog = Path(cfg.out), progress_path(cfg.out)
    if not out.exists():
        return [], set(), set()
    meta = {}
    if prog.exists():
        try:
            meta = json.loads(prog.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DatasetError(f"{prog}: unreadable progress file ({e}); delete it to replay dropped games") from None
    for key in ("seed", "board_size", "komi"):
        if key in meta and meta[key] != getattr(cfg, key):
            raise DatasetError(f"{cfg.out} was played with {key} {meta[key]}, not {getattr(cfg, key)}; "
                               f"pass --{key.replace('_', '-')} {meta[key]} to resume it")
    lines, done = [], set()
    for name, text in iter_sgf_file(str(out)):
        m = _COMMENT.search(text)
        if m is None or int(m.group(1)) != cfg.seed:
            raise DatasetError(f"{name}: not a game of this run (C[seed {cfg.seed} game k]); write to a new file")
        lines.append(text.strip())
        done.add(int(m.group(2)))
    return lines, done, set(meta.get("dropped", ()))


def play_katago_games(cfg: KataGoGamesConfig, *, progress: Callable[[int], None] | None = None) -> KataGoGamesSummary:
    """Play game numbers ``0 .. cfg.games-1`` not yet in ``cfg.out`` and add the new ones (see the module doc).

    Args:
        cfg: the run.
        progress: called with the number of games each finished job played.

    Raises:
        DatasetError: the output belongs to another run, or KataGo played a move our rules forbid.
        SGFError: an ``exclude`` file is malformed.
        EngineError: KataGo is missing, crashed or timed out (what finished is kept).
    """
    if cfg.in_flight < 1 or cfg.workers < 1 or cfg.games < 0:
        raise DatasetError("games must be >= 0, in_flight and workers >= 1")
    lines, done, dropped = _read_out(cfg)
    seen: set[str] = set()
    for path in cfg.exclude:
        if Path(path).resolve() == Path(cfg.out).resolve():
            continue
        for name, text in iter_sgf_file(path):
            seen.update(symmetric_hashes(text, name))
    for i, text in enumerate(lines):
        seen.update(symmetric_hashes(text, f"{cfg.out}:{i + 1}"))
    todo = [k for k in range(cfg.games) if k not in done and k not in dropped]
    jobs = ([cfg.seed, cfg.komi, todo[i:i + cfg.in_flight]] for i in range(0, len(todo), cfg.in_flight))
    played = new_dropped = 0

    def write() -> None:
        write_text_atomic(cfg.out, "".join(line + "\n" for line in lines))
        write_text_atomic(progress_path(cfg.out), json.dumps(
            {"seed": cfg.seed, "board_size": cfg.board_size, "komi": cfg.komi, "recipe": "KataGo raw policy, "
             "moves 1-4 at temperature 1, 5-20 at 0.5, then the top move", "dropped": sorted(dropped)}, indent=1))

    results: Iterator[list[tuple[int, str]]] = imap_jobs(
        _play_job, jobs, workers=cfg.workers, initializer=_start,
        initargs=(cfg.board_size, cfg.in_flight, cfg.timeout), finalizer=_stop, backend=cfg.backend)
    try:
        for result in results:
            for k, text in result:
                hashes = symmetric_hashes(text, f"game {k}")
                if hashes[0] in seen:  # the game as played repeats an earlier one under some symmetry
                    dropped.add(k)
                    new_dropped += 1
                else:
                    lines.append(text)
                seen.update(hashes)
            played += len(result)
            write()
            if progress is not None:
                progress(len(result))
    finally:
        results.close()
    if not Path(cfg.out).exists():
        write()
    return KataGoGamesSummary(recorded=len(lines), played=played, dropped=new_dropped, out=cfg.out)

