"""The VideoWorld agent on the tabletop: it imagines the next frame of the task and reads the 7-D action off it.

The same four networks as for Go (:mod:`vw_agent.agent`), trained on ``VideoTabletop-*`` video: given
``[task][tokens of frame t]`` the GPT samples the LDM's codes and frame t+1's tokens, the tokenizer decodes
frame t+1, and the IDM maps (frame t, the codes, the imagined frame t+1) to the action between them, a tanh
output clipped to [-1, 1]. The condition is the task of ``info["task"]`` (its id in
:func:`vw_agent.checkpoint.tabletop_task_ids`, as in training). Only the static camera is seen.

An IDM that reads a chunk of k actions per imagination (``IDMConfig.chunk``, preset ``tabletop-chunk``) drives
the next ``execute`` steps (default: all k) from one imagination; then the agent imagines again from the real
frame. A new task (a chain's next subtask) drops what is left of the chunk.

As a tabletop policy: ``videoworld`` (the shipped checkpoint), ``videoworld:RUN`` or
``videoworld:run=RUN,temperature=T,top_k=K,seed=S,threads=N,execute=E`` (a tabletop run folder of ``vw-agent
train``; the env must render the frame size the run was trained on). The temperature is 0 (greedy) unless given.

Example:
    >>> env = gym.make("VideoTabletop-OpenDrawer-v0", frame_size=64)
    >>> policy = make_policy("videoworld:run=runs/tabletop,temperature=0", env)
    >>> obs, info = env.reset(seed=0); policy.reset(seed=0)
    >>> action = policy.act(obs, info)           # (7,) float32 in [-1, 1]
    >>> policy.last_imagination[0].shape         # the imagined next frame, uint8 (64, 64, 3)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vw_agent.agent import SHIPPED_TABLETOP, AgentConfig, VideoWorldAgent, shipped_run
from vw_agent.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, tabletop_task_ids
from vw_agent.tokenizer import to_uint8
from vw_envs.errors import SpecError
from vw_envs.players import PlayerSpec, parse_spec
from vw_envs.tabletop.policies import clip_action, static_frame

TABLETOP_PREFIX = "VideoTabletop-"
_KEYS = {"run", "temperature", "top_k", "seed", "threads", "execute"}


class VideoWorldPolicy:
    """A tabletop run of the VideoWorld agent as a :class:`~vw_envs.tabletop.policies.TabletopPolicy`."""

    def __init__(self, run: str | Path, config: AgentConfig | None = None, frame_size: int | None = None,
                 execute: int | None = None):
        """``frame_size``: the env's static frame side, checked against the run's (None: not checked).
        ``execute``: actions of each imagined chunk to run before imagining again (None: the whole chunk)."""
        self.agent = VideoWorldAgent.load(run, config)
        env_id = self.agent.info["env_id"]
        if not env_id.startswith(TABLETOP_PREFIX) or self.agent.idm.config.discrete:
            raise CheckpointError(f"{run}: trained on {env_id}; as a tabletop policy use a tabletop run")
        if frame_size is not None and frame_size != self.agent.frame_size:
            raise SpecError(f"videoworld:{run} sees {self.agent.frame_size} px frames, the env renders "
                            f"{frame_size} px; make the env with frame_size={self.agent.frame_size}")
        self.task_ids = tabletop_task_ids()
        self.name = "videoworld" if Path(run) == shipped_run(SHIPPED_TABLETOP) else f"videoworld:{run}"
        chunk = self.agent.idm.config.chunk
        if execute is not None and not 1 <= execute <= chunk:
            raise SpecError(f"execute={execute}: this run's IDM reads {chunk} actions per imagination; "
                            f"execute 1..{chunk} of them")
        self.execute = execute or chunk
        self.last_imagination: list[np.ndarray] | None = None  # the frame imagined for the last action's step
        # the rest of the current chunk, run before imagining again: (action, [the frame imagined for its step])
        self.plan: list[tuple[np.ndarray, list[np.ndarray]]] = []
        self.plan_task: str | None = None  # the task the plan is for
        self.imaginations = 0  # imaginations drawn since reset (one per chunk)

    @classmethod
    def from_spec(cls, spec: PlayerSpec, env: Any = None) -> VideoWorldPolicy:
        spec.check_keys(_KEYS, arg_allowed=True)
        run = spec_run(spec)
        top_k = spec.get_int("top_k", 0, 0, 1_000_000)
        # greedy by default: on 120 tuning episodes (seeds 20,000+) the shipped run succeeded 42.5% greedy, 35.0% at
        # temperature 1 (docs/agent-tabletop.md)
        cfg = AgentConfig(temperature=spec.get_float("temperature", 0.0, 0.0, 100.0), top_k=top_k or None,
                          seed=spec.get_int("seed", 0, 0, 2**31 - 1),
                          threads=spec.get_int("threads", 1, 0, 1024) or None)
        frame_size = getattr(getattr(env, "unwrapped", env), "frame_size", None)
        execute = spec.get_int("execute", 0, 0, 1_000) or None
        return cls(run, cfg, frame_size, execute)

    def cond(self, task: str) -> int:
        """The condition id of ``task``; a one-line error for a task the agent cannot be conditioned on."""
        if task not in self.task_ids:
            raise SpecError(f"unknown task {task!r}; valid tasks: {', '.join(self.task_ids)}")
        cond = self.task_ids[task]
        if cond >= self.agent.gpt.config.cond_vocab:
            raise CheckpointError(f"{self.name}: its transformer has {self.agent.gpt.config.cond_vocab} task ids, "
                                  f"{task!r} is id {cond}")
        return cond

    def reset(self, seed: int | None = None) -> None:
        self.agent.reseed(self.agent.config.seed if seed is None else seed)
        self.last_imagination = None
        self.plan, self.plan_task, self.imaginations = [], None, 0

    def act(self, obs: Any, info: dict) -> np.ndarray:
        """The 7-D action for the static frame of ``obs`` on the task ``info["task"]``: the next of the current
        chunk, or the first of a new imagination from this frame."""
        task = info.get("task", "")
        cond = self.cond(task)
        if self.plan and task == self.plan_task:
            action, self.last_imagination = self.plan.pop(0)
            return action
        with self.agent.threads():
            _, imagined, out = self.agent.draw(np.asarray(static_frame(obs)), cond, 1, future=True)
        self.imaginations += 1
        # the frame imagined for each step of the chunk (the LDM's decoding of its code), else frame t+1 for all
        future = self.agent.future
        seen = list(to_uint8(future[0] if future is not None else imagined[:1]).numpy())
        actions = out[0, : self.execute].numpy()
        self.plan = [(clip_action(a), [seen[min(k, len(seen) - 1)]]) for k, a in enumerate(actions)]
        self.plan_task = task
        action, self.last_imagination = self.plan.pop(0)
        return action

    def imagine(self, frame: np.ndarray, task: str, steps: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``steps`` imagined frames after the static ``frame`` on ``task``, each from the one before, and the
        action the IDM reads off each step (the first of its chunk, clipped to [-1, 1] as :meth:`act` returns it)."""
        frames, outs = self.agent.rollout(np.asarray(frame), [self.cond(task)] * steps)
        return frames, [clip_action(o[0]) for o in outs]

    def close(self) -> None:
        pass


def spec_run(spec: PlayerSpec) -> Path:
    """The run folder a tabletop ``videoworld`` spec names; a bare ``videoworld`` is the shipped tabletop
    checkpoint (the Go env's bare ``videoworld`` is the Go one)."""
    run = spec.arg or spec.params.get("run")
    if run:
        return Path(run)
    shipped = shipped_run(SHIPPED_TABLETOP)
    if not checkpoint_path(shipped, "idm").exists():
        raise SpecError(f"{spec.text!r}: no tabletop checkpoint ships with this install; give a run folder: "
                        "videoworld:RUN or videoworld:run=RUN,...")
    return shipped


def policy_frame_size(spec: str, default: int = 128) -> int:
    """The frame side a tabletop policy spec must be shown (a VideoWorld run's), else ``default``. It reads the
    run's smallest checkpoint, the tokenizer's (every stage stores the frame size); a missing run is left to
    loading the policy to report."""
    parsed = parse_spec(spec)
    if parsed.kind != "videoworld":
        return default
    path = checkpoint_path(spec_run(parsed), "tokenizer")
    return int(load_checkpoint(path, stage="tokenizer")["frame_size"]) if path.exists() else default
