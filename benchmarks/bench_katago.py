"""KataGo speeds on this machine: start-up, raw policy (1 visit) and search queries, per board buffer.

Run: ``.venv/bin/python benchmarks/bench_katago.py`` (nothing else should be using the CPU; one KataGo process
already uses every core through POCL). Positions are distinct, so KataGo's NN cache never answers.
"""

from __future__ import annotations

import time

import numpy as np

from vw_envs.go.katago import KataGoEngine


def positions(n: int, count: int, seed: int = 0) -> list[list[tuple[str, int]]]:
    """Distinct random legal move sequences of 6..20 moves."""
    from vw_envs.go.rules import GoGame

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        g = GoGame(n)
        hist = []
        for i in range(int(rng.integers(6, 21))):
            legal = np.flatnonzero(g.legal_mask()[: n * n])
            m = int(rng.choice(legal))
            c = "black" if i % 2 == 0 else "white"
            g.play(m, c)
            hist.append((c, m))
        out.append(hist)
    return out


def main() -> None:
    for n, visits_list in ((9, (1, 8, 32)), (19, (1,))):
        t0 = time.perf_counter()
        eng = KataGoEngine(n)
        start = time.perf_counter() - t0
        print(f"{n}x{n} buffer: start-up {start:.2f} s")
        for visits in visits_list:
            qs = positions(n, 20 if visits <= 8 else 8, seed=visits)
            eng.query(qs[0], komi=7.5, max_visits=visits)  # warm-up
            t0 = time.perf_counter()
            for q in qs[1:]:
                eng.query(q, komi=7.5, max_visits=visits, include_policy=visits == 1)
            dt = (time.perf_counter() - t0) / (len(qs) - 1)
            print(f"  {visits:>3} visits: {dt:.3f} s per query ({len(qs) - 1} queries)")
        eng.close()


if __name__ == "__main__":
    main()
