"""``vw-agent data``: inspect (``info``), export (``export``) and import (``import``) recorded datasets, and play
the KataGo teacher corpus (``katago-games``)."""

from __future__ import annotations

import click

from vw_cli.types import KOMI, SEED, FiniteFloat


@click.group()
def data() -> None:
    """Inspect, export and import recorded datasets."""


@data.command()
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--check", is_flag=True, help="Also read every episode of every shard and check its content hash "
              "(finds corrupt or truncated files).")
def info(root: str, check: bool) -> None:
    """Episodes, frames, bytes, splits, duplicates and sources of a dataset."""
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.data.format import read_meta
    from vw_agent.data.reader import check_dataset

    meta = read_meta(root)
    checked = check_dataset(root) if check else None
    fs = meta["frame_size"]
    frames, size = meta.get("frames", 0), meta.get("bytes", 0)
    raw = frames * fs * fs * 3
    lengths = [n for sh in meta.get("shards", []) for _i, n, _s, _h in sh["index"]]
    click.echo(f"dataset      {root}  (format v{meta.get('format_version')}, "
               f"{'complete' if meta.get('complete') else 'incomplete: vw-agent record --resume'})")
    click.echo(f"env          {meta['env_id']}  frames {fs}x{fs}  render {meta.get('render')}")
    click.echo(f"episodes     {meta.get('episodes', 0)} in {len(meta.get('shards', []))} shards "
               f"(of {meta.get('attempts', '?')} attempts)")
    if lengths:
        click.echo(f"frames       {frames}  (per episode: mean {sum(lengths) / len(lengths):.1f}, "
                   f"min {min(lengths)}, max {max(lengths)})")
    else:
        click.echo("frames       0")
    if frames:
        click.echo(f"bytes        {size:,}  ({size / frames:,.0f} per frame vs raw {fs * fs * 3:,}: "
                   f"{raw / max(size, 1):.1f}x compression)")
    counts = meta.get("splits", {}).get("counts", {})
    click.echo("splits       " + "  ".join(f"{k} {v}" for k, v in counts.items())
               + f"  (seed {meta.get('splits', {}).get('seed')}, fractions {meta.get('splits', {}).get('fractions')})")
    click.echo(f"duplicates   {meta.get('duplicates', 0)} kept (same move sequence as an earlier episode), "
               f"{meta.get('dropped_duplicates', 0)} dropped (--dedup; with --symmetries also the copies of "
               "held-out games)")
    click.echo(f"skipped      {meta.get('skipped', 0)} unreadable sources")
    for sh in meta.get("shards", []):
        for ep_id, message in sh.get("skipped", [])[:3]:
            click.echo(f"             attempt {ep_id}: {message}")
    click.echo("sources      " + "\n             ".join(meta.get("sources", [])))
    if checked is not None:
        click.echo(f"check        every episode read: {checked['episodes'] - checked['unhashed']} match their content "
                   f"hash, {checked['unhashed']} recorded without one, in {checked['shards']} shards")


@data.command()
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--episode", "ep_id", type=int, help="Episode id (as in the shards: ep_<id>) for --gif/--mp4/--sgf.")
@click.option("--gif", "gif_path", type=click.Path(dir_okay=False), help="Write the frames as an animated GIF.")
@click.option("--mp4", "mp4_path", type=click.Path(dir_okay=False), help="Write the frames as an MP4 video.")
@click.option("--sgf", "sgf_path", type=click.Path(dir_okay=False), help="Go: write the game's SGF.")
@click.option("--fps", type=FiniteFloat(0.0, lo_open=True), default=4.0, show_default=True,
              help="Frames per second of GIF/MP4.")
@click.option("--minari", "minari_id", metavar="[NAMESPACE/]NAME-vN",
              help="Write every episode as this Minari dataset, under $MINARI_DATASETS_PATH "
              "(default ~/.minari/datasets). Needs the [minari] extra.")
@click.option("--jpeg", is_flag=True, help="With --minari: JPEG-encode the frames (Minari's lossy encoding: "
              "smaller, but the frames no longer round-trip exactly).")
