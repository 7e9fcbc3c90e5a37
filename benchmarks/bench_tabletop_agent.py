"""The VideoWorld tabletop agent's action latency on one core, against the env's own step in the same run.

    .venv/bin/python benchmarks/bench_tabletop_agent.py [--run assets/checkpoints/tabletop] [--steps 300]

Nothing else should be using the CPU. The agent (torch on 1 thread) acts on the six tasks of issue 17 in turn,
episodes of seeds 30,000 and up (above the training scenes and the reported evaluation's), until ``--steps``
actions are timed, twice: executing its whole imagined chunk before imagining again (the default), and
imagining before every action (``execute=1``). Printed: the median and mean time per action, the median time of
an imagination, and the env's median step time (physics and the camera frame) measured in the same episodes,
with each ratio. Target (issue 17): an action in at most 50 ms on one core, or chunking spreads its cost.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import torch

import vw_envs  # noqa: F401  (registers the ids)
from vw_agent.agent import SHIPPED_TABLETOP, shipped_run
from vw_envs.tabletop.policies import make_policy

TASKS = ("open_drawer", "close_drawer", "move_slider_left", "move_slider_right", "turn_on_led", "turn_on_lightbulb")


def time_actions(run: str, steps: int, execute: int | None) -> dict[str, list[float]]:
    """Seconds per action, per imagination (the actions that drew one) and per env step."""
    env = gym.make("VideoTabletop-MultiTask-v0", frame_size=64)
    spec = f"videoworld:run={run},threads=1" + (f",execute={execute}" if execute else "")
    policy = make_policy(spec, env)
    acts: list[float] = []
    imagined: list[float] = []
    env_steps: list[float] = []
    episode = 0
    while len(acts) < steps:
        obs, info = env.reset(seed=30_000 + episode, options={"task": TASKS[episode % len(TASKS)]})
        policy.reset(seed=episode)
        done = False
        while not done and len(acts) < steps:
            before = policy.imaginations
            t0 = time.perf_counter()
            action = policy.act(obs, info)
            t1 = time.perf_counter()
            obs, _r, terminated, truncated, info = env.step(action)
            env_steps.append(time.perf_counter() - t1)
            acts.append(t1 - t0)
            if policy.imaginations > before:
                imagined.append(t1 - t0)
            done = terminated or truncated
        episode += 1
    env.close()
    return {"act": acts, "imagine": imagined, "env": env_steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(shipped_run(SHIPPED_TABLETOP)))
    ap.add_argument("--steps", type=int, default=300, help="timed actions per setting")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"run {args.run}, {args.steps} actions per setting, torch on 1 thread")
    print("| setting | median ms / action | mean ms / action | median ms / imagination | median ms / env step "
          "| action / env step (medians) | mean action / 50 ms target |")
    print("|---|---|---|---|---|---|---|")
    for name, execute in (("whole chunk (default)", None), ("execute=1", 1)):
        t = time_actions(args.run, args.steps, execute)
        med, mean = statistics.median(t["act"]) * 1e3, statistics.fmean(t["act"]) * 1e3
        env_ms = statistics.median(t["env"]) * 1e3
        print(f"| {name} | {med:.1f} | {mean:.1f} | {statistics.median(t['imagine']) * 1e3:.1f} | {env_ms:.1f} "
              f"| {med / env_ms:.2f} | {mean / 50:.2f} |", flush=True)


if __name__ == "__main__":
    main()
