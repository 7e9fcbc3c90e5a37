"""Latent Dynamics Model (LDM): frames t..t+H -> H discrete codes, one per future step, learned from video alone.

VideoWorld (https://arxiv.org/abs/2501.09781): a causal 3D conv encoder embeds frames t..t+H; H learned
queries attend to them, query h only to frames t..t+h, and each query is quantised by FSQ into one code.
A decoder rebuilds frames t+1..t+H from frame t plus the codes, so the codes must carry what changed
(a Go move, a robot motion). The transformer then predicts these codes before each next frame.

Choices made here, each because a plain version collapsed on Go video (every code the same):

* The encoder sees each frame k together with its difference from frame k-1 (still causal), so the few
  changed pixels stand out before any training.
* The pre-FSQ values are batch-normalised per future step and FSQ dimension: otherwise a query's learned
  constant dominates and pushes every code into one saturated corner of the FSQ box. Normalising the steps
  together is not enough: on 9x9 video at H=5 the variance then came from the step alone, and after 1,200
  steps each step had one code for every window (5 codes in all, shuffling them changed nothing).
* The decoder predicts frame t+h as frame t plus a change (zero-initialised: it starts by copying frame t),
  from frame t's feature grid attending to the codes of steps 1..h; changed pixels weigh ``1 + change_weight``
  in the loss. A Go frame differs from the previous one by a stone or two, and this makes the codes, not the
  decoder's memory of the board, responsible for that difference.
* How long the codes take to matter is measured in ``docs/results.md`` (not a few-second test, so no unit test
  checks it).

**Two spaces** (``LDMConfig.space``). ``"pixels"`` is the paper's LDM: convolutions on the frames, a pixel
decoder. ``"tokens"`` is the same model on the frozen frame tokenizer's ids: each frame is its g x g ids
(embedded, plus a learned "changed since frame k-1" embedding in place of the difference image), and the
decoder predicts the ids of frames t+1..t+H (cross-entropy, ids that differ from frame t's weighing
``1 + change_weight``); the tokenizer turns them into pixels. The queries, FSQ and the decoder's transformer
are the same. Why: on a 2-core CPU the pixel LDM's codes took ~20x the compute of the token LDM's to carry
anything (``docs/results.md``, "The LDM's two spaces"). The token space needs the tokenizer trained first.

Axis letters: b batch, t frames (H+1), s future steps (H), h w pixels, c channels, g feature grid side,
n tokens (g*g), d FSQ dims, v the tokenizer's vocabulary.

Example:
    >>> ldm = LatentDynamicsModel(LDMConfig(frame_size=64, channels=(16, 32, 32), dim=64))
    >>> frames = torch.zeros(2, 6, 64, 64, 3, dtype=torch.uint8)   # t..t+5
    >>> pred, ids, loss = ldm(frames)    # pred (2, 5, 64, 64, 3), ids (2, 5)
    >>> ldm = LatentDynamicsModel(LDMConfig(space="tokens", token_vocab=1000, token_grid=5, dim=64))
    >>> logits, ids, loss = ldm(torch.zeros(2, 6, 25, dtype=torch.long))   # logits (2, 5, 25, 1000)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn
from vector_quantize_pytorch import FSQ

from vw_agent.tokenizer import (
    ConvDecoder,
    ConvEncoder,
    feature_grid,
    fit_frames,
    frames_to_input,
    frames_to_unit,
    output_to_frames,
)


@dataclass
class LDMConfig:
    frame_size: int = 128  # the paper's LDM works on 128x128 frames
    horizon: int = 5  # H: codes per timestep; 5 for Go, 9 for the robot (the paper's choices)
    channels: tuple[int, ...] = (64, 128, 256, 256)  # conv stages, each halving: 128 px -> an 8x8 feature grid
    res_blocks: int = 1  # residual blocks per conv stage
    dim: int = 256  # width of the query and decoder attention layers
    heads: int = 4  # attention heads
    query_layers: int = 2  # layers of (causal self-attention among queries, masked cross-attention to frames)
    decoder_layers: int = 2  # transformer layers of the decoder (frame-t grid + codes)
    levels: tuple[int, ...] = (8, 5, 5, 5)  # FSQ levels of one code: 1,000 codes cover 9x9 Go's 82 moves
    # "fsq" (the paper): a code is a point of the FSQ grid ``levels``. "vq": one of ``codebook_size`` learned vectors
    # of ``vq_dim`` (EMA codebook, k-means init, dead codes revived; vector-quantize-pytorch), for a categorical
    # latent action: on 9x9 Go at H=1, 3 FSQ dims (8x8x5) after 4,000 steps named the move only 45% of the time
    quantizer: str = "fsq"
    codebook_size: int = 256  # "vq": codes
    vq_dim: int = 32  # "vq": width of a code vector
    commitment: float = 0.25  # "vq": weight of the commitment loss (the encoder's pull towards its code)
    change_weight: float = 20.0  # extra loss weight on pixels (ids) that differ from frame t: a stone is ~1% of a frame
    space: str = "pixels"  # "pixels" (the paper) or "tokens": on the frozen tokenizer's ids (module docstring)
    token_vocab: int = 0  # "tokens": the tokenizer's vocabulary (presets.linked sets it; the model needs it)
    token_grid: int = 0  # "tokens": the tokenizer's grid side g (g*g ids a frame; presets.linked sets it)
    # "tokens": each frame-k token also embeds the id at its place in frame k-1, so what changed at a place (old id
    # -> new id: which stone of the patch, which colour) is one token's content, not a match that attention must
    # find across frames. False: the earlier models' input (their checkpoints have no such embedding)
    pair_input: bool = False
    # "tokens": a learned logit added to frame t's id at each place, starting at this value, so the decoder starts
    # by copying frame t and its codes need only explain the change (the pixel decoder's zero-initialised change
    # does this for pixels). Without it, H=1 on 9x9 Go after 3,000 steps still miscopied 13% of unchanged ids.
    # 0: none (earlier models' checkpoints have no such parameter)
    copy_logit: float = 0.0
    # "tokens": what the queries read. "all": every token of frames t..t+H. "changes": only the tokens that differ
    # from the frame before (with pair_input: old and new id and place), plus a learned "nothing changed" token, so
    # a code can only say what changed, not describe the board: reading all 50 tokens of a 9x9 window, the codes
    # named the move only 42% of the time (they were contextual: "the likely move on this board")
    attend: str = "all"

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.levels = tuple(self.levels)
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if self.attend not in ("all", "changes"):
            raise ValueError(f"attend must be 'all' or 'changes', got {self.attend!r}")
        if self.attend == "changes" and self.space != "tokens":
            raise ValueError("attend='changes' needs space='tokens' (it reads which ids changed)")
        if self.quantizer not in ("fsq", "vq"):
            raise ValueError(f"quantizer must be 'fsq' or 'vq', got {self.quantizer!r}")
        if self.space not in ("pixels", "tokens"):
            raise ValueError(f"space must be 'pixels' or 'tokens', got {self.space!r}")
        feature_grid(self.frame_size, self.channels)  # validates
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")

    @property
    def grid(self) -> int:
        """Side of the grid the queries and the decoder attend over: the conv features', or the tokenizer's."""
        return self.token_grid if self.space == "tokens" else feature_grid(self.frame_size, self.channels)

    @property
    def vocab_size(self) -> int:
        return self.codebook_size if self.quantizer == "vq" else math.prod(self.levels)

    @property
    def code_width(self) -> int:
        """Values per code as the decoder reads it: FSQ dims, or the VQ vector's width."""
        return self.vq_dim if self.quantizer == "vq" else len(self.levels)


