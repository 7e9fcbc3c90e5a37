"""Where the recorder's episodes come from: Go self-play between player specs, SGF games (files, ``.sgfs``
collections, folders; optionally under the board's symmetries) and tabletop policies.

Every attempt is a pure function of the :class:`RecordConfig` and its number ``k`` (:func:`run_attempt`),
so :mod:`vw_agent.data.record` can farm attempts out to worker processes and re-run them on resume. Each
worker keeps its env and players between attempts (:func:`close_worker` ends them).
"""


from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import vw_envs  # noqa: F401  (registers the ids)
from vw_agent.data.format import (
    DEFAULT_FRACTIONS,
    Episode,
    action_hash,
    assign_split,
    stack_states,
)
from vw_envs.errors import (
    DatasetError,
    EngineCrashedError,
    EngineTimeoutError,
    SGFError,
)
from vw_envs.go.env import replay_frames
from vw_envs.go.match import play_game
from vw_envs.go.openings import OpeningPlayer
from vw_envs.go.sgf import iter_sgf_file, read_sgf, transform_sgf
from vw_envs.players import make_player
from vw_envs.tabletop.policies import make_policy
from vw_envs.tabletop.tasks import TASKS


@dataclass
class RecordConfig:
    """One recording run. Everything that decides an episode's content is here and in meta.json.

    Attributes:
        env_id: a ``VideoGo-*`` or ``VideoTabletop-*`` id.
        out: the dataset directory.
        episodes: attempts to make (games to play, expert episodes); ignored with ``from_sgf``.
        black, white: Go player specs (any spec ``vw-agent players`` lists).
        opening_moves: Go: the first K moves are a seeded random choice near the centre / star points,
            so deterministic engines still play different games.
        from_sgf: Go: an .sgf file, an .sgfs collection (one game per line) or a directory of them.
        policy: tabletop policy spec (``expert``).
        tasks: tabletop MultiTask: ``all`` or a comma list of task names (cycled over episodes).
        seed: base seed; episode k's seed is derived from (seed, k).
        frame_size: frame width = height in pixels.
        komi: Go komi for self-play (SGF games keep their own).
        shard_episodes: attempts per shard; a kill loses at most the shard being written.
        workers: processes recording in parallel (1: in this process).
        dedup: drop an episode whose move / action sequence is already in the dataset.
        split_seed, split_fractions: the seeded train/val/test split by episode.
        symmetries: Go from SGF: 8 also records each training game under the board's 7 other symmetries
            (rotations and mirrors: the same game, so the same rules and the same result), 1 does not.
            A game's copies share its split and its label draw; val and test games are never copied, so
            held-out metrics stay on the games as played.
        hold_steps: tabletop: after the task succeeds the robot holds still for this many more steps (no motion,
            the gripper as it was), recorded with the env's ``terminate_on_success`` off. A model that reads
            windows of T frames learns only from frames with T-1 frames after them, so without these the last
            steps of every task (the last pull of the drawer) would never start a window.
    """

    env_id: str
    out: str
    episodes: int = 10
    black: str = "random"
    white: str = "random"
    opening_moves: int = 0
    from_sgf: str | None = None
    policy: str = "expert"
    tasks: str | None = None
    seed: int = 0
    frame_size: int = 128
    komi: float = 7.5
    shard_episodes: int = 32
    workers: int = 1
    backend: str = "local"  # local processes or Ray actors (vw_agent.parallel); the dataset is the same
    dedup: bool = False
    split_seed: int = 0
    split_fractions: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FRACTIONS))
    symmetries: int = 1
    hold_steps: int = 0

    @property
    def kind(self) -> str:
        if self.env_id.startswith("VideoGo-"):
            return "go"
        if self.env_id.startswith("VideoTabletop-"):
            return "tabletop"
        raise DatasetError(f"{self.env_id!r}: the recorder knows VideoGo-* and VideoTabletop-* envs")

    # Settings that decide what every attempt produces: a resumed run must use the stored ones.
    CONTENT_KEYS = ("env_id", "black", "white", "opening_moves", "from_sgf", "policy", "tasks", "seed",
                    "frame_size", "komi", "shard_episodes", "dedup", "split_seed", "split_fractions", "symmetries",
                    "hold_steps")


