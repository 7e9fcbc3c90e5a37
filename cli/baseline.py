"""``vw-agent baseline``: train SB3 / behaviour-cloning baselines and evaluate their run folders.

Only click is imported here; each command imports its machinery when it runs.
"""

from __future__ import annotations

import json

import click

_ALGOS = ("ppo", "dqn", "maskable-ppo", "sac", "bc")  # = vw_agent.baselines.ALGOS (kept import-free)


@click.group()
def baseline() -> None:
    """SB3 RL baselines from pixels (PPO, DQN, MaskablePPO, SAC) and behaviour cloning (BC)."""


@baseline.command()
@click.option("--algo", required=True, help=f"One of: {', '.join(_ALGOS)}.")
@click.option("--env", "env_id", default=None, help="Env id (RL algorithms), e.g. VideoGo-9x9-v0.")
@click.option("--data", default=None, type=click.Path(file_okay=False), help="BC: a recorded dataset.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--timesteps", default=None, type=int, help="Env steps [default: the YAML's n_timesteps].")
@click.option("--opponent", default="random", show_default=True, help="Go: the opponent's player spec.")
@click.option("--self-play", is_flag=True, help="Go: train against a frozen copy of itself (refreshed).")
@click.option("--selfplay-every", default=10_000, show_default=True, help="Go self-play: steps between refreshes.")
@click.option("--n-envs", default=None, type=int, help="Parallel envs [default: the YAML's n_envs].")
@click.option("--eval-freq", default=10_000, show_default=True, help="Env steps between evaluations (0: none).")
@click.option("--eval-episodes", default=10, show_default=True, help="Episodes per periodic evaluation.")
@click.option("--checkpoint-freq", default=50_000, show_default=True, help="Env steps between checkpoints.")
@click.option("--obs-size", default=64, show_default=True, help="Side of the frames the network sees (<= 84).")
@click.option("--dummy-vec", is_flag=True, help="DummyVecEnv instead of SubprocVecEnv (one process).")
@click.option("--hp", "overrides", multiple=True, help="Override a YAML hyperparameter: --hp n_steps=64.")
@click.option("--epochs", default=10, show_default=True, help="BC: passes over the train split.")
@click.option("--batch-size", default=64, show_default=True, help="BC: batch size.")
@click.option("--lr", default=3e-4, show_default=True, help="BC: Adam learning rate.")
@click.option("--max-minutes", default=None, type=float,
              help="Wall-clock budget (RL and BC: stop at the first step past it).")
@click.option("--label-run", type=click.Path(exists=True, file_okay=False), default=None,
              help="BC on Go: train on the moves this VideoWorld run's IDM reads off the video (VPT), not the "
                   "recorded ones.")
@click.option("--seed", default=0, show_default=True, help="Seed.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(algo, env_id, data, out, timesteps, opponent, self_play, selfplay_every, n_envs, eval_freq, eval_episodes,
          checkpoint_freq, obs_size, dummy_vec, overrides, epochs, batch_size, lr, max_minutes, label_run, seed,
          quiet) -> None:
    """Train one baseline into --out (config.json, model, TensorBoard logs, summary.json with peak RSS).

    \b
    vw-agent baseline train --algo maskable-ppo --env VideoGo-9x9-v0 --opponent gnugo:level=1 \\
        --timesteps 200000 --out runs/ppo-go9
    vw-agent baseline train --algo ppo --env VideoTabletop-OpenDrawer-v0 --timesteps 200000 --out runs/ppo-drawer
    vw-agent baseline train --algo bc --data data/go9-gnugo --out runs/bc-go9
    """
    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.baselines import BaselineError

    if algo not in _ALGOS:
        raise BaselineError(f"unknown algorithm {algo!r}; valid: {', '.join(_ALGOS)}")
    if label_run and algo != "bc":
        raise BaselineError("--label-run applies to --algo bc")
    if algo == "bc":
        if data is None:
            raise BaselineError("--algo bc needs --data DIR (a recorded dataset: vw-agent record)")
        # lazy: imports torch
        from vw_agent.baselines.bc import BCConfig, train_bc

        summary = train_bc(BCConfig(data=data, out=out, epochs=epochs, batch_size=batch_size, lr=lr,
                                    obs_size=obs_size, seed=seed, max_minutes=max_minutes, label_run=label_run,
                                    progress=not quiet))
    else:
        if env_id is None:
            # lazy: command modules import only click, so vw-agent --help stays fast
            import vw_envs

            raise BaselineError(f"--algo {algo} needs --env; valid: {', '.join(vw_envs.ENV_IDS)}")
        # lazy: command modules import only click, so vw-agent --help stays fast
        from vw_agent.baselines.sb3 import SB3Config
        from vw_agent.baselines.sb3 import train as train_sb3

        hp = {}
        for text in overrides:
            key, sep, value = text.partition("=")
            if not sep or not key:
                raise BaselineError(f"--hp {text!r}: write key=value, e.g. --hp n_steps=64")
            import yaml

            hp[key.strip()] = yaml.safe_load(value)
        summary = train_sb3(SB3Config(
            algo=algo, env_id=env_id, out=out, timesteps=timesteps, seed=seed, opponent=opponent,
            self_play=self_play, selfplay_every=selfplay_every, n_envs=n_envs, obs_size=obs_size,
            eval_freq=eval_freq, eval_episodes=eval_episodes, checkpoint_freq=checkpoint_freq,
            max_minutes=max_minutes, subproc=not dummy_vec, progress=not quiet, hyperparams=hp))
    click.echo(json.dumps({k: v for k, v in summary.items() if k != "history"}))


@baseline.command("eval")
@click.option("--run", "run", required=True, type=click.Path(file_okay=False, exists=True), help="Run folder.")
@click.option("--episodes", default=50, show_default=True, help="Episodes (Go: games).")
@click.option("--opponent", default=None, help="Go: opponent spec [default: the run's training opponent].")
@click.option("--model", default="model", show_default=True, help="SB3: model, best_model or a checkpoint stem.")
@click.option("--seed", default=0, show_default=True, help="Seed of the first episode (then +1 each).")
@click.option("--score-move-cap/--no-score-move-cap", default=None,
              help="Go: count games cut at the move cap as won by area count [default: as the run trained; "
                   "BC: no].")
def eval_(run, episodes, opponent, model, seed, score_move_cap) -> None:
    """Play --episodes deterministic episodes; print and save eval.json (mean ± std, win/success rate)."""
    import torch

    # lazy: command modules import only click, so vw-agent --help stays fast
    from vw_agent.baselines.sb3_agent import evaluate_run

    torch.set_num_threads(1)  # one policy forward per move: extra threads only contend (see SB3Config)
    res = evaluate_run(run, episodes, opponent=opponent, seed=seed, model=model, score_move_cap=score_move_cap)
    rate = "win_rate" if "win_rate" in res else "success_rate"
    click.echo(f"{res['env_id']}: reward {res['mean_reward']:.3f} ± {res['std_reward']:.3f}, "
               f"{rate.replace('_', ' ')} {res[rate]:.3f} over {episodes} episodes"
               + (f" against {res['opponent']} ({res['move_cap_games']} cut at the move cap, "
                  f"{'scored' if res['move_cap_scored'] else 'not counted as wins'})" if "opponent" in res else ""))
