"""Named configurations of the four networks, linked so their vocabularies and shapes agree.

* ``tiny``: for tests; every network trains a step in well under a second on one CPU core.
* ``go9-cpu``: the size meant to train all stages within 45 minutes on a 2-core CPU. NOT YET TIMED end to
  end: its budgets come from a few timed steps per network (see ``_go9_cpu``).
* ``paper-go-50m`` / ``paper-go-300m``: the paper's Go sizes (VideoWorld, arXiv 2501.09781): 256 px frames to
  4x4 tokens with FSQ [8,8,8,5,5,5], the LDM on 128 px frames with H=5, a GPT of 50M / 300M
  non-embedding parameters (12 * n_layer * n_embd^2; the 64,000-id embedding adds 41M / 66M).
* ``paper-calvin``: the paper's robot sizes: H=9 for the LDM, of which the transformer predicts 5 codes per
  step; 2 cameras x 16 tokens per step over 10-frame clips; a 7-D action.

Example:
    >>> p = get_preset("tiny")
    >>> GPT(p.gpt).config.frame_vocab == FrameTokenizer(p.tokenizer).vocab_size
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vw_agent.idm import IDMConfig
from vw_agent.ldm import LDMConfig
from vw_agent.tokenizer import TokenizerConfig
from vw_agent.transformer import GPTConfig
from vw_envs.errors import VWError


class PresetError(VWError, ValueError):
    """An unknown preset name."""


@dataclass
class StageTrain:
    steps: int = 1_000  # optimiser steps
    batch_size: int = 32  # windows per step
    lr: float = 1e-4  # AdamW learning rate (the paper's transformer: 1e-4)


@dataclass
class Preset:
    name: str
    description: str
    tokenizer: TokenizerConfig
    ldm: LDMConfig
    gpt: GPTConfig
    idm: IDMConfig
    # training budgets per stage: "tokenizer", "ldm", "transformer", "idm"
    train: dict[str, StageTrain] = field(default_factory=dict)


def linked(name: str, description: str, tokenizer: TokenizerConfig, ldm: LDMConfig, *, gpt: dict,
           idm: dict, train: dict[str, StageTrain], codes_per_step: int | None = None, cameras: int = 1,
           cond_vocab: int = 2, frames: int = 2) -> Preset:
    """A preset whose GPT and IDM shapes follow from the tokenizer and the LDM.

    ``codes_per_step`` (default: the LDM's H) is how many of the LDM's codes the transformer predicts per
    step (the paper's CALVIN release: 5 of H=9). ``cameras`` frames are tokenised per step.
    """
    s = codes_per_step or ldm.horizon
    if s > ldm.horizon:
        raise ValueError(f"codes_per_step {s} exceeds the LDM's horizon {ldm.horizon}")
    gpt_cfg = GPTConfig(frame_vocab=tokenizer.vocab_size, code_vocab=ldm.vocab_size, cond_vocab=cond_vocab,
                        frame_tokens=cameras * tokenizer.grid ** 2, codes_per_step=s, frames=frames, **gpt)
    idm_cfg = IDMConfig(frame_size=ldm.frame_size, code_vocab=ldm.vocab_size, codes_per_step=s, **idm)
    return Preset(name, description, tokenizer, ldm, gpt_cfg, idm_cfg, train)


def _tiny() -> Preset:
    return linked(
        "tiny", "tests: 64 px Go frames, seconds per stage",
        TokenizerConfig(frame_size=64, channels=(16, 32, 32, 32), levels=(8, 5, 5, 5)),
        LDMConfig(frame_size=64, horizon=2, channels=(16, 32, 32), dim=64, heads=4, query_layers=1,
                  decoder_layers=1),
        gpt=dict(n_layer=2, n_head=2, n_embd=64),
        idm=dict(channels=(16, 32, 32), code_dim=16, hidden=128),
        train={stage: StageTrain(steps=30, batch_size=16, lr=1e-3) for stage in ("tokenizer", "ldm", "transformer",
                                                                                 "idm")},
    )


def _go9_cpu() -> Preset:
    # 64 px frames (frame_to_board still reads them exactly) keep every conv cheap; 4 halvings give the
    # paper's 4x4 = 16 tokens per frame, each covering ~2x2 intersections (3^5 = 243 states < 1,000 ids).
    # H=5 as the paper's Go default. Budget: 3 timed steps per network on one thread of this (loaded) machine
    # gave tokenizer 0.24 s, LDM 0.49 s, transformer 0.16 s, IDM 0.12 s per step: 34 min of steps, plus the
    # token cache and evaluation. `vw-agent train all --preset go9-cpu` is not yet timed end to end, and
    # whether 2,000 LDM steps make its codes matter at H=5 is not yet measured (tiny, H=1: ~1,500 steps).
    return linked(
        "go9-cpu", "9x9 Go on a 2-core CPU, all stages in <= 45 min (not yet timed end to end)",
        TokenizerConfig(frame_size=64, channels=(32, 48, 64, 96), levels=(8, 5, 5, 5)),
        LDMConfig(frame_size=64, horizon=5, channels=(24, 48, 64), dim=96, heads=4, query_layers=2,
                  decoder_layers=2),
        gpt=dict(n_layer=4, n_head=4, n_embd=192),
        idm=dict(channels=(32, 64, 64), code_dim=32, hidden=256),
        train={"tokenizer": StageTrain(steps=2_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=2_000, batch_size=8, lr=1e-3),
               "transformer": StageTrain(steps=3_000, batch_size=32, lr=3e-4),
               "idm": StageTrain(steps=1_000, batch_size=32, lr=1e-3)},
    )


def _paper_go(n_layer: int, n_embd: int, n_head: int, size: str) -> Preset:
    return linked(
        f"paper-go-{size}", f"the paper's Go setting with a {size} transformer (documentation; GPU-sized)",
        TokenizerConfig(frame_size=256, channels=(64, 128, 128, 256, 256, 256), levels=(8, 8, 8, 5, 5, 5)),
        LDMConfig(frame_size=128, horizon=5),
        gpt=dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd),
        idm=dict(),
        train={"tokenizer": StageTrain(steps=100_000, batch_size=64, lr=1e-4),
               "ldm": StageTrain(steps=100_000, batch_size=64, lr=1e-4),
               "transformer": StageTrain(steps=200_000, batch_size=128, lr=1e-4),
               "idm": StageTrain(steps=20_000, batch_size=256, lr=1e-4)},
    )


def _paper_calvin() -> Preset:
    return linked(
        "paper-calvin", "the paper's CALVIN setting: H=9 LDM, 5 codes per step, 2 cameras, 10-frame clips",
        TokenizerConfig(frame_size=256, channels=(64, 128, 128, 256, 256, 256), levels=(8, 8, 8, 5, 5, 5)),
        LDMConfig(frame_size=128, horizon=9),
        gpt=dict(n_layer=24, n_head=16, n_embd=1024),
        idm=dict(discrete=False, action_dim=7),
        codes_per_step=5, cameras=2, cond_vocab=34, frames=10,  # cond: one id per CALVIN task (34 tasks)
        train={"tokenizer": StageTrain(steps=100_000, batch_size=64, lr=1e-4),
               "ldm": StageTrain(steps=100_000, batch_size=64, lr=1e-4),
               "transformer": StageTrain(steps=200_000, batch_size=128, lr=1e-4),
               "idm": StageTrain(steps=20_000, batch_size=256, lr=1e-4)},
    )


PRESETS = {
    "tiny": _tiny,
    "go9-cpu": _go9_cpu,
    "paper-go-50m": lambda: _paper_go(10, 640, 10, "50m"),
    "paper-go-300m": lambda: _paper_go(24, 1024, 16, "300m"),
    "paper-calvin": _paper_calvin,
}


def get_preset(name: str) -> Preset:
    """A fresh copy of preset ``name`` (safe to modify)."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise PresetError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None

