"""What the trained agent knows, seen through the renderer's inverse on held-out games (``vw-agent train``).

For positions t of the held-out episodes (val and test splits) of a Go dataset:

- **imagination accuracy, k = 1..K:** roll the agent's world model k moves ahead of the real frame t and
  read the k-th imagined frame with ``frame_to_board``; the share of intersections equal to the real
  frame t+k. Beside it, the same for the real frame t itself (``copy``: what a model that imagines no
  change would score; the game's moves differ from the agent's, so neither reaches 1 beyond k = 1).
- **legal transitions, k = 1..K:** the share of imagined steps whose board follows from the board before
  it by one legal move of the side to play (captures included) or a pass: the rules, learned from video.
  ``pass`` is the share of imagined steps that change nothing (a pass, or a model that only copies).
- **first-sample legal rate:** the share of moves whose first imagination gave a legal move (the
  paper's legal-rate metric), and **move agreement**: the share equal to the move the game continued with.

It also holds what ``vw-agent imagine`` does (:func:`imagine_go`, :func:`imagine_tabletop`): dream forward
from one real frame and say what was dreamt.

Example:
    >>> evaluate_agent(VideoWorldAgent.load("runs/go9"), "data/go9", positions=200)  # doctest: +SKIP
    >>> imagine_go("runs/go9", moves="E5 C3", steps=8).legal  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import vw_envs  # noqa: F401  (registers the ids)
from vw_agent.agent import AgentConfig, VideoWorldAgent, shipped_run
from vw_agent.agent_tabletop import VideoWorldPolicy
from vw_agent.data.reader import DatasetReader
from vw_envs.errors import IllegalMoveError, VWError
from vw_envs.fileio import write_gif
from vw_envs.go.coords import from_gtp, to_gtp
from vw_envs.go.render import BoardRenderer, RenderConfig, frame_to_board
from vw_envs.go.rules import BLACK, WHITE, GoGame
from vw_envs.go.sgf import read_sgf, replay
from vw_envs.tabletop.policies import static_frame


def _positions(reader: DatasetReader, n: int, horizon: int, seed: int) -> list[tuple[int, int]]:
    """Up to ``n`` (episode, t) pairs of the val and test splits with ``horizon`` real frames after t."""
    eps = reader.split_ids("val") + reader.split_ids("test") or reader.split_ids(None)
    pairs = [(e, t) for e in eps for t in range(reader.ref(e).frames - horizon)]
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)
    return [pairs[i] for i in sorted(keep)]


def _replay(board_size: int, komi: float, actions: np.ndarray) -> GoGame:
    game = GoGame(board_size, komi)
    for a in actions:
        game.play(int(a))
    return game


def legal_transition(before: np.ndarray, after: np.ndarray, color: int) -> bool:
    """True if board ``after`` (N, N) follows from ``before`` by one legal move of ``color``, or a pass.

    Ko history is not known from two frames; a retaken ko counts as legal here. A ``before`` that is no legal
    position (an imagined board with a group left without liberties) has no legal successor.
    """
    if np.array_equal(before, after):
        return True  # a pass
    added = np.flatnonzero((before.ravel() == 0) & (after.ravel() == color))
    if len(added) != 1:
        return False
    n = before.shape[0]
    game = GoGame(n)
    try:
        game.setup(list(np.flatnonzero(before.ravel() == BLACK)), list(np.flatnonzero(before.ravel() == WHITE)),
                   to_play=color)
    except IllegalMoveError:  # an imagined board with a group that has no liberties: no legal move leads on
        return False
    if game.illegal_reason(int(added[0]), color) is not None:
        return False
    game.play(int(added[0]), color)
    return bool(np.array_equal(game.board_array(), after))


def evaluate_agent(agent: Any, data: str | Path, *, positions: int = 200, horizon: int = 4, seed: int = 0
                   ) -> dict[str, float]:
    """The metrics of the module docstring over ``positions`` held-out positions of dataset ``data``."""
    reader = DatasetReader(data, frame_size=agent.frame_size)
    render = reader.meta.get("render", {})
    n = int(render["board_size"])
    komi = float(reader.meta.get("komi", 7.5))
    cfg = RenderConfig.from_meta(reader.meta, agent.frame_size)
    acc = np.zeros(horizon)
    copy = np.zeros(horizon)
    legal_steps = np.zeros(horizon)
    passes = np.zeros(horizon)
    first_legal = agree = 0
    pairs = _positions(reader, positions, horizon, seed)
    agent.reseed(seed)
    for ep, t in pairs:
        frames = reader.frames(ep, t, t + horizon + 1)
        actions = reader.actions(ep, 0, t + 1)
        game = _replay(n, komi, actions[:t])
        color = game.to_play
        to_play = "black" if color == BLACK else "white"
        real = [frame_to_board(f, n, cfg) for f in frames]
        imagined = [frame_to_board(f, n, cfg) for f in agent.imagine(frames[0], horizon, to_play)]
        prev, c = real[0], color
        for k in range(horizon):
            acc[k] += (imagined[k] == real[k + 1]).mean()
            copy[k] += (real[0] == real[k + 1]).mean()
            legal_steps[k] += legal_transition(prev, imagined[k], c)
            passes[k] += np.array_equal(prev, imagined[k])
            prev, c = imagined[k], 3 - c
        before = agent.first_sample_illegal
        move = agent.act(frames[0], to_play, game.legal_mask())
        first_legal += agent.first_sample_illegal == before
        agree += move == int(actions[t])
    m = max(len(pairs), 1)
    out: dict[str, float] = {"positions": float(len(pairs))}
    for k in range(horizon):
        out[f"imagine_k{k + 1}_board_accuracy"] = acc[k] / m
        out[f"copy_k{k + 1}_board_accuracy"] = copy[k] / m
        out[f"imagine_k{k + 1}_legal_transition"] = legal_steps[k] / m
        out[f"imagine_k{k + 1}_pass"] = passes[k] / m
    out["first_sample_legal_rate"] = first_legal / m
    out["move_agreement"] = agree / m
    return out


# ----------------------------------------------------------------------------- vw-agent imagine


class ImagineError(VWError, ValueError):
    """An imagine option that does not fit the run or the env (the CLI reports it as a bad parameter)."""


@dataclass
class ImaginedMove:
    """One imagined Go frame, read back through the renderer's inverse."""

    color: str  # who was to play: "black" or "white"
    shown: str  # the move the frame shows: a GTP vertex, "pass", or "K points changed"
    legal: bool  # the frame follows from the one before by a legal move of ``color`` or a pass


