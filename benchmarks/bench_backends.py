"""The pool's two backends side by side: local processes against Ray actors (``--backend ray``).

Prints, from one run on this machine (the anchor is the local pool of the same run):

* the overhead per job: trivial jobs through each backend, in ms per job;
* a ladder's games per hour: ``random`` against ``gnugo:level=1``, the same seeded games on each backend;
* recording: 9x9 random self-play episodes per hour through the real recorder.

Each measurement alternates the backends ``--rounds`` times and reports the median, because this machine's
speed drifts within a session. Ray's start-up (a local cluster: ~10 s) is paid once per process and timed
apart.

    python benchmarks/bench_backends.py            # about 4 minutes on 2 cores
    python benchmarks/bench_backends.py --games 4 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def _nothing(job: int) -> int:
    return job


def per_job_ms(backend: str, jobs: int, workers: int) -> float:
    from vw_agent.parallel import imap_jobs

    t0 = time.perf_counter()
    for _ in imap_jobs(_nothing, range(jobs), workers=workers, backend=backend):
        pass
    return (time.perf_counter() - t0) / jobs * 1000


def ladder_games_per_hour(backend: str, games: int, workers: int, root: Path) -> float:
    from vw_agent.eval.ladder import LadderConfig, run_ladder

    cfg = LadderConfig(players=["random", "gnugo:level=1"], games_per_pair=games, workers=workers, backend=backend,
                       out=tempfile.mkdtemp(dir=root))
    t0 = time.perf_counter()
    run_ladder(cfg, progress=False)
    return games / (time.perf_counter() - t0) * 3600


def record_episodes_per_hour(backend: str, episodes: int, workers: int, root: Path) -> float:
    from vw_agent.data.record import RecordConfig, record

    cfg = RecordConfig(env_id="VideoGo-9x9-v0", black="random", white="random", episodes=episodes, frame_size=64,
                       workers=workers, backend=backend, out=tempfile.mkdtemp(dir=root))
    t0 = time.perf_counter()
    record(cfg, progress=False)
    return episodes / (time.perf_counter() - t0) * 3600


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=200, help="trivial jobs for the per-job overhead")
    ap.add_argument("--games", type=int, default=8, help="ladder games per round and backend")
    ap.add_argument("--episodes", type=int, default=16, help="recorded episodes per round and backend")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import ray

    os.environ.pop("RAY_ADDRESS", None)
    t0 = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="WARNING")
    print(f"Ray local cluster start: {time.perf_counter() - t0:.1f} s (once per process)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = [("overhead per job (ms)", lambda b: per_job_ms(b, args.jobs, args.workers), "lower"),
                ("ladder games/hour, random vs gnugo:level=1", lambda b: ladder_games_per_hour(
                    b, args.games, args.workers, root), "higher"),
                ("recording episodes/hour, 9x9 random self-play", lambda b: record_episodes_per_hour(
                    b, args.episodes, args.workers, root), "higher")]
        print(f"{'measure':48s} {'local':>10s} {'ray':>10s} {'ray/local':>10s}   ({args.workers} workers, "
              f"median of {args.rounds} alternating rounds)")
        for name, fn, _better in rows:
            got = {"local": [], "ray": []}
            for _ in range(args.rounds):
                for backend in ("local", "ray"):
                    got[backend].append(fn(backend))
            local, on_ray = statistics.median(got["local"]), statistics.median(got["ray"])
            print(f"{name:48s} {local:10.1f} {on_ray:10.1f} {on_ray / local:10.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
