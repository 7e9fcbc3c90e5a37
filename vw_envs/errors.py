"""Typed errors with one-line messages.

The CLI turns every :class:`VWError` into exit code 2 and prints only its message (``--debug`` shows the
traceback), so each message must say on one line what went wrong and how to fix it.
"""


class VWError(Exception):
    """Base class of every error this project raises on purpose."""


class SpecError(VWError, ValueError):
    """A player or policy spec string that does not parse or names an unknown kind or value."""


class EngineError(VWError, RuntimeError):
    """An external engine (GNU Go, KataGo, any GTP program) failed."""


class EngineNotFoundError(EngineError, FileNotFoundError):
    """The engine's binary is not installed; the message names the install command."""


class EngineCrashedError(EngineError):
    """The engine process exited while we were talking to it."""


class EngineTimeoutError(EngineError, TimeoutError):
    """The engine did not answer in time (it is killed, so the caller never hangs)."""


class EngineProtocolError(EngineError):
    """The engine answered something that is not valid GTP, or an illegal move."""


class SGFError(VWError, ValueError):
    """An SGF text that cannot be read or replayed under our rules."""


class InvalidActionError(VWError, ValueError):
    """An action that is not of the action space's type (a float or a string for a discrete move)."""


class IllegalMoveError(VWError, ValueError):
    """A move that the rules forbid; the message says which move and why."""


class DatasetError(VWError, ValueError):
    """A recorded dataset that cannot be read or extended: missing meta.json, a corrupt or truncated
    shard, a frame-size mismatch. The message names the file."""


class DiskFullError(VWError, OSError):
    """No space left on the device (or quota) while writing a file; the message names the file. What was
    written before stays whole (atomic writes), so the command can be rerun, with ``--resume`` where it has one."""
