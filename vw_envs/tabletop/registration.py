"""Tabletop ids: one per task plus the multi-task env. Must not import pybullet (registration stays light)."""

from __future__ import annotations

from gymnasium.envs.registration import WrapperSpec, register, registry

from vw_envs.tabletop.tasks import TASKS

ENTRY_POINT = "vw_envs.tabletop.env:VideoTabletopEnv"
MULTITASK_ID = "VideoTabletop-MultiTask-v0"
# CALVIN's long-horizon protocol allows 360 steps per subtask and chains 5 of them.
MULTITASK_MAX_STEPS = 5 * 360
# outside the TimeLimit: no step after truncation (vw_envs.tabletop.wrappers); a string entry point, so
# registering imports neither the wrapper nor pybullet
_WRAPPERS = (WrapperSpec("RequireReset", "vw_envs.tabletop.wrappers:RequireReset", {}),)


def env_id(task: str) -> str:
    """``open_drawer`` -> ``VideoTabletop-OpenDrawer-v0``."""
    return f"VideoTabletop-{TASKS[task].camel}-v0"


TABLETOP_ENV_IDS: tuple[str, ...] = tuple(env_id(t) for t in TASKS) + (MULTITASK_ID,)


def register_tabletop_envs() -> None:
    """Register every tabletop id with a string entry point."""
    for name, task in TASKS.items():
        if env_id(name) not in registry:
            register(id=env_id(name), entry_point=ENTRY_POINT, kwargs={"task": name},
                     max_episode_steps=task.max_steps, additional_wrappers=_WRAPPERS)
    if MULTITASK_ID not in registry:
        register(id=MULTITASK_ID, entry_point=ENTRY_POINT, kwargs={"task": None},
                 max_episode_steps=MULTITASK_MAX_STEPS, additional_wrappers=_WRAPPERS)
