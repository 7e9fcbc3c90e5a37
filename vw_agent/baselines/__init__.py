"""Baselines: SB3 reinforcement learning from pixels (PPO, DQN, MaskablePPO, SAC) and behaviour cloning.

Every run lives in a folder: ``config.json`` (what was run, with the resolved hyperparameters),
``model.zip`` / ``model.pt``, TensorBoard logs, checkpoints and ``summary.json`` (timing, peak RSS, last
evaluation). The folder is all a ``sb3:RUN`` / ``bc:RUN`` player or policy needs.

Nothing heavy is imported here: SB3 and torch load inside the functions that need them.
"""

from vw_envs.errors import VWError

RL_ALGOS: tuple[str, ...] = ("ppo", "dqn", "maskable-ppo", "sac")
ALGOS: tuple[str, ...] = RL_ALGOS + ("bc",)


class BaselineError(VWError, ValueError):
    """A baseline run that cannot be set up or loaded; the message lists the valid choices."""


__all__ = ["ALGOS", "RL_ALGOS", "BaselineError"]