@dataclass
class GoImagination:
    """What :func:`imagine_go` dreamt: the real start frame, the imagined frames and the move each shows."""

    run: str
    move_number: int  # moves played before the start frame
    to_play: str
    start: np.ndarray  # (h w c) uint8, the real frame
    frames: list[np.ndarray]  # steps x (h w c) uint8
    moves: list[ImaginedMove]

    @property
    def legal(self) -> int:
        return sum(m.legal for m in self.moves)

    def gif_frames(self) -> list[np.ndarray]:
        return [self.start, *self.frames]


def go_position(n: int, *, moves: str = "", sgf: str | None = None, move_number: int | None = None) -> GoGame:
    """The position to imagine from: ``moves`` (GTP vertices, ``"E5 C3 pass"``) played on an empty board,
    or the game in the SGF file ``sgf`` after ``move_number`` of its moves (all by default).

    Raises:
        ImagineError: a bad vertex, or an SGF game of another board size.
        IllegalMoveError: a move that is not legal there.
    """
    if sgf:
        with open(sgf, "rb") as f:
            record = read_sgf(f.read(), name=sgf)
        if record.board_size != n:
            raise ImagineError(f"{sgf} is a {record.board_size}x{record.board_size} game")
        if move_number is not None:
            record = dataclasses.replace(record, moves=record.moves[:move_number])
        return replay(record, name=sgf)
    game = GoGame(n)
    for vertex in moves.split():
        try:
            move = from_gtp(vertex, n)
        except ValueError as e:
            raise ImagineError(f"--moves: {e}") from None
        game.play(move)
    return game


def imagine_position(agent: VideoWorldAgent, game: GoGame, steps: int) -> GoImagination:
    """Render ``game``'s board the way the agent saw its training video, imagine ``steps`` moves ahead, and
    read each imagined frame back as a move (legal or not)."""
    n, cfg = game.n, agent.render_config
    start = BoardRenderer(n, cfg).render(game.board_array())
    to_play = "black" if game.to_play == BLACK else "white"
    frames = agent.imagine(start, steps, to_play)
    prev, color, read = game.board_array(), game.to_play, []
    for frame in frames:
        board = frame_to_board(frame, n, cfg)
        added = np.flatnonzero((prev.ravel() == 0) & (board.ravel() == color))
        shown = "pass" if np.array_equal(prev, board) else (
            to_gtp(int(added[0]), n) if len(added) == 1 else f"{int((prev != board).sum())} points changed")
        read.append(ImaginedMove("black" if color == BLACK else "white", shown, legal_transition(prev, board, color)))
        prev, color = board, 3 - color
    return GoImagination(str(agent.info["run"]), game.move_number, to_play, start, list(frames), read)


