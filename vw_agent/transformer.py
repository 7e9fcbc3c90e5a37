"""Autoregressive transformer: a GPT over [cond][frame t tokens][H codes][frame t+1 tokens][H codes]...

VideoWorld (https://arxiv.org/abs/2501.09781) predicts, after the tokens of frame t, the LDM's H codes and
then the tokens of frame t+1; a conditioning token in front says whose turn it is (Go) or which task
(robot). One model, one file, in the manner of nanoGPT: ``forward(idx, targets)`` returns
``(logits, loss)`` and ``generate`` samples with a KV cache, temperature and top-k.

Vocabularies share one embedding table in disjoint ranges: frame tokens ``[0, frame_vocab)``, codes
``[frame_vocab, frame_vocab + code_vocab)``, conditions after that. Every position has a kind (cond, frame,
code), fixed by the layout, and the logits predicting a position are restricted to that kind's range, so
the model never spends probability on a token that cannot come next.

Axis letters: b batch, t frames in the window, g tokens per frame, s codes per step (H), n sequence,
nh heads, hs head size, v vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

COND, FRAME, CODE = 0, 1, 2  # position kinds


@dataclass
class GPTConfig:
    frame_vocab: int = 64_000  # the tokenizer's vocabulary (FSQ [8,8,8,5,5,5])
    code_vocab: int = 1_000  # the LDM's vocabulary (FSQ [8,5,5,5])
    cond_vocab: int = 2  # Go: 0 = black to move, 1 = white; robot: the number of tasks
    frame_tokens: int = 16  # g: tokens per frame (the paper's 4x4 grid)
    codes_per_step: int = 5  # s: LDM codes between two frames (H)
    frames: int = 2  # t: frames per training sequence (the sequence holds t-1 code groups)
    n_layer: int = 12  # transformer blocks
    n_head: int = 12  # attention heads
    n_embd: int = 768  # width
    dropout: float = 0.0  # 0 for pretraining-sized data; try 0.1 on small datasets
    bias: bool = False  # False: like Llama, a bit better and faster
    # loss weight of the code positions against the frame tokens': a step has one code (H) and g frame tokens, most
    # of them copies of frame t's, so at weight 1 the move-like choice is ~2% of the loss
    code_loss_weight: float = 1.0
    # loss weight of the first frame's tokens, the only ones predicted from the condition alone (an unconditional
    # board). Acting never samples them (it starts from the real frame), and in go9-point they were half the loss
    # and crowded out the code (docs/agent-go.md); 0 trains the GPT on what follows a real frame only
    first_frame_loss_weight: float = 1.0
    # loss weight of the later frames' tokens (frame t+1's). Acting with next_frame="ldm" never samples them: the
    # LDM's decoder renders frame t+1 from the sampled codes. 0 trains the GPT on the codes alone, and with two
    # frames cuts frame t+1 out of the training sequence: go9-point's sequence halves, 1.9x the steps a minute
    # (docs/agent-go.md). Such a GPT cannot render frame t+1 itself, so it needs next_frame "ldm"
    next_frame_loss_weight: float = 1.0
    # a prefix LM (UniLM, T5's prefix LM): the cond and the first frame, which are given and never predicted (needs
    # first_frame_loss_weight 0), attend to each other both ways. Causal attention lets each of a board's tokens
    # see only the points before it in raster order, so only the last one saw the whole board; in the prefix
    # every point sees every other, as a ConvNet's or a ViT's features do. Tokens after the prefix stay causal
    prefix_bidirectional: bool = False
    # residual 3x3 conv layers over the first frame's tokens laid out on their grid, before the transformer (a hybrid
    # ViT's conv stem). Needs prefix_bidirectional (a conv mixes each token with the ones after it). On go9-point's
    # data a 6-layer ConvNet probe read the move off frame t twice as well in 1 minute as the plain GPT in 52
    prefix_conv_layers: int = 0
    # read the first code of a step off the final states of all the first frame's tokens (each projected to 16
    # dims, then one linear map of the grid, as a policy network's head), not off the last token's state alone.
    # Needs prefix_bidirectional. A ConvNet probe with such a head learned the move far faster than the GPT did
    code_readout: bool = False
    # how acting draws frame t+1 once the codes are sampled: "gpt" samples its g tokens; "ldm" decodes them from
    # frame t and the codes with the LDM's decoder (argmax), one clean change when a code is an exact latent action
    next_frame: str = "gpt"

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.next_frame not in ("gpt", "ldm"):
            raise ValueError(f"next_frame must be 'gpt' or 'ldm', got {self.next_frame!r}")
        if self.prefix_conv_layers and not (self.prefix_bidirectional and math.isqrt(self.frame_tokens) ** 2
                                            == self.frame_tokens):
            raise ValueError("prefix_conv_layers needs prefix_bidirectional and a square grid of frame tokens")
        if self.code_readout and not self.prefix_bidirectional:
            raise ValueError("code_readout needs prefix_bidirectional")
        if self.next_frame_loss_weight == 0 and self.next_frame != "ldm":
            raise ValueError("next_frame_loss_weight 0 leaves frame t+1's tokens untrained: it needs next_frame "
                             "'ldm' (the LDM's decoder renders frame t+1)")
        if self.prefix_bidirectional and self.first_frame_loss_weight != 0:
            raise ValueError("prefix_bidirectional needs first_frame_loss_weight 0: a prefix token that sees the "
                             "next one cannot also be trained to predict it")

    @property
    def block_size(self) -> int:
        """Length of a full sequence: 1 cond + t frames of g tokens + (t-1) groups of s codes."""
        return 1 + self.frames * self.frame_tokens + (self.frames - 1) * self.codes_per_step

    @property
    def vocab_size(self) -> int:
        return self.frame_vocab + self.code_vocab + self.cond_vocab

    @property
    def sizes(self) -> dict[int, int]:
        """Number of ids of each kind."""
        return {FRAME: self.frame_vocab, CODE: self.code_vocab, COND: self.cond_vocab}

    @property
    def offsets(self) -> dict[int, int]:
        """First global id of each kind's range."""
        return {FRAME: 0, CODE: self.frame_vocab, COND: self.frame_vocab + self.code_vocab}


