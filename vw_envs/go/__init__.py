"""Go: rules, renderer, the Gymnasium env (``env.py``), engines, SGF, and the two-player PettingZoo env."""

from __future__ import annotations

from typing import Any


def pettingzoo_env(board_size: int = 19, frame_size: int = 128, **kwargs: Any):
    """Two-player Go as a PettingZoo AEC env (agents ``black_0``, ``white_0``).

    See :class:`vw_envs.go.pettingzoo.GoAECEnv` for the spaces, rewards and arguments.

    Needs the ``[pettingzoo]`` extra (``pip install "videoworld-gym[pettingzoo]"``).
    """
    try:
        # lazy: PettingZoo is an optional extra; importing vw_envs.go must not need it
        from vw_envs.go.pettingzoo import pettingzoo_env as make
    except ModuleNotFoundError as e:
        if e.name != "pettingzoo":
            raise
        raise ModuleNotFoundError('pettingzoo_env needs PettingZoo: pip install "videoworld-gym[pettingzoo]"',
                                  name="pettingzoo") from None
    return make(board_size=board_size, frame_size=frame_size, **kwargs)
