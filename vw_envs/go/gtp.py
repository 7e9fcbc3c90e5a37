"""A GTP v2 client for engine subprocesses, and a generic GTP player.

The client never hangs its caller: every command has a deadline, after which the engine is killed and
:class:`~vw_envs.errors.EngineTimeoutError` is raised. A missing binary, an engine that dies, and an
engine that answers nonsense each raise their own typed error with a one-line message.

A reader thread moves the engine's stdout lines into a queue, so a deadline is a plain ``Queue.get``
timeout. Lines before a response that are not GTP (KataGo prints a FUSE warning first) are skipped.
"""

from __future__ import annotations

import os
import queue
import shlex
import shutil
import subprocess
import threading
import time
from collections import deque

from vw_envs.errors import (
    EngineCrashedError,
    EngineError,
    EngineNotFoundError,
    EngineProtocolError,
    EngineTimeoutError,
    SpecError,
)
from vw_envs.go.coords import RESIGN, from_gtp, to_gtp
from vw_envs.players import BasePlayer, GameState, PlayerSpec

_EOF = object()
# Bounds on one answer, banners and warnings before it included (KataGo prints a few lines; GNU Go's longest
# answers, such as showboard on 19x19, are tens of lines): past them the engine is stopped with a typed error.
MAX_ANSWER_LINES = 10_000
MAX_ANSWER_BYTES = 1 << 20
MAX_QUEUED_LINES = 10_000  # lines read ahead of the caller


class GTPClient:
    """One engine process spoken to in GTP.

    Args:
        argv: the command line (argv[0] is looked up on PATH if it has no slash).
        name: how errors name the engine (``"GNU Go"``).
        install_hint: appended to the not-found error, e.g. ``"sudo apt-get install gnugo"``.
        timeout: default seconds per command.
        env: extra environment variables for the process.
    """

    def __init__(self, argv: list[str], *, name: str | None = None, install_hint: str = "",
                 timeout: float = 30.0, env: dict[str, str] | None = None):
        self.name = name or os.path.basename(argv[0])
        self.timeout = timeout
        exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0])
        if exe is None or not os.path.exists(exe):
            hint = f"; install it with: {install_hint}" if install_hint else ""
            raise EngineNotFoundError(f"{self.name} not found at {argv[0]}{hint}")
        if not os.access(exe, os.X_OK):
            raise EngineNotFoundError(f"{self.name} at {exe} is not executable")
        self.argv = [exe, *argv[1:]]
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, bufsize=1, env={**os.environ, **(env or {})},
            )
        except OSError as e:
            raise EngineNotFoundError(f"cannot start {self.name} ({exe}): {e.strerror}") from None
        # bounded: an engine that prints without end blocks on its full pipe instead of filling our memory
        self._lines: queue.Queue = queue.Queue(maxsize=MAX_QUEUED_LINES)
        self._stderr: deque[str] = deque(maxlen=20)  # the tail, for crash messages
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    @staticmethod
    def _pump(stream, q: queue.Queue) -> None:
        try:
            for line in stream:
                q.put(line)
        except (OSError, ValueError):
            pass
        q.put(_EOF)

    def _drain_stderr(self) -> None:
        try:
            for line in self.proc.stderr:
                self._stderr.append(line.rstrip())
        except (OSError, ValueError):
            pass

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _crashed(self, command: str) -> EngineCrashedError:
        code = self.proc.wait(timeout=5) if self.proc.poll() is None else self.proc.returncode
        tail = " | ".join(x for x in list(self._stderr)[-2:] if x)
        extra = f"; stderr: {tail}" if tail else ""
        return EngineCrashedError(f"{self.name} exited (code {code}) while answering {command!r}{extra}")

    def command(self, command: str, timeout: float | None = None) -> str:
        """Send one command and return the response text (without ``=``).

        Raises:
            EngineProtocolError: the engine answered ``? message`` or something that is not GTP.
            EngineCrashedError: the process is gone.
            EngineTimeoutError: no answer within ``timeout`` seconds (the engine is killed).
        """
        if "\n" in command:
            raise ValueError("one GTP command at a time")
        if not self.alive:
            raise self._crashed(command)
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._crashed(command) from None
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        body: list[str] = []
        status = None
        lines = size = 0
        while True:
            # The whole answer is bounded by time, lines and bytes: an engine that keeps printing (`gtp:yes`) kept
            # the queue non-empty, so the time-out never fired and memory grew without end.
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise queue.Empty
                line = self._lines.get(timeout=left)
            except queue.Empty:
                self.kill()
                raise EngineTimeoutError(
                    f"{self.name} gave no answer to {command!r} within "
                    f"{self.timeout if timeout is None else timeout:g} s; it was stopped") from None
            if line is _EOF:
                raise self._crashed(command)
            lines, size = lines + 1, size + len(line)
            if lines > MAX_ANSWER_LINES or size > MAX_ANSWER_BYTES:
                self.kill()
                raise EngineProtocolError(
                    f"{self.name} sent over {MAX_ANSWER_LINES} lines or {MAX_ANSWER_BYTES // 1024} KB in answer to "
                    f"{command!r} without ending a GTP response; it was stopped")
            line = line.rstrip("\r\n")
            if status is None:
                if line[:1] in ("=", "?"):
                    status = line[0]
                    body.append(line[1:].lstrip("0123456789").strip())
                # else: noise before the response (warnings, banners); skip it
                continue
            if line == "":
                break
            body.append(line)
        text = "\n".join(body).strip()
        if status == "?":
            raise EngineProtocolError(f"{self.name} refused {command!r}: {text}")
        return text

    def kill(self) -> None:
        kill_process(self.proc)

    def close(self) -> None:
        """Say ``quit`` politely, then make sure the process is gone. Safe to call twice."""
        if self.proc.poll() is None:
            try:
                self.command("quit", timeout=2)
            except EngineError:
                pass
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        close_pipes(self.proc)


