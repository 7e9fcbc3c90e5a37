"""Tabletop policies: the protocol, the registry of policy kinds, and the trivial ones (random, noop).

A policy spec uses the project's one grammar (:func:`vw_envs.players.parse_spec`): ``expert``,
``random``, ``noop``, and later ``videoworld:runs/x``, ``sb3:runs/x``, ``bc:runs/x``. Kinds resolve through
string entry points, so ``vw_envs`` never imports ``vw_agent`` and nothing heavy loads until it is used.
Each entry point names a class with ``from_spec(spec, env) -> policy``.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vw_envs.errors import SpecError
from vw_envs.players import PlayerSpec, parse_spec

POLICY_KINDS: dict[str, str] = {
    "expert": "vw_envs.tabletop.experts:ExpertPolicy",
    "random": "vw_envs.tabletop.policies:RandomPolicy",
    "noop": "vw_envs.tabletop.policies:NoopPolicy",
    "sb3": "vw_agent.baselines.sb3_agent:SB3Policy",
    "bc": "vw_agent.baselines.bc:BCPolicy",
    "videoworld": "vw_agent.agent_tabletop:VideoWorldPolicy",
}


@runtime_checkable
class TabletopPolicy(Protocol):
    """Maps an observation (and the env's info) to a 7-D action in [-1, 1]."""

    name: str

    def reset(self, seed: int | None = None) -> None:
        """A new episode."""

    def act(self, obs: Any, info: dict) -> np.ndarray:
        """The action for ``obs``; ``info`` is the last reset/step/set_task info (task, instruction, ...)."""

    def close(self) -> None:
        """Release resources; safe to call twice."""


def static_frame(obs: Any) -> np.ndarray:
    """The static camera's frame of a tabletop observation: the array itself, or ``obs["static"]`` when the
    env also renders the gripper camera (a ``Dict`` observation)."""
    return obs["static"] if isinstance(obs, dict) else obs


def clip_action(action: Any) -> np.ndarray:
    """A policy's output as the tabletop env's action space holds it: float32, clipped to [-1, 1]."""
    return np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)


def register_policy_kind(kind: str, entry_point: str) -> None:
    """Add a policy kind (``"module.path:Class"``), e.g. from an agent package."""
    POLICY_KINDS[kind] = entry_point


def make_policy(text: str, env: Any = None) -> TabletopPolicy:
    """Build the policy for spec ``text`` (``expert``, ``random``, ``videoworld:runs/x``...).

    Raises:
        SpecError: the spec does not parse or names an unknown kind.
    """
    spec = parse_spec(text)
    if spec.kind not in POLICY_KINDS:
        raise SpecError(f"{text!r}: unknown tabletop policy kind {spec.kind!r}; valid: {', '.join(POLICY_KINDS)}")
    module, _, attr = POLICY_KINDS[spec.kind].partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise SpecError(f"{text!r}: cannot load {POLICY_KINDS[spec.kind]} ({e})") from None
    return cls.from_spec(spec, env)


class NoopPolicy:
    """Holds still with the gripper open: the baseline that must never count as success."""

    name = "noop"

    @classmethod
    def from_spec(cls, spec: PlayerSpec, env: Any = None) -> NoopPolicy:
        spec.check_keys(set())
        return cls()

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, obs: Any, info: dict) -> np.ndarray:
        return np.array([0, 0, 0, 0, 0, 0, 1], dtype=np.float32)

    def close(self) -> None:
        pass


class RandomPolicy(NoopPolicy):
    """Uniform random actions (``random`` or ``random:seed=3``)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)

    @classmethod
    def from_spec(cls, spec: PlayerSpec, env: Any = None) -> RandomPolicy:
        spec.check_keys({"seed"})
        return cls(spec.get_int("seed", 0, 0, 2**31 - 1))

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)

    def act(self, obs: Any, info: dict) -> np.ndarray:
        return self._rng.uniform(-1, 1, 7).astype(np.float32)
