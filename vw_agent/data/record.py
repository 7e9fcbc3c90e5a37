"""The recorder: drives envs and players into dataset shards. Go self-play, SGF import, tabletop experts.

Work is cut into *attempts* numbered 0..N-1 (a game to play, an SGF game to replay, an expert episode),
and every E consecutive pending attempts make a shard. Every attempt is a pure function of the recording config
and its number (its seed is derived from both), so:

* ``--workers W`` farms attempts out to W spawned processes; the main process alone writes shards, in
  attempt order, so the dataset does not depend on W;
* ``--resume`` re-runs exactly the attempts of shards that are not on disk yet.

Each attempt runs its own env from ``reset`` to the end of the episode and returns all its frames, so
no episode can carry the next episode's reset frame (which Gymnasium's vector autoreset would).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import vw_envs  # noqa: F401  (registers the ids)
from vw_agent.data.format import (
    DEFAULT_FRACTIONS,
    FORMAT_VERSION,
    SHARD_PATTERN,
    Episode,
    ShardInfo,
    ShardWriter,
    action_hash,
    assign_split,
    content_hash,
    meta_path,
    read_meta,
    read_shard_info,
    stack_states,
    write_meta,
)
from vw_agent.parallel import imap_jobs
from vw_envs.errors import (
    DatasetError,
    EngineCrashedError,
    EngineNotFoundError,
    EngineTimeoutError,
    SGFError,
    SpecError,
)
from vw_envs.go.coords import SYMMETRIES
from vw_envs.go.env import replay_frames
from vw_envs.go.match import play_game
from vw_envs.go.openings import OpeningPlayer
from vw_envs.go.sgf import iter_sgf_file, read_sgf, transform_sgf
from vw_envs.players import PLAYER_KINDS, kind_status, make_player, parse_spec
from vw_envs.tabletop.policies import POLICY_KINDS, make_policy
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
    dedup: bool = False
    split_seed: int = 0
    split_fractions: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FRACTIONS))
    symmetries: int = 1

    @property
    def kind(self) -> str:
        if self.env_id.startswith("VideoGo-"):
            return "go"
        if self.env_id.startswith("VideoTabletop-"):
            return "tabletop"
        raise DatasetError(f"{self.env_id!r}: the recorder knows VideoGo-* and VideoTabletop-* envs")

    # Settings that decide what every attempt produces: a resumed run must use the stored ones.
    CONTENT_KEYS = ("env_id", "black", "white", "opening_moves", "from_sgf", "policy", "tasks", "seed",
                    "frame_size", "komi", "shard_episodes", "dedup", "split_seed", "split_fractions", "symmetries")


@dataclass
class RecordSummary:
    """What a run did (this run's attempts, and the dataset's totals after it)."""

    out: str
    attempted: int
    recorded: int
    frames: int
    skipped: int
    dropped: int
    seconds: float
    total_episodes: int
    total_frames: int
    skipped_examples: list[str] = field(default_factory=list)
    held_out_copies: int = 0  # symmetric copies of val / test games, not recorded

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def episode_seed(seed: int, k: int) -> int:
    """The seed of attempt ``k``: stable across runs, workers and resumes."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0] % 2**31)


# ----------------------------------------------------------------------------- attempts (run in workers)

_WORKER: dict[str, Any] = {}  # per-process cache: the env and players, reused across attempts


def _close_worker() -> None:
    for key in ("env", "black", "white", "policy"):
        obj = _WORKER.pop(key, None)
        if obj is not None:
            with contextlib.suppress(Exception):
                obj.close()
    _WORKER.clear()


def _go_env(cfg: RecordConfig):
    import gymnasium as gym

    if "env" not in _WORKER:
        _WORKER["env"] = gym.make(cfg.env_id, opponent="none", frame_size=cfg.frame_size, komi=cfg.komi).unwrapped
    return _WORKER["env"]


def _go_selfplay(cfg: RecordConfig, k: int) -> Episode:
    env = _go_env(cfg)
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


def _episode_hash(actions: np.ndarray, setup: dict[str, Any]) -> str:
    """An episode's ``action_hash``: its moves plus its setup stones. Decides duplicates and the split."""
    return action_hash(actions, json.dumps(setup, sort_keys=True))


def _source_hash(g: Any) -> str:
    """The ``action_hash`` of SGF game ``g`` as played, without rendering it."""
    return _episode_hash(np.asarray([m for _c, m in g.moves], np.int64), _setup(g))


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
        if assign_split(_source_hash(g), cfg.split_seed, cfg.split_fractions) == "train":
            continue
        games.add(i)
        for sym in range(cfg.symmetries):  # 0 too: a training game's copy may be this game as played
            image = read_sgf(transform_sgf(text, sym, name=name), name=name) if sym else g
            images.setdefault(_source_hash(image), i * cfg.symmetries)
    return games, images