class QueryBlock(nn.Module):
    """Queries: causal self-attention among themselves, masked cross-attention to frame tokens, MLP (pre-norm)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ln_ctx = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, q: torch.Tensor, ctx: torch.Tensor, self_mask: torch.Tensor,
                cross_mask: torch.Tensor) -> torch.Tensor:
        """q (b s dim), ctx (b n dim); masks are bool, True = may NOT attend."""
        x = self.ln1(q)
        q = q + self.self_attn(x, x, x, attn_mask=self_mask, need_weights=False)[0]
        ctx = self.ln_ctx(ctx)
        q = q + self.cross_attn(self.ln2(q), ctx, ctx, attn_mask=cross_mask, need_weights=False)[0]
        return q + self.mlp(self.ln3(q))


class LatentDynamicsModel(nn.Module):
    def __init__(self, config: LDMConfig):
        super().__init__()
        self.config = config
        self.tokens = config.space == "tokens"
        if self.tokens and (config.token_vocab < 1 or config.token_grid < 1):  # presets.linked fills them in
            raise ValueError("an LDM on tokens needs token_vocab and token_grid (the tokenizer's)")
        c, dim, g, s = config.channels[-1], config.dim, config.grid, config.horizon
        if self.tokens:  # each frame's ids, and whether each id changed since the frame before (causal)
            self.tok_emb = nn.Embedding(config.token_vocab, dim)
            self.change_emb = nn.Embedding(2, dim)
            if config.pair_input:
                self.prev_emb = nn.Embedding(config.token_vocab, dim)
            if config.attend == "changes":
                self.null_ctx = nn.Parameter(torch.randn(1, 1, dim) * 0.02)  # what a query reads when nothing changed
        else:  # per-frame 2D convs, then one causal temporal conv (a causal 3D conv: frame t+k sees t..t+k)
            self.frame_enc = ConvEncoder(6, config.channels, config.res_blocks)  # frame k and its change since k-1
            self.time_conv = nn.Conv3d(c, c, kernel_size=(2, 3, 3))
            self.enc_in = nn.Linear(c, dim)
        self.enc_pos = nn.Parameter(torch.randn(g * g, dim) * 0.02)
        self.enc_time = nn.Parameter(torch.randn(s + 1, dim) * 0.02)
        self.queries = nn.Parameter(torch.randn(s, dim) * 0.02)
        self.query_blocks = nn.ModuleList(QueryBlock(dim, config.heads) for _ in range(config.query_layers))
        if config.quantizer == "vq":
            from vector_quantize_pytorch import VectorQuantize

            self.to_vq = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, config.vq_dim))
            self.vq = VectorQuantize(dim=config.vq_dim, codebook_size=config.codebook_size, decay=0.9,
                                     commitment_weight=config.commitment, kmeans_init=True, kmeans_iters=10,
                                     threshold_ema_dead_code=1)
        else:
            self.to_fsq = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, len(config.levels)))
        # Batch-standardise the pre-FSQ values: early on, a query's output is mostly its own learned constant
        # (attention averages over many frame tokens), which pushes every code to one saturated corner of
        # the FSQ box; removing the batch mean keeps the codes spread while attention learns to focus.
        if config.quantizer == "fsq":
            self.fsq_norm = nn.BatchNorm1d(s * len(config.levels))
            self.fsq = FSQ(levels=list(config.levels))
        # decoder: frame t's grid + codes -> frames t+1..t+H (pixels) or their ids (tokens)
        if self.tokens:
            self.dec_emb = nn.Embedding(config.token_vocab, dim)
            if config.copy_logit:
                self.copy_logit = nn.Parameter(torch.tensor(float(config.copy_logit)))
        else:
            self.dec_enc = ConvEncoder(3, config.channels, config.res_blocks)
            self.dec_in = nn.Linear(c, dim)
        self.dec_pos = nn.Parameter(torch.randn(g * g, dim) * 0.02)
        self.dec_target = nn.Parameter(torch.randn(s, dim) * 0.02)  # which future step the grid is rebuilding
        # an MLP, not a linear map: "is this code my intersection's move" is a sharply nonlinear function of it
        self.code_in = nn.Sequential(nn.Linear(config.code_width, dim), nn.GELU(), nn.Linear(dim, dim))
        self.code_step = nn.Parameter(torch.randn(s, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, config.heads, 4 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.dec_blocks = nn.TransformerEncoder(layer, config.decoder_layers, enable_nested_tensor=False)
        self.dec_out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, config.token_vocab if self.tokens else c))
        if not self.tokens:
            self.pixel_dec = ConvDecoder(3, config.channels, config.res_blocks)
            nn.init.zeros_(self.pixel_dec.net[-1].weight)  # start as "nothing changes": the copy of frame t
            nn.init.zeros_(self.pixel_dec.net[-1].bias)
        # masks derived from config: non-persistent buffers (True = may NOT attend)
        steps = torch.arange(s)
        frame_of_token = repeat(torch.arange(s + 1), "t -> (t n)", n=g * g)
        self.register_buffer("self_mask", steps[None, :] > steps[:, None], persistent=False)  # (s, s)
        self.register_buffer("cross_mask", frame_of_token[None, :] > steps[:, None] + 1, persistent=False)  # (s, n)
        # decoder key padding per target step h: grid tokens always visible, code j only if j <= h
        code_hidden = steps[None, :] > steps[:, None]  # (s target, s code)
        self.register_buffer("dec_pad", torch.cat([torch.zeros(s, g * g, dtype=torch.bool), code_hidden], 1),
                             persistent=False)

    # the decoder's parts (top-level names); everything else reads frames into codes
    DECODER = ("dec_emb", "copy_logit", "dec_pos", "dec_target", "code_in", "code_step", "dec_blocks", "dec_out",
               "dec_enc", "dec_in", "pixel_dec")

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    def freeze_encoder(self) -> None:
        """From here on only the decoder trains: the encoder and quantizer keep their weights and stay in eval
        mode (no VQ codebook or batch-norm updates), so every window keeps its code, and the transformer's data
        with it. For a decoder that needs more training than the codes did (``vw-agent train ldm --decoder-only``)."""
        for name, p in self.named_parameters():
            p.requires_grad_(name.split(".")[0] in self.DECODER)
        self._encoder_frozen = True
        self.train(self.training)

    def train(self, mode: bool = True) -> LatentDynamicsModel:
        super().train(mode)
        if getattr(self, "_encoder_frozen", False):
            for name, child in self.named_children():
                if name not in self.DECODER:
                    child.eval()
        return self

    # --- encoder: frames -> codes

    def quantize(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes, ids, _ = self._quantize(frames)
        return codes, ids

    def _quantize(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frames (b t h w c) uint8, or in the token space their ids (b t n) or (b t g g), t = H+1 -> (codes (b s d)
        with straight-through gradients, ids (b s) int64, the quantizer's own loss: VQ's commitment, else 0)."""
        frames = self._window_input(frames)
        if self.tokens:
            visible = None
            if self.config.attend == "changes":  # frame k's tokens that differ from frame k-1's (none of frame t)
                visible = torch.cat([torch.zeros_like(frames[:, :1], dtype=torch.bool),
                                     frames[:, 1:] != frames[:, :-1]], dim=1)
            return self._queries_to_codes(self._token_context(frames), visible)
        b = frames.shape[0]
        x = rearrange(frames_to_input(rearrange(frames, "b t h w c -> (b t) h w c")), "(b t) c h w -> b t c h w", b=b)
        diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)  # causal: k vs k-1
        x = self.frame_enc(rearrange(torch.cat([x, diff], dim=2), "b t c h w -> (b t) c h w"))  # (b t, c, g, g)
        return self._quantize_features(rearrange(x, "(b t) c y x -> b c t y x", b=b))

    def _window_input(self, x: torch.Tensor) -> torch.Tensor:
        """Check a window's length; frames fitted to the LDM's size, or ids flattened to (b t n)."""
        if self.tokens:
            x = x.flatten(2).long() if x.ndim == 4 else x.long()
            if x.ndim != 3 or x.shape[2] != self.config.grid ** 2:
                raise ValueError(f"the LDM on tokens takes ids (b, t, {self.config.grid ** 2}), got {tuple(x.shape)}")
        else:
            x = fit_frames(x, self.config.frame_size)
        if x.shape[1] != self.config.horizon + 1:
            raise ValueError(f"the LDM takes H+1 = {self.config.horizon + 1} frames, got {x.shape[1]}")
        return x

    def _token_context(self, ids: torch.Tensor) -> torch.Tensor:
        """Ids (b t n) of a window -> frame tokens (b t n dim): each id, and whether it changed since frame k-1
        (with ``pair_input``, also the id frame k-1 had there; frame t, the first, is paired with itself)."""
        prev = torch.cat([ids[:, :1], ids[:, :-1]], dim=1)
        x = self.tok_emb(ids) + self.change_emb((ids != prev).long())
        return x + self.prev_emb(prev) if self.config.pair_input else x

    def _quantize_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-frame conv features (b c t y x) of a window -> (codes (b s d), ids (b s))."""
        x = self.time_conv(F.pad(x, (1, 1, 1, 1, 1, 0)))  # pad time on the left only: causal
        return self._queries_to_codes(self.enc_in(rearrange(x, "b c t y x -> b t (y x) c")))

    def _queries_to_codes(self, x: torch.Tensor, visible: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frame tokens (b t n dim) of a window -> (codes (b s d), ids (b s), the quantizer's loss): query h sees
        frames t..t+h+1; with ``visible`` (b t n bool), only those tokens of them and the "nothing changed" one."""
        b = x.shape[0]
        x = x + self.enc_pos + self.enc_time[:, None, :]
        ctx = rearrange(x, "b t n dim -> b (t n) dim")
        cross = self.cross_mask  # (s, t n), True = may not attend
        if visible is not None:
            # Attention over the visible tokens alone: a window shows a few changed tokens of its 2 x 81, so
            # gathering them (k = the most any window of the batch shows, the rest padded and hidden) gives the same
            # softmax as masking all the others, at a fraction of the key/value projections' cost (encoding 9x9
            # windows ran at 250 a second on one core with the whole context). Attention is blind to key order.
            vis = rearrange(visible, "b t n -> b (t n)")
            k = max(int(vis.sum(1).max()), 1)
            order = torch.sort(vis.to(torch.uint8), dim=1, descending=True, stable=True).indices[:, :k]  # (b k)
            ctx = torch.gather(ctx, 1, repeat(order, "b k -> b k dim", dim=ctx.shape[-1]))
            s = cross.shape[0]
            hidden = torch.gather(repeat(cross, "s n -> b s n", b=b), 2, repeat(order, "b k -> b s k", s=s))
            hidden = hidden | ~rearrange(torch.gather(vis, 1, order), "b k -> b 1 k")  # padding: hidden
            ctx = torch.cat([self.null_ctx.expand(b, -1, -1), ctx], dim=1)
            hidden = torch.cat([torch.zeros_like(hidden[:, :, :1]), hidden], dim=2)  # the null token: always seen
            cross = repeat(hidden, "b s n -> (b nh) s n", nh=self.config.heads)
        q = repeat(self.queries, "s dim -> b s dim", b=b)
        for block in self.query_blocks:
            q = block(q, ctx, self.self_mask, cross)
        if self.config.quantizer == "vq":
            codes, ids, aux = self.vq(self.to_vq(q))  # (b, s, d), (b, s), commitment loss
            return codes, ids.long(), aux.sum()
        z = self.fsq_norm(rearrange(self.to_fsq(q), "b s d -> b (s d)"))
        z = rearrange(z, "b (s d) -> b s d", s=self.config.horizon)
        codes, ids = self.fsq(z)  # (b, s, d), (b, s)
        return codes, ids.long(), q.new_zeros(())

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames (b t h w c), or ids (b t n) in the token space, t = H+1 -> code ids (b s) int64."""
        return self.quantize(frames)[1]

    @torch.no_grad()
    def encode_video(self, frames: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """A whole video (n h w c), or its ids (n ...) in the token space -> the codes of every window t..t+H,
        t < n - H: ids (n-H, s).

        The same as ``encode`` on each window, but each frame's convolutions run twice (as a window's first
        frame, whose change input is zero, and as a later one), not H+1 times: the token cache's cost.
        """
        h = self.config.horizon
        if self.tokens:  # embeddings are cheap: encode the windows themselves
            ids = frames.flatten(1).long()
            if len(ids) <= h:
                return torch.zeros(0, h, dtype=torch.long)
            windows = ids.unfold(0, h + 1, 1).transpose(1, 2)  # (n-h, h+1, n)
            return torch.cat([self.encode(windows[a:a + batch_size]) for a in range(0, len(windows), batch_size)])
        x = frames_to_input(fit_frames(frames, self.config.frame_size))  # (n, c, h, w)
        n = len(x)
        if n <= h:
            return torch.zeros(0, h, dtype=torch.long)

        def enc(inp: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.frame_enc(inp[a:a + batch_size]) for a in range(0, len(inp), batch_size)])

        first = enc(torch.cat([x[: n - h], torch.zeros_like(x[: n - h])], dim=1))  # frame t, no change input
        later = enc(torch.cat([x[1:], x[1:] - x[:-1]], dim=1))  # frame k+1 and its change since k
        starts = torch.arange(n - h)
        later_idx = starts[:, None] + torch.arange(h)[None, :]  # (n-h, h): frames t+1..t+h in `later`
        ids = []
        for a in range(0, n - h, batch_size):
            sl = slice(a, a + batch_size)
            window = torch.cat([first[sl, None], later[later_idx[sl]]], dim=1)  # (b, t, c, g, g)
            ids.append(self._quantize_features(rearrange(window, "b t c y x -> b c t y x"))[1])
        return torch.cat(ids)

    # --- decoder: frame t + codes -> frames t+1..t+H

    def decode_codes(self, frame: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Frame t (b h w c) and FSQ codes (b s d) -> predicted frames t+1..t+H (b s h w c), float in [0, 1].

        In the token space: frame t's ids (b n) or (b g g) -> logits of frames t+1..t+H's ids (b s n v).
        """
        b, s, g = frame.shape[0], self.config.horizon, self.config.grid
        if self.tokens:
            grid = self.dec_emb(frame.flatten(1).long()) + self.dec_pos  # (b, n, dim)
        else:
            x0 = frames_to_input(fit_frames(frame, self.config.frame_size))  # (b, 3, h, w)
            grid = self.dec_in(rearrange(self.dec_enc(x0), "b c y x -> b (y x) c")) + self.dec_pos  # (b, n, dim)
        grid = repeat(grid, "b n dim -> b s n dim", s=s) + self.dec_target[None, :, None, :]
        code_tok = repeat(self.code_in(codes) + self.code_step, "b j dim -> b s j dim", s=s)
        seq = rearrange(torch.cat([grid, code_tok], dim=2), "b s n dim -> (b s) n dim")
        pad = repeat(self.dec_pad, "s n -> (b s) n", b=b)
        out = self.dec_out(self.dec_blocks(seq, src_key_padding_mask=pad)[:, : g * g])  # (b s, g*g, c or v)
        if self.tokens:
            out = rearrange(out, "(b s) n v -> b s n v", b=b)
            if self.config.copy_logit:  # frame t's id at each place gets the copy logit
                here = repeat(frame.flatten(1).long(), "b n -> b s n 1", s=s)
                out = out.scatter_add(-1, here, self.copy_logit.expand(here.shape))
            return out
        delta = self.pixel_dec(rearrange(out, "bs (y x) c -> bs c y x", y=g))  # (b s, 3, h, w)
        pred = repeat(x0, "b c h w -> (b s) c h w", s=s) + delta
        return rearrange(output_to_frames(pred), "(b s) h w c -> b s h w c", b=b)

    def decode(self, frame: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Frame t (b h w c) and code ids (b s) -> predicted frames t+1..t+H (b s h w c) in [0, 1].

        In the token space: frame t's ids (b n) -> the likeliest ids of frames t+1..t+H (b s n) int64.
        """
        vq = self.config.quantizer == "vq"
        codes = self.vq.get_output_from_indices(ids) if vq else self.fsq.indices_to_codes(ids)
        out = self.decode_codes(frame, codes)
        return out.argmax(-1) if self.tokens else out

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frames (b t h w c), t = H+1 -> (pred (b s h w c) of frames t+1..t+H, ids (b s), loss).

        The loss is the squared pixel error (in [0, 1] units) of the H predicted frames, with pixels that
        differ from frame t weighted ``1 + change_weight``: otherwise copying frame t is nearly optimal and
        the codes collapse to one value.

        In the token space: ids (b t n) -> (logits (b s n v) of frames t+1..t+H's ids, ids, loss), the loss
        being the cross-entropy of those ids, weighted the same way on ids that differ from frame t's.
        """
        frames = self._window_input(frames)
        codes, ids, aux = self._quantize(frames)
        if self.tokens:
            logits = self.decode_codes(frames[:, 0], codes)
            target = frames[:, 1:]
            weight = 1.0 + self.config.change_weight * (target != frames[:, :1]).float()  # (b s n)
            ce = F.cross_entropy(rearrange(logits, "b s n v -> b v s n"), target, reduction="none")
            return logits, ids, (weight * ce).mean() + aux
        pred = self.decode_codes(frames[:, 0], codes)
        target = frames_to_unit(frames[:, 1:])
        changed = (target != frames_to_unit(frames[:, :1])).any(dim=-1, keepdim=True)  # (b s h w 1)
        weight = 1.0 + self.config.change_weight * changed.float()
        loss = (weight * (pred - target) ** 2).mean() + aux
        return pred, ids, loss
