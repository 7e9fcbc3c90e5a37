"""Pixel-only Gymnasium environments. Importing this package registers every id in :data:`ENV_IDS`.

Entry points are strings, so nothing heavy (pybullet, pygame, engines) is imported until ``gym.make``.
"""

from gymnasium.envs.registration import register, registry

from vw_envs.tabletop.registration import TABLETOP_ENV_IDS, register_tabletop_envs

GO_ENV_IDS: tuple[str, ...] = tuple(f"VideoGo-{n}x{n}-v0" for n in (9, 13, 19))

for _n, _id in zip((9, 13, 19), GO_ENV_IDS, strict=True):
    if _id not in registry:
        # No max_episode_steps: the env enforces its own cap of 2*N^2 moves of either colour, because a
        # step is not one move when an opponent replies inside it.
        register(id=_id, entry_point="vw_envs.go.env:VideoGoEnv", kwargs={"board_size": _n})

register_tabletop_envs()

ENV_IDS: tuple[str, ...] = GO_ENV_IDS + TABLETOP_ENV_IDS

__all__ = ["ENV_IDS", "GO_ENV_IDS", "TABLETOP_ENV_IDS"]