def _go_sgf(cfg: RecordConfig, k: int, name: str, text: str, sym: int = 0,
            held_out: bool = False) -> Episode | HeldOutCopy:
    if sym and held_out:
        return HeldOutCopy(of=k - sym)
    env = _go_env(cfg)
    g = read_sgf(text, name=name)
    source: dict[str, Any] = {"symmetry": sym} if cfg.symmetries > 1 else {}
    if sym:
        source["source_action_hash"] = _source_hash(g)
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

    _close_worker()
    _WORKER["env"] = gym.make(cfg.env_id, frame_size=cfg.frame_size)
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
    seed = episode_seed(cfg.seed, k)
    options = {"task": tasks[k % len(tasks)]} if tasks else None
    obs, info = env.reset(seed=seed, options=options)
    policy.reset(seed=seed)
    frames, actions, rewards, states = [obs], [], [], [info["state"]]
    done = False
    terminated = False
    while not done:
        a = np.asarray(policy.act(obs, info), np.float32)
        obs, r, terminated, truncated, info = env.step(a)
        frames.append(obs)
        actions.append(a)
        rewards.append(r)
        states.append(info["state"])
        done = terminated or truncated
    t = len(actions)
    dones = np.zeros(t, bool)
    dones[-1] = True
    camera = {**asdict(STATIC_CAMERA), "width": cfg.frame_size, "height": cfg.frame_size}
    attrs = {
        "source": "policy", "seed": seed, "players": {"policy": cfg.policy},
        "task": info.get("task", ""), "instruction": info.get("instruction", ""),
        "success": bool(info.get("is_success", False)), "result": "success" if info.get("is_success") else "failure",
        "terminated": bool(terminated),
        "camera": camera, "steps": t,
    }
    return Episode(np.stack(frames), np.stack(actions), np.asarray(rewards, np.float32), dones, attrs,
                   stack_states(states))


def _run_attempt(task: tuple[RecordConfig, int, tuple]) -> tuple[int, Episode | HeldOutCopy | str]:
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
            _close_worker()
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


# ----------------------------------------------------------------------------- the run


