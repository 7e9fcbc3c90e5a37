"""The teacher corpus's speed: KataGo self-play games an hour with many games in flight, against one at a time.

Run: ``.venv/bin/python benchmarks/bench_katago_games.py [--games 16] [--in-flight 16]`` with nothing else using
the CPU. The anchor is one game at a time through one KataGo process (``--in-flight 1``); the two settings run
in one process, one after the other, on different game numbers (so KataGo's NN cache cannot answer for the
second), and the printed ratio is what ``vw-agent data katago-games --in-flight N`` gains.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vw_agent.data.katago_games import KataGoGamesConfig, play_katago_games


def games_per_hour(out: Path, seed: int, games: int, in_flight: int) -> tuple[float, float]:
    """(games an hour, mean moves a game) for ``games`` games with ``in_flight`` at once (start-up included)."""
    t = time.perf_counter()
    play_katago_games(KataGoGamesConfig(out=str(out), games=games, seed=seed, in_flight=in_flight))
    seconds = time.perf_counter() - t
    lines = out.read_text().splitlines()
    moves = sum(line.count(";B[") + line.count(";W[") for line in lines) / max(1, len(lines))
    return games / seconds * 3600, moves


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=16, help="games per setting")
    ap.add_argument("--in-flight", type=int, default=16, help="games sharing the KataGo process")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one, m1 = games_per_hour(Path(tmp) / "one.sgfs", 1, args.games, 1)
        many, mn = games_per_hour(Path(tmp) / "many.sgfs", 2, args.games, args.in_flight)
    print(f"one game at a time:        {one:7.0f} games/h  ({m1:.0f} moves a game)")
    print(f"{args.in_flight:3d} games in flight:      {many:7.0f} games/h  ({mn:.0f} moves a game)")
    print(f"ratio in flight / one at a time: {many / one:.2f}")


if __name__ == "__main__":
    main()