def episode_seed(seed: int, k: int) -> int:
    """The seed of attempt ``k``: stable across runs, workers and resumes."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0] % 2**31)


# ----------------------------------------------------------------------------- attempts (run in workers)

_WORKER: dict[str, Any] = {}  # per-process cache: the env and players, reused across attempts


def close_worker() -> None:
    for key in ("env", "black", "white", "policy"):
        obj = _WORKER.pop(key, None)
        if obj is not None:
            with contextlib.suppress(Exception):
                obj.close()
    _WORKER.clear()


def go_env(cfg: RecordConfig):
    import gymnasium as gym

    if "env" not in _WORKER:
        _WORKER["env"] = gym.make(cfg.env_id, opponent="none", frame_size=cfg.frame_size, komi=cfg.komi).unwrapped
    return _WORKER["env"]


def _go_selfplay(cfg: RecordConfig, k: int) -> Episode:
    env = go_env(cfg)
    for color in ("black", "white"):
        if color not in _WORKER:
            p = make_player(getattr(cfg, color))
            _WORKER[color] = OpeningPlayer(p, cfg.opening_moves) if cfg.opening_moves > 0 else p
    seed = episode_seed(cfg.seed, k)
    rec = play_game(env, _WORKER["black"], _WORKER["white"], seed=seed, keep_frames=True)
    moves = np.asarray(rec.moves, np.int64)
    t = len(moves)
    rewards = np.zeros(t, np.float32)
    dones = np.zeros(t, bool)
    if t:
        dones[-1] = True
        if rec.reason != "move_cap" and rec.winner is not None:
            rewards[-1] = 1.0 if rec.winner == "black" else -1.0  # Black's point of view, as the env
    attrs = {
        "source": "selfplay", "seed": seed,
        "players": {"black": cfg.black, "white": cfg.white, "opening_moves": cfg.opening_moves},
        "black": rec_name(_WORKER["black"]), "white": rec_name(_WORKER["white"]),
        "result": rec.result, "winner": rec.winner or "", "score": float(rec.score), "reason": rec.reason or "",
        "komi": float(env.komi), "rules": "Tromp-Taylor", "sgf": rec.sgf, "illegal": rec.illegal,
        "thinking_seconds": rec.seconds,
    }
    return Episode(rec.frames, moves, rewards, dones, attrs)


def rec_name(player: Any) -> str:
    return str(getattr(player, "name", type(player).__name__))


def _reward_from_result(result: str | None) -> float:
    if result and result[:2].upper() == "B+":
        return 1.0
    if result and result[:2].upper() == "W+":
        return -1.0
    return 0.0


@dataclass(frozen=True)
class HeldOutCopy:
    """An attempt that is a symmetric copy of a val / test game: not recorded (augmentation is for training)."""

    of: int  # the attempt id of the game as played


def _setup(g: Any) -> dict[str, list[int]]:
    """An SGF game's setup stones as the episode attribute ``setup`` ({} for none)."""
    return {"black": g.setup_black, "white": g.setup_white} if (g.setup_black or g.setup_white) else {}


def episode_hash(actions: np.ndarray, setup: dict[str, Any]) -> str:
    """An episode's ``action_hash``: its moves plus its setup stones. Decides duplicates and the split."""
    return action_hash(actions, json.dumps(setup, sort_keys=True))


def source_hash(g: Any) -> str:
    """The ``action_hash`` of SGF game ``g`` as played, without rendering it."""
    return episode_hash(np.asarray([m for _c, m in g.moves], np.int64), _setup(g))


