"""Moves per second: our VideoGo env (a frame every step), our two-player PettingZoo env over the same game,
and PettingZoo's go_v5, side by side.

Random legal games with ``opponent="none"``, so one step is one move. All four are measured in this
run, because this machine is noisy; the ratios are what to compare.

    python benchmarks/bench_go_env.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
warnings.filterwarnings("ignore")


def bench_ours(n: int, seconds: float) -> float:
    import gymnasium as gym

    import vw_envs  # noqa: F401

    env = gym.make(f"VideoGo-{n}x{n}-v0", opponent="none")  # 128x128 frames, the default
    rng = np.random.default_rng(0)
    moves, t0, game = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        _obs, info = env.reset(seed=game)
        game += 1
        done = False
        while not done:
            legal = np.flatnonzero(info["action_mask"])
            _obs, _r, term, trunc, info = env.step(legal[rng.integers(len(legal))])
            moves += 1
            done = term or trunc
    return moves / (time.perf_counter() - t0)


def bench_ours_aec(n: int, seconds: float) -> float:
    from vw_envs.go import pettingzoo_env

    return _bench_aec(pettingzoo_env(board_size=n), seconds, render=False)  # 128x128 frames, the default


def bench_pettingzoo(n: int, seconds: float, render: bool) -> float:
    from pettingzoo.classic import go_v5

    return _bench_aec(go_v5.env(board_size=n, render_mode="rgb_array" if render else None), seconds, render)


def _bench_aec(env, seconds: float, render: bool) -> float:
    """Random legal games through the AEC loop (``agent_iter``, ``last``, ``step``): moves per second."""
    rng = np.random.default_rng(0)
    moves, t0, game = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        env.reset(seed=game)
        game += 1
        for _agent in env.agent_iter():
            obs, _r, term, trunc, _info = env.last()
            if term or trunc:
                break
            legal = np.flatnonzero(obs["action_mask"])
            env.step(int(legal[rng.integers(len(legal))]))
            if render:
                env.render()
            moves += 1
            if moves % 64 == 0 and time.perf_counter() - t0 > seconds:
                break
    env.close()
    return moves / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    args = ap.parse_args()
    print(f"{'board':>6} {'ours+frame':>12} {'ours AEC':>9} {'PZ+render':>10} {'PZ no render':>13} "
          f"{'ours/AEC':>9} {'AEC/PZ':>7} {'ours/PZ+render':>15} {'ours/PZ':>8}")
    for n in (9, 19):
        ours = bench_ours(n, args.seconds)
        aec = bench_ours_aec(n, args.seconds)
        pz_r = bench_pettingzoo(n, args.seconds, render=True)
        pz = bench_pettingzoo(n, args.seconds, render=False)
        print(f"{n:>4}x{n:<1} {ours:>12,.0f} {aec:>9,.0f} {pz_r:>10,.0f} {pz:>13,.0f} {ours / aec:>8.2f}x "
              f"{aec / pz:>6.1f}x {ours / pz_r:>14.1f}x {ours / pz:>7.1f}x", flush=True)
    print("moves/s; ours and ours AEC render a 128x128 frame every move; targets: ours/AEC <= 2x; at 19x19 "
          ">=20x PZ+render, >1x PZ")


if __name__ == "__main__":
    main()
