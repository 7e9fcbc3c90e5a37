"""Tabletop policies: the protocol, their kinds in the one registry (:data:`vw_envs.players.KINDS`), and the trivial
ones (random, noop).

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
from vw_envs.players import KINDS, PlayerKind, PlayerSpec, parse_spec, register_player_kind

POLICY_KINDS = KINDS["tabletop"]  # the tabletop domain of the one registry of kinds (vw_envs.players)
for _kind in (
    PlayerKind("expert", "vw_envs.tabletop.experts:ExpertPolicy", "expert", "nothing",
               "the scripted expert of each task (100% on all 20)", domain="tabletop"),
    PlayerKind("random", "vw_envs.tabletop.policies:RandomPolicy", "random", "nothing",
               "uniformly random 7-D actions", domain="tabletop"),
    PlayerKind("noop", "vw_envs.tabletop.policies:NoopPolicy", "noop", "nothing",
               "holds still with the gripper open (must never succeed)", domain="tabletop"),
    PlayerKind("sb3", "vw_agent.baselines.sb3_agent:SB3Policy", "sb3:runs/ppo-led", "stable-baselines3",
               "a trained SB3 baseline run on a tabletop task", domain="tabletop"),
    PlayerKind("bc", "vw_agent.baselines.bc:BCPolicy", "bc:runs/bc-led", "torch",
               "a behaviour-cloning baseline run on tabletop experts", domain="tabletop"),
    PlayerKind("videoworld", "vw_agent.agent_tabletop:VideoWorldPolicy", "videoworld:runs/tabletop", "torch",
               "the VideoWorld agent trained on tabletop video (vw-agent train)", domain="tabletop"),
):
    register_player_kind(_kind)


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


def register_policy_kind(kind: str, entry_point: str, description: str = "", needs: str = "") -> None:
    """Add a tabletop policy kind (``"module.path:Class"``), e.g. from an agent package."""
    register_player_kind(PlayerKind(kind, entry_point, kind, needs or "see its package", description,
                                    domain="tabletop"))


def make_policy(text: str, env: Any = None) -> TabletopPolicy:
    """Build the policy for spec ``text`` (``expert``, ``random``, ``videoworld:runs/x``...).

    Raises:
        SpecError: the spec does not parse or names an unknown kind.
    """
    spec = parse_spec(text)
    if spec.kind not in POLICY_KINDS:
        raise SpecError(f"{text!r}: unknown tabletop policy kind {spec.kind!r}; valid: {', '.join(POLICY_KINDS)}")
    module, _, attr = POLICY_KINDS[spec.kind].entry_point.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise SpecError(f"{text!r}: cannot load {POLICY_KINDS[spec.kind].entry_point} ({e})") from None
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
