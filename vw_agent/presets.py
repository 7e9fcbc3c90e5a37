"""Named configurations of the four networks, linked so their vocabularies and shapes agree.

* ``tiny``: for tests; every network trains a step in well under a second on one CPU core.
* ``go9-cpu``: 9x9 Go at 80 px; the shipped checkpoint (``assets/checkpoints/go9``). ``train all`` took 76 min
  alone on a 2-core AMD EPYC (AVX2, 2 threads), where the steps run 2.4x slower than on the machine of the
  shipped run (87 min there, sharing the 2 cores with other jobs). Not yet the 45 minutes aimed for.
* ``go9-cpu-tokens``: go9-cpu with the LDM on the tokenizer's ids and a 128-wide GPT: 47.6 min alone on that
  machine and 82 ms a move, but it imagines and plays worse (see ``_go9_cpu_tokens``).
* ``paper-go-50m`` / ``paper-go-300m``: the paper's Go sizes (VideoWorld, arXiv 2501.09781): 256 px frames to
  4x4 tokens with FSQ [8,8,8,5,5,5], the LDM on 128 px frames with H=5, a GPT of 50M / 300M
  non-embedding parameters (12 * n_layer * n_embd^2; the 64,000-id embedding adds 41M / 66M).
* ``tabletop-cpu``: the tabletop (``VideoTabletop-*``, static camera) at 64 px, H=9 with 5 codes per step,
  the task as the condition, a 7-D action; sized for 45 minutes on a 2-core CPU. NOT YET TIMED end to end:
  its budgets come from a few timed steps per network (see ``_tabletop_cpu``).
* ``tiny-tabletop``: for tests on tabletop data; seconds per stage.
* ``paper-calvin``: the paper's robot sizes: H=9 for the LDM, of which the transformer predicts 5 codes per
  step; 2 cameras x 16 tokens per step over 10-frame clips; a 7-D action.

Example:
    >>> p = get_preset("tiny")
    >>> GPT(p.gpt).config.frame_vocab == FrameTokenizer(p.tokenizer).vocab_size
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from vw_agent.idm import IDMConfig
from vw_agent.ldm import LDMConfig
from vw_agent.tokenizer import TokenizerConfig
from vw_agent.transformer import GPTConfig
from vw_envs.errors import VWError
from vw_envs.tabletop.tasks import TASKS  # pure numpy: the task table, no simulator


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
    if ldm.space == "tokens":  # the LDM reads the tokenizer's ids
        ldm = replace(ldm, token_vocab=tokenizer.vocab_size, token_grid=tokenizer.grid)
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
    # 80 px frames, 4 halvings: 5x5 = 25 tokens, each 16 px wide. Stones sit ~8.4 px apart, so a token covers at
    # most 2-3 intersections a side and usually 2x2: 3^4 = 81 (at worst 3^6 = 729) boards per token fit the
    # 1,000 ids. At 64 px the paper's 4x4 grid put up to 3x3 points (19,683 boards) in a token, and the
    # tokenizer read back only 97.2% of held-out intersections after 2,000 steps. The LDM also works on a
    # 5x5 grid (cheap attention) and the IDM on 10x10, fine enough to place one stone. H=5, the paper's Go.
    return linked(
        "go9-cpu", "9x9 Go on a 2-core CPU: 80 px frames, 25 tokens, H=5",
        TokenizerConfig(frame_size=80, channels=(32, 48, 64, 96), levels=(8, 5, 5, 5)),
        LDMConfig(frame_size=80, horizon=5, channels=(24, 48, 64, 64), dim=96, heads=4, query_layers=2,
                  decoder_layers=2),
        gpt=dict(n_layer=4, n_head=4, n_embd=192),
        idm=dict(channels=(32, 64, 64), code_dim=32, hidden=256),
        # The tokenizer reads 100% of held-out boards after 1,600 steps too, but the LDM needs its 2,000: after 900
        # its codes changed nothing (shuffling them cost 0.0000 of changed-pixel error, against 0.038 at 2,000).
        # Nor did these carry anything after 2,000 steps: 6 windows a step, 40 px LDM input, thinner LDM convs
        # (16, 32, 64, 64); nor 1,000 steps whose first 300 gave the decoder unrounded codes. A 44.7-minute run
        # (tokenizer 1,000 steps, a 128-wide GPT for 2,000, IDM 300) read 100% of boards but imagined worse:
        # GPT held-out loss 1.85 (1.62 here), first-sample legal 62% (81.5%), one-step boards 90.4% (95.8%).
        train={"tokenizer": StageTrain(steps=3_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=2_000, batch_size=8, lr=1e-3),
               "transformer": StageTrain(steps=3_000, batch_size=32, lr=3e-4),
               "idm": StageTrain(steps=1_000, batch_size=32, lr=1e-3)},
    )


def _go9_cpu_tokens() -> Preset:
    # go9-cpu with the LDM in the token space (vw_agent.ldm) and a 128-wide GPT: faster to train and to act,
    # but it imagines and plays worse than go9-cpu. Measured alone on the 2-core AMD EPYC (`vw-agent train all`,
    # 2 threads, the 500 KataGo games at 80 px): 47.6 min (tokenizer 22.2, LDM with the frame-token cache 7.1,
    # transformer 11.3, IDM with the agent metrics 6.9); tokenizer 100% of held-out boards; LDM changed ids
    # right 38.8% with the true codes vs 26.8% shuffled; imagination k = 1..4 92.9 / 87.2 / 83.0 / 79.7%
    # (go9-cpu: 95.5 / 91.0 / 87.6 / 84.5), first-sample legal 81% (84.5%); 9 of 20 games won against random
    # (14), 0 of 20 against gnugo:level=1; 82 ms a move on one thread (go9-cpu: 138). At batch 1 a 192-wide
    # GPT's weights (7 MB) fall out of this CPU's cache between tokens; the 128-wide one's (3 MB) stay.
    p = _go9_cpu()
    return linked(
        "go9-cpu-tokens", "9x9 Go on a 2-core CPU, LDM on the tokens, 128-wide GPT: faster, but plays worse",
        p.tokenizer, replace(p.ldm, space="tokens"), gpt=dict(n_layer=4, n_head=4, n_embd=128),
        idm=dict(channels=(32, 64, 64), code_dim=32, hidden=256),
        train={"tokenizer": StageTrain(steps=2_400, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=600, batch_size=64, lr=1e-3),
               "transformer": StageTrain(steps=2_500, batch_size=32, lr=3e-4),
               "idm": StageTrain(steps=800, batch_size=32, lr=1e-3)},
    )


def _tiny_tabletop() -> Preset:
    # H=3 of which 2 codes per step, so the tests take the paper's CALVIN path (fewer codes than H).
    return linked(
        "tiny-tabletop", "tests: 64 px tabletop frames, H=3 (2 codes per step), the task as cond, 7-D actions",
        TokenizerConfig(frame_size=64, channels=(16, 32, 32, 32), levels=(8, 5, 5, 5)),
        LDMConfig(frame_size=64, horizon=3, channels=(16, 32, 32), dim=64, heads=4, query_layers=1,
                  decoder_layers=1),
        gpt=dict(n_layer=2, n_head=2, n_embd=64),
        idm=dict(channels=(16, 32, 32), code_dim=16, hidden=128, discrete=False, action_dim=7),
        codes_per_step=2, cond_vocab=len(TASKS),
        train={stage: StageTrain(steps=30, batch_size=16, lr=1e-3) for stage in ("tokenizer", "ldm", "transformer",
                                                                                 "idm")},
    )


def _tabletop_cpu() -> Preset:
    # 64 px, measured on expert episodes recorded at 64 and 80 px: a block covers ~6 px at 64 (9-10 at 80, 20
    # at 128) and the arm changes 50-110 px per step at 64 (75-170 at 80), so every object and every step's
    # motion is visible at 64, while 80 px costs 1.56x per conv and gives either 25 tokens of 16 px (a block
    # is a speck in a token) or 100 tokens (a GPT sequence of 206, not 134). 3 halvings: 8x8 = 64 tokens of
    # 8 px; the scene is flat-shaded primitives, so 1,000 ids a patch. H=9 and 5 codes per step, as the
    # paper's CALVIN release: episodes last 26-56 steps, so the 10-frame windows fit. cond: the task id
    # (its index in sorted(TASKS)). The LDM works on a 4x4 grid (0.65 s/step; 8x8 cost 0.78 s).
    #
    # Budget: CPU seconds per step of one thread (time.process_time, 3-4 steps after a warm-up, on this
    # machine while it ran two other trainings; the same measure gives the old 64 px go9-cpu tokenizer 0.20 s,
    # against the 0.24 s its wall-clock timing recorded): tokenizer 0.20 s (batch 24), LDM 0.65 s (batch 8),
    # transformer 0.61 s (batch 32, 134 tokens), IDM 0.51 s (batch 32; almost all of it the frozen LDM
    # encoding the 10-frame windows, 15 ms a window); reading a batch costs < 0.01 s (8-episode dataset).
    # Steps: 2,000 x 0.20 + 1,000 x 0.65 + 1,000 x 0.61 + 500 x 0.51 = 1,915 s = 32 min. The token cache
    # costs ~16 ms a frame: ~4.3 min for the 400 episodes (~16k frames) the docs suggest. In all ~36 min on
    # one thread before evaluation. NOT YET TIMED END TO END: whether `vw-agent train all --preset
    # tabletop-cpu` stays within 45 minutes, and whether 1,000 LDM steps make its codes matter at H=9, are
    # not measured.
    return linked(
        "tabletop-cpu", "tabletop on a 2-core CPU: 64 px static camera, 64 tokens, H=9 (5 codes per step), "
                        "task cond, 7-D action (not yet timed end to end)",
        TokenizerConfig(frame_size=64, channels=(32, 48, 64), levels=(8, 5, 5, 5)),
        LDMConfig(frame_size=64, horizon=9, channels=(24, 48, 64, 64), dim=96, heads=4, query_layers=2,
                  decoder_layers=2),
        gpt=dict(n_layer=4, n_head=4, n_embd=192),
        idm=dict(channels=(32, 64, 64), code_dim=32, hidden=256, discrete=False, action_dim=7),
        codes_per_step=5, cond_vocab=len(TASKS),
        train={"tokenizer": StageTrain(steps=2_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=1_000, batch_size=8, lr=1e-3),
               "transformer": StageTrain(steps=1_000, batch_size=32, lr=3e-4),
               "idm": StageTrain(steps=500, batch_size=32, lr=1e-3)},
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
    "go9-cpu-tokens": _go9_cpu_tokens,
    "tiny-tabletop": _tiny_tabletop,
    "tabletop-cpu": _tabletop_cpu,
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