def imagine_go(run: str | Path | None = None, env_id: str = "VideoGo-9x9-v0", *, moves: str = "",
               sgf: str | None = None, move_number: int | None = None, steps: int = 8, temperature: float = 1.0,
               seed: int = 0) -> GoImagination:
    """Load the Go agent of ``run`` (None: the shipped 9x9 checkpoint) and imagine ``steps`` moves ahead of the
    position of :func:`go_position` on ``env_id``'s board.

    Raises:
        ImagineError: the run learned another env or board size, or the position does not fit.
    """
    n = gym.spec(env_id).kwargs["board_size"]
    agent = VideoWorldAgent.load(run or shipped_run(), AgentConfig(temperature=temperature, seed=seed))
    if not agent.info["env_id"].startswith("VideoGo-"):
        raise ImagineError(f"{run} learned {agent.info['env_id']}; imagine with --env {agent.info['env_id']}")
    if agent.board_size != n:
        raise ImagineError(f"the agent learned {agent.board_size}x{agent.board_size} Go; {env_id} is {n}x{n}")
    return imagine_position(agent, go_position(n, moves=moves, sgf=sgf, move_number=move_number), steps)


@dataclass
class TabletopImagination:
    """What :func:`imagine_tabletop` dreamt, beside the real env stepped open loop with the imagined actions."""

    task: str
    start: np.ndarray  # (h w c) uint8, the env's first frame
    frames: list[np.ndarray]  # steps x (h w c) uint8, imagined
    actions: list[np.ndarray]  # steps x (7,), read off the imagined frames
    real: list[np.ndarray]  # the env's frames after each imagined action (fewer if the episode ended)
    errors: list[float]  # per real step: MSE of the imagined frame vs the real one, in [0, 1] units
    copies: list[float]  # the same for the start frame repeated: what imagining no change would score
    ended_after: int | None = None  # the step the episode ended at, if it did
    success: bool = False

    def gif_frames(self) -> list[np.ndarray]:
        """Imagined (left) beside real (right); an episode that ended early stops there."""
        return [np.concatenate([a, b], axis=1)
                for a, b in zip([self.start, *self.frames], [self.start, *self.real], strict=False)]


def imagine_tabletop(run: str | Path, env_id: str, *, task: str | None = None, steps: int = 8,
                     temperature: float = 1.0, seed: int = 0) -> TabletopImagination:
    """Imagine ``steps`` steps of ``task`` (None: the env's) from ``env_id``'s first frame after
    ``reset(seed=seed)``, read an action off each, then step the real env with those actions (open loop)."""
    policy = VideoWorldPolicy(run, AgentConfig(temperature=temperature, seed=seed))
    if task:
        policy.cond(task)  # a one-line error for an unknown task, before the simulator starts
    env = gym.make(env_id, frame_size=policy.agent.frame_size)
    try:
        obs, info = env.reset(seed=seed, options={"task": task} if task else None)
        start = np.asarray(static_frame(obs))
        frames, actions = policy.imagine(start, info["task"], steps)
        out = TabletopImagination(info["task"], start, list(frames), list(actions), [], [], [])
        for k, (frame, action) in enumerate(zip(frames, actions, strict=True), 1):
            obs, _r, terminated, truncated, step_info = env.step(action)
            now = np.asarray(static_frame(obs))
            out.real.append(now)
            out.errors.append(float(np.mean((frame / 255.0 - now / 255.0) ** 2)))
            out.copies.append(float(np.mean((start / 255.0 - now / 255.0) ** 2)))
            if terminated or truncated:
                out.ended_after, out.success = k, bool(step_info.get("is_success"))
                break
    finally:
        env.close()
    return out


def write_upscaled_gif(path: str | Path, frames: list[np.ndarray], scale: int) -> None:
    """The frames ``scale`` times larger (nearest neighbour, so tokens and stones stay crisp), 2 frames a second."""
    write_gif(path, [np.kron(f, np.ones((scale, scale, 1), dtype=np.uint8)) for f in frames], fps=2.0)
