"""A trained SB3 run acting: :class:`SB3Agent` (the training preprocessing, :class:`FramePipeline`, then the
model), the ``sb3:`` Go player and tabletop policy, and :func:`evaluate_run` (SB3 and BC runs).

Example:
    >>> agent = SB3Agent("runs/ppo-go9")        # doctest: +SKIP
    >>> move = agent.act(frame, legal_mask)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from vw_agent.baselines import BaselineError
from vw_agent.baselines.common import GO_PREFIX, TABLETOP_PREFIX, masked_choice, read_run
from vw_agent.baselines.sb3 import GoOutcome, algo_class, resize_frame
from vw_envs.fileio import write_text_atomic
from vw_envs.go.render import RenderConfig
from vw_envs.players import BasePlayer, GameState, PlayerSpec
from vw_envs.tabletop.policies import clip_action, static_frame

# ----------------------------------------------------------------------------- acting


class FramePipeline:
    """The observation a run's network sees: resize to ``obs_size``, then a ``VecFrameStack``-style stack
    (zeros at reset, newest frame in the last channels)."""

    def __init__(self, obs_size: int, frame_stack: int):
        self.obs_size, self.frame_stack = obs_size, frame_stack
        self.stack: np.ndarray | None = None

    def reset(self) -> None:
        self.stack = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        x = resize_frame(np.asarray(frame, dtype=np.uint8), self.obs_size)
        c = x.shape[-1]
        if self.stack is None:
            self.stack = np.zeros(x.shape[:-1] + (c * self.frame_stack,), np.uint8)
        self.stack = np.roll(self.stack, -c, axis=-1)
        self.stack[..., -c:] = x
        return self.stack.copy()


class SB3Agent:
    """A trained run that acts on raw env frames (any size): the training preprocessing, then the model.

    Args:
        run: the run folder.
        model: ``model`` (final), ``best_model`` (best evaluation), ``selfplay`` or a checkpoint's stem.
    """

    def __init__(self, run: str | os.PathLike, model: str = "model", deterministic: bool = True, seed: int = 0,
                 lazy: bool = False):
        meta = read_run(run)
        if meta.get("kind") != "sb3":
            raise BaselineError(f"{run}: a {meta.get('kind')} run, not sb3; use {meta.get('kind')}:{run}")
        self.run, self.meta = Path(run), meta
        self.cfg = meta["config"]
        self.algo, self.env_id = self.cfg["algo"], self.cfg["env_id"]
        self.frame_size = int(meta["env_kwargs"]["frame_size"])
        self.pipeline = FramePipeline(int(self.cfg["obs_size"]), int(meta["frame_stack"]))
        self.deterministic = deterministic
        self.rng = np.random.default_rng(seed)
        self.path = self.run / f"{model}.zip"
        self.model, self.mtime = None, None
        if not lazy:  # lazy: the self-play copy, which the trainer writes after the envs exist
            self.load()

    def load(self) -> None:
        """(Re)load the model if its file changed (the self-play opponent follows the trainer this way)."""
        if not self.path.exists():
            found = sorted(p.stem for p in self.run.glob("*.zip"))
            raise BaselineError(f"{self.path}: no such model; this run has: {', '.join(found) or 'none yet'}")
        mtime = self.path.stat().st_mtime_ns
        if mtime != self.mtime:
            self.model = algo_class(self.algo).load(str(self.path), device="cpu")
            self.mtime = mtime

    def reset(self) -> None:
        self.pipeline.reset()

    def act(self, frame: np.ndarray, mask: np.ndarray | None = None, task: str | None = None) -> Any:
        """The action for one raw frame (H, W, 3); with ``mask`` (Go) only legal actions are chosen. ``task`` is
        not read: an SB3 run learns one env's task (the same signature as :meth:`BCAgent.act`)."""
        import torch

        if self.model is None:
            self.load()
        obs = self.pipeline(frame)
        if mask is None:
            action, _ = self.model.predict(obs, deterministic=self.deterministic)
            return action
        mask = np.asarray(mask, dtype=bool)
        if self.algo == "maskable-ppo":
            action, _ = self.model.predict(obs, deterministic=self.deterministic, action_masks=mask)
            return int(action)
        policy = self.model.policy
        obs_t, _ = policy.obs_to_tensor(obs)
        with torch.no_grad():
            if self.algo == "dqn":
                scores = policy.q_net(obs_t)[0].numpy()
            else:
                scores = policy.get_distribution(obs_t).distribution.logits[0].numpy()
        return masked_choice(scores, mask, self.deterministic, self.rng)


def _agent_options(spec: PlayerSpec) -> dict[str, Any]:
    if spec.arg is not None:
        return {"run": spec.arg, "model": "model", "reload": False, "greedy": True}
    spec.check_keys({"run", "model", "reload", "greedy", "seed"})
    if "run" not in spec.params:
        raise BaselineError(f"{spec.text!r}: give the run folder: {spec.kind}:RUN or {spec.kind}:run=RUN,model=...")
    return {"run": spec.params["run"], "model": spec.params.get("model", "model"),
            "reload": spec.get_int("reload", 0, 0, 1) == 1, "greedy": spec.get_int("greedy", 1, 0, 1) == 1,
            "seed": spec.get_int("seed", 0, 0, 2**31 - 1)}


