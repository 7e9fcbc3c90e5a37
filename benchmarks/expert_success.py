"""Measure each scripted expert's success rate over many seeds (the tabletop "oracle" row).

    python benchmarks/expert_success.py --seeds 100            # all 20 tasks, a markdown table
    python benchmarks/expert_success.py --seeds 5 --tasks open_drawer close_fridge

Runs the real env (frames and all, at ``--frame-size``) with ``max_episode_steps`` from the registry.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import vw_envs  # noqa: F401  (registers the ids)
from vw_envs.tabletop.experts import ExpertPolicy
from vw_envs.tabletop.registration import env_id
from vw_envs.tabletop.tasks import TASK_NAMES


def run(task: str, seeds: range, frame_size: int) -> tuple[list[bool], list[int]]:
    env = gym.make(env_id(task), frame_size=frame_size)
    policy = ExpertPolicy()
    wins, lengths = [], []
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        policy.reset(seed)
        steps, done = 0, False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.act(obs, info))
            steps += 1
            done = terminated or truncated
        wins.append(bool(info["is_success"]))
        lengths.append(steps)
    env.close()
    return wins, lengths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--tasks", nargs="*", default=list(TASK_NAMES))
    ap.add_argument("--frame-size", type=int, default=64)
    args = ap.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"| task | success ({args.seeds} seeds) | mean steps | max steps | failed seeds |")
    print("|---|---|---|---|---|")
    t0 = time.time()
    for task in args.tasks:
        wins, lengths = run(task, seeds, args.frame_size)
        failed = [s for s, w in zip(seeds, wins, strict=True) if not w]
        shown = ", ".join(map(str, failed[:8])) + (" ..." if len(failed) > 8 else "")
        print(f"| `{task}` | {100 * np.mean(wins):.0f}% | {np.mean(lengths):.0f} | {max(lengths)} | {shown} |",
              flush=True)
    print(f"\n{len(args.tasks) * args.seeds} episodes in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
