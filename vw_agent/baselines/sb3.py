"""SB3 baselines from pixels: PPO, DQN, MaskablePPO (sb3-contrib) and SAC, through SB3's public API only.

Train::

    vw-agent baseline train --algo maskable-ppo --env VideoGo-9x9-v0 --opponent gnugo:level=1 \\
        --timesteps 200000 --out runs/ppo-go9

then use the run folder anywhere a player or policy spec goes: ``sb3:runs/ppo-go9`` (Go: illegal moves
are masked) or ``vw-agent baseline eval --run runs/ppo-go9 --episodes 50``.

Observations are ``frame_size`` frames (rendered by the env at ``obs_size`` unless told otherwise, else
shrunk by Gymnasium's ``ResizeObservation``), stacked ``frame_stack`` deep by ``VecFrameStack``. A trained
run acts through :mod:`vw_agent.baselines.sb3_agent` (the same preprocessing, the ``sb3:`` player and
policy, evaluation).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import vw_envs
from vw_agent.baselines import RL_ALGOS, BaselineError
from vw_agent.baselines.common import GO_PREFIX, MAX_OBS_SIZE, peak_rss_mib
from vw_envs.fileio import write_text_atomic
from vw_envs.go.rules import COLOR_NAMES
from vw_envs.players import make_player

_SETUP_KEYS = ("policy", "n_envs", "frame_stack", "n_timesteps", "env_kwargs", "score_move_cap")

# ----------------------------------------------------------------------------- hyperparameters


def load_hyperparams(algo: str) -> dict[str, dict[str, Any]]:
    """The algorithm's YAML (``hyperparams/<algo>.yml``): {env id: settings}."""
    import yaml

    if algo not in RL_ALGOS:
        raise BaselineError(f"unknown algorithm {algo!r}; valid: {', '.join(RL_ALGOS + ('bc',))}")
    text = resources.files("vw_agent.baselines").joinpath("hyperparams", f"{algo}.yml").read_text()
    return yaml.safe_load(text)


def _family(env_id: str) -> str:
    return "go" if env_id.startswith(GO_PREFIX) else "tabletop"


def hyperparams_for(algo: str, env_id: str) -> dict[str, Any]:
    """The settings of ``algo`` on ``env_id``; a one-line error listing valid envs or algorithms otherwise."""
    table = load_hyperparams(algo)
    if env_id in table:
        return dict(table[env_id])
    if env_id not in vw_envs.ENV_IDS:
        raise BaselineError(f"unknown env {env_id!r}; valid: {', '.join(vw_envs.ENV_IDS)}")
    fits = [a for a in RL_ALGOS if env_id in load_hyperparams(a)]
    why = {"sac": "sac needs continuous (Box) actions, and Go's are Discrete",
           "dqn": "dqn needs Discrete actions, and tabletop's are a 7-D Box",
           "maskable-ppo": "maskable-ppo needs action masks, which only the Go envs have"}.get(algo, "")
    raise BaselineError(f"{why or f'{algo} has no settings for {env_id}'}; algorithms for {env_id}: "
                        f"{', '.join(fits)}")


def _schedule(value: Any) -> Any:
    """RL Zoo's ``lin_2.5e-4``: a linear decay from the value to 0 over training."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])
        return lambda progress_remaining: progress_remaining * start
    return value


def algo_class(algo: str) -> Any:
    if algo == "maskable-ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3 as sb3

    return {"ppo": sb3.PPO, "dqn": sb3.DQN, "sac": sb3.SAC}[algo]


# ----------------------------------------------------------------------------- envs


def resize_frame(frame: np.ndarray, size: int) -> np.ndarray:
    """Exactly ``ResizeObservation``'s transform (cv2 INTER_AREA); a no-op when already ``size``."""
    if frame.shape[0] == size and frame.shape[1] == size:
        return frame
    try:
        import cv2
    except ImportError:
        h, w = frame.shape[:2]
        if h % size or w % size:
            raise BaselineError(f"resizing {h}x{w} frames to {size}x{size} needs OpenCV (pip install "
                                f"opencv-python-headless), or a frame size that is a multiple of {size}") from None
        # INTER_AREA at an integer factor is the block mean, which needs no OpenCV.
        blocks = frame.reshape(size, h // size, size, w // size, -1).astype(np.float32)
        return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)
    return cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)