class SB3Player(BasePlayer):
    """A trained SB3 run as a Go player (``sb3:runs/ppo-go9``, or ``sb3:run=DIR,model=best_model,greedy=0``).

    Illegal moves are never played: MaskablePPO gets the legal mask, PPO and DQN take the best legal
    action of their logits / Q-values. ``reload=1`` reloads the model file when it changes (self-play).
    """

    def __init__(self, run: str, model: str = "model", reload: bool = False, greedy: bool = True, seed: int = 0):
        self.agent = SB3Agent(run, model, deterministic=greedy, seed=seed, lazy=reload)
        if not self.agent.env_id.startswith(GO_PREFIX):
            raise BaselineError(f"{run}: trained on {self.agent.env_id}; as a Go player use a VideoGo run")
        self.reload = reload
        self.name = f"sb3:{run}" if model == "model" else f"sb3:{run}({model})"
        self.render_config = RenderConfig(self.agent.frame_size)

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> SB3Player:
        return cls(**_agent_options(spec))

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        super().reset(board_size, komi, color, seed=seed)
        if self.reload:
            self.agent.load()
        self.agent.reset()

    def genmove(self, state: GameState) -> int:
        return int(self.agent.act(state.frame, state.legal_mask))


class SB3Policy:
    """A trained SB3 run as a tabletop policy (``sb3:runs/ppo-drawer``): frames in, 7-D action out."""

    def __init__(self, run: str, model: str = "model", greedy: bool = True, seed: int = 0, **_: Any):
        self.agent = SB3Agent(run, model, deterministic=greedy, seed=seed)
        if not self.agent.env_id.startswith(TABLETOP_PREFIX):
            raise BaselineError(f"{run}: trained on {self.agent.env_id}; as a tabletop policy use a tabletop run")
        self.name = f"sb3:{run}"

    @classmethod
    def from_spec(cls, spec: PlayerSpec, env: Any = None) -> SB3Policy:
        return cls(**_agent_options(spec))

    def reset(self, seed: int | None = None) -> None:
        self.agent.reset()

    def act(self, obs: Any, info: dict) -> np.ndarray:
        frame = static_frame(obs)
        return clip_action(self.agent.act(frame))

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------- evaluation


def evaluate_run(run: str | os.PathLike, episodes: int, *, opponent: str | None = None, seed: int = 0,
                 model: str = "model", score_move_cap: bool | None = None,
                 on_episode: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Play ``episodes`` episodes of the run's env with its agent (SB3 or BC), deterministic; Go games
    against ``opponent`` (default: the run's evaluation opponent). Writes and returns ``eval.json``:
    mean ± std reward, and the win (Go) or success (tabletop) rate.

    ``score_move_cap`` (Go): whether a game cut at the move cap counts as won by area count; None: as the
    run was trained (BC runs have no training env: not scored). Set it to compare BC with the RL runs
    against ``random``, which never passes, so nearly all its games are cut."""
    meta = read_run(run)
    if meta.get("kind") == "bc":
        from vw_agent.baselines.bc import BCAgent  # lazy: imports torch

        agent: Any = BCAgent(run)
    else:
        agent = SB3Agent(run, model)
    env_id = agent.env_id
    kwargs = dict(meta.get("eval_env_kwargs", {"frame_size": agent.frame_size}))
    go = env_id.startswith(GO_PREFIX)
    if go:
        kwargs["opponent"] = opponent or kwargs.get("opponent", "random")
        kwargs.setdefault("agent_color", "black")
    score_cap = bool(meta.get("hyperparams", {}).get("score_move_cap", False)) if score_move_cap is None \
        else score_move_cap
    env = GoOutcome(gym.make(env_id, **kwargs), score_cap) if go else gym.make(env_id, **kwargs)
    rewards, lengths, wins, capped = [], [], [], 0
    try:
        for ep in range(episodes):
            agent.reset()
            obs, info = env.reset(seed=seed + ep)
            total, steps, done = 0.0, 0, False
            while not done:
                frame = static_frame(obs)
                action = agent.act(frame, info["action_mask"] if go else None, task=info.get("task"))
                if not go:
                    action = clip_action(action)
                obs, reward, terminated, truncated, info = env.step(action)
                total, steps, done = total + float(reward), steps + 1, terminated or truncated
            rewards.append(total)
            lengths.append(steps)
            # Go: a game cut at the move cap is won by area count only for runs trained that way (GoOutcome).
            capped += go and info.get("reason") == "move_cap"
            wins.append(bool(info.get("is_success", False)))
            if on_episode is not None:
                on_episode(ep, total)
    finally:
        env.close()
    result = {"run": str(run), "env_id": env_id, "episodes": episodes, "seed": seed,
              "mean_reward": float(np.mean(rewards)), "std_reward": float(np.std(rewards)),
              "mean_length": float(np.mean(lengths)),
              ("win_rate" if go else "success_rate"): float(np.mean(wins))}
    if go:
        result.update(opponent=kwargs["opponent"], move_cap_games=capped, move_cap_scored=score_cap)
    write_text_atomic(Path(run) / "eval.json", json.dumps(result, indent=1))
    return result
