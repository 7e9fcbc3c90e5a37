"""KataGo as a Player (``katago:policy``, ``katago:visits=8``, ``katago:rank=5k``) and as a reference.

Finding, unpacking and tuning KataGo (the ``katrain`` wheel's AppImage, OpenCL on the CPU) is
:mod:`vw_envs.go.katago_install`. This module speaks KataGo's JSON analysis engine (``katago analysis``):
one query per line, answers tagged by ``id``, so one process serves every KataGo player (and the
knowledge metrics) in a Python process. GTP mode is avoided: with ``numSearchThreads = 2`` it hung here
on 9x9. If KataGo asks for a tuning file we did not foresee, it is killed, the file is written, and it
is started again.

Policy arrays come back row-major from the top row with pass last, which is exactly our action index
``r*N + c`` (pass ``N*N``); illegal points are ``-1``.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from vw_envs.errors import (
    EngineCrashedError,
    EngineError,
    EngineNotFoundError,
    EngineProtocolError,
    EngineTimeoutError,
    SpecError,
)
from vw_envs.go.coords import from_gtp, to_gtp
from vw_envs.go.gtp import close_pipes, kill_process
from vw_envs.go.katago_install import INSTALL_HINT, KataGoInstall, ensure_installed, write_tuning
from vw_envs.go.rank_bot import parse_rank, rank_move
from vw_envs.go.rules import GoGame
from vw_envs.players import BasePlayer, GameState, PlayerSpec

# Area scoring, positional superko, no suicide: the env's rules. KataGo's "chinese" string means simple ko.
RULES = {"ko": "POSITIONAL", "scoring": "AREA", "suicide": False, "tax": "NONE", "hasButton": False,
         "whiteHandicapBonus": "0", "friendlyPassOk": False}
SIMPLE_KO_RULES = {**RULES, "ko": "SIMPLE"}


# ----------------------------------------------------------------------------- the analysis engine

_EOF = object()
_TUNING_MISSING = re.compile(r"No existing tuning parameters found.* at: (\S+\.txt)")


class KataGoEngine:
    """One ``katago analysis`` process for one board size; thread-safe, queries tagged by ``id``.

    Args:
        board_size: the NN buffer is exactly NxN (``requireMaxBoardSize``), 5x cheaper on 9x9 than 19x19.
        timeout: default seconds per query; on expiry the process is killed (the caller never hangs).
        install: where KataGo is; default :func:`ensure_installed`.
        analysis_threads: queries evaluated at once, batched through the network. One suits a player, which
            asks one question at a time; many games in flight (self-play) share one process through them
            (``benchmarks/bench_katago_games.py`` measures what that gains).
    """

    def __init__(self, board_size: int, *, timeout: float = 60.0, install: KataGoInstall | None = None,
                 analysis_threads: int = 1):
        self.board_size = board_size
        self.timeout = timeout
        self.analysis_threads = analysis_threads
        self.install = install or ensure_installed(board_size)
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._waiters: dict[str, queue.Queue] = {}
        self._stderr: deque[str] = deque(maxlen=30)
        self.proc: subprocess.Popen | None = None
        for _attempt in range(3):
            missing = self._start()
            if missing is None:
                return
            # KataGo wants a tuning file we did not foresee (another device or network): give it one
            # instead of letting the crash-prone auto-tune run.
            self.kill()
            write_tuning(missing)
        raise EngineError(f"KataGo keeps asking for OpenCL tuning files; last: {missing}")

    def _config(self) -> str:
        n = self.board_size
        text = "\n".join([
            f"homeDataDir = {self.install.home}",
            "logToStderr = true",
            "logAllRequests = false",
            f"numAnalysisThreads = {self.analysis_threads}",
            "numSearchThreads = 1",  # 2 threads hung in GTP mode here; one POCL process fills both cores
            f"nnMaxBatchSize = {max(8, self.analysis_threads)}",
            "nnCacheSizePowerOfTwo = 18",
            "nnRandomize = false",  # the identity symmetry: the same position always gets the same policy
            "reportAnalysisWinratesAs = BLACK",
            f"maxBoardXSizeForNNBuffer = {n}",
            f"maxBoardYSizeForNNBuffer = {n}",
            "requireMaxBoardSize = true",
            "",
        ])
        threads = f"_t{self.analysis_threads}" if self.analysis_threads > 1 else ""  # a running engine keeps its file
        path = Path(self.install.home) / f"analysis_{n}x{n}{threads}.cfg"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cfg")
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        return str(path)

    def _start(self) -> str | None:
        """Start the process and wait until it is ready; return a missing tuning file's path, if any."""
        env = dict(os.environ)
        if self.install.lib_dir:
            env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [self.install.lib_dir,
                                                                   env.get("LD_LIBRARY_PATH")]))
        argv = [self.install.binary, "analysis", "-config", self._config(), "-model", self.install.model]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, bufsize=1, env=env)
        except OSError as e:
            raise EngineNotFoundError(f"cannot start KataGo ({argv[0]}): {e.strerror}; "
                                      f"reinstall it with: {INSTALL_HINT}") from None
        ready: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump_stdout, args=(self.proc,), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self.proc, ready), daemon=True).start()
        deadline = time.monotonic() + max(self.timeout, 120.0)
        while True:
            try:
                what = ready.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                self.kill()
                raise EngineTimeoutError("KataGo did not start within "
                                         f"{max(self.timeout, 120.0):g} s; it was stopped") from None
            if what == "ready":
                return None
            if what is _EOF:
                raise self._crashed("start-up")
            return what  # a missing tuning file

    def _pump_stdout(self, proc: subprocess.Popen) -> None:
        try:
            for line in proc.stdout:
                # The AppImage runtime prints a FUSE warning first; only JSON lines are the protocol.
                if not line.startswith("{"):
                    continue
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue
                qid = str(msg.get("id"))
                with self._lock:
                    waiter = self._waiters.get(qid)
                if waiter is not None:
                    waiter.put(msg)
        except (OSError, ValueError):
            pass
        with self._lock:
            waiters = list(self._waiters.values())
        for w in waiters:
            w.put(_EOF)

    def _pump_stderr(self, proc: subprocess.Popen, ready: queue.Queue) -> None:
        try:
            for line in proc.stderr:
                line = line.rstrip()
                self._stderr.append(line)
                if "ready to begin handling requests" in line:
                    ready.put("ready")
                m = _TUNING_MISSING.search(line)
                if m:
                    ready.put(m.group(1))
        except (OSError, ValueError):
            pass
        ready.put(_EOF)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _crashed(self, what: str) -> EngineCrashedError:
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = "still running"
        tail = " | ".join(x.split(": ", 1)[-1] for x in list(self._stderr)[-2:] if x)
        return EngineCrashedError(f"KataGo exited (code {code}) during {what}" + (f"; log: {tail}" if tail else ""))

    def query(self, moves: list[tuple[str, int]], *, komi: float, max_visits: int = 1,
              include_policy: bool = True, setup: tuple[tuple[int, ...], tuple[int, ...]] = ((), ()),
              first_player: str | None = None, rules: dict[str, Any] | None = None,
              timeout: float | None = None) -> dict[str, Any]:
        """Analyse the position after ``moves`` ((colour, action index) pairs; pass is N*N).

        Returns:
            KataGo's answer: ``moveInfos`` (search results, best first), ``rootInfo`` and, with
            ``include_policy``, ``policy`` (N*N+1 floats, -1 on illegal points).

        Raises:
            EngineTimeoutError, EngineCrashedError, EngineProtocolError.
        """
        n = self.board_size
        if not self.alive:
            raise self._crashed("an earlier query")
        qid = f"q{next(self._ids)}"
        q: dict[str, Any] = {
            "id": qid, "boardXSize": n, "boardYSize": n, "komi": komi, "rules": rules or RULES,
            "moves": [["B" if c == "black" else "W", to_gtp(m, n)] for c, m in moves],
            "maxVisits": max_visits, "includePolicy": include_policy,
        }
        if setup[0] or setup[1]:
            q["initialStones"] = ([["B", to_gtp(p, n)] for p in setup[0]] +
                                  [["W", to_gtp(p, n)] for p in setup[1]])
        if first_player is not None:
            q["initialPlayer"] = "B" if first_player == "black" else "W"
        waiter: queue.Queue = queue.Queue()
        with self._lock:
            self._waiters[qid] = waiter
        try:
            try:
                self.proc.stdin.write(json.dumps(q) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                raise self._crashed(f"query {qid}") from None
            limit = self.timeout if timeout is None else timeout
            deadline = time.monotonic() + limit
            while True:
                try:
                    msg = waiter.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    self.kill()
                    raise EngineTimeoutError(f"KataGo gave no answer within {limit:g} s; it was stopped") from None
                if msg is _EOF:
                    raise self._crashed(f"query {qid}")
                if "error" in msg:
                    raise EngineProtocolError(f"KataGo refused a query: {msg['error']}")
                if "warning" in msg and "moveInfos" not in msg:
                    continue  # e.g. an unused field; the answer follows
                if msg.get("isDuringSearch"):
                    continue
                return msg
        finally:
            with self._lock:
                self._waiters.pop(qid, None)

    def policy(self, moves: list[tuple[str, int]], *, komi: float, **kw: Any) -> np.ndarray:
        """The raw policy (1 visit) of the position after ``moves``: (N*N+1,) float, -1 where illegal."""
        msg = self.query(moves, komi=komi, max_visits=1, include_policy=True, **kw)
        pol = np.asarray(msg.get("policy", ()), dtype=np.float64)
        if pol.shape != (self.board_size**2 + 1,):
            raise EngineProtocolError(f"KataGo sent a policy of shape {pol.shape}, "
                                      f"expected ({self.board_size**2 + 1},)")
        return pol

    def kill(self) -> None:
        if self.proc is not None:
            kill_process(self.proc)

    def close(self) -> None:
        """Close stdin (KataGo exits), then make sure. Safe to call twice."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        self.kill()
        close_pipes(self.proc)


_ENGINES: dict[int, KataGoEngine] = {}
_ENGINES_LOCK = threading.Lock()


def shared_engine(board_size: int, timeout: float = 60.0) -> KataGoEngine:
    """This process's engine for ``board_size``, started on first use and restarted if it died.

    Every KataGo player in a process shares it (queries are tagged by id), which saves memory; a
    second process would not be faster anyway, since one POCL process already uses every core.
    """
    with _ENGINES_LOCK:
        eng = _ENGINES.get(board_size)
        if eng is None or not eng.alive:
            if eng is not None:
                eng.close()
            eng = _ENGINES[board_size] = KataGoEngine(board_size, timeout=timeout)
        return eng


@atexit.register
def close_engines() -> None:
    """Stop every shared engine of this process."""
    with _ENGINES_LOCK:
        for eng in _ENGINES.values():
            eng.close()
        _ENGINES.clear()


# ----------------------------------------------------------------------------- the player


class KataGoPlayer(BasePlayer):
    """KataGo through the analysis engine. Specs:

    - ``katago:policy``: the top raw-policy move (1 visit); ``katago:temperature=T`` (or
      ``katago:policy,temperature=T``) samples from the policy sharpened/flattened by temperature T.
    - ``katago:visits=V``: the best move after a search of V visits.
    - ``katago:rank=5k`` (18k..3d): KaTrain's rank-calibrated policy bot. The labels were fitted in
      2020 to older networks, so they are nominal; the ladder measures what they are worth.

    Every spec also takes ``timeout=`` (seconds per query, default 60) and ``cleanup=0|1`` (default 1).

    Cleanup: KataGo passes as soon as it believes the remaining enemy stones in its area are dead,
    trusting it can capture them after the opponent passes. Our env also ends a game at a move cap of
    2N^2 moves, and an opponent who never passes (``random``) always reaches it, so those dead stones get
    counted as alive (Tromp-Taylor) and raw KataGo *loses to random*. With ``cleanup=1`` the player
    passes only when the area count of the board as it stands wins for it; otherwise a pass it chose
    becomes the best-policy legal move that does not fill its own one-point eye (capturing the dead
    stones, as a rule). ``cleanup=0`` is the raw behaviour (KaTrain's), which the knowledge metrics'
    reference matches.

    Args:
        mode: ``"policy"``, ``"visits"`` or ``"rank"``.
        temperature: policy mode only; 0 plays the top move.
        visits: search visits (visits mode).
        rank: e.g. ``"5k"`` (rank mode).
        timeout: seconds per query before the engine is killed.
    """

    def __init__(self, mode: str = "policy", *, temperature: float = 0.0, visits: int = 1,
                 rank: str | None = None, timeout: float = 60.0, cleanup: bool = True):
        self.mode = mode
        self.cleanup = cleanup
        self.temperature = temperature
        self.visits = visits
        self.kyu = parse_rank(rank) if rank is not None else None
        self.timeout = timeout
        if mode == "policy":
            self.name = "katago:policy" + (f",temperature={temperature:g}" if temperature > 0 else "")
        elif mode == "visits":
            self.name = f"katago:visits={visits}"
        elif mode == "rank":
            self.name = f"katago:rank={rank.strip().lower()}"
        else:
            raise SpecError(f"katago mode must be policy, visits or rank, got {mode!r}")
        if not cleanup:
            self.name += ",cleanup=0"
        self.rng = np.random.default_rng()
        self.komi = 7.5
        self.board_size = 19

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> KataGoPlayer:
        params = dict(spec.params)
        arg = spec.arg
        if arg is not None:
            # "policy" or "policy,temperature=0.5" (parse_spec keeps a mixed colon-part verbatim).
            head, *rest = [p.strip() for p in arg.split(",")]
            for p in rest:
                k, eq, v = p.partition("=")
                if not eq or not v.strip():
                    raise SpecError(f"{spec.text!r}: {p!r} is not key=value")
                params[k.strip().lower()] = v.strip()
            if head != "policy":
                raise SpecError(f"{spec.text!r}: write katago:policy, katago:visits=V or katago:rank=5k "
                                f"(18k..3d), not {head!r}")
        spec = PlayerSpec(spec.kind, None, params, spec.text)
        spec.check_keys({"temperature", "visits", "rank", "timeout", "cleanup"})
        modes = [k for k in ("visits", "rank") if k in params]
        if len(modes) > 1 or (modes and "temperature" in params):
            raise SpecError(f"{spec.text!r}: give one of policy[,temperature=T], visits=V or rank=R")
        if not modes and arg is None and "temperature" not in params:
            raise SpecError(f"{spec.text!r}: write katago:policy, katago:visits=V or katago:rank=5k (18k..3d)")
        kw = dict(timeout=spec.get_float("timeout", 60.0, 0.1, 3600.0),
                  cleanup=bool(spec.get_int("cleanup", 1, 0, 1)))
        if "visits" in params:
            return cls("visits", visits=spec.get_int("visits", 1, 1, 100000), **kw)
        if "rank" in params:
            return cls("rank", rank=params["rank"], **kw)
        return cls("policy", temperature=spec.get_float("temperature", 0.0, 0.0, 100.0), **kw)

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        super().reset(board_size, komi, color, seed=seed)
        self.rng = np.random.default_rng(seed)
        shared_engine(board_size, self.timeout)  # start it now, not inside the first timed move

    def genmove(self, state: GameState) -> int:
        eng = shared_engine(state.board_size, self.timeout)
        first = state.history[0][0] if state.history else state.to_play
        kw = dict(komi=state.komi, setup=state.setup, first_player=first, timeout=self.timeout)
        n2 = state.board_size**2
        if self.mode == "visits":
            msg = eng.query(list(state.history), max_visits=self.visits, include_policy=True, **kw)
            infos = msg.get("moveInfos") or []
            if not infos:
                raise EngineProtocolError(f"{self.name}: KataGo returned no moves")
            move = _from_katago_vertex(infos[0].get("move", ""), state.board_size)
            pol = np.asarray(msg.get("policy", ()), dtype=np.float64)
        else:
            pol = eng.policy(list(state.history), **kw)
            if self.mode == "rank":
                move = rank_move(pol, self.kyu, self.rng)
            elif self.temperature > 0:
                p = np.where(pol > 0, pol, 0.0) ** (1.0 / self.temperature)
                move = int(self.rng.choice(len(p), p=p / p.sum()))
            else:
                move = int(np.argmax(pol))
        if not 0 <= move <= n2:
            raise EngineProtocolError(f"{self.name}: KataGo chose {move}, outside the board")
        if move == n2 and self.cleanup and pol.shape == (n2 + 1,):
            move = cleanup_instead_of_pass(state, pol)
        return move


def cleanup_instead_of_pass(state: GameState, policy: np.ndarray) -> int:
    """The move to play where KataGo wanted to pass (see :class:`KataGoPlayer`, cleanup).

    Passes if the Tromp-Taylor count of the board as it stands wins (or draws) for the mover: then the
    game may end here, or at the move cap, without loss. Otherwise (enemy stones still sit in its area, or
    it is behind) it plays the best-policy legal move that does not fill its own one-point eye, and
    passes only when no such move with positive policy is left.
    """
    n = state.board_size
    n2 = n * n
    board = state.board.reshape(-1)
    me = 1 if state.to_play == "black" else 2
    g = GoGame(n, state.komi)
    g.setup([int(p) for p in np.flatnonzero(board == 1)], [int(p) for p in np.flatnonzero(board == 2)])
    s = g.score()
    if (s >= 0) if me == 1 else (s <= 0):
        return n2
    grid = board.reshape(n, n)
    best, best_p = n2, 0.0
    for a in np.flatnonzero(state.legal_mask[:n2] & (policy[:n2] > 0)):
        r, c = divmod(int(a), n)
        nbrs = [grid[y, x] for y, x in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)) if 0 <= y < n and 0 <= x < n]
        if all(v == me for v in nbrs):
            continue  # our own eye: filling it can only hurt
        if policy[a] > best_p:
            best, best_p = int(a), float(policy[a])
    return best


def _from_katago_vertex(vertex: str, n: int) -> int:
    try:
        return from_gtp(vertex, n)
    except ValueError:
        raise EngineProtocolError(f"KataGo answered with {vertex!r}, not a vertex") from None
