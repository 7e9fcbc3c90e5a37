"""Tabletop evaluation: per-task success rates (Wilson intervals) and CALVIN-style task chains.

Per task: ``episodes`` episodes of ``VideoTabletop-<Task>-v0``, seeds ``seed .. seed+episodes-1``; success
is ``info["is_success"]`` when the episode ends (success terminates it; the time limit truncates it).

Chains (CALVIN's long-horizon protocol): in ``VideoTabletop-MultiTask-v0``, a first task drawn at random
(its reset makes it feasible), then up to ``chain_length - 1`` more, each drawn among
``env.unwrapped.feasible_tasks()`` not yet done in this chain and switched in mid-episode with
``env.unwrapped.set_task``. Each subtask gets 360 steps; the chain stops at the first failure. Reported:
the share of chains that completed at least k subtasks in a row, k = 1..L, and the average length.

Results are appended to ``episodes.jsonl`` / ``chains.jsonl`` as they finish (resume skips done keys), a GIF
of the first episode of each task goes to ``gifs/``, and ``report.md`` holds the tables.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

import vw_envs  # noqa: F401  (registers the ids)
from vw_agent.eval.ladder import _append_line
from vw_agent.eval.report import wilson
from vw_agent.parallel import run_jobs
from vw_envs.errors import SpecError
from vw_envs.fileio import write_gif, write_text_atomic
from vw_envs.tabletop.policies import make_policy, static_frame
from vw_envs.tabletop.registration import MULTITASK_ID, env_id
from vw_envs.tabletop.tasks import EVAL_SEED_START, TASK_NAMES

SUBTASK_STEPS = 360  # CALVIN's budget per subtask


@dataclass
class TabletopEvalConfig:
    """One tabletop evaluation.

    Attributes:
        policy: a policy spec (``expert``, ``random``, ``videoworld:runs/x`` ...).
        tasks: task names (``all`` expands to every task).
        episodes: episodes per task (0: none).
        chains: CALVIN chains (0: none).
        chain_length: subtasks per chain (CALVIN: 5).
        workers: parallel processes, each with its own simulator.
        backend: ``local`` processes or ``ray`` actors (vw_agent.parallel); the episodes are the same.
        frame_size: frames the policy sees and the GIFs show.
        seed: first seed; by default ``EVAL_SEED_START`` (10,000), above every recorded training scene.
        out: the result folder.
        gif_every: keep every k-th frame in the GIFs (they stay small).
    """

    policy: str = "expert"
    tasks: list[str] | None = None
    episodes: int = 100
    chains: int = 0
    chain_length: int = 5
    workers: int = 1
    backend: str = "local"
    frame_size: int = 128
    seed: int = EVAL_SEED_START
    out: str = "results/tabletop"
    gif_every: int = 2


def resolve_tasks(text: str | list[str] | None) -> list[str]:
    """``all`` / ``None`` -> every task; else a comma list, checked.

    Raises:
        SpecError: an unknown task name (the message lists the valid ones).
    """
    if text is None or text == "all" or text == ["all"]:
        return list(TASK_NAMES)
    names = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    bad = [t for t in names if t not in TASK_NAMES]
    if bad:
        raise SpecError(f"unknown task {bad[0]!r}; valid tasks: all, {', '.join(TASK_NAMES)}")
    return names


def run_episode(policy_spec: str, task: str, seed: int, *, frame_size: int = 128, keep_frames: bool = False,
                gif_every: int = 2) -> dict[str, Any]:
    """One episode of one task. Returns ``{task, seed, success, steps, seconds[, frames]}``."""
    import gymnasium as gym

    t0 = time.time()
    env = gym.make(env_id(task), frame_size=frame_size)
    policy = make_policy(policy_spec, env)
    frames = []
    try:
        obs, info = env.reset(seed=seed)
        policy.reset(seed)
        if keep_frames:
            frames.append(static_frame(obs))
        steps, done = 0, False
        while not done:
            obs, _r, term, trunc, info = env.step(policy.act(obs, info))
            steps += 1
            done = term or trunc
            if keep_frames and (steps % gif_every == 0 or done):
                frames.append(static_frame(obs))
        out = {"key": f"{task}#{seed}", "task": task, "seed": seed, "success": bool(info["is_success"]),
               "steps": steps, "seconds": round(time.time() - t0, 3)}
        if keep_frames:
            out["frames"] = np.stack(frames)
        return out
    finally:
        policy.close()
        env.close()


def run_chain(policy_spec: str, seed: int, chain_length: int = 5, *, frame_size: int = 128) -> dict[str, Any]:
    """One CALVIN-style chain. Returns ``{seed, tasks, completed, steps, seconds}``."""
    import gymnasium as gym

    t0 = time.time()
    rng = np.random.default_rng(seed)
    # No termination on success (the chain goes on) and no TimeLimit: we count each subtask's 360 steps.
    env = gym.make(MULTITASK_ID, frame_size=frame_size, terminate_on_success=False,
                   max_episode_steps=chain_length * SUBTASK_STEPS + 1)
    policy = make_policy(policy_spec, env)
    tasks: list[str] = []
    completed, total = 0, 0
    try:
        first = TASK_NAMES[int(rng.integers(len(TASK_NAMES)))]
        obs, info = env.reset(seed=seed, options={"task": first})
        policy.reset(seed)
        task = first
        while True:
            tasks.append(task)
            ok = False
            for _ in range(SUBTASK_STEPS):
                obs, _r, term, trunc, info = env.step(policy.act(obs, info))
                total += 1
                if info["is_success"]:
                    ok = True
                    break
                if term or trunc:
                    break
            if not ok:
                break
            completed += 1
            if completed == chain_length:
                break
            options = [t for t in env.unwrapped.feasible_tasks() if t not in tasks]
            if not options:
                break  # the scene allows no new task: the chain ends short, as recorded in "tasks"
            task = options[int(rng.integers(len(options)))]
            info = env.unwrapped.set_task(task)
        return {"key": f"chain#{seed}", "seed": seed, "tasks": tasks, "completed": completed, "steps": total,
                "seconds": round(time.time() - t0, 3)}
    finally:
        policy.close()
        env.close()


_CFG: dict[str, Any] = {}


def _init(cfg: dict[str, Any]) -> None:
    _CFG.clear()
    _CFG.update(cfg)


def _job(job: tuple[str, str, int, bool]) -> dict[str, Any]:
    kind, task, seed, gif = job
    if kind == "episode":
        return run_episode(_CFG["policy"], task, seed, frame_size=_CFG["frame_size"], keep_frames=gif,
                           gif_every=_CFG["gif_every"])
    return run_chain(_CFG["policy"], seed, _CFG["chain_length"], frame_size=_CFG["frame_size"])


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a torn last line from a kill: that result is redone
    return out


def run_tabletop_eval(cfg: TabletopEvalConfig, *, progress: bool = True) -> Path:
    """Run (or resume) the evaluation and write ``cfg.out/report.md``; returns its path."""
    tasks = resolve_tasks(cfg.tasks)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    d = asdict(cfg)
    d["tasks"] = tasks
    write_text_atomic(out / "config.json", json.dumps(d, indent=2) + "\n")
    ep_path, ch_path = out / "episodes.jsonl", out / "chains.jsonl"
    episodes, chains = _load(ep_path), _load(ch_path)
    # A torn line is dropped by rewriting the file from what parsed.
    for path, rows in ((ep_path, episodes), (ch_path, chains)):
        if path.exists():
            write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
    done = {r["key"] for r in episodes} | {r["key"] for r in chains}
    jobs = [("episode", t, cfg.seed + e, e == 0) for t in tasks for e in range(cfg.episodes)
            if f"{t}#{cfg.seed + e}" not in done]
    jobs += [("chain", "", cfg.seed + c, False) for c in range(cfg.chains) if f"chain#{cfg.seed + c}" not in done]
    # Interleave tasks so partial results cover every task evenly.
    jobs.sort(key=lambda j: (j[0] != "episode", j[2]))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="ep", dynamic_ncols=True)

    def finish(r: dict[str, Any]) -> None:
        frames = r.pop("frames", None)
        if frames is not None:
            write_gif(out / "gifs" / f"{r['task']}.gif", frames, fps=15)
            r["gif"] = f"gifs/{r['task']}.gif"
        if "completed" in r:
            _append_line(ch_path, r)
            chains.append(r)
        else:
            _append_line(ep_path, r)
            episodes.append(r)
        if bar is not None:
            bar.update(1)
            n = len(episodes)
            s = sum(e["success"] for e in episodes)
            post = f"success {s}/{n}" if n else ""
            if chains:
                post += f" | chain avg len {np.mean([c['completed'] for c in chains]):.2f} ({len(chains)})"
            bar.set_postfix_str(post)

    cfg_d = {"policy": cfg.policy, "frame_size": cfg.frame_size, "gif_every": cfg.gif_every,
             "chain_length": cfg.chain_length}
    t0 = time.time()
    try:
        run_jobs(_job, jobs, workers=cfg.workers, initializer=_init, initargs=(cfg_d,), on_result=finish,
                 backend=cfg.backend)
    finally:
        if bar is not None:
            bar.close()
    _append_line(out / "runs.jsonl", {"wall_seconds": round(time.time() - t0, 1), "jobs": len(jobs)})
    return write_tabletop_report(out, cfg.policy, tasks, cfg.chain_length)


def chain_stats(chains: list[dict[str, Any]], chain_length: int) -> tuple[list[float], float]:
    """(share of chains with at least k subtasks done, k = 1..L; average completed length)."""
    lengths = np.array([c["completed"] for c in chains])
    if len(lengths) == 0:
        return [float("nan")] * chain_length, float("nan")
    return [float(np.mean(lengths >= k)) for k in range(1, chain_length + 1)], float(lengths.mean())


def write_tabletop_report(out: str | Path, policy: str, tasks: list[str], chain_length: int = 5) -> Path:
    """``report.md`` from the results in ``out``."""
    out = Path(out)
    episodes, chains = _load(out / "episodes.jsonl"), _load(out / "chains.jsonl")
    lines = [f"# Tabletop evaluation: `{policy}`", ""]
    if episodes:
        lines += ["## Success per task", "",
                  "Success rate with a 95% Wilson interval; seeds are the scene randomisation.", "",
                  "| Task | Success | 95% Wilson | Episodes | Mean steps | First episode |",
                  "|---|---|---|---|---|---|"]
        tot_s = tot_n = 0
        for t in tasks:
            rows = [e for e in episodes if e["task"] == t]
            if not rows:
                continue
            s, n = sum(e["success"] for e in rows), len(rows)
            tot_s, tot_n = tot_s + s, tot_n + n
            lo, hi = wilson(s, n)
            gif = f"![{t}](gifs/{t}.gif)" if (out / "gifs" / f"{t}.gif").exists() else ""
            lines.append(f"| `{t}` | {100 * s / n:.1f}% ({s}/{n}) | [{100 * lo:.1f}, {100 * hi:.1f}] | {n} | "
                         f"{np.mean([e['steps'] for e in rows]):.0f} | {gif} |")
        lo, hi = wilson(tot_s, tot_n)
        lines.append(f"| **all** | {100 * tot_s / max(tot_n, 1):.1f}% ({tot_s}/{tot_n}) | "
                     f"[{100 * lo:.1f}, {100 * hi:.1f}] | {tot_n} | | |")
    if chains:
        rates, avg = chain_stats(chains, chain_length)
        lines += ["", "## Task chains (CALVIN long-horizon protocol)", "",
                  f"{len(chains)} chains of up to {chain_length} subtasks, {SUBTASK_STEPS} steps each, in "
                  "`VideoTabletop-MultiTask-v0`; each next task is drawn among the feasible ones not yet done.", "",
                  "| " + " | ".join(f"{k} in a row" for k in range(1, chain_length + 1)) + " | Avg. length |",
                  "|" + "---|" * (chain_length + 1),
                  "| " + " | ".join(f"{100 * r:.1f}%" for r in rates) + f" | {avg:.2f} |"]
        short = sum(1 for c in chains if c["completed"] == len(c["tasks"]) < chain_length)
        if short:
            lines += ["", f"{short} chains ended early because no new task was feasible."]
    lines += ["", f"_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}._"]
    write_text_atomic(out / "report.md", "\n".join(lines) + "\n")
    return out / "report.md"
