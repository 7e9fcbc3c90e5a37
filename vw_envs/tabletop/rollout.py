"""Run one tabletop episode with a policy spec: what ``vw-agent play --env VideoTabletop-...`` calls."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from vw_envs.fileio import write_gif
from vw_envs.tabletop.policies import make_policy, static_frame
from vw_envs.tabletop.registration import MULTITASK_ID, TABLETOP_ENV_IDS


def play_episode(
    env_id: str,
    policy: str = "expert",
    *,
    seed: int = 0,
    render: str | None = None,
    gif: str | None = None,
    frame_size: int = 128,
    task: str | None = None,
) -> dict:
    """Play one episode of ``env_id`` with ``policy`` and return a summary.

    Args:
        env_id: a tabletop id, e.g. ``VideoTabletop-PushRedBlockLeft-v0``.
        policy: a policy spec (``expert``, ``random``, ``noop``, ...; see ``vw_envs.tabletop.policies``).
        seed: the reset seed (the scene's randomisation).
        render: ``"human"`` shows the frames in a pygame window (works headless under Xvfb), or ``None``.
        gif: write the episode's static-camera frames to this animated GIF (beside the frame the policy imagined
            for each step, if it imagines: see :func:`seen_frame`).
        frame_size: side of the rendered frames (and of the GIF).
        task: the task for ``VideoTabletop-MultiTask-v0`` (a random task per seed if omitted).

    Returns:
        ``{"env_id", "task", "instruction", "policy", "seed", "success", "steps", "return", "gif"}``.

    Example:
        >>> play_episode("VideoTabletop-OpenDrawer-v0", "expert", seed=0)["success"]
        True
    """
    if env_id not in TABLETOP_ENV_IDS:
        raise ValueError(f"unknown tabletop env {env_id!r}; valid ids: {', '.join(TABLETOP_ENV_IDS)}")
    if task is not None and env_id != MULTITASK_ID:
        raise ValueError(f"task= only applies to {MULTITASK_ID}; {env_id} has its task built in")
    if render not in (None, "human"):
        raise ValueError(f"render must be 'human' or None, got {render!r}")
    env = gym.make(env_id, frame_size=frame_size, render_mode=render)
    agent = make_policy(policy, env)
    try:
        obs, info = env.reset(seed=seed, options={"task": task} if task else None)
        agent.reset(seed)
        frames = []
        steps, total, done = 0, 0.0, False
        while not done:
            action = agent.act(obs, info)
            if gif:
                frames.append(seen_frame(obs, agent))
            obs, reward, terminated, truncated, info = env.step(action)
            steps, total = steps + 1, total + float(reward)
            done = terminated or truncated
        if gif:
            frames.append(seen_frame(obs, agent, imagined=False))
        if gif:
            _write_gif(gif, frames, fps=env.metadata["render_fps"])
        return {
            "env_id": env_id, "task": info["task"], "instruction": info["instruction"], "policy": policy,
            "seed": seed, "success": bool(info["is_success"]), "steps": steps, "return": total, "gif": gif,
        }
    finally:
        agent.close()
        env.close()


def play_chain(
    tasks: list[str],
    policy: str = "expert",
    *,
    seed: int = 0,
    gif: str | None = None,
    frame_size: int = 128,
    steps_per_task: int = 360,
) -> list[dict]:
    """Chain ``tasks`` in one ``VideoTabletop-MultiTask-v0`` episode (CALVIN's long-horizon protocol).

    The first task is the reset option; each next one starts with ``env.unwrapped.set_task`` as soon as the
    previous one succeeds, without a reset. The chain stops at the first failure.

    Args:
        tasks: task names, e.g. ``["open_drawer", "push_red_block_left", "turn_on_led"]``.
        policy: a policy spec.
        seed: the reset seed.
        gif: write the whole chain's static-camera frames to this GIF (with the policy's imagination beside
            them, as :func:`play_episode`).
        frame_size: side of the frames.
        steps_per_task: the budget of each subtask (CALVIN: 360).

    Returns:
        One ``{"task", "success", "steps"}`` per attempted task.

    Raises:
        ValueError: a later task is not feasible in the scene the earlier ones left.
    """
    if not tasks:
        raise ValueError("play_chain needs at least one task")
    env = gym.make(MULTITASK_ID, frame_size=frame_size, max_episode_steps=steps_per_task * len(tasks))
    agent = make_policy(policy, env)
    results: list[dict] = []
    try:
        obs, info = env.reset(seed=seed, options={"task": tasks[0]})
        agent.reset(seed)
        frames = []
        for i, task in enumerate(tasks):
            if i > 0:
                if task not in env.unwrapped.feasible_tasks():
                    raise ValueError(f"{task!r} is not feasible after {tasks[:i]} (seed {seed})")
                info = env.unwrapped.set_task(task)
            steps = 0
            while steps < steps_per_task and not info["is_success"]:
                action = agent.act(obs, info)
                if gif:
                    frames.append(seen_frame(obs, agent))
                obs, _, _, truncated, info = env.step(action)
                steps += 1
                if truncated:
                    break
            results.append({"task": task, "success": bool(info["is_success"]), "steps": steps})
            if not info["is_success"]:
                break
        if gif:
            frames.append(seen_frame(obs, agent, imagined=False))
            _write_gif(gif, frames, fps=env.metadata["render_fps"])
        return results
    finally:
        agent.close()
        env.close()


def seen_frame(obs, policy, imagined: bool = True) -> np.ndarray:
    """The static frame the policy acted on, and beside it (for a policy that imagines, such as the VideoWorld
    agent's ``last_imagination``) the frame it imagined for this step, resized to the same side; black when
    ``imagined`` is False (the episode's last frame, acted on by no one)."""
    frame = np.asarray(static_frame(obs))
    if not hasattr(policy, "last_imagination"):
        return frame
    dream = policy.last_imagination
    right = np.zeros_like(frame)
    if imagined and dream:
        d = np.asarray(dream[0])
        reps = max(1, frame.shape[0] // d.shape[0])
        d = np.kron(d, np.ones((reps, reps, 1), dtype=d.dtype))[: frame.shape[0], : frame.shape[1]]
        right[: d.shape[0], : d.shape[1]] = d
    return np.concatenate([frame, right], axis=1)


def _write_gif(path: str, frames: list[np.ndarray], fps: int) -> None:
    # Hold the last frame for a second so the result is visible before the loop restarts.
    write_gif(path, frames + [frames[-1]] * fps, fps=fps)
