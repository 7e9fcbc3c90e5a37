"""VideoGoEnv: Go whose only observation is a rendered frame of the board; and an SGF game as its frames."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vw_envs.errors import EngineProtocolError, IllegalMoveError, SGFError
from vw_envs.go.coords import RESIGN, action_index, to_gtp
from vw_envs.go.render import BoardRenderer, RenderConfig
from vw_envs.go.rules import BLACK, COLOR_NAMES, WHITE, GoGame, color_of
from vw_envs.go.sgf import SGFGame, result_string, to_sgf
from vw_envs.players import GameState, Player, make_player
from vw_envs.viewer import FrameViewer

AGENT_COLORS = ("black", "white", "random")
ILLEGAL_ACTIONS = ("lose", "raise")


class VideoGoEnv(gym.Env[np.ndarray, np.int64]):
    """Go on an N x N board, seen only as pixels.

    ## Description
    The agent sees an RGB picture of the board, in the flat style of the VideoWorld paper, and places
    stones by action index. Rules: area (Tromp-Taylor) scoring with komi, suicide illegal, positional
    superko by default, two consecutive passes end the game. An opponent (any player spec) replies
    inside ``step``; with ``opponent="none"`` the caller plays both colours, one move per step, which is
    how whole-game videos are recorded.

    ## Action Space
    ``Discrete(N*N + 1)``: ``a = r*N + c`` with row ``r = 0`` at the top of the picture and column
    ``c = 0`` at the left (GTP column ``"ABCDEFGHJKLMNOPQRST"[c]``, row ``N - r``); ``N*N`` is pass.
    Legal moves: ``info["action_mask"]`` or ``env.unwrapped.action_masks()`` (for MaskablePPO).

    ## Observation Space
    ``Box(0, 255, (frame_size, frame_size, 3), uint8)``: only the frame. Nothing else gives the board
    state away; a fresh array every step.

    ## Rewards
    At the end: +1 win, -1 loss, 0 draw (possible with integer komi), from the agent's point of view; with
    ``opponent="none"`` from Black's. An illegal move with ``illegal_action="lose"`` ends the game with -1
    for the side that made it. A game cut by the move cap gives 0 (``truncated``), with the area count
    still reported in ``info``.

    ## Starting State
    An empty board (or ``options["setup_black"]`` / ``["setup_white"]`` stones), Black to play unless
    ``options["to_play"]`` says otherwise. If the opponent moves first, its move is already played.

    ## Episode End
    Terminated: two consecutive passes, a resignation by the opponent, or an illegal move (``"lose"``).
    Truncated: ``max_moves`` moves of either colour (default ``2*N*N``).
    ``info`` then holds ``winner`` (``"black"``, ``"white"`` or ``None`` for a draw), ``score`` (Black
    minus White, komi included) and ``reason`` (``"two_passes"``, ``"resign"``, ``"illegal"``,
    ``"move_cap"``). Every step's ``info`` holds ``action_mask``, ``to_play`` and ``move_number``; when
    the opponent replied, ``opponent_move`` and ``opponent_frame`` (the frame after the agent's move,
    before the reply). The SGF is a method, :meth:`to_sgf`.

    ## Arguments
    ``gym.make("VideoGo-9x9-v0", opponent="gnugo:level=1", agent_color="black", frame_size=128,
    komi=7.5, ko_rule="positional", illegal_action="lose", last_move_marker=False, coordinates=False,
    max_moves=None, render_mode=None)``. ``opponent`` is a spec string, a Player object, or ``"none"``.

    ## Version History
    * v0: initial release.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 4}

    def __init__(self, board_size: int = 19, frame_size: int = 128, komi: float = 7.5,
                 opponent: str | Player | None = "random", agent_color: str = "black",
                 ko_rule: str = "positional", illegal_action: str = "lose", last_move_marker: bool = False,
                 coordinates: bool = False, max_moves: int | None = None, render_mode: str | None = None):
        if agent_color not in AGENT_COLORS:
            raise ValueError(f"agent_color must be one of {AGENT_COLORS}, got {agent_color!r}")
        if illegal_action not in ILLEGAL_ACTIONS:
            raise ValueError(f"illegal_action must be one of {ILLEGAL_ACTIONS}, got {illegal_action!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        self.board_size = n = board_size
        self.komi = float(komi)
        self.render_config = RenderConfig(frame_size, last_move_marker, coordinates)
        self.agent_color_option = agent_color
        self.illegal_action = illegal_action
        self.max_moves = 2 * n * n if max_moves is None else int(max_moves)
        self.render_mode = render_mode
        self.game = GoGame(n, komi, ko_rule)
        self.opponent: Player | None = None if opponent in (None, "none") else make_player(opponent)
        self.observation_space = spaces.Box(0, 255, (frame_size, frame_size, 3), np.uint8)
        self.action_space = spaces.Discrete(n * n + 1)
        self._renderers: dict[RenderConfig, BoardRenderer] = {self.render_config: BoardRenderer(n, self.render_config)}
        self._history: list[tuple[str, int]] = []
        self._last_move: int | None = None
        self._frame: np.ndarray | None = None
        self._end: dict[str, Any] | None = None
        self.agent_color = BLACK
        self._viewer = None

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
        options = options or {}
        g = self.game
        g.clear()
        g.setup([action_index(a) for a in options.get("setup_black", ())],
                [action_index(a) for a in options.get("setup_white", ())],
                to_play=options.get("to_play", "black"))
        self._history = []
        self._last_move = None
        self._end = None
        if self.agent_color_option == "random":
            self.agent_color = BLACK if self.np_random.integers(2) == 0 else WHITE
        else:
            self.agent_color = color_of(self.agent_color_option)
        info: dict[str, Any] = {}
        if self.opponent is not None:
            opp_color = COLOR_NAMES[3 - self.agent_color]
            self.opponent.reset(self.board_size, self.komi, opp_color, seed=int(self.np_random.integers(2**31)))
            black, white = g.setup_stones
            if (black or white) and hasattr(self.opponent, "setup"):
                self.opponent.setup(black, white)
            if g.to_play != self.agent_color:
                self._opponent_moves(info)
        return self._observe(info)

    def step(self, action):
        if self._end is not None:
            raise RuntimeError("step() after the game ended; call reset()")
        g = self.game
        a = action_index(action)
        mover = g.to_play
        info: dict[str, Any] = {}
        reason = g.illegal_reason(a, mover)
        if reason is not None:
            vertex = to_gtp(a, self.board_size) if 0 <= a <= g.pass_move else str(a)
            message = f"illegal move {vertex} by {COLOR_NAMES[mover]}: {reason}"
            if self.illegal_action == "raise":
                raise IllegalMoveError(message)
            self._finish(winner=COLOR_NAMES[3 - mover], reason="illegal", message=message)
        else:
            self._play(a, mover)
            if self._end is None and self.opponent is not None:
                info["opponent_frame"] = self._render_frame()
                self._opponent_moves(info)
        obs, info = self._observe(info)
        reward, terminated, truncated = 0.0, False, False
        if self._end is not None:
            info.update(self._end)
            truncated = self._end["reason"] == "move_cap"
            terminated = not truncated
            if terminated and self._end["winner"] is not None:
                me = self.agent_color if self.opponent is not None else BLACK
                reward = 1.0 if self._end["winner"] == COLOR_NAMES[me] else -1.0
        if self.render_mode == "human":
            self.render()
        return obs, reward, terminated, truncated, info

    def render(self):
        frame = self._frame if self._frame is not None else self._render_frame()
        if self.render_mode == "human":
            if self._viewer is None:
                self._viewer = FrameViewer(f"VideoGo {self.board_size}x{self.board_size}")
            self._viewer.show(frame, self.metadata["render_fps"])
            return None
        return frame.copy()

    def close(self):
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None
        if self.opponent is not None:
            self.opponent.close()

    # ------------------------------------------------------------------ extras
    def action_masks(self) -> np.ndarray:
        """Legal moves of the side to move, bool (N*N+1,); the hook sb3-contrib's MaskablePPO calls."""
        return self.game.legal_mask()

    def to_sgf(self, black: str | None = None, white: str | None = None) -> str:
        """The game so far as SGF text (finished or not), with result, komi and player names."""
        names = {"black": black or "", "white": white or ""}
        if self.opponent is not None:
            me, opp = COLOR_NAMES[self.agent_color], COLOR_NAMES[3 - self.agent_color]
            names[opp] = names[opp] or self.opponent.name
            names[me] = names[me] or "agent"
        end = self._end or {}
        result = result_string(end.get("winner"), end.get("score"), end.get("reason")) if end else None
        return to_sgf(self.game, black=names["black"], white=names["white"], result=result,
                      comment=end.get("message"))

    def resign(self, color: str) -> dict[str, Any]:
        """End the game by ``color``'s resignation (the action space has no resign); returns the end info."""
        self._finish(winner=COLOR_NAMES[3 - color_of(color)], reason="resign")
        return dict(self._end)

    def state_for(self, player: Player | None = None) -> GameState:
        """What ``player`` sees now: the frame in its own ``render_config``, mask, history, board."""
        g = self.game
        cfg = getattr(player, "render_config", None) or self.render_config
        renderer = self._renderers.get(cfg)
        if renderer is None:
            renderer = self._renderers[cfg] = BoardRenderer(self.board_size, cfg)
        board = g.board_np.copy()
        last = self._last_move
        return GameState(
            board_size=self.board_size, komi=self.komi, to_play=COLOR_NAMES[g.to_play],
            legal_mask=g.legal_mask(), history=tuple(self._history), board=board.reshape(g.n, g.n),
            setup=(tuple(g.setup_stones[0]), tuple(g.setup_stones[1])),
            render_fn=lambda: renderer.render(board, last),
        )

    # ------------------------------------------------------------------ internals
    def _play(self, a: int, color: int) -> None:
        g = self.game
        g.play(a, color)
        name = COLOR_NAMES[color]
        self._history.append((name, a))
        self._last_move = a if a != g.pass_move else None
        if self.opponent is not None:
            self.opponent.observe(a, name)
        if g.over:
            self._finish(reason="two_passes")
        elif g.move_number >= self.max_moves:
            self._finish(reason="move_cap")

    def _opponent_moves(self, info: dict[str, Any]) -> None:
        g = self.game
        color = g.to_play
        move = int(self.opponent.genmove(self.state_for(self.opponent)))
        info["opponent_move"] = move
        if move == RESIGN:
            self.resign(COLOR_NAMES[color])
            return
        reason = g.illegal_reason(move, color)
        if reason is not None:
            vertex = to_gtp(move, self.board_size) if 0 <= move <= g.pass_move else str(move)
            raise EngineProtocolError(f"opponent {self.opponent.name} played illegal move {vertex}: {reason}")
        self._play(move, color)

    def _finish(self, *, reason: str, winner: str | None | bool = False, message: str | None = None) -> None:
        result_winner, score = self.game.result()
        self._end = {"winner": result_winner if winner is False else winner, "score": score, "reason": reason}
        if message:
            self._end["message"] = message

    def _render_frame(self) -> np.ndarray:
        return self._renderers[self.render_config].render(self.game.board_np, self._last_move)

    def _observe(self, info: dict[str, Any]):
        self._frame = self._render_frame()
        g = self.game
        info["action_mask"] = g.legal_mask()
        info["to_play"] = COLOR_NAMES[g.to_play]
        info["move_number"] = g.move_number
        return self._frame, info  # render() hands out copies, so this array is the caller's


def replay_frames(g: SGFGame, *, frame_size: int = 128, ko_rule: str = "positional",
                  name: str = "SGF", **render_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Render a game as the env does: (frames (T+1, H, W, 3) uint8, actions (T,) int64).

    Frame 0 is the board after setup; frame t+1 follows action t. Goes through ``VideoGoEnv`` with
    ``opponent="none"``, so frames are identical to a live game's. Moves must alternate colours.
    """
    for i in range(1, len(g.moves)):
        if g.moves[i][0] == g.moves[i - 1][0]:
            raise SGFError(f"{name}: move {i + 1} is a second {g.moves[i][0]} move in a row; "
                           "the video needs alternating colours")
    env = VideoGoEnv(board_size=g.board_size, frame_size=frame_size, komi=g.komi, opponent="none",
                     ko_rule=ko_rule, illegal_action="raise", max_moves=max(len(g.moves), 1),
                     **render_kwargs)
    try:
        obs, _ = env.reset(options={"setup_black": g.setup_black, "setup_white": g.setup_white,
                                    "to_play": g.first_to_play})
        frames = [obs]
        actions = []
        for i, (_c, m) in enumerate(g.moves):
            try:
                obs, _r, term, trunc, _info = env.step(m)
            except IllegalMoveError as e:
                raise SGFError(f"{name}: move {i + 1}: {e}") from None
            frames.append(obs)
            actions.append(m)
            if (term or trunc) and i < len(g.moves) - 1:
                raise SGFError(f"{name}: the game ended at move {i + 1} of {len(g.moves)} (two passes)")
    finally:
        env.close()
    return np.stack(frames), np.asarray(actions, dtype=np.int64)