def kill_process(proc: subprocess.Popen) -> None:
    """Kill an engine process if it still runs and reap it (a bounded wait, never a hang)."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def close_pipes(proc: subprocess.Popen) -> None:
    """Close a finished engine process's pipes (no ResourceWarning, no leaked descriptors)."""
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is None:
            continue
        try:
            stream.close()
        except (OSError, ValueError):
            pass


class GTPPlayer(BasePlayer):
    """Any GTP engine as a Player: ``gtp:<command line>`` (e.g. ``gtp:gnugo --mode gtp``).

    The engine keeps its own board: ``observe`` sends ``play``. ``genmove`` makes the engine play the
    move on its board too, so the player remembers it and skips the matching ``observe``.
    """

    install_hint = ""
    engine_name: str | None = None

    def __init__(self, argv: list[str], *, timeout: float = 60.0, name: str | None = None):
        self.argv = argv
        self.timeout = timeout
        self.name = name or "gtp:" + " ".join(argv)
        self.client: GTPClient | None = None
        self._pending: tuple[int, str] | None = None

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> GTPPlayer:
        if not spec.arg:
            raise SpecError(f"{spec.text!r}: write gtp:<command line>, e.g. 'gtp:gnugo --mode gtp'")
        return cls(shlex.split(spec.arg))

    def _ensure(self) -> GTPClient:
        """The engine of this game. Only ``reset`` (re)starts one: a restart mid-game would silently lose
        the engine's board, so a dead engine surfaces as EngineCrashedError from ``command``."""
        if self.client is None:
            raise EngineError(f"{self.name}: reset() must be called before the first move")
        return self.client

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        super().reset(board_size, komi, color, seed=seed)
        if self.client is not None and not self.client.alive:
            self.client.close()  # a new game may start a new engine; mid-game it may not
            self.client = None
        if self.client is None:
            self.client = GTPClient(self.argv, name=self.engine_name, install_hint=self.install_hint,
                                    timeout=self.timeout)
        c = self.client
        c.command(f"boardsize {board_size}")
        c.command("clear_board")
        c.command(f"komi {komi:g}")
        self._pending = None

    def setup(self, black: list[int], white: list[int]) -> None:
        """Setup stones (handicap, SGF AB/AW) before the first move, as plain plays."""
        for color, pts in (("b", black), ("w", white)):
            for p in pts:
                self._ensure().command(f"play {color} {to_gtp(p, self.board_size)}")

    def observe(self, move: int, color: str) -> None:
        if self._pending == (move, color):
            self._pending = None  # the engine played it already in genmove
            return
        self._pending = None
        self._ensure().command(f"play {color[0]} {to_gtp(move, self.board_size)}")

    def genmove(self, state: GameState) -> int:
        color = state.to_play
        reply = self._ensure().command(f"genmove {color[0]}")
        try:
            move = from_gtp(reply, self.board_size)
        except ValueError:
            raise EngineProtocolError(f"{self.name} answered genmove with {reply!r}, not a vertex") from None
        if move != RESIGN:
            self._pending = (move, color)
        return move

    def undo(self) -> None:
        self._pending = None
        self._ensure().command("undo")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