class KVCache:
    """Keys and values of the tokens seen so far, for inference (``generate``, under ``torch.no_grad``).

    ``k`` and ``v`` are (n_layer b nh block_size hs), allocated on first use; each forward writes its tokens' keys
    and values in place at positions ``len(cache)`` on, instead of a ``torch.cat`` of the whole past per token
    and layer. Because of the in-place writes, backward through more than one cached forward raises (training
    uses no cache).
    """

    def __init__(self, n_layer: int):
        self.n_layer = n_layer
        self.k: torch.Tensor | None = None  # (n_layer, b, nh, block_size, hs)
        self.v: torch.Tensor | None = None
        self._k: list[torch.Tensor] = []  # per-layer views of k and v (b nh block_size hs), taken once
        self._v: list[torch.Tensor] = []
        self.length = 0  # tokens cached, in every layer once a forward is through

    def __len__(self) -> int:
        return self.length

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor, capacity: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``layer``'s k, v (b nh n hs) at positions len..len+n -> its keys and values so far (b nh len+n hs).

        ``capacity`` (the block size) sizes the buffers on first use. ``len`` moves on in ``advance``, once every
        layer has stored its part.
        """
        if self.k is None:
            b, nh, _, hs = k.shape
            self.k = k.new_empty(self.n_layer, b, nh, capacity, hs)
            self.v = v.new_empty(self.n_layer, b, nh, capacity, hs)
            # indexing, not unbind: autograd forbids in-place writes to unbind's views (a forward with grad on)
            self._k, self._v = [self.k[i] for i in range(self.n_layer)], [self.v[i] for i in range(self.n_layer)]
        start, n = self.length, k.shape[2]
        keys, values = self._k[layer], self._v[layer]
        keys.narrow(2, start, n).copy_(k)  # narrow: one op, and none of [:, :, a:b]'s index parsing
        values.narrow(2, start, n).copy_(v)
        return keys.narrow(2, 0, start + n), values.narrow(2, 0, start + n)

    def advance(self, n: int) -> None:
        self.length += n


# Per-token overhead. generate runs every block on one new token per step, where the time goes into fixed costs,
# not arithmetic: PyTorch's ~25 us per operation, and Python's. Measured in that loop on the 2-core CPU machine:
# a module call ~3.7 us; a submodule or parameter read as an attribute ~4 us (it lives in _modules or
# _parameters, so the normal lookup fails first and nn.Module.__getattr__ runs); a plain function call ~0.2 us.
# A block made ~13 module calls and ~20 such reads per token; now it makes 3 calls (itself, attention, MLP) and
# no reads. So the blocks reshape with view/permute (einops' rearrange adds parsing and dispatch to every call),
# skip dropout outright where it is the identity, take submodules and parameters from the _modules /
# _parameters dicts, and apply their Linear and LayerNorm layers with the functions below instead of calling
# them. The modules stay: they hold the parameters, under the state_dict names that checkpoints have.


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """``nn.Dropout(p)`` without a module, and no op at all in eval or at p = 0 (where it is the identity)."""
    return F.dropout(x, p, training=True) if training and p > 0 else x


def _linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` without the module call (see above)."""
    p = layer._parameters
    return F.linear(x, p["weight"], p["bias"])


