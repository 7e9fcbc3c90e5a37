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

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")

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
    """Per-layer keys and values of the tokens seen so far (b nh n hs each)."""

    def __init__(self, n_layer: int):
        self.k: list[torch.Tensor | None] = [None] * n_layer
        self.v: list[torch.Tensor | None] = [None] * n_layer

    def __len__(self) -> int:
        return 0 if self.k[0] is None else self.k[0].shape[2]


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        n = x.shape[1]
        q, k, v = (rearrange(t, "b n (nh hs) -> b nh n hs", nh=self.n_head) for t in self.c_attn(x).chunk(3, dim=-1))
        if cache is not None:
            if cache.k[layer] is not None:
                k = torch.cat([cache.k[layer], k], dim=2)
                v = torch.cat([cache.v[layer], v], dim=2)
            cache.k[layer], cache.v[layer] = k, v
        past = k.shape[2] - n
        drop = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        elif n == 1:  # one new token (sampling) sees every cached key: no mask to build
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:  # new token i sits at position past + i and sees keys 0..past + i
            mask = torch.ones(n, past + n, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        return self.resid_dropout(self.c_proj(rearrange(y, "b nh n hs -> b n (nh hs)")))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias), nn.GELU(),
                                 nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias),
                                 nn.Dropout(config.dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # learned positions
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
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

    def _trunk(self, idx: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Global ids (b n), continuing ``cache`` if given -> (final hidden states (b n e), positions (n,))."""
        n = idx.shape[1]
        start = len(cache) if cache is not None else 0
        if start + n > self.config.block_size:
            raise ValueError(f"sequence of {start + n} tokens exceeds block_size {self.config.block_size}")
        pos = torch.arange(start, start + n, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        return self.ln_f(x), pos

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Global ids (b n) -> (logits (b n v), loss or None).

        ``targets`` (b n) are the next ids; -1 is ignored. With ``cache``, ``idx`` continues the cached
        tokens (its first position is ``len(cache)``). Logits at position p predict position p+1 and are
        restricted (-inf outside) to the ids of p+1's kind.
        """
        x, pos = self._trunk(idx, cache)
        logits = self.lm_head(x)  # (b, n, v)
        next_kind = self.kinds[(pos + 1).clamp(max=self.config.block_size - 1)]  # (n,)
        logits = logits.masked_fill(~self.allowed[next_kind], float("-inf"))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(rearrange(logits, "b n v -> (b n) v"), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def loss_on(self, frame_tokens: torch.Tensor, codes: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Next-token loss over full sequences: every token after the cond is a target, including frame t's own
        tokens (so the model also learns which boards occur, given whose turn it is)."""
        idx = self.build_sequence(frame_tokens, codes, cond)
        return self(idx[:, :-1], idx[:, 1:])[1]

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 use_cache: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue global ids (b n) by ``max_new_tokens`` sampled tokens -> (b, n + max_new_tokens).

        ``temperature`` 0 is greedy. ``top_k`` keeps the k likeliest ids of the position's kind.
        ``use_cache=False`` reruns the whole prefix each step (slow; kept to test the cache against).

        Each step scores only the last position, and only against the ids of the kind that comes next (the
        matching rows of ``lm_head``): the same distribution as ``forward``'s masked logits at a fraction
        of the cost. A move is ~30 sampled tokens of a batch of 1-10, so per-step overhead is the latency.
        """
        cache = KVCache(self.config.n_layer) if use_cache else None
        step_in = idx
        for _ in range(max_new_tokens):
            x, _ = self._trunk(step_in if use_cache else idx, cache)
            kind = int(self.kinds[min(idx.shape[1], self.config.block_size - 1)])  # the position to fill
            off = self.config.offsets[kind]
            logits = F.linear(x[:, -1], self.lm_head.weight[off: off + self.config.sizes[kind]])  # (b, v of kind)
            nxt = sample(logits, temperature, top_k, generator) + off
            idx = torch.cat([idx, nxt], dim=1)
            step_in = nxt
        return idx


def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """One id per row of ``logits`` (b v) -> (b 1): greedy at temperature 0, else from softmax(logits / T)
    restricted to the ``top_k`` likeliest.

    Inverse-CDF sampling (one uniform per row, a cumulative sum, a binary search): the same distribution as
    ``torch.multinomial``, which cost ~0.2 ms a call here (of the ~3 ms a sampled token took in all).
    """
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, [-1]]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    cdf = F.softmax(logits, dim=-1).cumsum(dim=-1)  # (b, v)
    u = torch.rand(len(logits), 1, generator=generator, device=logits.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).clamp(max=logits.shape[-1] - 1)