class GoOutcome(gym.Wrapper):
    """Adds ``is_success`` (the agent won) to a finished Go game's info, so Monitor/EvalCallback report
    a win rate the way they report tabletop success.

    With ``score_move_cap`` a game cut by the env's move cap (2*N*N moves) also pays +-1 by its area
    count (the env's own ``info["winner"]``; it pays 0 there). Without it, games against ``random``,
    which never passes while it has a legal move, nearly all end at the cap and the agent sees no reward.
    """

    def __init__(self, env, score_move_cap: bool = False):
        super().__init__(env)
        self.score_move_cap = score_move_cap

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            won = info.get("winner") == COLOR_NAMES[self.env.unwrapped.agent_color]
            capped = truncated and info.get("reason") == "move_cap"
            if capped and self.score_move_cap and info.get("winner"):
                reward = 1.0 if won else -1.0
            info["is_success"] = bool(won and (not capped or self.score_move_cap))
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        return self.env.unwrapped.action_masks()


def make_env(env_id: str, env_kwargs: dict[str, Any], obs_size: int, score_move_cap: bool = False) -> Any:
    """One env of a baseline run: the registered id, ``ResizeObservation`` if the env renders larger
    than ``obs_size``, and (Go) the win as ``is_success``. Module level, so SubprocVecEnv can pickle it."""
    if str(env_kwargs.get("opponent", "")).startswith(("sb3:", "bc:")):
        import torch

        torch.set_num_threads(1)  # a network opponent in a worker process (see SB3Config.torch_threads)
    env = gym.make(env_id, **env_kwargs)
    if env.observation_space.shape[0] != obs_size:
        from gymnasium.wrappers import ResizeObservation

        try:
            env = ResizeObservation(env, (obs_size, obs_size))
        except gym.error.DependencyNotInstalled:
            raise BaselineError("ResizeObservation needs OpenCV (pip install opencv-python-headless); or leave "
                                "frame_size equal to obs_size") from None
    if env_id.startswith(GO_PREFIX):
        env = GoOutcome(env, score_move_cap)
    return env


def make_vec(cfg: SB3Config, env_kwargs: dict[str, Any], n_envs: int, frame_stack: int, seed: int,
             subproc: bool, score_move_cap: bool = False) -> Any:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecFrameStack, VecTransposeImage

    vec_cls = SubprocVecEnv if subproc and n_envs > 1 else DummyVecEnv
    venv = make_vec_env(make_env, n_envs=n_envs, seed=seed, vec_env_cls=vec_cls,
                        env_kwargs={"env_id": cfg.env_id, "env_kwargs": env_kwargs, "obs_size": cfg.obs_size,
                                    "score_move_cap": score_move_cap},
                        monitor_kwargs={"info_keywords": ("is_success",)})
    if frame_stack > 1:
        venv = VecFrameStack(venv, frame_stack)
    return VecTransposeImage(venv)  # what SB3 would add itself; explicit so train and eval envs match


# ----------------------------------------------------------------------------- training


