"""Frame tokenizer: a convolutional autoencoder whose latent grid is quantised with FSQ.

FSQ: Mentzer et al., "Finite Scalar Quantization: VQ-VAE Made Simple", https://arxiv.org/abs/2309.15505
VideoWorld (https://arxiv.org/abs/2501.09781) turns a 256x256 Go frame into 4x4 = 16 tokens with levels
[8,8,8,5,5,5] (64,000 codes). The transformer only ever sees these token ids; the decoder turns imagined
ids back into pixels.

Two encoders (``TokenizerConfig.encoder``). ``"conv"`` mirrors the decoder: stride-2 convolutions whose
fields overlap, so a token's id also depends on its neighbours' pixels. ``"patch"`` (the CPU presets) is a
patch embedding plus per-token MLP blocks: a token's id depends on its own patch alone, so the same stones in
the same place always get the same id, and the transformer has fewer, steadier ids to predict. The decoder
is convolutional either way (it may draw a stone that straddles two patches from both ids) and, behind the
patch encoder, adds a learned embedding of each token's place on the grid.

Axis letters used in docstrings: b batch, h w pixel rows/columns, c channels, gh gw token grid, d FSQ dims.

Example:
    >>> tok = FrameTokenizer(TokenizerConfig(frame_size=64, channels=(16, 32, 32, 32)))
    >>> frames = torch.zeros(2, 64, 64, 3, dtype=torch.uint8)
    >>> tok.encode(frames).shape          # (2, 4, 4) token ids in [0, tok.vocab_size)
    >>> tok.decode(tok.encode(frames)).shape   # (2, 64, 64, 3) float in [0, 1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from vector_quantize_pytorch import FSQ

# helpers


def frames_to_input(frames: torch.Tensor) -> torch.Tensor:
    """Frames (b h w c), uint8 in [0, 255] or float in [0, 1] (imagined) -> float (b c h w) in [-1, 1].

    Networks take pixels the way envs emit them (uint8) and divide inside.
    """
    x = frames.float() / 127.5 - 1.0 if frames.dtype == torch.uint8 else frames.float() * 2.0 - 1.0
    return rearrange(x, "b h w c -> b c h w")


def frames_to_unit(frames: torch.Tensor) -> torch.Tensor:
    """Frames as float in [0, 1], whether given as uint8 or float (b h w c stays as is)."""
    return frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float()


def fit_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Frames (... h w c) resized to ``size`` x ``size`` by area averaging, dtype kept; as is if already that size.

    The paper's LDM and IDM see 128 px versions of the tokenizer's 256 px frames.
    """
    if frames.shape[-3] == size and frames.shape[-2] == size:
        return frames
    lead, c = frames.shape[:-3], frames.shape[-1]
    x = rearrange(frames.float().reshape(-1, *frames.shape[-3:]), "n h w c -> n c h w")
    x = rearrange(F.interpolate(x, size=(size, size), mode="area"), "n c h w -> n h w c").reshape(*lead, size, size, c)
    return x.round().clamp(0, 255).to(torch.uint8) if frames.dtype == torch.uint8 else x


def output_to_frames(x: torch.Tensor) -> torch.Tensor:
    """float (b c h w) in [-1, 1] -> float (b h w c) in [0, 1]."""
    return rearrange((x.clamp(-1.0, 1.0) + 1.0) / 2.0, "b c h w -> b h w c")


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """float frames in [0, 1] -> uint8 in [0, 255] (what ``frame_to_board`` and GIF writers take)."""
    return (frames.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)


