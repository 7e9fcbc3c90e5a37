"""The VideoWorld agent on the tabletop: it imagines the next frame of the task and reads the 7-D action off it.

The same four networks as for Go (:mod:`vw_agent.agent`), trained on ``VideoTabletop-*`` video: given
``[task][tokens of frame t]`` the GPT samples the LDM's codes and frame t+1's tokens, the tokenizer decodes
frame t+1, and the IDM maps (frame t, the codes, the imagined frame t+1) to the action between them, a tanh
output clipped to [-1, 1]. The condition is the task of ``info["task"]`` (its id in
:func:`vw_agent.checkpoint.tabletop_task_ids`, as in training). Only the static camera is seen.

As a tabletop policy: ``videoworld:RUN`` or ``videoworld:run=RUN,temperature=T,top_k=K,seed=S,threads=N``
(a tabletop run folder of ``vw-agent train``; the env must render the frame size the run was trained on).

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

from vw_agent.agent import AgentConfig, VideoWorldAgent
from vw_agent.checkpoint import CheckpointError, tabletop_task_ids
from vw_agent.tokenizer import to_uint8
from vw_envs.errors import SpecError
from vw_envs.players import PlayerSpec
from vw_envs.tabletop.policies import clip_action, static_frame

TABLETOP_PREFIX = "VideoTabletop-"
_KEYS = {"run", "temperature", "top_k", "seed", "threads"}


class VideoWorldPolicy:
    """A tabletop run of the VideoWorld agent as a :class:`~vw_envs.tabletop.policies.TabletopPolicy`."""

    def __init__(self, run: str | Path, config: AgentConfig | None = None, frame_size: int | None = None):
        """``frame_size``: the env's static frame side, checked against the run's (None: not checked)."""
        self.agent = VideoWorldAgent.load(run, config)
        env_id = self.agent.info["env_id"]
        if not env_id.startswith(TABLETOP_PREFIX) or self.agent.idm.config.discrete:
            raise CheckpointError(f"{run}: trained on {env_id}; as a tabletop policy use a tabletop run")
        if frame_size is not None and frame_size != self.agent.frame_size:
            raise SpecError(f"videoworld:{run} sees {self.agent.frame_size} px frames, the env renders "
                            f"{frame_size} px; make the env with frame_size={self.agent.frame_size}")
        self.task_ids = tabletop_task_ids()
        self.name = f"videoworld:{run}"
        self.last_imagination: list[np.ndarray] | None = None  # the imagined next frame behind the last action

    @classmethod
    def from_spec(cls, spec: PlayerSpec, env: Any = None) -> VideoWorldPolicy:
        spec.check_keys(_KEYS, arg_allowed=True)
        run = spec.arg or spec.params.get("run")
        if not run:
            raise SpecError(f"{spec.text!r}: give a tabletop run folder: videoworld:RUN or videoworld:run=RUN,...")
        top_k = spec.get_int("top_k", 0, 0, 1_000_000)
        cfg = AgentConfig(temperature=spec.get_float("temperature", 1.0, 0.0, 100.0), top_k=top_k or None,
                          seed=spec.get_int("seed", 0, 0, 2**31 - 1),
                          threads=spec.get_int("threads", 1, 0, 1024) or None)
        frame_size = getattr(getattr(env, "unwrapped", env), "frame_size", None)
        return cls(run, cfg, frame_size)

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

    def act(self, obs: Any, info: dict) -> np.ndarray:
        """The 7-D action for the static frame of ``obs`` on the task ``info["task"]``."""
        frame = static_frame(obs)
        cond = self.cond(info.get("task", ""))
        with self.agent.threads():
            _, imagined, out = self.agent.draw(np.asarray(frame), cond, 1)
        self.last_imagination = [to_uint8(imagined[0]).numpy()]
        return clip_action(out[0].numpy())

    def imagine(self, frame: np.ndarray, task: str, steps: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``steps`` imagined frames after the static ``frame`` on ``task``, each from the one before, and the
        action the IDM reads off each step (clipped to [-1, 1], as :meth:`act` returns it)."""
        frames, outs = self.agent.rollout(np.asarray(frame), [self.cond(task)] * steps)
        return frames, [clip_action(o) for o in outs]

    def close(self) -> None:
        pass
