"""The VideoWorld agent's speed: training throughput per stage, and its move latency against GNU Go level 10's.

Run: ``.venv/bin/python benchmarks/bench_agent.py [--run assets/checkpoints/go9] [--data data/go9]``
(nothing else should be using the CPU). Without ``--data`` the training throughput is skipped.

* Training: ``--train-steps`` timed optimiser steps per stage (after one warm-up step) of the run's preset on
  the dataset, on 1 thread and on 2: frames/s (tokenizer, LDM, IDM) and tokens/s (transformer).
* Acting: the median time of the agent's ``genmove`` over ``--moves`` moves of games against ``random``
  (the frame render included, as in play), on 1 thread and on 2; in the same run GNU Go level 10's median
  time per move over games against ``random``, and the ratio. Target: at most 150 ms a move on one core (issue 16).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from vw_agent.agent import VideoWorldPlayer, run_defaults, shipped_run
from vw_envs.go.env import VideoGoEnv
from vw_envs.players import make_player


def move_times(player, moves: int, seed: int = 0) -> tuple[list[float], int]:
    """Seconds per ``genmove`` of ``player`` (black) over games against random, ``moves`` moves in all, and how
    many of its first draws were illegal (the agent's counter restarts each game, so it is summed here)."""
    times: list[float] = []
    game = illegal = 0
    while len(times) < moves:
        env = VideoGoEnv(board_size=9, opponent="none", max_moves=120)
        opponent = make_player("random")
        _obs, info = env.reset(seed=seed + game)
        player.reset(9, env.komi, "black", seed=seed + game)
        opponent.reset(9, env.komi, "white", seed=seed + game)
        done = False
        while not done and len(times) < moves:
            side = player if info["to_play"] == "black" else opponent
            t0 = time.perf_counter()
            move = side.genmove(env.state_for(side))
            if side is player:
                times.append(time.perf_counter() - t0)
            if not info["action_mask"][move]:
                break
            _obs, _r, term, trunc, info = env.step(move)
            done = term or trunc
            for p in (player, opponent):
                p.observe(move, "black" if side is player else "white")
        env.close()
        game += 1
        illegal += getattr(player, "first_sample_illegal", 0)
    return times, illegal


def train_throughput(run: str, data: str, steps: int) -> dict[str, float]:
    """Items per second of each stage's training step (the unit the progress bar shows)."""
    from vw_agent.checkpoint import STAGES, build_model, checkpoint_path, load_checkpoint, load_frozen
    from vw_agent.data.tokens import TokenCache, cache_frame_tokens, cache_sequences
    from vw_agent.presets import get_preset
    from vw_agent.train import StageLoss, TrainConfig, _batch, _dataset, _throughput_unit

    preset_name = load_checkpoint(checkpoint_path(run, "idm"), stage="idm")["preset"]
    preset = get_preset(preset_name)
    tok, ldm = load_frozen(run, "tokenizer"), load_frozen(run, "ldm")
    out = {}
    for stage in STAGES:
        cfg = TrainConfig(stage=stage, data=data, out=run, preset=preset_name, label_fraction=1.0)
        tokens = cache_sequences(tok, ldm, data) if stage == "transformer" else None
        if stage == "ldm" and preset.ldm.space == "tokens":  # it trains on the frames' ids, as in train_stage
            tokens = cache_frame_tokens(tok, data)
        # the IDM reads the LDM's codes from the token cache, as in training
        codes = TokenCache(data, cache_sequences(tok, ldm, data)) if stage == "idm" else None
        ds = _dataset(cfg, preset, "train", tokens)
        model = build_model(stage, preset).train()
        loss_fn = StageLoss(stage, model, ldm if stage == "idm" else None, preset.idm.codes_per_step)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        bs = preset.train[stage].batch_size
        unit, per_item = _throughput_unit(stage, preset)
        g = torch.Generator().manual_seed(0)
        elapsed = 0.0
        for step in range(steps + 1):
            batch = _batch(ds, torch.randint(0, len(ds), (bs,), generator=g), preset, code_cache=codes)
            t0 = time.perf_counter()
            loss = loss_fn(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step:  # the first step warms up
                elapsed += time.perf_counter() - t0
        out[f"{stage} {unit}/s"] = steps * bs * per_item / elapsed
        out[f"{stage} s/step"] = elapsed / steps
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=str(shipped_run()))
    ap.add_argument("--data", default=None, help="dataset for the training throughput (skipped if absent)")
    ap.add_argument("--moves", type=int, default=50)
    ap.add_argument("--train-steps", type=int, default=5)
    args = ap.parse_args()

    for threads in (1, 2):
        torch.set_num_threads(threads)
        if args.data:
            for k, v in train_throughput(args.run, args.data, args.train_steps).items():
                print(f"train  threads={threads}  {k:28s} {v:10.2f}")
    agent_ms = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        # the agent sets torch's threads while it acts (AgentConfig.threads), so the count goes there; the rest is
        # how a bare spec acts with this run (the shipped go9-point: a vote of 8 draws)
        player = VideoWorldPlayer(args.run, replace(run_defaults(args.run), seed=0, threads=threads))
        t, illegal = move_times(player, args.moves)
        agent_ms[threads] = 1000 * statistics.median(t)
        print(f"act    threads={threads}  videoworld median {agent_ms[threads]:7.1f} ms/move over {len(t)} moves "
              f"(first draw illegal in {illegal}; {player.agent.config.vote} draws a move)")
    gnugo = make_player("gnugo:level=10")
    try:
        gt, _ = move_times(gnugo, args.moves)
    finally:
        gnugo.close()
    gnugo_ms = 1000 * statistics.median(gt)
    print(f"act    gnugo:level=10 median {gnugo_ms:7.1f} ms/move over {len(gt)} moves")
    for threads, ms in agent_ms.items():
        print(f"ratio  videoworld ({threads} thread{'s' if threads > 1 else ''}) / gnugo:level=10 = {ms / gnugo_ms:.3f}"
              f"   target <= 150 ms on 1 thread: {'met' if agent_ms[1] <= 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