def export(root: str, ep_id: int | None, gif_path: str | None, mp4_path: str | None, sgf_path: str | None,
           fps: float, minari_id: str | None, jpeg: bool) -> None:
    """Export one episode as GIF, MP4 and/or SGF, or the whole dataset as a Minari dataset."""
    if minari_id:
        if ep_id is not None or gif_path or mp4_path or sgf_path:
            raise click.UsageError("--minari exports every episode; give --episode/--gif/--mp4/--sgf in another run")
        # lazy: command modules import only click, so vw-agent --help stays fast
        from vw_agent.data.minari_io import export_minari

        done = export_minari(root, minari_id, jpeg=jpeg)
        click.echo(f"Minari: {done.dataset_id} at {done.path}: {done.episodes} episodes, {done.steps} steps, "
                   f"{done.bytes:,} bytes ({done.bytes / max(done.shard_bytes, 1):.1f}x our shards' "
                   f"{done.shard_bytes:,})")
        return
    if jpeg:
        raise click.UsageError("--jpeg applies to --minari")
    if ep_id is None:
        raise click.UsageError("give --episode (with --gif, --mp4 and/or --sgf), or --minari")
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.data.export import export_episode

    if not (gif_path or mp4_path or sgf_path):
        raise click.UsageError("give at least one of --gif, --mp4, --sgf")
    done = export_episode(root, ep_id, gif=gif_path, mp4=mp4_path, sgf=sgf_path, fps=fps)
    if done.sgf:
        click.echo(f"SGF: {done.sgf}")
    if done.gif:
        click.echo(f"GIF: {done.gif} ({done.frames} frames)")
    if done.mp4:
        click.echo(f"MP4: {done.mp4} ({done.frames} frames)")


@data.command(name="import")
@click.option("--minari", "minari_id", required=True, metavar="[NAMESPACE/]NAME-vN",
              help="The Minari dataset to read, from $MINARI_DATASETS_PATH (default ~/.minari/datasets).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="A new dataset directory to write.")
def import_(minari_id: str, out: str) -> None:
    """Read a Minari dataset (frames as observations) into a dataset of ours: shards and meta.json."""
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.data.minari_io import import_minari

    done = import_minari(minari_id, out)
    click.echo(f"imported {minari_id} into {done.out}: {done.episodes} episodes, {done.frames} frames, "
               f"{done.bytes:,} bytes")


@data.command(name="katago-games")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The .sgfs collection to write (one game per line); an existing one is resumed.")
@click.option("--games", type=click.IntRange(min=0), default=500, show_default=True,
              help="Game numbers 0..N-1 to play; those already played (recorded or dropped) are skipped.")
@click.option("--seed", type=SEED, default=2026, show_default=True, help="Base seed of the opening samples.")
@click.option("--board-size", type=click.IntRange(2, 25), default=9, show_default=True)
@click.option("--komi", type=KOMI, default=7.5, show_default=True)
@click.option("--in-flight", type=click.IntRange(min=1), default=16, show_default=True,
              help="Games sharing one KataGo process (its analysis threads and network batch).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="KataGo processes; one already fills a 2-core CPU.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--exclude", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="SGF files whose games (under all 8 symmetries) are not recorded again; repeatable.")
def katago_games(out: str, games: int, seed: int, board_size: int, komi: float, in_flight: int, workers: int,
                 backend: str, exclude: tuple[str, ...]) -> None:
    """Play games of KataGo's raw policy against itself (the shipped corpus's recipe) into an SGF collection."""
    from tqdm import tqdm

    from vw_agent.data.katago_games import KataGoGamesConfig, play_katago_games  # lazy: the CLI imports only click

    cfg = KataGoGamesConfig(out=out, games=games, seed=seed, board_size=board_size, komi=komi,
                            in_flight=in_flight, workers=workers, backend=backend, exclude=exclude)
    bars: list[tqdm] = []  # made at the first finished job, so a refused run prints its one error line only

    def tick(n: int) -> None:
        if not bars:
            bars.append(tqdm(desc="games", unit="game", dynamic_ncols=True))
        bars[0].update(n)

    try:
        done = play_katago_games(cfg, progress=tick)
    finally:
        for bar in bars:
            bar.close()
    click.echo(f"{done.out}: {done.recorded} games; played {done.played} now, {done.dropped} of them dropped "
               f"as duplicates")