def _norm(layer: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` without the module call (see above)."""
    p = layer._parameters
    return F.layer_norm(x, layer.normalized_shape, p["weight"], p["bias"], layer.eps)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.block_size = config.block_size
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout  # attention weights and residual output
        if config.prefix_bidirectional:  # (n, n), True = may attend: causal, and within the prefix both ways
            n, prefix = config.block_size, 1 + config.frame_tokens
            inside = torch.arange(n) < prefix
            mask = torch.ones(n, n, dtype=torch.bool).tril() | (inside[:, None] & inside[None, :])
            self.register_buffer("prefix_mask", mask, persistent=False)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        b, n, e = x.shape
        m = self._modules  # c_attn, c_proj (not as attributes: see "Per-token overhead")
        # b n (3 nh hs) -> 3 b nh n hs (view/permute, not rearrange: op overhead)
        q, k, v = _linear(m["c_attn"], x).view(b, n, 3, self.n_head, e // self.n_head).permute(2, 0, 3, 1, 4)
        past = 0
        if cache is not None:
            past = len(cache)
            k, v = cache.append(layer, k, v, self.block_size)  # b nh past+n hs
        drop = self.dropout if self.training else 0.0
        prefix_mask = self._buffers.get("prefix_mask")
        if past == 0 and prefix_mask is not None:  # a prefix LM: the prefix attends both ways
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=prefix_mask[:n, :n], dropout_p=drop)
        elif past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        elif n == 1:  # one new token (sampling) sees every cached key: no mask to build
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:  # new token i sits at position past + i and sees keys 0..past + i
            mask = torch.ones(n, past + n, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).reshape(b, n, e)  # b nh n hs -> b n (nh hs) (not rearrange: op overhead)
        return _dropout(_linear(m["c_proj"], y), drop, self.training)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        # applied layer by layer, not as a Sequential (see "Per-token overhead"); the parameters keep the names
        # net.0 / net.2 that checkpoints hold (the Dropout that sat at net.3 had none)
        self.net = nn.Sequential(nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias), nn.GELU(),
                                 nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias))
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fc, gelu, proj = self._modules["net"]
        return _dropout(_linear(proj, F.gelu(_linear(fc, x), approximate=gelu.approximate)), self.dropout,
                        self.training)


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        m = self._modules  # not as attributes: see "Per-token overhead"
        x = x + m["attn"](_norm(m["ln_1"], x), cache, layer)
        return x + m["mlp"](_norm(m["ln_2"], x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # learned positions
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.prefix_conv = nn.ModuleList(nn.Conv2d(config.n_embd, config.n_embd, 3, padding=1)
                                         for _ in range(config.prefix_conv_layers))
        if config.code_readout:  # (b g e) -> (b g 16) -> (b code_vocab)
            self.readout_proj = nn.Linear(config.n_embd, 16)
            self.readout = nn.Linear(config.frame_tokens * 16, config.code_vocab)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying, as in GPT-2
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # scaled init of the residual projections (GPT-2)
            if name.endswith("c_proj.weight") or name.endswith("net.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
        # derived from config: the kind of every position, and which ids each kind may take
        g, s = config.frame_tokens, config.codes_per_step
        step = [FRAME] * g + [CODE] * s
        kinds = [COND] + (step * config.frames)[: config.block_size - 1]
        self.register_buffer("kinds", torch.tensor(kinds), persistent=False)  # (n,)
        self.kind_list = kinds  # the same as a list: generate reads one per token, without a tensor op
        allowed = torch.zeros(3, config.vocab_size, dtype=torch.bool)
        for kind, off in config.offsets.items():
            allowed[kind, off: off + config.sizes[kind]] = True
        self.register_buffer("allowed", allowed, persistent=False)  # (3, v)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        """Parameters, counting the tied embedding once and without position embeddings (as nanoGPT)."""
        return sum(p.numel() for p in self.parameters()) - self.wpe.weight.numel()

    # --- the sequence layout

    def build_sequence(self, frame_tokens: torch.Tensor, codes: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Frame tokens (b t g), codes (b t-1 s) and cond (b,), all local ids -> global ids (b n), n = block_size.

        Codes group k are the LDM codes of frames k..k+H, so they sit between frame k and frame k+1.
        """
        cfg = self.config
        b, t, g = frame_tokens.shape
        if (t, g) != (cfg.frames, cfg.frame_tokens) or codes.shape[1:] != (t - 1, cfg.codes_per_step):
            raise ValueError(f"expected frame tokens (b, {cfg.frames}, {cfg.frame_tokens}) and codes "
                             f"(b, {cfg.frames - 1}, {cfg.codes_per_step}); got {tuple(frame_tokens.shape)} "
                             f"and {tuple(codes.shape)}")
        off = cfg.offsets
        frames = frame_tokens + off[FRAME]
        codes = codes + off[CODE]
        parts = [(cond + off[COND])[:, None]]
        for k in range(t):
            parts.append(frames[:, k])
            if k < t - 1:
                parts.append(codes[:, k])
        return torch.cat(parts, dim=1).long()

    def split_sequence(self, idx: torch.Tensor) -> dict[int, torch.Tensor]:
        """Global ids (b n) -> {kind: local ids (b, m)} in order of appearance (for reading samples back)."""
        kinds = self.kinds[: idx.shape[1]]
        return {kind: idx[:, kinds == kind] - off for kind, off in self.config.offsets.items()}

    # --- model

    def _trunk(self, idx: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        """Global ids (b n), continuing ``cache`` if given (and then added to it) -> final hidden states (b n e)."""
        n = idx.shape[1]
        start = len(cache) if cache is not None else 0
        if start + n > self.config.block_size:
            raise ValueError(f"sequence of {start + n} tokens exceeds block_size {self.config.block_size}")
        m = self._modules  # not as attributes: see "Per-token overhead"
        # positions start..start+n-1: a slice of the table, one op where arange + lookup take two
        x = m["wte"](idx) + m["wpe"]._parameters["weight"][start: start + n]
        if self.config.prefix_conv_layers:
            x = self._conv_prefix(x, start)
        x = _dropout(x, self.config.dropout, self.training)
        for i, block in enumerate(m["blocks"]):
            x = block(x, cache, i)
        if cache is not None:
            cache.advance(n)
        return _norm(m["ln_f"], x)

    def _read_code(self, h: torch.Tensor) -> torch.Tensor:
        """Final states of the first frame's tokens (b g e) -> logits of the step's first code (b code_vocab)."""
        return self.readout(rearrange(self.readout_proj(h), "b g d -> b (g d)"))

    def _conv_prefix(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """Input embeddings (b n e) -> the same with the first frame's g tokens through the conv stem (a call that
        starts at position 0 must hold the whole first frame; later calls pass through)."""
        g = self.config.frame_tokens
        if start > 0:
            return x
        if x.shape[1] < 1 + g:
            raise ValueError(f"a GPT with a conv stem needs the cond and all {g} first-frame tokens in its first call")
        side = math.isqrt(g)
        grid = rearrange(x[:, 1: 1 + g], "b (y x) e -> b e y x", y=side)
        for conv in self.prefix_conv:
            grid = grid + F.gelu(conv(grid))
        return torch.cat([x[:, :1], rearrange(grid, "b e y x -> b (y x) e"), x[:, 1 + g:]], dim=1)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Global ids (b n) -> (logits (b n v), loss or None).

        ``targets`` (b n) are the next ids; -1 is ignored. With ``cache``, ``idx`` continues the cached
        tokens (its first position is ``len(cache)``). Logits at position p predict position p+1 and are
        restricted (-inf outside) to the ids of p+1's kind.
        """
        c, g = self.config, self.config.frame_tokens
        start = len(cache) if cache is not None else 0
        h = self._trunk(idx, cache)
        logits = self.lm_head(h)  # (b, n, v)
        nxt = torch.arange(start + 1, start + idx.shape[1] + 1, device=idx.device)  # the positions predicted
        next_kind = self.kinds[nxt.clamp(max=c.block_size - 1)]  # (n,)
        logits = logits.masked_fill(~self.allowed[next_kind], float("-inf"))
        if c.code_readout and start == 0 and idx.shape[1] > g:  # position g predicts the first code
            off = c.offsets[CODE]
            logits[:, g, off: off + c.code_vocab] = self._read_code(h[:, 1: 1 + g])
        loss = None
        if targets is not None:
            ce = F.cross_entropy(rearrange(logits, "b n v -> b v n"), targets, ignore_index=-1, reduction="none")
            weight = torch.where(next_kind == CODE, c.code_loss_weight, 1.0)
            weight = torch.where((next_kind == FRAME) & (nxt > g), c.next_frame_loss_weight, weight)  # frames 1..
            weight = torch.where(nxt <= g, c.first_frame_loss_weight, weight)  # positions 1..g: frame 0
            weight = weight[None, :] * (targets >= 0)
            loss = (ce * weight).sum() / weight.sum().clamp(min=1e-9)  # (weight 1 everywhere: the plain mean)
        return logits, loss

    def loss_on(self, frame_tokens: torch.Tensor, codes: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Next-token loss over full sequences: every token after the cond is a target, including frame t's own
        tokens (so the model also learns which boards occur, given whose turn it is), each weighted by its kind.

        With ``next_frame_loss_weight`` 0 and two frames, the sequence ends at the codes: frame t+1's tokens would
        carry no loss and, the attention being causal after the prefix, change no other position's output."""
        c = self.config
        idx = self.build_sequence(frame_tokens, codes, cond)
        if c.next_frame_loss_weight == 0 and c.frames == 2:
            idx = idx[:, : 1 + c.frame_tokens + c.codes_per_step]  # [cond][frame t][codes]
        return self(idx[:, :-1], idx[:, 1:])[1]

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 use_cache: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue global ids (b n) by ``max_new_tokens`` sampled tokens -> (b, n + max_new_tokens).

        ``temperature`` 0 is greedy. ``top_k`` keeps the k likeliest ids of the position's kind.
        ``use_cache=False`` reruns the whole prefix each step (slow; kept to test the cache against).

        Each step scores only the last position, and only against the ids of the kind that comes next (the
        matching rows of ``lm_head``): the same distribution as ``forward``'s masked logits at a fraction
        of the cost. A move is ~30 sampled tokens of a batch of 1-10, so per-step overhead is the latency: the
        cache is preallocated and written in place (``KVCache``), the output too, and the blocks keep Python and
        op overhead down (see "Per-token overhead" above).
        """
        c = self.config
        b, n0 = idx.shape
        out = torch.empty(b, n0 + max_new_tokens, dtype=torch.long, device=idx.device)  # filled in as sampled
        out[:, :n0] = idx
        offsets = c.offsets
        heads = {kind: self.lm_head.weight[off: off + c.sizes[kind]] for kind, off in offsets.items()}  # (v of kind, e)
        cache = KVCache(c.n_layer) if use_cache else None
        step_in = idx
        for n in range(n0, n0 + max_new_tokens):  # n: the position to fill
            x = self._trunk(step_in if use_cache else out[:, :n], cache)
            kind = self.kind_list[min(n, c.block_size - 1)]
            if c.code_readout and n == 1 + c.frame_tokens:  # the first code, off the whole first frame
                scores = self._read_code(x[:, 1: 1 + c.frame_tokens])
            else:
                scores = F.linear(x[:, -1], heads[kind])
            nxt = sample(scores, temperature, top_k, generator) + offsets[kind]  # (b 1)
            out[:, n: n + 1] = nxt
            step_in = nxt
        return out


def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """One id per row of ``logits`` (b v) -> (b 1): greedy at temperature 0, else from softmax(logits / T)
    restricted to the ``top_k`` likeliest.

    Inverse-CDF sampling (one uniform per row, a cumulative sum, a binary search): the same distribution as
    ``torch.multinomial``, which cost ~0.2 ms a call here (of the ~3 ms a sampled token took in all).
    """
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    if temperature != 1:  # (x / 1 is x: an op per token saved at the usual temperature)
        logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, [-1]]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    cdf = F.softmax(logits, dim=-1).cumsum(dim=-1)  # (b, v)
    u = torch.rand(len(logits), 1, generator=generator, device=logits.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).clamp(max=logits.shape[-1] - 1)
