"""The Go GPT's training step: go9-code (the code alone) against go9-point (code and frame t+1), side by side.

Run: ``.venv/bin/python benchmarks/bench_gpt_step.py [--run runs/go9-code] [--threads 2]`` (nothing else should be
using the CPU). Times ``--steps`` AdamW steps of batch 64 (after one warm-up step) on random token ids, which cost
what real ones do: the anchor is go9-point's step, and the ratios say what go9-code's cut buys.

With ``--run``, the same is timed for that run's trained GPT with subnormal floats kept and flushed to zero: a
trained conv stem's GELUs output values below 1e-38, which x86 CPUs compute far slower (the trainer flushes them;
docs/agent-go.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from vw_agent.checkpoint import checkpoint_path, load_checkpoint, model_from_checkpoint
from vw_agent.presets import get_preset
from vw_agent.transformer import GPT


def step_seconds(model: GPT, steps: int, batch: int = 64, seed: int = 0) -> float:
    """Mean seconds of one AdamW step of ``model`` on a batch of random windows (one warm-up step first)."""
    c = model.config
    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, c.frame_vocab, (batch, c.frames, c.frame_tokens), generator=g)
    codes = torch.randint(0, c.code_vocab, (batch, c.frames - 1, c.codes_per_step), generator=g)
    cond = torch.randint(0, c.cond_vocab, (batch,), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        loss = model.loss_on(frames, codes, cond)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return sum(times[1:]) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=None, help="a trained go9-code run, to time flushing subnormals")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    torch.set_flush_denormal(True)
    anchor = step_seconds(GPT(get_preset("go9-point").gpt), args.steps)
    code = step_seconds(GPT(get_preset("go9-code").gpt), args.steps)
    print(f"{args.threads} threads, batch 64, {args.steps} steps each")
    print(f"go9-point (anchor, code and frame t+1): {anchor:.3f} s/step")
    print(f"go9-code (the code alone):              {code:.3f} s/step  ratio {code / anchor:.2f}")
    if args.run:
        ck = load_checkpoint(checkpoint_path(Path(args.run), "transformer"), stage="transformer")
        trained = model_from_checkpoint("transformer", ck)
        for flush in (False, True):
            torch.set_flush_denormal(flush)
            t = step_seconds(trained, args.steps)
            print(f"{args.run} (step {ck['step']}), subnormals {'flushed' if flush else 'kept':7s}: {t:.3f} s/step  "
                  f"ratio {t / anchor:.2f}")


if __name__ == "__main__":
    main()