@dataclass
class SB3Config:
    """One SB3 baseline run; saved as ``config.json`` in the run folder."""

    algo: str
    env_id: str
    out: str
    timesteps: int | None = None  # None: the YAML's n_timesteps
    seed: int = 0
    opponent: str = "random"  # Go: the training opponent's player spec (and always the eval opponent)
    self_play: bool = False  # Go: train against a frozen copy of this run, refreshed every selfplay_every
    selfplay_every: int = 10_000  # env steps between refreshes of the frozen copy
    n_envs: int | None = None  # None: the YAML's n_envs
    obs_size: int = 64  # side of the frames the network sees (84 at most)
    frame_size: int | None = None  # side the env renders at; None: obs_size (no resize needed)
    eval_freq: int = 10_000  # env steps between evaluations (0: none)
    eval_episodes: int = 10
    checkpoint_freq: int = 50_000  # env steps between checkpoints (0: none)
    # Wall-clock budget of the whole run (env set-up included); training stops at the first step past it
    # and saves as usual. Linear schedules still decay over ``timesteps``, so pick both together.
    max_minutes: float | None = None
    subproc: bool = True  # SubprocVecEnv when n_envs > 1 (False: DummyVecEnv, for tests)
    progress: bool = True
    verbose: int = 0
    # Torch intra-op threads. 1: on this loaded 2-core machine, 2 threads made one policy forward pass
    # ~50x slower (21 vs 1,100 acts/s measured); SubprocVecEnv workers use the other core.
    torch_threads: int = 1
    hyperparams: dict[str, Any] = field(default_factory=dict)  # overrides of the YAML (e.g. n_steps)

    def __post_init__(self) -> None:
        if self.algo not in RL_ALGOS:
            raise BaselineError(f"unknown algorithm {self.algo!r}; valid: {', '.join(RL_ALGOS + ('bc',))}")
        if not 36 <= self.obs_size <= MAX_OBS_SIZE:
            raise BaselineError(f"obs_size must be in 36..{MAX_OBS_SIZE} (SB3's CnnPolicy needs >= 36), "
                                f"got {self.obs_size}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise BaselineError(f"max_minutes must be > 0, got {self.max_minutes}")
        if self.self_play and not self.env_id.startswith(GO_PREFIX):
            raise BaselineError(f"--self-play is for the Go envs, not {self.env_id}")


def resolve(cfg: SB3Config) -> dict[str, Any]:
    """The YAML settings plus overrides, with env kwargs and the frozen self-play opponent filled in."""
    base = hyperparams_for(cfg.algo, cfg.env_id)
    hp = {**base, **cfg.hyperparams}
    hp["env_kwargs"] = {**base.get("env_kwargs", {}), **cfg.hyperparams.get("env_kwargs", {})}  # merged, not replaced
    frame = cfg.frame_size or cfg.obs_size
    env_kwargs = {**hp.get("env_kwargs", {}), "frame_size": frame}
    eval_kwargs = dict(env_kwargs)
    if cfg.env_id.startswith(GO_PREFIX):
        make_player(cfg.opponent).close()  # a bad spec fails now, in one line, not inside a subprocess
        eval_kwargs.update(opponent=cfg.opponent, agent_color="black")
        if cfg.self_play:
            run = Path(cfg.out).resolve()
            env_kwargs.update(opponent=f"sb3:run={run},model=selfplay,reload=1", agent_color="random")
        else:
            env_kwargs.update(opponent=cfg.opponent, agent_color="black")
    return {"hyperparams": hp, "env_kwargs": env_kwargs, "eval_env_kwargs": eval_kwargs,
            "n_envs": int(cfg.n_envs or hp.get("n_envs", 1)), "frame_stack": int(hp.get("frame_stack", 1)),
            "timesteps": int(cfg.timesteps or hp.get("n_timesteps", 100_000))}


def _callbacks(cfg: SB3Config, run: Path, eval_env: Any, n_envs: int, total: int,
               deadline: float | None = None) -> list[Any]:
    from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback, EvalCallback

    class TimeBudget(BaseCallback):
        """Stops training (returns False) at the first step past ``deadline`` (``time.time()`` seconds)."""

        def __init__(self) -> None:
            super().__init__()
            self.stopped = False

        def _on_step(self) -> bool:
            self.stopped = time.time() >= deadline
            return not self.stopped

    class Progress(BaseCallback):
        """tqdm over env steps (SB3's own bar needs `rich`, which we do not ship)."""

        def _on_training_start(self) -> None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="step", desc=f"{cfg.algo} {cfg.env_id}")

        def _on_step(self) -> bool:
            self.bar.update(self.model.num_timesteps - self.bar.n)
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    class SelfPlay(BaseCallback):
        """Refreshes the frozen copy the self-play opponents load (atomically: they may read it any time)."""

        def _on_step(self) -> bool:
            if self.n_calls % max(cfg.selfplay_every // n_envs, 1) == 0:
                save_atomic(self.model, run / "selfplay.zip")
            return True

    cbs: list[Any] = []
    if cfg.eval_freq > 0:
        freq = max(cfg.eval_freq // n_envs, 1)
        kwargs = dict(n_eval_episodes=cfg.eval_episodes, eval_freq=freq, log_path=str(run),
                      best_model_save_path=str(run), deterministic=True, verbose=cfg.verbose)
        if cfg.algo == "maskable-ppo":
            from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback

            cbs.append(MaskableEvalCallback(eval_env, **kwargs))
        else:
            cbs.append(EvalCallback(eval_env, **kwargs))
    if cfg.checkpoint_freq > 0:
        cbs.append(CheckpointCallback(max(cfg.checkpoint_freq // n_envs, 1), str(run / "checkpoints"), "model"))
    if cfg.self_play:
        cbs.append(SelfPlay())
    if cfg.progress:
        cbs.append(Progress())
    if deadline is not None:
        cbs.append(TimeBudget())
    return cbs


def save_atomic(model: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.zip")
    model.save(str(tmp))
    os.replace(tmp, path)


def train(cfg: SB3Config) -> dict[str, Any]:
    """Train one baseline into ``cfg.out``; returns (and writes) ``summary.json``."""
    return train_model(cfg)[1]


def train_model(cfg: SB3Config) -> tuple[Any, dict[str, Any]]:
    """:func:`train`, also returning the trained SB3 model (as it is in memory, before any reload)."""
    import torch

    t0 = time.time()
    r = resolve(cfg)
    hp, n_envs = r["hyperparams"], r["n_envs"]
    run = Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run / "config.json", json.dumps({"kind": "sb3", "config": asdict(cfg), **r}, indent=1))
    torch.set_num_threads(cfg.torch_threads)

    score_cap = bool(hp.get("score_move_cap", False))
    venv = make_vec(cfg, r["env_kwargs"], n_envs, r["frame_stack"], cfg.seed, cfg.subproc, score_cap)
    eval_env = make_vec(cfg, r["eval_env_kwargs"], 1, r["frame_stack"], cfg.seed + 10_000, False, score_cap)
    kwargs = {k: _schedule(v) for k, v in hp.items() if k not in _SETUP_KEYS}
    model = algo_class(cfg.algo)(hp.get("policy", "CnnPolicy"), venv, seed=cfg.seed, verbose=cfg.verbose,
                                 tensorboard_log=str(run / "tb"), device="cpu", **kwargs)
    if cfg.self_play:
        save_atomic(model, run / "selfplay.zip")  # the frozen copy starts as the untrained policy
    deadline = None if cfg.max_minutes is None else t0 + 60 * cfg.max_minutes
    callbacks = _callbacks(cfg, run, eval_env, n_envs, r["timesteps"], deadline)
    try:
        model.learn(r["timesteps"], callback=callbacks, tb_log_name=cfg.algo)
        model.save(str(run / "model.zip"))
    finally:
        venv.close()
        eval_env.close()
    summary: dict[str, Any] = {"algo": cfg.algo, "env_id": cfg.env_id, "timesteps": int(model.num_timesteps),
                               "seconds": round(time.time() - t0, 1), "peak_rss_mib": peak_rss_mib(),
                               "stopped_by_time": any(getattr(cb, "stopped", False) for cb in callbacks)}
    if (run / "evaluations.npz").exists():
        ev = np.load(run / "evaluations.npz")
        last = ev["results"][-1]
        summary["last_eval"] = {"timesteps": int(ev["timesteps"][-1]), "mean_reward": float(np.mean(last)),
                                "std_reward": float(np.std(last))}
        if "successes" in ev.files and len(ev["successes"]):
            summary["last_eval"]["success_rate"] = float(np.mean(ev["successes"][-1]))
    write_text_atomic(run / "summary.json", json.dumps(summary, indent=1))
    return model, summary
