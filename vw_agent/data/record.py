"""The recorder: drives sources into dataset shards (the sources, Go self-play, SGF import and tabletop
experts, are :mod:`vw_agent.data.sources`).

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
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import vw_envs  # noqa: F401  (registers the ids)
from vw_agent.data.format import (
    FORMAT_VERSION,
    SHARD_PATTERN,
    ShardInfo,
    ShardWriter,
    assign_split,
    content_hash,
    meta_path,
    read_meta,
    read_shard_info,
    write_meta,
)
from vw_agent.data.sources import (
    HeldOutCopy,
    RecordConfig,
    close_worker,
    count_sgf_games,
    episode_hash,
    go_env,
    held_out_games,
    iter_sgf_games,
    run_attempt,
    sgf_files,
    tabletop_task_list,
)
from vw_agent.parallel import imap_jobs
from vw_envs.errors import DatasetError, EngineNotFoundError, SpecError
from vw_envs.go.coords import SYMMETRIES
from vw_envs.players import PLAYER_KINDS, kind_status, make_player, parse_spec
from vw_envs.tabletop.policies import POLICY_KINDS
from vw_envs.tabletop.tasks import EVAL_SEED_START


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


# ----------------------------------------------------------------------------- the run


def _new_meta(cfg: RecordConfig) -> dict[str, Any]:
    if cfg.kind == "go":
        env = go_env(cfg)
        rc = env.render_config
        render = {"style": "flat (paper)", "frame_size": rc.frame_size, "last_move_marker": rc.last_move_marker,
                  "coordinates": rc.coordinates, "board_size": env.board_size}
        close_worker()
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
    """The stored config, with this run's episode count, workers and backend; explicit conflicts raise."""
    path = meta_path(cfg.out)
    # datasets from before --symmetries have 1, from before --hold-steps 0
    stored = {"symmetries": 1, "hold_steps": 0, **meta.get("config", {})}
    if meta.get("frame_size") != cfg.frame_size and "frame_size" in given:
        raise DatasetError(f"{path}: frame-size mismatch: the dataset is {meta.get('frame_size')}x"
                           f"{meta.get('frame_size')}, --frame-size {cfg.frame_size} was given")
    for key in given & set(RecordConfig.CONTENT_KEYS):
        if key != "frame_size" and key in stored and stored[key] != getattr(cfg, key):
            raise DatasetError(f"{path}: the dataset was recorded with {key}={stored[key]!r}, not "
                               f"{getattr(cfg, key)!r}; --resume continues the same recording")
    merged = {**asdict(cfg), **{k: v for k, v in stored.items() if k in RecordConfig.CONTENT_KEYS}}
    merged["episodes"] = cfg.episodes if "episodes" in given else meta.get("attempts", cfg.episodes)
    merged["workers"], merged["backend"], merged["out"] = cfg.workers, cfg.backend, cfg.out
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
    if cfg.hold_steps < 0 or (cfg.hold_steps and cfg.kind != "tabletop"):
        raise DatasetError(f"hold_steps must be >= 0, and only tabletop episodes hold after success; got "
                           f"{cfg.hold_steps} for {cfg.env_id}")
    if cfg.kind == "tabletop":
        tabletop_task_list(cfg)
        if cfg.seed < 0 or cfg.seed + cfg.episodes > EVAL_SEED_START:
            raise DatasetError(f"tabletop episodes are recorded on seeds {cfg.seed}..{cfg.seed + cfg.episodes - 1}, "
                               f"but training seeds stay in 0..{EVAL_SEED_START - 1}: evaluation starts at "
                               f"{EVAL_SEED_START}; lower --seed or --episodes")
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
    results = imap_jobs(run_attempt, tasks(), workers=cfg.workers, ordered=True, backend=cfg.backend)
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
                h = episode_hash(result.actions, result.attrs.get("setup", {}))
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
        close_worker()
    seconds = time.perf_counter() - t0
    return RecordSummary(out=str(root), attempted=len(pending), recorded=stats["recorded"], frames=stats["frames"],
                         skipped=stats["skipped"], dropped=stats["dropped"],
                         held_out_copies=stats["held_out_copies"], seconds=seconds,
                         total_episodes=meta["episodes"], total_frames=meta["frames"],
                         skipped_examples=skipped_examples)
