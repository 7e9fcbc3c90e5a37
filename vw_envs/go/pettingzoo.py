"""Two-player Go as a PettingZoo AEC env: agents ``black_0`` and ``white_0`` take turns, each sees the frame.

The game underneath is a :class:`~vw_envs.go.env.VideoGoEnv` with ``opponent="none"``: the same rules engine
(``rules.py``) and renderer (``render.py``), so a frame here is pixel for pixel the frame of the Gymnasium env
and of a recorded dataset. Built by :func:`vw_envs.go.pettingzoo_env`, which imports this module (and
PettingZoo, the ``[pettingzoo]`` extra) only when called.

Example:
    >>> from vw_envs.go import pettingzoo_env
    >>> env = pettingzoo_env(board_size=9, frame_size=64)
    >>> env.reset(seed=0)
    >>> for agent in env.agent_iter():
    ...     obs, reward, terminated, truncated, info = env.last()
    ...     action = None if terminated or truncated else env.action_space(agent).sample(obs["action_mask"])
    ...     env.step(action)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from vw_envs.go.env import VideoGoEnv

AGENTS = ("black_0", "white_0")


class GoAECEnv(AECEnv):
    """Go on an N x N board for two agents, seen only as pixels.

    ## Description
    Black (``black_0``) and White (``white_0``) move in turn; :attr:`agent_selection` is the side to move.
    Rules as :class:`~vw_envs.go.env.VideoGoEnv`: area scoring with komi, suicide illegal, positional
    superko by default, two passes end the game.

    ## Action Space
    ``Discrete(N*N + 1)`` per agent, the Gymnasium env's indices: ``a = r*N + c`` (row 0 at the top of the
    picture), ``N*N`` is pass.

    ## Observation Space
    ``Dict(observation=Box(0, 255, (frame_size, frame_size, 3), uint8), action_mask=Box(0, 1, (N*N+1,), int8))``
    as PettingZoo's classic games: the frame is the same for both agents; the mask holds the legal moves
    of the agent to move and is all zeros for the other one (and for both once the game is over).

    ## Rewards
    At the end, +1 to the winner and -1 to the loser (0 each for a draw or a game cut by the move cap).
    An illegal move loses the game: -1 to the side that made it, +1 to the other (go_v5 gives the other 0).

    ## Episode End
    Terminated for both: two consecutive passes or an illegal move. Truncated for both: ``max_moves`` moves
    (default ``2*N*N``). ``infos`` then hold ``winner``, ``score`` (Black minus White) and ``reason``.

    ## Arguments
    ``pettingzoo_env(board_size=19, frame_size=128, komi=7.5, ko_rule="positional", last_move_marker=False,
    coordinates=False, max_moves=None, render_mode=None)``.

    ## Version History
    * v0: initial release.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "name": "videogo_v0", "is_parallelizable": False,
                "render_fps": 4}

    def __init__(self, board_size: int = 19, frame_size: int = 128, komi: float = 7.5,
                 ko_rule: str = "positional", last_move_marker: bool = False, coordinates: bool = False,
                 max_moves: int | None = None, render_mode: str | None = None):
        super().__init__()
        self.game_env = VideoGoEnv(board_size=board_size, frame_size=frame_size, komi=komi, opponent="none",
                                   ko_rule=ko_rule, illegal_action="lose", last_move_marker=last_move_marker,
                                   coordinates=coordinates, max_moves=max_moves, render_mode=render_mode)
        self.board_size = board_size
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents = list(AGENTS)
        n_actions = board_size * board_size + 1
        # One space object per agent, returned as is: PettingZoo's seed test seeds them in place.
        self.observation_spaces = {a: spaces.Dict({
            "observation": spaces.Box(0, 255, (frame_size, frame_size, 3), np.uint8),
            "action_mask": spaces.Box(0, 1, (n_actions,), np.int8),
        }) for a in AGENTS}
        self.action_spaces = {a: spaces.Discrete(n_actions) for a in AGENTS}
        self._frame: np.ndarray | None = None
        self._mask = np.zeros(n_actions, np.int8)  # the legal moves of agent_selection (zeros once over)
        self._no_moves = np.zeros(n_actions, np.int8)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """A new game; ``options`` as :meth:`VideoGoEnv.reset` (``setup_black``, ``setup_white``, ``to_play``)."""
        self._frame, info = self.game_env.reset(seed=seed, options=options)
        self.agents = list(AGENTS)
        self.rewards = {a: 0.0 for a in AGENTS}
        self._cumulative_rewards = {a: 0.0 for a in AGENTS}
        self.terminations = {a: False for a in AGENTS}
        self.truncations = {a: False for a in AGENTS}
        self.infos = {a: {} for a in AGENTS}
        self.agent_selection = _agent(info["to_play"])
        self._mask = info["action_mask"].astype(np.int8)

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        mask = self._mask if agent == self.agent_selection else self._no_moves
        return {"observation": self._frame.copy(), "action_mask": mask.copy()}

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)  # the game is over: each agent steps None once to leave
            return
        self._cumulative_rewards[agent] = 0.0
        self._frame, reward, terminated, truncated, info = self.game_env.step(action)
        black = float(reward)  # the env scores from Black's point of view when it has no opponent
        self.rewards = {"black_0": black, "white_0": -black}
        if terminated or truncated:
            end = {k: info[k] for k in ("winner", "score", "reason", "message") if k in info}
            self.terminations = {a: terminated for a in AGENTS}
            self.truncations = {a: truncated for a in AGENTS}
            self.infos = {a: dict(end) for a in AGENTS}
            self._mask = self._no_moves
        else:
            self._mask = info["action_mask"].astype(np.int8)
        self.agent_selection = _agent(info["to_play"])
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def render(self) -> np.ndarray | None:
        return self.game_env.render()

    def close(self) -> None:
        self.game_env.close()


def _agent(color: str) -> str:
    return f"{color}_0"


def pettingzoo_env(**kwargs) -> AECEnv:
    """:class:`GoAECEnv` inside PettingZoo's order-enforcing wrapper (``reset`` before ``step``), as the classic
    games ship. Illegal moves need no wrapper: the rules end the game."""
    return wrappers.OrderEnforcingWrapper(GoAECEnv(**kwargs))