def _new_meta(cfg: RecordConfig) -> dict[str, Any]:
    if cfg.kind == "go":
        env = _go_env(cfg)
        rc = env.render_config
        render = {"style": "flat (paper)", "frame_size": rc.frame_size, "last_move_marker": rc.last_move_marker,
                  "coordinates": rc.coordinates, "board_size": env.board_size}
        _close_worker()
    else:
        render = {"frame_size": cfg.frame_size, "camera": "static"}
    if cfg.from_sgf:
        sources = [f"sgf:{f}" for f in sgf_files(cfg.from_sgf)]
    elif cfg.kind == "go":
        sources = [f"selfplay black={cfg.black} white={cfg.white} opening_moves={cfg.opening_moves}"]
    else:
        sources = [f"policy={cfg.policy} tasks={cfg.tasks or 'env task'}"]
    return {
        "format_version": FORMAT_VERSION, "env_id": cfg.env_id, "kind": cfg.kind, "frame_size": cfg.frame_size,
        "render": render, "sources": sources,
        "config": {k: getattr(cfg, k) for k in RecordConfig.CONTENT_KEYS},
        "splits": {"seed": cfg.split_seed, "fractions": cfg.split_fractions,
                   "by": "seeded hash of action_hash (of the game as played, for a symmetric copy)"},
        "shards": [], "complete": False, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _check_resume(cfg: RecordConfig, meta: dict[str, Any], given: set[str]) -> RecordConfig:
    """The stored config, with this run's episode count and workers; explicit conflicts raise."""
    path = meta_path(cfg.out)
    stored = {"symmetries": 1, **meta.get("config", {})}  # datasets from before --symmetries have 1
    if meta.get("frame_size") != cfg.frame_size and "frame_size" in given:
        raise DatasetError(f"{path}: frame-size mismatch: the dataset is {meta.get('frame_size')}x"
                           f"{meta.get('frame_size')}, --frame-size {cfg.frame_size} was given")
    for key in given & set(RecordConfig.CONTENT_KEYS):
        if key != "frame_size" and key in stored and stored[key] != getattr(cfg, key):
            raise DatasetError(f"{path}: the dataset was recorded with {key}={stored[key]!r}, not "
                               f"{getattr(cfg, key)!r}; --resume continues the same recording")
    merged = {**asdict(cfg), **{k: v for k, v in stored.items() if k in RecordConfig.CONTENT_KEYS}}
    merged["episodes"] = cfg.episodes if "episodes" in given else meta.get("attempts", cfg.episodes)
    merged["workers"], merged["out"] = cfg.workers, cfg.out
    return RecordConfig(**merged)


def _recover_shards(root: Path, meta: dict[str, Any]) -> None:
    """Adopt shards finished after the last meta.json write; delete temporaries of killed runs."""
    for tmp in root.glob(".shard_*.tmp*"):
        tmp.unlink(missing_ok=True)
    known = {sh["file"] for sh in meta["shards"]}
    for f in sorted(root.iterdir()):
        if SHARD_PATTERN.match(f.name) and f.name not in known:
            meta["shards"].append(read_shard_info(f, frame_size=meta["frame_size"]).to_json())
    for sh in meta["shards"]:
        if not (root / sh["file"]).exists():
            raise DatasetError(f"{root / sh['file']}: shard listed in meta.json is missing; delete its entry "
                               "from meta.json (or the whole dataset) and resume")


def _validate(cfg: RecordConfig) -> None:
    """Bad specs, task names and SGF paths fail here, before a dataset directory is created."""
    if cfg.shard_episodes < 1 or cfg.episodes < 0 or cfg.opening_moves < 0:
        raise DatasetError("shard_episodes must be >= 1, episodes and opening_moves >= 0")
    if cfg.symmetries not in (1, SYMMETRIES):
        raise DatasetError(f"symmetries must be 1 (the games as played) or {SYMMETRIES} (all the board's), "
                           f"not {cfg.symmetries}")
    if cfg.symmetries != 1 and not (cfg.kind == "go" and cfg.from_sgf):
        raise DatasetError("symmetries copies Go games read from SGF: it needs --from-sgf")
    if cfg.kind == "tabletop":
        tabletop_task_list(cfg)
        kind = parse_spec(cfg.policy).kind
        if kind not in POLICY_KINDS:
            raise SpecError(f"{cfg.policy!r}: unknown tabletop policy kind {kind!r}; valid: {', '.join(POLICY_KINDS)}")
    elif cfg.from_sgf:
        sgf_files(cfg.from_sgf)
    else:
        for spec in (cfg.black, cfg.white):
            make_player(spec).close()
            parsed = parse_spec(spec)
            status = kind_status(PLAYER_KINDS[parsed.kind]) if "path" not in parsed.params else None
            if status is not None:  # e.g. GNU Go not installed: say so now, not from a worker
                raise EngineNotFoundError(f"{spec}: {status}")


def record(cfg: RecordConfig, *, resume: bool = False, given: set[str] | None = None,
           progress: bool = True) -> RecordSummary:
    """Record (or, with ``resume``, continue) a dataset. See :class:`RecordConfig`.

    Args:
        resume: continue the dataset in ``cfg.out`` (its stored config wins; conflicting ``given`` keys raise).
        given: the config keys the user set explicitly (checked against the stored ones on resume).
        progress: show a tqdm bar on stderr (rate and ETA).

    Returns:
        What this run recorded, skipped (unreadable SGFs, with examples) and dropped (``dedup``).

    Raises:
        DatasetError: an existing dataset without ``resume``, a mismatching resume, an unreadable shard.
    """
    from tqdm import tqdm

    root = Path(cfg.out)
    cfg.kind  # noqa: B018  (validates the env id before anything is created)
    if cfg.from_sgf:
        cfg.from_sgf = str(Path(cfg.from_sgf).resolve())  # a resume from another folder names the same files
    if meta_path(root).exists():
        if not resume:
            raise DatasetError(f"{meta_path(root)}: a dataset is already here; pass --resume to continue it "
                               "or choose a new --out")
        meta = read_meta(root)
        cfg = _check_resume(cfg, meta, given or set())
        _validate(cfg)
        _recover_shards(root, meta)
    else:
        if resume and root.exists() and any(root.iterdir()):
            raise DatasetError(f"{meta_path(root)}: missing meta.json; {root} is not a dataset to resume")
        _validate(cfg)
        root.mkdir(parents=True, exist_ok=True)
        meta = _new_meta(cfg)
    created = not meta["shards"] and not resume
    # With symmetries S, attempt k is game k // S under symmetry k % S, so ids stay stable across resumes.
    n_attempts = count_sgf_games(cfg.from_sgf) * cfg.symmetries if cfg.from_sgf else cfg.episodes
    meta["attempts"] = n_attempts
    meta["config"]["episodes"] = n_attempts
    write_meta(root, meta)

    # Pending attempts are cut into shards of E in order; shard ids continue after the existing ones, so
    # a resumed run writes the same shards as an uninterrupted one, and a raised --episodes extends.
    e = cfg.shard_episodes
    done = {k for sh in meta["shards"] for k in sh["attempts"]}
    seen: dict[str, int] = {}
    for sh in meta["shards"]:
        for ep_id, _n, _split, h in sh["index"]:
            seen.setdefault(h, ep_id)
    pending = [k for k in range(n_attempts) if k not in done]
    next_shard = max((sh["shard"] for sh in meta["shards"]), default=-1) + 1
    chunk_of = {k: (next_shard + i // e, pending[i - i % e: i - i % e + e]) for i, k in enumerate(pending)}

    held_out, images = held_out_games(cfg) if cfg.symmetries > 1 else (set(), {})

    def tasks() -> Iterator[tuple[RecordConfig, int, tuple]]:
        if cfg.from_sgf:
            wanted = set(pending)
            for i, (name, text) in enumerate(iter_sgf_games(cfg.from_sgf)):
                for sym in range(cfg.symmetries):
                    k = i * cfg.symmetries + sym
                    if k in wanted:
                        yield cfg, k, (name, text, sym, i in held_out)
        else:
            for k in pending:
                yield cfg, k, ()

    stats = {"recorded": 0, "frames": 0, "skipped": 0, "dropped": 0, "held_out_copies": 0}
    skipped_examples: list[str] = []
    writer: ShardWriter | None = None
    header = {"format_version": FORMAT_VERSION, "env_id": cfg.env_id, "frame_size": cfg.frame_size}
    t0 = time.perf_counter()
    # In attempt order, so shards do not depend on --workers; at most 2 attempts per worker are in flight, so
    # finished episodes never pile up in memory while this process compresses and writes.
    results = imap_jobs(_run_attempt, tasks(), workers=cfg.workers, ordered=True)
    bar = tqdm(total=len(pending), unit="ep", disable=not progress, dynamic_ncols=True, file=sys.stderr,
               desc=f"record {root.name}")
    try:
        for k, result in results:
            s, attempts = chunk_of[k]
            if writer is None or writer.info.shard != s:
                writer = ShardWriter(root, s, attempts, header)
            if isinstance(result, str):
                writer.skip(k, result)
                stats["skipped"] += 1
                if len(skipped_examples) < 5:
                    skipped_examples.append(result)
            elif isinstance(result, HeldOutCopy):
                writer.drop(k, result.of)  # it repeats that game, up to symmetry
                stats["held_out_copies"] += 1
            else:
                h = _episode_hash(result.actions, result.attrs.get("setup", {}))
                # A symmetric copy takes the split of its game as played: no game in two splits.
                split = assign_split(result.attrs.get("source_action_hash", h), cfg.split_seed,
                                     cfg.split_fractions)
                if split == "train" and h in images:  # a held-out game, rotated or mirrored
                    writer.drop(k, images[h])
                    stats["held_out_copies"] += 1
                elif cfg.dedup and h in seen:
                    writer.drop(k, seen[h])
                    stats["dropped"] += 1
                else:
                    seen.setdefault(h, k)
                    result.attrs.update(action_hash=h, content_hash=content_hash(result), split=split)
                    writer.add(k, result)
                    stats["recorded"] += 1
                    stats["frames"] += len(result.frames)
            bar.update(1)
            bar.set_postfix(frames_s=f"{stats['frames'] / max(time.perf_counter() - t0, 1e-9):.0f}",
                            skipped=stats["skipped"], refresh=False)
            if k == writer.info.attempts[-1]:
                info: ShardInfo = writer.close()
                writer = None
                meta["shards"].append(info.to_json())
                write_meta(root, meta)
        meta["complete"] = True
        write_meta(root, meta)
    except BaseException as exc:
        if writer is not None:
            writer.abort()
        if created and not meta["shards"] and not isinstance(exc, KeyboardInterrupt):
            # Failed before anything was recorded (a crashed engine, a bad spec): leave no half dataset
            # behind that would demand --resume with the failing config.
            meta_path(root).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                root.rmdir()
        raise
    finally:
        bar.close()
        results.close()
        _close_worker()
    seconds = time.perf_counter() - t0
    return RecordSummary(out=str(root), attempted=len(pending), recorded=stats["recorded"], frames=stats["frames"],
                         skipped=stats["skipped"], dropped=stats["dropped"],
                         held_out_copies=stats["held_out_copies"], seconds=seconds,
                         total_episodes=meta["episodes"], total_frames=meta["frames"],
                         skipped_examples=skipped_examples)
