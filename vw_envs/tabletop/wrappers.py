"""Wrappers that every registered tabletop id carries (``additional_wrappers`` in its registration).

``gym.make`` puts Gymnasium's ``TimeLimit`` around the env, so the env itself never learns that its episode was
truncated: its unwrapped ``spec`` has ``max_episode_steps=None``, and a step past the limit would go on and, at a
finished task, pay its reward again. ``RequireReset`` sits outside the ``TimeLimit`` and refuses that step, as the
env refuses a step after success and as the Go env refuses one after the game ended.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.utils import RecordConstructorArgs


class RequireReset(gym.Wrapper, RecordConstructorArgs):
    """Raise on ``step()`` after a step returned ``truncated``, until ``reset()``.

    After ``terminated`` the env's own guard applies (and ``set_task`` re-arms it for CALVIN chains); a chain
    that ran out of steps is over, so nothing re-arms a truncated episode but ``reset()``.
    """

    def __init__(self, env: gym.Env):
        RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        self._truncated_at: int | None = None  # the step count at which the episode was truncated
        self._steps = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        self._truncated_at, self._steps = None, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        if self._truncated_at is not None:
            raise RuntimeError(f"step() after the episode was truncated at its time limit ({self._truncated_at} "
                               "steps); call reset()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        if truncated:
            self._truncated_at = self._steps
        return obs, reward, terminated, truncated, info
