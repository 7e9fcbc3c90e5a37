"""Inverse dynamics model (IDM): (frame t, predicted codes, predicted frame t+1) -> the action between them.

VideoWorld (https://arxiv.org/abs/2501.09781) learns its world knowledge from video alone; the IDM is the
only network that sees action labels, and only on a small labelled share of the episodes. It reads the move
off the imagined change: for Go a distribution over the N*N+1 moves (pass last), for the robot the 7-D
relative action.

For the robot the IDM may read a chunk of actions at once (``chunk`` = k): a_t..a_{t+k-1}, from frame t, the H
codes of the steps ahead and frame t+1. The agent then imagines once per k steps (or fewer: it executes some
of the chunk and imagines again from the real frame), as action-chunking policies do.

Axis letters: b batch, h w pixels, c channels, s codes per step (H), k actions per chunk, a action values.

Example:
    >>> idm = InverseDynamics(IDMConfig(frame_size=64, channels=(16, 32, 32), num_actions=82))
    >>> logits, loss = idm(frame, codes, next_frame, actions)   # logits (b, 82)
    >>> robot = InverseDynamics(IDMConfig(frame_size=64, channels=(16, 32, 32), discrete=False, chunk=5))
    >>> chunk, loss = robot(frame, codes, next_frame, actions)   # chunk (b, 5, 7), actions (b, 5, 7)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vw_agent.tokenizer import ConvEncoder, fit_frames, frames_to_input


@dataclass
class IDMConfig:
    frame_size: int = 128  # frames as the LDM sees them
    channels: tuple[int, ...] = (32, 64, 128, 128)  # conv stages over (frame t, frame t+1, their difference)
    res_blocks: int = 1  # residual blocks per conv stage
    code_vocab: int = 1_000  # the LDM's vocabulary
    codes_per_step: int = 5  # H: codes the transformer predicts before frame t+1
    code_dim: int = 32  # embedding width of one code
    hidden: int = 512  # MLP width
    discrete: bool = True  # True: logits over num_actions moves (Go); False: regress action_dim values (robot)
    num_actions: int = 82  # Go N*N+1 (9x9: 82, pass last)
    action_dim: int = 7  # robot: relative action, a 7-vector in [-1, 1]
    # robot: actions read per step, a_t..a_{t+chunk-1}. The expert's actions change slowly (mean |step-to-step
    # change| ~0.04), and the H codes describe the next H steps, so one imagination can carry several actions;
    # 1: one action per imagination
    chunk: int = 1
    # read the codes too. False: the action comes from the two frames alone, so with an exact latent action
    # (presets go9-move) the move must be read off the imagined frame, and a shuffled next frame leaves the IDM
    # at chance: it cannot become a policy of its own through the codes
    use_codes: bool = True

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        if self.frame_size % (2 ** len(self.channels)):
            raise ValueError(f"frame_size {self.frame_size} is not divisible by 2**{len(self.channels)} "
                             f"(one halving per entry of channels={self.channels})")
        if self.chunk < 1 or (self.chunk > 1 and self.discrete):
            raise ValueError(f"chunk must be >= 1, and 1 for discrete (Go) moves; got {self.chunk}")

    @property
    def out_dim(self) -> int:
        return self.num_actions if self.discrete else self.action_dim * self.chunk


class InverseDynamics(nn.Module):
    def __init__(self, config: IDMConfig):
        super().__init__()
        self.config = config
        grid = config.frame_size // 2 ** len(config.channels)
        self.frames_enc = ConvEncoder(9, config.channels, config.res_blocks)
        flat = config.channels[-1] * grid * grid
        if config.use_codes:
            self.code_emb = nn.Embedding(config.code_vocab, config.code_dim)
            flat += config.codes_per_step * config.code_dim
        self.mlp = nn.Sequential(nn.LayerNorm(flat), nn.Linear(flat, config.hidden), nn.GELU(),
                                 nn.Linear(config.hidden, config.hidden), nn.GELU(),
                                 nn.Linear(config.hidden, config.out_dim))

    def forward(self, frame: torch.Tensor, codes: torch.Tensor, next_frame: torch.Tensor,
                actions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Frame t (b h w c), code ids (b s), frame t+1 (b h w c) -> (out, loss or None).

        Frames may be uint8 (recorded) or float in [0, 1] (imagined). ``out`` is logits (b a) when discrete,
        else the chunk of actions (b k a) squashed into [-1, 1]. ``actions``: move ids (b,) int64, or (b k a)
        floats ((b a) for a chunk of one); the loss is cross-entropy, or mean squared error.
        """
        size = self.config.frame_size  # frames of another size (the tokenizer's) are resized first
        x0, x1 = frames_to_input(fit_frames(frame, size)), frames_to_input(fit_frames(next_frame, size))
        feats = rearrange(self.frames_enc(torch.cat([x0, x1, x1 - x0], dim=1)), "b c y x -> b (c y x)")
        if self.config.use_codes:
            feats = torch.cat([feats, rearrange(self.code_emb(codes), "b s d -> b (s d)")], dim=1)
        out = self.mlp(feats)
        if not self.config.discrete:
            out = rearrange(torch.tanh(out), "b (k a) -> b k a", k=self.config.chunk)
        loss = None
        if actions is not None:
            if not self.config.discrete:
                if actions.ndim == 2 and self.config.chunk == 1:  # one action (b a): a chunk of one
                    actions = actions[:, None]
                if actions.shape != out.shape:  # mse_loss would broadcast (b 1 a) against (b a) silently
                    raise ValueError(f"actions have shape {tuple(actions.shape)}, the IDM reads {tuple(out.shape)}")
            loss = F.cross_entropy(out, actions.long()) if self.config.discrete else F.mse_loss(out, actions.float())
        return out, loss