def held_out_games(cfg: RecordConfig) -> tuple[set[int], dict[str, int]]:
    """With ``symmetries`` > 1: the SGF games (by index) of the val and test splits, and the action hash of
    every rotation / mirror of each, mapped to that game's attempt id.

    Held-out games are recorded only as played. Two different games of a collection can also be symmetric
    images of each other (the KataGo corpus has two such pairs): a training copy that equals a held-out game
    would put that game in training, so the recorder leaves such copies out. Reads every game once and
    renders nothing.
    """
    games: set[int] = set()
    images: dict[str, int] = {}
    for i, (name, text) in enumerate(iter_sgf_games(cfg.from_sgf)):
        try:
            g = read_sgf(text, name=name)
        except SGFError:
            continue  # the attempt itself reports it
        if assign_split(source_hash(g), cfg.split_seed, cfg.split_fractions) == "train":
            continue
        games.add(i)
        for sym in range(cfg.symmetries):  # 0 too: a training game's copy may be this game as played
            image = read_sgf(transform_sgf(text, sym, name=name), name=name) if sym else g
            images.setdefault(source_hash(image), i * cfg.symmetries)
    return games, images


def _go_sgf(cfg: RecordConfig, k: int, name: str, text: str, sym: int = 0,
            held_out: bool = False) -> Episode | HeldOutCopy:
    if sym and held_out:
        return HeldOutCopy(of=k - sym)
    env = go_env(cfg)
    g = read_sgf(text, name=name)
    source: dict[str, Any] = {"symmetry": sym} if cfg.symmetries > 1 else {}
    if sym:
        source["source_action_hash"] = source_hash(g)
        text = transform_sgf(text, sym, name=name)
        g = read_sgf(text, name=name)
    if g.board_size != env.board_size:
        raise SGFError(f"{name}: a {g.board_size}x{g.board_size} game does not fit {cfg.env_id}")
    frames, actions = replay_frames(g, frame_size=cfg.frame_size, name=name)
    t = len(actions)
    rewards = np.zeros(t, np.float32)
    dones = np.zeros(t, bool)
    if t:
        dones[-1] = True
        rewards[-1] = _reward_from_result(g.result)
    attrs = {
        "source": "sgf", "source_name": name, "seed": -1,
        "players": {"black": g.players.get("black", ""), "white": g.players.get("white", "")},
        "result": g.result or "", "komi": float(g.komi), "rules": g.rules or "", "sgf": text.strip(),
        "setup": _setup(g), **source,
    }
    return Episode(frames, actions, rewards, dones, attrs)


def _tabletop_env(cfg: RecordConfig):
    """A fresh env per episode (50 ms here). Measured: a PyBullet scene that already ran an episode
    renders the next seed a few pixel values differently from a fresh one, and the dataset must not
    depend on which worker recorded which episode, or on where a resumed run restarted."""
    import gymnasium as gym

    close_worker()
    _WORKER["env"] = gym.make(cfg.env_id, frame_size=cfg.frame_size, terminate_on_success=cfg.hold_steps == 0)
    return _WORKER["env"]


def tabletop_task_list(cfg: RecordConfig) -> list[str] | None:
    """The tasks to cycle through (MultiTask), or None for a single-task id."""
    if not cfg.env_id.startswith("VideoTabletop-MultiTask"):
        if cfg.tasks not in (None, ""):
            raise DatasetError(f"--tasks applies to VideoTabletop-MultiTask-v0; {cfg.env_id} has its task built in")
        return None
    names = list(TASKS) if cfg.tasks in (None, "", "all") else [t.strip() for t in cfg.tasks.split(",")]
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise DatasetError(f"unknown task {unknown[0]!r}; valid tasks: {', '.join(TASKS)}")
    return names


