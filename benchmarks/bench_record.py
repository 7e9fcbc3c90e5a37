"""Recording and loading throughput: what a dataset costs to make here, and whether the loader keeps up.

Prints, from one run:

* frames/s and games/hour recorded for 9x9 GNU Go self-play at levels 1 and 10 (the real recorder,
  ``--workers`` processes), and the time a 10,000-game dataset would take at that rate;
* frames/s recorded by the tabletop experts;
* SGF import (KataGo games rendered, no engine in the loop);
* bytes per stored frame against raw H*W*3 (the compression ratio);
* the loader's frames/s against what a training step consumes.

The agent does not exist yet, so the training need is an assumption, set by flags: by default a step
takes a batch of 32 windows of 6 frames (1 context + H=5, the paper's Go setting) at 2 steps/s, i.e.
384 frames/s. Change ``--train-batch/--train-window/--train-steps-per-s`` when the real figure is known.

    python benchmarks/bench_record.py                 # about 3-4 minutes on 2 cores
    python benchmarks/bench_record.py --games-l10 0   # skip the slow level-10 games
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
warnings.filterwarnings("ignore")

SGF_CORPUS = Path("/work/shared/data/go9-katago-policy.sgfs")
TEST_SGFS = Path(__file__).resolve().parents[1] / "tests" / "data" / "katago9-3games.sgfs"


def record_rate(root: Path, name: str, **cfg) -> dict:
    from vw_agent.data.format import read_meta
    from vw_agent.data.record import RecordConfig, record

    out = root / name
    s = record(RecordConfig(out=str(out), **cfg), progress=False)
    meta = read_meta(out)
    fs = meta["frame_size"]
    return {"name": name, "episodes": s.recorded, "frames": s.frames, "seconds": s.seconds,
            "fps": s.frames_per_second, "eps_per_hour": s.recorded / s.seconds * 3600,
            "bytes_per_frame": meta["bytes"] / max(meta["frames"], 1), "raw": fs * fs * 3, "out": out}


def loader_rate(root: Path, window: int, batch: int, num_workers: int, stream: bool, seconds: float) -> float:
    import torch
    from torch.utils.data import DataLoader

    from vw_agent.data.loader import WindowConfig, WindowDataset, WindowStream

    # The loader alone, on one thread: DataLoader workers run torch single-threaded anyway, and on a busy
    # 2-core machine a multi-threaded torch.stack in collate was measured 30x slower (spin-waiting threads).
    torch.set_num_threads(1)
    cfg = WindowConfig(window=window, split=None)
    if stream:
        dl = DataLoader(WindowStream(root, cfg), batch_size=batch, num_workers=num_workers)
    else:
        dl = DataLoader(WindowDataset(root, cfg), batch_size=batch, shuffle=True, num_workers=num_workers)
    frames, t0 = 0, None
    while True:
        for b in dl:
            if t0 is None:  # do not count worker start-up
                t0 = time.perf_counter()
                continue
            frames += b["frames"].shape[0] * b["frames"].shape[1]
            if time.perf_counter() - t0 > seconds:
                return frames / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games-l1", type=int, default=8, help="GNU Go level-1 self-play games")
    ap.add_argument("--games-l10", type=int, default=4, help="GNU Go level-10 self-play games")
    ap.add_argument("--tabletop-episodes", type=int, default=10, help="tabletop expert episodes (MultiTask)")
    ap.add_argument("--sgf-games", type=int, default=200, help="KataGo games to import from the shared corpus")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--loader-seconds", type=float, default=5.0)
    ap.add_argument("--train-batch", type=int, default=32)
    ap.add_argument("--train-window", type=int, default=6)
    ap.add_argument("--train-steps-per-s", type=float, default=2.0)
    args = ap.parse_args()

    import vw_envs  # noqa: F401

    tmp = Path(tempfile.mkdtemp(prefix="bench_record_"))
    rows = []
    try:
        go = dict(env_id="VideoGo-9x9-v0", workers=args.workers, opening_moves=4, frame_size=128)
        for level, games in ((1, args.games_l1), (10, args.games_l10)):
            if games:
                rows.append(record_rate(tmp, f"go9 gnugo L{level} self-play", episodes=games,
                                        black=f"gnugo:level={level}", white=f"gnugo:level={level}", **go))
        sgfs = SGF_CORPUS if SGF_CORPUS.exists() else TEST_SGFS
        if args.sgf_games:
            src = tmp / "corpus.sgfs"
            src.write_text("".join(sgfs.read_text().splitlines(keepends=True)[: args.sgf_games]))
            rows.append(record_rate(tmp, "go9 KataGo SGF import", from_sgf=str(src), **go))
        if args.tabletop_episodes:
            rows.append(record_rate(tmp, "tabletop experts (MultiTask, all tasks)", env_id="VideoTabletop-MultiTask-v0",
                                    episodes=args.tabletop_episodes, policy="expert", tasks="all",
                                    workers=args.workers, frame_size=128))

        print(f"\nRecording ({args.workers} workers, 128x128 frames, {os.cpu_count()} cores)")
        print(f"{'source':42s} {'episodes':>8s} {'frames':>7s} {'frames/s':>9s} {'eps/hour':>9s} "
              f"{'B/frame':>8s} {'compress':>8s} {'10k episodes':>12s}")
        for r in rows:
            hours = 10_000 / r["eps_per_hour"]
            print(f"{r['name']:42s} {r['episodes']:8d} {r['frames']:7d} {r['fps']:9.0f} {r['eps_per_hour']:9.0f} "
                  f"{r['bytes_per_frame']:8.0f} {r['raw'] / r['bytes_per_frame']:7.1f}x {hours:11.1f}h")

        need = args.train_batch * args.train_window * args.train_steps_per_s
        go_rows = [r for r in rows if r["name"].startswith("go9")]
        if go_rows:
            biggest = max(go_rows, key=lambda r: r["frames"])["out"]
            print(f"\nLoader on '{biggest.name}' (windows of {args.train_window} frames, batch {args.train_batch}); "
                  f"training needs {need:.0f} frames/s (assumed: {args.train_batch} x {args.train_window} frames "
                  f"x {args.train_steps_per_s:g} steps/s)")
            for stream in (False, True):
                for nw in (0, 2):
                    fps = loader_rate(biggest, args.train_window, args.train_batch, nw, stream, args.loader_seconds)
                    kind = "WindowStream (iterable)" if stream else "WindowDataset (random access, shuffle)"
                    print(f"  {kind:40s} num_workers={nw}: {fps:8.0f} frames/s = {fps / need:5.1f}x the need")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
