"""Named configurations of the four networks, linked so their vocabularies and shapes agree.

* ``tiny``: for tests; every network trains a step in well under a second on one CPU core.
* ``tiny-move``: for tests of go9-move's path.
* ``go9-cpu``: 9x9 Go at 80 px: a patch-embedding tokenizer (each token from its own 16 px patch), an LDM on
  the tokenizer's ids, a 4x128 GPT; sized so that ``train all`` takes under 45 minutes on a 2-core CPU.
* ``go9-move``: go9-cpu's tokens with an LDM whose one code per step is an exact latent move (H=1); acting
  samples that code and the LDM's decoder renders the imagined frame; a 6x192 GPT.
* ``go9-point``: go9-move on one token per intersection (72 px, 9x9 tokens of 8 px), a prefix-LM GPT.
* ``go9-code``: go9-point whose GPT learns only the code (the move); the shipped Go checkpoint
  (``assets/checkpoints/go9``). ``go9-noldm`` is its "video only" ablation.
* ``go9-cpu-pixels``: the paper's pixel LDM at CPU size, a conv tokenizer and a 4x192 GPT: the shipped model
  of earlier versions. ``train all`` took 76 min alone on a 2-core AMD EPYC (AVX2, 2 threads), 138 ms a move.
* ``paper-go-50m`` / ``paper-go-300m``: the paper's Go sizes (VideoWorld, arXiv 2501.09781): 256 px frames to
  4x4 tokens with FSQ [8,8,8,5,5,5], the LDM on 128 px frames with H=5, a GPT of 50M / 300M
  non-embedding parameters (12 * n_layer * n_embd^2; the 64,000-id embedding adds 41M / 66M).
* ``tabletop-cpu``: the tabletop (``VideoTabletop-*``, static camera) at 64 px, H=9 with 5 codes per step,
  the task as the condition, a 7-D action; as go9-cpu, patch tokens and an LDM on them; sized for 45
  minutes on a 2-core CPU.
* ``tabletop-chunk``: tabletop-cpu with one LDM code per step (H=5), a prefix-LM GPT that samples the codes,
  the LDM's decoder as the imagination, and an IDM that reads a chunk of 5 actions per imagination.
* ``tabletop-noldm``: tabletop-chunk without the LDM (the paper's "video only" ablation): the GPT imagines frame
  t+1's tokens, the IDM reads the actions off the two frames; it reuses a tabletop-chunk run's tokenizer and LDM.
  The shipped tabletop checkpoint (``assets/checkpoints/tabletop``): here it beats the agent with the LDM.
* ``tabletop-code``: tabletop-chunk whose GPT learns only the codes, trained longer on bigger batches.
* ``tiny-tabletop``: for tests on tabletop data; seconds per stage.
* ``paper-calvin``: the paper's robot sizes: H=9 for the LDM, of which the transformer predicts 5 codes per
  step; 2 cameras x 16 tokens per step over 10-frame clips; a 7-D action.

Example:
    >>> p = get_preset("tiny")
    >>> GPT(p.gpt).config.frame_vocab == FrameTokenizer(p.tokenizer).vocab_size
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

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
    s = ldm.horizon if codes_per_step is None else codes_per_step  # 0: the GPT sees frames only (no LDM)
    if ldm.space == "tokens":  # the LDM reads the tokenizer's ids
        ldm = replace(ldm, token_vocab=tokenizer.vocab_size, token_grid=tokenizer.grid)
    if s > ldm.horizon:
        raise ValueError(f"codes_per_step {s} exceeds the LDM's horizon {ldm.horizon}")
    if idm.get("chunk", 1) > ldm.horizon:  # the IDM's window holds H actions
        raise ValueError(f"the IDM's chunk {idm['chunk']} exceeds the LDM's horizon {ldm.horizon}")
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


_TINY_MOVE_GPT = dict(n_layer=2, n_head=2, n_embd=64, code_loss_weight=10.0, next_frame="ldm")
_TINY_MOVE_IDM = dict(channels=(16, 32, 32), code_dim=16, hidden=128, use_codes=False)


def _tiny_move() -> Preset:
    # tiny with go9-move's choices (H=1, paired LDM input, the LDM renders the imagined frame, a code-blind IDM),
    # so the tests take that path too
    p = _tiny()
    return linked(
        "tiny-move", "tests: tiny with go9-move's latent-move path (H=1, frame t+1 decoded by the LDM)",
        p.tokenizer, replace(p.ldm, horizon=1, pair_input=True, space="tokens", copy_logit=5.0, quantizer="vq",
                             codebook_size=64, vq_dim=16, attend="changes"),
        gpt=_TINY_MOVE_GPT, idm=_TINY_MOVE_IDM, train=p.train,
    )


def _codes_only(p: Preset, name: str, description: str, transformer: StageTrain | None = None) -> Preset:
    """Preset ``p`` whose GPT learns the codes alone (``next_frame_loss_weight`` 0). With ``next_frame="ldm"``
    acting samples only the codes and the LDM's decoder renders frame t+1, so the GPT's own frame t+1 (half of
    a training sequence) was trained and used nowhere; cut, a step costs about half. The tokenizer, LDM and IDM
    are ``p``'s, so a ``p`` run's checkpoints of them can be copied in. ``transformer``: a new GPT budget."""
    train = p.train if transformer is None else dict(p.train, transformer=transformer)
    return replace(p, name=name, description=description, gpt=replace(p.gpt, next_frame_loss_weight=0.0),
                   train=train)


def _tiny_code() -> Preset:
    return _codes_only(_tiny_move(), "tiny-code", "tests: tiny-move whose GPT learns only the code "
                                                  "(next_frame_loss_weight 0)")


_GO9_IDM = dict(channels=(32, 64, 64), code_dim=32, hidden=256)  # both 9x9 CPU presets' IDM: 10x10 features
# go9-move's GPT, kept by go9-point: 6x192, code positions weighted 10x, frame t+1 decoded by the LDM
_GO9_MOVE_GPT = dict(n_layer=6, n_head=6, n_embd=192, code_loss_weight=10.0, next_frame="ldm")


def _go9_cpu_pixels() -> Preset:
    # The paper's pixel LDM at CPU size (80 px, 5x5 tokens of 16 px, H=5). Its measurements: docs/results.md.
    return linked(
        "go9-cpu-pixels", "9x9 Go, the paper's pixel LDM: 80 px frames, 25 tokens, H=5 (76 min on 2 cores)",
        TokenizerConfig(frame_size=80, channels=(32, 48, 64, 96), levels=(8, 5, 5, 5)),
        LDMConfig(frame_size=80, horizon=5, channels=(24, 48, 64, 64), dim=96, heads=4, query_layers=2,
                  decoder_layers=2),
        gpt=dict(n_layer=4, n_head=4, n_embd=192),
        idm=_GO9_IDM,
        train={"tokenizer": StageTrain(steps=3_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=2_000, batch_size=8, lr=1e-3),
               "transformer": StageTrain(steps=3_000, batch_size=32, lr=3e-4),
               "idm": StageTrain(steps=1_000, batch_size=32, lr=1e-3)},
    )


def _go9_cpu() -> Preset:
    # go9-cpu-pixels made cheap where it was slow: a patch-embedding tokenizer, the LDM on its ids, a 128-wide
    # GPT. Its measurements: docs/results.md.
    p = _go9_cpu_pixels()
    return linked(
        "go9-cpu", "9x9 Go on a 2-core CPU: 80 px frames, 25 patch tokens, an LDM on the tokens (H=5), 4x128 GPT",
        replace(p.tokenizer, encoder="patch"), replace(p.ldm, space="tokens"),
        gpt=dict(n_layer=4, n_head=4, n_embd=128),
        idm=_GO9_IDM,
        train={"tokenizer": StageTrain(steps=2_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=600, batch_size=64, lr=1e-3),
               "transformer": StageTrain(steps=3_000, batch_size=32, lr=3e-4),
               "idm": StageTrain(steps=800, batch_size=32, lr=1e-3)},
    )


def _go9_move() -> Preset:
    # go9-cpu with the LDM's code made an exact latent move (issue 16's first lever): H=1, so the one code of a
    # step is read off frames t and t+1 alone and must let the decoder rebuild frame t+1 from frame t; each
    # token of frame k also embeds frame k-1's id at its place (pair_input), so a changed patch's old and new
    # ids, i.e. which stone of it changed and to what, sit in one token; 320 codes (8x8x5) for 9x9 Go's 163
    # changes (81 points x 2 colours + no change). Acting samples the code from the GPT and renders frame t+1
    # with the LDM's decoder (next_frame="ldm"), so the imagined frame is one clean change, not 25 draws; the
    # IDM reads the move off the two frames alone (use_codes=False). The GPT weighs its code positions 10x: one
    # code against 50 frame tokens, most of them copies, would leave the move ~2% of its loss.
    p = _go9_cpu()
    return linked(
        "go9-move", "9x9 Go: go9-cpu's tokens, an LDM whose one code per step is the move (H=1), a 6x192 GPT",
        p.tokenizer, replace(p.ldm, horizon=1, quantizer="vq", codebook_size=256, pair_input=True, dim=128,
                             decoder_layers=3, copy_logit=5.0, change_weight=10.0, attend="changes"),
        gpt=_GO9_MOVE_GPT,
        idm=dict(_GO9_IDM, use_codes=False),
        train={"tokenizer": StageTrain(steps=2_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=4_000, batch_size=64, lr=1e-3),
               "transformer": StageTrain(steps=8_000, batch_size=64, lr=6e-4),
               "idm": StageTrain(steps=800, batch_size=32, lr=1e-3)},
    )


# go9-point's GPT, kept by go9-code: a prefix LM over frame t, each lever measured in docs/agent-go.md
_GO9_POINT_GPT = dict(_GO9_MOVE_GPT, first_frame_loss_weight=0.0, prefix_bidirectional=True, prefix_conv_layers=6,
                      code_readout=True)


def _go9_point() -> Preset:
    # go9-move with one token per intersection (issue 16's "right tokens" lever). At 72 px the renderer cuts the
    # 9x9 board into cells of exactly 8 x 8 px that tile the frame (vw_envs.go.render: margin 0.55 spacings), so
    # 3 halvings give a 9x9 grid whose every 8 px patch is one intersection's cell: a token's id names one point's
    # state (empty, black, white) and no more. go9-move's 16 px tokens covered ~2x2 points with 1,000 arbitrary
    # ids: its LDM's decoder had to learn, per old id, which new id each stone makes, and with the true code it
    # read back only 63% of changed intersections. 125 ids (FSQ 5x5x5) leave room for the point kinds (corner,
    # edge, star) if the encoder keeps them apart. The LDM, IDM and GPT keep go9-move's design; the GPT's sequence
    # grows to 1 + 81 + 1 + 81 = 164 tokens (52 before).
    p = _go9_move()
    tok = TokenizerConfig(frame_size=72, channels=(32, 48, 64), levels=(5, 5, 5), encoder="patch")
    return linked(
        "go9-point", "9x9 Go, one token per intersection: 72 px frames, 81 patch tokens, go9-move's LDM (H=1), "
                     "a 6x192 GPT",
        tok, replace(p.ldm, frame_size=72, channels=(24, 48, 64)),
        # The GPT as a prefix LM over frame t (the plain one read the move off it on 9.7% of held-out windows, a
        # 1-minute ConvNet probe on 17%): no loss on frame t, which it would predict from whose turn alone; frame t
        # attended both ways, through a 6-layer conv stem; the code read off all of frame t's final states. Each
        # lever's measurements: docs/agent-go.md
        gpt=_GO9_POINT_GPT, idm=dict(_GO9_IDM, use_codes=False),
        train={"tokenizer": StageTrain(steps=1_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=2_000, batch_size=64, lr=1e-3),
               "transformer": StageTrain(steps=1_500, batch_size=64, lr=6e-4),
               "idm": StageTrain(steps=800, batch_size=32, lr=1e-3)},
    )


def _go9_code() -> Preset:
    # go9-point whose GPT learns the codes alone: a step costs 0.63 s instead of 1.16 (batch 64, 2 threads), and
    # the budget buys 2.7x go9-point's steps in 1.2x its minutes: go9-point's code accuracy was still rising
    # when it stopped.
    return _codes_only(_go9_point(), "go9-code", "9x9 Go: go9-point whose GPT learns only the code (the move), "
                       "4,000 steps", StageTrain(steps=4_000, batch_size=64, lr=6e-4))


def _go9_noldm() -> Preset:
    # The paper's "video only" row for Go (issue 16's ablation): go9-code's tokenizer and LDM (a run's checkpoints
    # of both can be copied in, and the token cache is shared; the LDM is not used), a GPT with go9-point's prefix
    # over frame t that imagines frame t+1's 81 tokens with no code before them, and the code-blind IDM reading
    # the move off the two frames. A step costs 1.8x go9-code's (the sequence is twice as long): 2,200 steps are
    # go9-code's 4,000 in wall time.
    p = _go9_code()
    return _without_ldm(
        replace(p, train=dict(p.train, transformer=StageTrain(steps=2_200, batch_size=64, lr=6e-4))), "go9-noldm",
        "9x9 Go without the LDM: go9-code's tokens, a GPT that imagines frame t+1's tokens, the IDM reads the move",
        gpt={k: v for k, v in _GO9_POINT_GPT.items() if k not in ("code_readout", "code_loss_weight", "next_frame")})


def _tiny_tabletop() -> Preset:
    # H=3 of which 2 codes per step, so the tests take the paper's CALVIN path (fewer codes than H); patch
    # tokens and an LDM on them; tabletop-chunk's choices at test size (codes per step read off the changes, a
    # prefix-LM GPT, the LDM renders the imagination, an IDM that reads 2 actions at once).
    return linked(
        "tiny-tabletop", "tests: 64 px tabletop frames, H=3 (2 codes per step), the task as cond, 7-D actions",
        TokenizerConfig(frame_size=64, channels=(16, 32, 32, 32), levels=(8, 5, 5, 5), encoder="patch",
                        patch_width=64),
        LDMConfig(frame_size=64, horizon=3, channels=(16, 32, 32), dim=64, heads=4, query_layers=1,
                  decoder_layers=1, space="tokens", pair_input=True, copy_logit=5.0, attend="changes"),
        gpt=dict(n_layer=2, n_head=2, n_embd=64, next_frame="ldm", first_frame_loss_weight=0.0,
                 prefix_bidirectional=True, prefix_conv_layers=1, code_readout=True),
        idm=dict(channels=(16, 32, 32), code_dim=16, hidden=128, discrete=False, action_dim=7, chunk=2),
        codes_per_step=2, cond_vocab=len(TASKS),
        train={stage: StageTrain(steps=30, batch_size=16, lr=1e-3) for stage in ("tokenizer", "ldm", "transformer",
                                                                                 "idm")},
    )


def _without_ldm(p: Preset, name: str, description: str, gpt: dict) -> Preset:
    """The "video only" ablation of preset ``p`` (Go or tabletop): its tokenizer and LDM (a run's checkpoints of both
    can be copied in, and the token cache is shared), a GPT that imagines frame t+1's tokens with no codes before
    them, and ``p``'s IDM reading its actions off the two frames alone; ``p``'s budgets."""
    idm = {k: v for k, v in asdict(p.idm).items() if k not in ("frame_size", "code_vocab", "codes_per_step")}
    return linked(name, description, p.tokenizer, p.ldm, gpt=gpt, idm=dict(idm, use_codes=False), codes_per_step=0,
                  cond_vocab=p.gpt.cond_vocab, train=p.train)


def _tiny_tabletop_noldm() -> Preset:
    return _without_ldm(_tiny_tabletop(), "tiny-tabletop-noldm",
                        "tests: tiny-tabletop without the LDM (the GPT imagines frame t+1's tokens)",
                        gpt=dict(n_layer=2, n_head=2, n_embd=64))


def _tabletop_cpu() -> Preset:
    # 64 px, 3 halvings: 8x8 = 64 tokens of 8 px; H=9 with 5 codes per step, as the paper's CALVIN release; the
    # task id as cond; patch tokens and an LDM on them, as go9-cpu. Its measurements: docs/results.md.
    return linked(
        "tabletop-cpu", "tabletop on a 2-core CPU: 64 px static camera, 64 patch tokens, an LDM on the tokens "
                        "(H=9, 5 codes per step), task cond, 7-D action",
        TokenizerConfig(frame_size=64, channels=(32, 48, 64), levels=(8, 5, 5, 5), encoder="patch"),
        LDMConfig(frame_size=64, horizon=9, channels=(24, 48, 64, 64), dim=96, heads=4, query_layers=2,
                  decoder_layers=2, space="tokens"),
        gpt=dict(n_layer=4, n_head=4, n_embd=192),
        idm=dict(channels=(32, 64, 64), code_dim=32, hidden=256, discrete=False, action_dim=7),
        codes_per_step=5, cond_vocab=len(TASKS),
        train={"tokenizer": StageTrain(steps=2_000, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=800, batch_size=16, lr=1e-3),
               "transformer": StageTrain(steps=1_000, batch_size=32, lr=3e-4),
               "idm": StageTrain(steps=500, batch_size=32, lr=1e-3)},
    )


def _tabletop_chunk() -> Preset:
    # tabletop-cpu with Go's measured levers (issue 17). The LDM's 5 codes are 5 latent actions, one per step
    # (H=5, each code read off the change of its step: pair_input, attend="changes", copy_logit); the GPT is a
    # prefix LM over frame t that samples only those codes (code_readout for the first), and the LDM's decoder
    # renders the imagined frames (next_frame="ldm"); the IDM reads a chunk of 5 actions off frame t, the 5
    # codes and the imagined frame t+1, so one imagination drives up to 5 steps. Record with --hold-steps 5,
    # so the last steps of every task start windows. Its measurements: docs/agent-tabletop.md.
    p = _tabletop_cpu()
    return linked(
        "tabletop-chunk", "tabletop on a 2-core CPU: tabletop-cpu's tokens, an LDM with one code per step "
                          "(H=5), a prefix-LM GPT over the codes, an IDM that reads 5 actions at once",
        p.tokenizer,
        replace(p.ldm, horizon=5, pair_input=True, copy_logit=5.0, change_weight=10.0, attend="changes", dim=128,
                decoder_layers=3),
        gpt=dict(n_layer=4, n_head=4, n_embd=192, code_loss_weight=10.0, next_frame="ldm",
                 first_frame_loss_weight=0.0, prefix_bidirectional=True, prefix_conv_layers=2, code_readout=True),
        idm=dict(channels=(32, 64, 64), code_dim=32, hidden=256, discrete=False, action_dim=7, chunk=5),
        cond_vocab=len(TASKS),
        train={"tokenizer": StageTrain(steps=1_500, batch_size=24, lr=1e-3),
               "ldm": StageTrain(steps=1_500, batch_size=32, lr=1e-3),
               "transformer": StageTrain(steps=1_500, batch_size=32, lr=6e-4),
               "idm": StageTrain(steps=1_000, batch_size=64, lr=1e-3)},
    )


def _tabletop_code() -> Preset:
    # tabletop-chunk whose GPT learns the codes alone (64 of its 134 tokens were frame t+1's). The saved time
    # buys 2x the batch and 2.7x the steps: tabletop-chunk's held-out loss was still falling at 1,500 steps
    # (1.63, training 1.58).
    return _codes_only(_tabletop_chunk(), "tabletop-code", "tabletop-chunk whose GPT learns only the codes (the "
                       "LDM renders frame t+1), 4,000 steps of 64 windows",
                       StageTrain(steps=4_000, batch_size=64, lr=6e-4))


def _tiny_tabletop_code() -> Preset:
    return _codes_only(_tiny_tabletop(), "tiny-tabletop-code", "tests: tiny-tabletop whose GPT learns only the "
                                                               "codes")


def _tabletop_noldm() -> Preset:
    # The paper's "video only" row (the agent without the LDM), on tabletop-chunk's tokenizer, LDM, IDM and budgets:
    # its GPT's sequence (129 tokens: no codes, frame t+1 imagined) costs about tabletop-chunk's (134)
    return _without_ldm(_tabletop_chunk(), "tabletop-noldm",
                        "tabletop-chunk without the LDM: the GPT imagines frame t+1's tokens directly, the IDM "
                        "reads 5 actions off the two frames",
                        gpt=dict(n_layer=4, n_head=4, n_embd=192, first_frame_loss_weight=0.0,
                                 prefix_bidirectional=True, prefix_conv_layers=2))


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
    "tiny-move": _tiny_move,
    "tiny-code": _tiny_code,
    "go9-cpu": _go9_cpu,
    "go9-cpu-pixels": _go9_cpu_pixels,
    "go9-move": _go9_move,
    "go9-point": _go9_point,
    "go9-code": _go9_code,
    "go9-noldm": _go9_noldm,
    "tiny-tabletop": _tiny_tabletop,
    "tiny-tabletop-noldm": _tiny_tabletop_noldm,
    "tiny-tabletop-code": _tiny_tabletop_code,
    "tabletop-cpu": _tabletop_cpu,
    "tabletop-chunk": _tabletop_chunk,
    "tabletop-noldm": _tabletop_noldm,
    "tabletop-code": _tabletop_code,
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