class ResBlock(nn.Module):
    """3x3 conv residual block (GroupNorm + SiLU), shape-preserving."""

    def __init__(self, ch: int):
        super().__init__()
        self.net = nn.Sequential(nn.GroupNorm(_groups(ch), ch), nn.SiLU(), nn.Conv2d(ch, ch, 3, padding=1),
                                 nn.GroupNorm(_groups(ch), ch), nn.SiLU(), nn.Conv2d(ch, ch, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def _groups(ch: int) -> int:
    """Largest of 8, 4, 2, 1 dividing ch (GroupNorm needs it)."""
    return next(g for g in (8, 4, 2, 1) if ch % g == 0)


class ConvEncoder(nn.Module):
    """(b, in_ch, h, w) -> (b, channels[-1], h / 2**k, w / 2**k), k = len(channels): a stride-2 conv per stage."""

    def __init__(self, in_ch: int, channels: tuple[int, ...], res_blocks: int = 1):
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_ch
        for ch in channels:
            layers.append(nn.Conv2d(prev, ch, 4, stride=2, padding=1))
            layers += [ResBlock(ch) for _ in range(res_blocks)]
            prev = ch
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PointwiseBlock(nn.Module):
    """Residual MLP on each grid cell's channels alone (LayerNorm, 2x wide inside), shape-preserving.

    LayerNorm over the channels, not GroupNorm: GroupNorm's statistics span the grid, so one patch would
    shift every other patch's features.
    """

    def __init__(self, ch: int):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(ch), nn.Linear(ch, 2 * ch), nn.SiLU(), nn.Linear(2 * ch, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (b c gh gw) -> (b c gh gw)."""
        return x + rearrange(self.net(rearrange(x, "b c h w -> b h w c")), "b h w c -> b c h w")


class PatchEncoder(nn.Module):
    """(b, in_ch, h, w) -> (b, ch, h / patch, w / patch): each output cell from its own patch x patch pixels alone.

    A patch embedding (a conv whose kernel is its stride, as ViT's) and 1x1 residual MLP blocks. No cell sees
    its neighbours, so a patch's id depends on that patch's pixels only: the same picture in the same place
    always gets the same id, which is what the transformer must predict.
    """

    def __init__(self, in_ch: int, ch: int, patch: int, blocks: int = 1):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_ch, ch, patch, stride=patch),
                                 *[PointwiseBlock(ch) for _ in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder: (b, channels[-1], gh, gw) -> (b, out_ch, gh * 2**len(channels), ...)."""

    def __init__(self, out_ch: int, channels: tuple[int, ...], res_blocks: int = 1):
        super().__init__()
        layers: list[nn.Module] = []
        rev = list(reversed(channels))
        for ch, nxt in zip(rev, rev[1:] + [rev[-1]], strict=True):
            layers += [ResBlock(ch) for _ in range(res_blocks)]
            layers.append(nn.ConvTranspose2d(ch, nxt, 4, stride=2, padding=1))
        layers += [nn.GroupNorm(_groups(rev[-1]), rev[-1]), nn.SiLU(), nn.Conv2d(rev[-1], out_ch, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def feature_grid(frame_size: int, channels: tuple[int, ...]) -> int:
    """Side of the feature grid after one stride-2 halving per entry of ``channels``; ValueError if the
    frame does not halve evenly that many times."""
    if frame_size % (2 ** len(channels)):
        raise ValueError(f"frame_size {frame_size} is not divisible by 2**{len(channels)} "
                         f"(one halving per entry of channels={channels})")
    return frame_size // 2 ** len(channels)


# main class


@dataclass
class TokenizerConfig:
    frame_size: int = 256  # the paper's frames; each stage of `channels` halves it
    channels: tuple[int, ...] = (64, 128, 128, 256, 256, 256)  # one stride-2 stage each: 256 px -> 4x4 tokens
    res_blocks: int = 1  # residual 3x3 blocks per stage, in the conv encoder and the decoder
    encoder: str = "conv"  # "conv": mirrors the decoder; "patch": each token from its own patch alone
    # (PatchEncoder), which the decoder, still convolutional, places by a learned per-token position embedding
    patch_width: int = 256  # "patch": channels of the patch embedding and its 1x1 blocks
    levels: tuple[int, ...] = (8, 8, 8, 5, 5, 5)  # FSQ levels; the paper's 64,000-code vocabulary
    adversarial: float = 0.0  # weight of a hinge-GAN term from a PatchGAN critic (0: off; sharper but slower)
    adversarial_start: int = 1_000  # training steps of plain reconstruction first (VQGAN's warm-up): an early
    # critic beats a blurry decoder easily, and its gradient then swamps the reconstruction's

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.levels = tuple(self.levels)
        feature_grid(self.frame_size, self.channels)  # validates
        if self.encoder not in ("conv", "patch"):
            raise ValueError(f"encoder must be 'conv' or 'patch', got {self.encoder!r}")

    @property
    def grid(self) -> int:
        """Tokens per side: the frame is tokenised into grid x grid ids."""
        return feature_grid(self.frame_size, self.channels)

    @property
    def vocab_size(self) -> int:
        return math.prod(self.levels)


class FrameTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig):
        super().__init__()
        self.config = config
        d = len(config.levels)
        top, g = config.channels[-1], config.grid
        if config.encoder == "patch":
            self.encoder = PatchEncoder(3, config.patch_width, config.frame_size // g)
            self.pos = nn.Parameter(torch.zeros(1, top, g, g))  # (1 c gh gw): where each token sits
        else:
            self.encoder = ConvEncoder(3, config.channels, config.res_blocks)
            self.pos = None  # the conv encoder's overlapping fields and padding already tell
        self.to_fsq = nn.Conv2d(config.patch_width if config.encoder == "patch" else top, d, 1)
        self.fsq = FSQ(levels=list(config.levels))  # dim == len(levels): no projections inside FSQ
        self.from_fsq = nn.Conv2d(d, top, 1)
        self.decoder = ConvDecoder(3, config.channels, config.res_blocks)
        self.critic = PatchCritic() if config.adversarial > 0 else None
        # training forwards so far; not saved (checkpoints of runs without a critic stay loadable): train.py
        # sets it to the checkpoint's step on resume
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long), persistent=False)

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def quantize(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 (b h w c) -> (codes (b d gh gw) with straight-through gradients, ids (b gh gw) int64)."""
        z = self.to_fsq(self.encoder(frames_to_input(frames)))  # (b, d, gh, gw)
        codes, ids = self.fsq(z)
        return codes, ids.long()

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """FSQ codes (b d gh gw) -> float frames (b h w c) in [0, 1]."""
        x = self.from_fsq(codes)
        return output_to_frames(self.decoder(x if self.pos is None else x + self.pos))

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 frames (b h w c) -> token ids (b gh gw) int64."""
        return self.quantize(frames)[1]

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (b gh gw) -> float frames (b h w c) in [0, 1]."""
        codes = self.fsq.indices_to_codes(ids)  # (b, d, gh, gw): exact inverse of quantisation
        return self.decode_codes(codes)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """uint8 frames (b h w c) -> (reconstruction (b h w c) in [0, 1], ids (b gh gw), loss).

        The loss is the mean squared pixel error in [0, 1] units. With ``adversarial`` > 0, in training after
        ``adversarial_start`` steps, it adds the critic's hinge loss and the generator's, weighted adaptively
        (see :meth:`PatchCritic.losses`).
        """
        codes, ids = self.quantize(frames)
        recon = self.decode_codes(codes)
        loss = F.mse_loss(recon, frames_to_unit(frames))
        if self.training:
            self.train_steps += 1
        if self.critic is not None and self.training and self.train_steps > self.config.adversarial_start:
            critic_loss, generator_loss = self.critic.losses(frames_to_unit(frames), recon)
            # VQGAN's adaptive weight: scale the generator's gradient at the decoder's last layer to the
            # reconstruction's, so ``adversarial`` is a ratio rather than a guess at the two losses' scales
            last = self.decoder.net[-1].weight
            g_rec = torch.autograd.grad(loss, last, retain_graph=True)[0]
            g_gen = torch.autograd.grad(generator_loss, last, retain_graph=True)[0]
            weight = (g_rec.norm() / (g_gen.norm() + 1e-4)).clamp(max=1e4).detach()
            loss = loss + critic_loss + self.config.adversarial * weight * generator_loss
        return recon, ids, loss


class PatchCritic(nn.Module):
    """A small PatchGAN critic (Isola et al., https://arxiv.org/abs/1611.07004): real or decoded, per patch."""

    def __init__(self, ch: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, ch, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(ch, 2 * ch, 4, 2, 1), nn.GroupNorm(_groups(2 * ch), 2 * ch),
                                 nn.LeakyReLU(0.2), nn.Conv2d(2 * ch, 1, 3, 1, 1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames (b h w c) float in [0, 1] -> patch logits (b 1 h/4 w/4)."""
        return self.net(rearrange(frames * 2 - 1, "b h w c -> b c h w"))

    def losses(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(critic hinge loss, generator loss) in one backward pass with one optimiser.

        The critic's loss sees the reconstruction detached, so it trains only the critic; the generator's loss
        runs the critic with detached weights, so it trains only the autoencoder.
        """
        critic = F.relu(1 - self(real)).mean() + F.relu(1 + self(fake.detach())).mean()
        frozen = {k: v.detach() for k, v in self.named_parameters()}
        generator = -torch.func.functional_call(self, frozen, (fake,)).mean()
        return critic, generator
