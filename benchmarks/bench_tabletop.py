"""Tabletop env speed: steps/s with one frame per step, our low-poly Panda vs the stock meshes.

    python benchmarks/bench_tabletop.py [--steps 60] [--repeats 5] [--sizes 64 128 200]

Random actions, one static-camera frame per step, one process (pin it with ``taskset -c 0`` for the one-core
figure). The "stock" scene is the same env with ``robot_visuals="stock"``: pybullet_data's Panda visual
meshes (about 101,700 triangles); ours draws simplified copies of its collision meshes (about 1,200).
Each figure is the best of ``--repeats`` timed blocks, like ``timeit``: on a shared machine the best block
is the one least disturbed by other processes. Both wall-clock steps/s and steps per CPU-second of this
process are printed; they agree on an idle core, and the CPU figure stays honest on a busy one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vw_envs.tabletop.env import VideoTabletopEnv


def steps_per_second(visuals: str, size: int, steps: int, repeats: int, seed: int = 0) -> tuple[float, float]:
    """Best-of-``repeats`` (wall-clock, CPU-time) env steps/s over blocks of ``steps`` random actions."""
    env = VideoTabletopEnv(task="push_red_block_left", frame_size=size, robot_visuals=visuals,
                           terminate_on_success=False)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(5):  # warm-up
        env.step(rng.uniform(-1, 1, 7))
    best_wall = best_cpu = 0.0
    for _ in range(repeats):
        env.reset(seed=seed)  # random actions drift to the workspace's edge; start each block afresh
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            env.step(rng.uniform(-1, 1, 7))
        best_wall = max(best_wall, steps / (time.perf_counter() - t0))
        best_cpu = max(best_cpu, steps / (time.process_time() - c0))
    env.close()
    return best_wall, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60, help="steps per timed block (the stock scene runs a third)")
    ap.add_argument("--repeats", type=int, default=5, help="timed blocks per figure; the best one counts")
    ap.add_argument("--sizes", type=int, nargs="*", default=[64, 128, 200])
    args = ap.parse_args()
    print("| frame | ours (steps/s) | stock meshes (steps/s) | ratio | ours (steps/CPU-s) | stock (steps/CPU-s) "
          "| ratio (CPU) |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        ours = steps_per_second("lowpoly", size, args.steps, args.repeats)
        stock = steps_per_second("stock", size, max(args.steps // 3, 10), args.repeats)
        print(f"| {size}x{size} | {ours[0]:.0f} | {stock[0]:.0f} | {ours[0] / stock[0]:.1f}x "
              f"| {ours[1]:.0f} | {stock[1]:.0f} | {ours[1] / stock[1]:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