def _tabletop_episode(cfg: RecordConfig, k: int) -> Episode:
    from vw_envs.tabletop.env import STATIC_CAMERA  # lazy: imports pybullet

    env = _tabletop_env(cfg)
    policy = _WORKER["policy"] = make_policy(cfg.policy, env)
    tasks = tabletop_task_list(cfg)
    # seed + k, not a hash: the recorder checks that every training scene is below EVAL_SEED_START, where
    # evaluation's scenes start (a hash could land on one)
    seed = cfg.seed + k
    options = {"task": tasks[k % len(tasks)]} if tasks else None
    obs, info = env.reset(seed=seed, options=options)
    policy.reset(seed=seed)
    frames, actions, rewards, states = [obs], [], [], [info["state"]]
    done = False
    terminated = False
    success_step, held = None, 0
    while not done:
        a = np.asarray(policy.act(obs, info), np.float32)
        if success_step is not None:  # holding after success: no motion, the gripper as it was
            a = np.zeros_like(actions[-1])
            a[-1] = actions[-1][-1]
            held += 1
        obs, r, terminated, truncated, info = env.step(a)
        frames.append(obs)
        actions.append(a)
        rewards.append(r)
        states.append(info["state"])
        if success_step is None and info.get("is_success"):
            success_step = len(actions)
        done = terminated or truncated or (success_step is not None and held >= cfg.hold_steps)
    t = len(actions)
    dones = np.zeros(t, bool)
    dones[-1] = True
    camera = {**asdict(STATIC_CAMERA), "width": cfg.frame_size, "height": cfg.frame_size}
    attrs = {
        "source": "policy", "seed": seed, "players": {"policy": cfg.policy},
        "task": info.get("task", ""), "instruction": info.get("instruction", ""),
        "success": bool(info.get("is_success", False)), "result": "success" if info.get("is_success") else "failure",
        "terminated": bool(terminated) or success_step is not None,
        "camera": camera, "steps": t, "success_step": success_step or 0, "hold_steps": held,
    }
    return Episode(np.stack(frames), np.stack(actions), np.asarray(rewards, np.float32), dones, attrs,
                   stack_states(states))


def run_attempt(task: tuple[RecordConfig, int, tuple]) -> tuple[int, Episode | HeldOutCopy | str]:
    """One attempt, in a worker or in-process: (k, Episode), (k, HeldOutCopy) or (k, one-line reason it was
    skipped)."""
    cfg, k, extra = task
    for attempt in range(2):
        try:
            if cfg.kind == "tabletop":
                return k, _tabletop_episode(cfg, k)
            if cfg.from_sgf:
                return k, _go_sgf(cfg, k, *extra)
            return k, _go_selfplay(cfg, k)
        except SGFError as e:
            return k, str(e)
        except (EngineCrashedError, EngineTimeoutError):
            # A long recording should survive one engine crash: restart the engines, replay the game
            # from its seed. A second failure in a row is a real problem and ends the run.
            close_worker()
            if attempt:
                raise
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------- sources


def sgf_files(path: str) -> list[str]:
    """The SGF files under ``path``: the file itself, or every .sgf/.sgfs in a directory (sorted, recursive)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*") if f.suffix.lower() in (".sgf", ".sgfs") and f.is_file())
        if not files:
            raise DatasetError(f"{path}: no .sgf or .sgfs files in this directory")
        return files
    raise DatasetError(f"{path}: no such SGF file or directory")


def iter_sgf_games(path: str) -> Iterator[tuple[str, str]]:
    """(name, text) of every game under ``path``, in a stable order (attempt k = the k-th game)."""
    for f in sgf_files(path):
        try:
            yield from iter_sgf_file(f)
        except OSError as e:
            raise DatasetError(f"{f}: cannot read ({e})") from None


def count_sgf_games(path: str) -> int:
    n = 0
    for f in sgf_files(path):
        if f.endswith(".sgfs"):
            with open(f, encoding="utf-8", errors="replace") as fh:
                n += sum(1 for line in fh if line.strip())
        else:
            n += 1
    return n
