"""``vw-agent train``: train the VideoWorld agent's stages (tokenizer, ldm, transformer, idm, or all) on a dataset.

Only click is imported at module level, so ``vw-agent --help`` stays fast.
"""

from __future__ import annotations

import click

from vw_cli.types import FiniteFloat

STAGES = ("tokenizer", "ldm", "transformer", "idm")  # vw_agent.checkpoint.STAGES, here to keep torch out of --help


@click.command()
@click.argument("stage", type=click.Choice((*STAGES, "all")))
@click.option("--data", required=True, type=click.Path(file_okay=False), help="Dataset directory (vw-agent record).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder: checkpoints, metrics.")
@click.option("--preset", default="go9-cpu", show_default=True, help="Network sizes and budgets: tiny, go9-cpu, ...")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Optimiser steps of each stage [default: the preset's].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Windows per step [default: the preset's].")
@click.option("--lr", type=FiniteFloat(0.0, lo_open=True), default=None,
              help="AdamW learning rate [default: the preset's].")
@click.option("--seed", type=int, default=0, show_default=True, help="Model init and batch order.")
@click.option("--resume", is_flag=True, help="Continue from the stage's checkpoint in --out.")
@click.option("--ckpt-every", type=int, default=200, show_default=True, help="Steps between checkpoints.")
@click.option("--keep-every", type=click.IntRange(min=0), default=0, show_default=True,
              help="Steps between kept snapshots <stage>-step<N>.pt, for a learning curve (0: none).")
@click.option("--label-fraction", type=FiniteFloat(0.0, 1.0, lo_open=True), default=0.1, show_default=True,
              help="idm: the seeded share of episodes whose actions may be read.")
@click.option("--label-seed", type=int, default=0, show_default=True, help="idm: seed of that share.")
@click.option("--decoder-only", is_flag=True,
              help="ldm: train on only the decoder of --out's ldm.pt; the encoder, and so every code and the "
                   "transformer's data, stay the same (--steps: the fine-tune's budget).")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def train(stage, data, out, preset, steps, batch_size, lr, seed, resume, ckpt_every, keep_every, label_fraction,
          label_seed, decoder_only, quiet):
    """Train one stage, or all in order; later stages read the earlier stages' checkpoints in --out.

    \b
    vw-agent train tokenizer   --data data/go9 --out runs/go9 --preset go9-cpu
    vw-agent train ldm         --data data/go9 --out runs/go9 --preset go9-cpu
    vw-agent train transformer --data data/go9 --out runs/go9 --preset go9-cpu
    vw-agent train idm         --data data/go9 --out runs/go9 --preset go9-cpu --label-fraction 0.1
    vw-agent train all         --data data/go9 --out runs/go9 --preset go9-cpu
    torchrun --standalone --nproc_per_node=2 --no-python vw-agent train all --data data/go9 --out runs/go9
    """
    import json

    # lazy: imports torch
    from vw_agent.train import TrainConfig, train_stage

    if decoder_only and stage != "ldm":
        raise click.BadParameter(f"applies to the ldm stage, not {stage!r}", param_hint="--decoder-only")
    for name in STAGES if stage == "all" else (stage,):
        cfg = TrainConfig(stage=name, data=data, out=out, preset=preset, steps=steps, batch_size=batch_size, lr=lr,
                          seed=seed, resume=resume, ckpt_every=ckpt_every, keep_every=keep_every,
                          label_fraction=label_fraction,
                          label_seed=label_seed, decoder_only=decoder_only)
        metrics = train_stage(cfg, progress=not quiet)
        if metrics:  # under torchrun only the first process reports
            click.echo(json.dumps({"stage": name, **metrics}))
