"""``vw-agent record``: make a video dataset from engine games, SGF collections or tabletop experts.

Only click is imported at module level, so ``vw-agent --help`` stays fast.
"""

from __future__ import annotations

import click

from vw_cli.types import FRAME_SIZE, KOMI, SEED, check_env_id


@click.command()
@click.option("--env", "env_id", default="VideoGo-9x9-v0", show_default=True, callback=check_env_id,
              help="Environment id.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Dataset directory.")
@click.option("--episodes", type=int, default=None, help="Games / episodes to record [default: 10].")
@click.option("--black", default=None, help="Go: player spec for Black [default: random].")
@click.option("--white", default=None, help="Go: player spec for White [default: random].")
@click.option("--opening-moves", type=int, default=None,
              help="Go: the first K moves are seeded random moves near the centre / star points [default: 0].")
@click.option("--from-sgf", type=click.Path(exists=True), default=None,
              help="Go: render games from an .sgf file, an .sgfs collection or a directory of them.")
@click.option("--symmetries", type=click.Choice(["1", "8"]), default=None,
              help="Go --from-sgf: 8 also records each training game rotated and mirrored (7 more copies; val "
                   "and test games are not copied) [default: 1].")
@click.option("--policy", default=None, help="Tabletop: policy spec [default: expert].")
@click.option("--tasks", default=None, help="Tabletop MultiTask: 'all' or a comma list of task names.")
@click.option("--hold-steps", type=int, default=None,
              help="Tabletop: after success the robot holds still this many more steps, so a task's last steps "
                   "start training windows too (use the LDM's horizon) [default: 0].")
@click.option("--seed", type=SEED, default=None, help="Base seed; episode k's seed derives from it [default: 0].")
@click.option("--frame-size", type=FRAME_SIZE, default=None, help="Frame width and height in pixels [default: 128].")
@click.option("--komi", type=KOMI, default=None, help="Go self-play komi [default: 7.5].")
@click.option("--workers", type=int, default=1, show_default=True, help="Processes recording in parallel.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where the workers run: local processes, or Ray actors (RAY_ADDRESS joins a cluster; "
                   "docs/cluster.md). The dataset is the same.")
@click.option("--shard-episodes", type=int, default=None,
              help="Episodes per shard; a kill loses at most one shard's work [default: 32].")
@click.option("--dedup", is_flag=True, default=None, help="Drop games whose move sequence is already recorded.")
@click.option("--split-seed", type=int, default=None, help="Seed of the train/val/test split [default: 0].")
@click.option("--resume", is_flag=True, help="Continue the dataset in --out where it stopped.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def record(env_id, out, episodes, black, white, opening_moves, from_sgf, symmetries, policy, tasks, hold_steps,
           seed, frame_size, komi, workers, backend, shard_episodes, dedup, split_seed, resume, quiet) -> None:
    """Record a dataset of whole-episode videos (HDF5 shards + meta.json).

    \b
    vw-agent record --black gnugo:level=10 --white gnugo:level=10 --episodes 2000 --workers 2 --out data/go9
    vw-agent record --env VideoGo-9x9-v0 --from-sgf games.sgfs --out data/go9-sgf
    vw-agent record --env VideoGo-9x9-v0 --from-sgf games.sgfs --symmetries 8 --out data/go9-sym8
    vw-agent record --env VideoTabletop-MultiTask-v0 --policy expert --tasks all --episodes 200 --out data/tabletop
    """
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.data.record import RecordConfig
    from vw_agent.data.record import record as run_record

    options = {"episodes": episodes, "black": black, "white": white, "opening_moves": opening_moves,
               "from_sgf": from_sgf, "policy": policy, "tasks": tasks, "hold_steps": hold_steps, "seed": seed,
               "frame_size": frame_size, "komi": komi, "shard_episodes": shard_episodes, "dedup": dedup,
               "split_seed": split_seed, "symmetries": int(symmetries) if symmetries is not None else None}
    given = {k for k, v in options.items() if v is not None}
    if click.get_current_context().get_parameter_source("env_id") != click.core.ParameterSource.DEFAULT:
        given.add("env_id")
    if workers < 1:
        raise click.BadParameter("must be >= 1", param_hint="--workers")
    if env_id.startswith("VideoTabletop") and {"black", "white", "from_sgf", "opening_moves", "komi",
                                               "symmetries"} & given:
        raise click.BadParameter("--black/--white/--from-sgf/--symmetries/--opening-moves/--komi are Go options; "
                                 "tabletop takes --policy and --tasks")
    cfg = RecordConfig(env_id=env_id, out=out, workers=workers, backend=backend,
                       **{k: options[k] for k in given if k in options})
    summary = run_record(cfg, resume=resume, given=given, progress=not quiet)
    rate = summary.frames_per_second
    per_hour = summary.recorded / summary.seconds * 3600 if summary.seconds > 0 else 0.0
    click.echo(f"recorded {summary.recorded} episodes, {summary.frames} frames in {summary.seconds:.1f}s "
               f"({rate:.0f} frames/s, {per_hour:.0f} episodes/hour); dataset: {summary.total_episodes} episodes, "
               f"{summary.total_frames} frames in {summary.out}")
    if summary.held_out_copies:
        click.echo(f"left out {summary.held_out_copies} rotated or mirrored copies of val / test games (only "
                   "training games are copied)")
    if summary.dropped:
        click.echo(f"dropped {summary.dropped} duplicate games (--dedup)")
    if summary.skipped:
        click.echo(f"skipped {summary.skipped} unreadable games, e.g.:")
        for line in summary.skipped_examples:
            click.echo(f"  {line}")
