from __future__ import annotations

import pytest
import torch

from tests.agent.conftest import train_steps, went_down
from vw_agent.transformer import CODE, COND, FRAME, GPT, GPTConfig, KVCache, sample


def small(**kw) -> GPT:
    cfg = dict(frame_vocab=50, code_vocab=20, cond_vocab=2, frame_tokens=4, codes_per_step=2, frames=3, n_layer=2,
               n_head=2, n_embd=32)
    return GPT(GPTConfig(**{**cfg, **kw})).eval()


def batch(gpt: GPT, b: int = 3):
    c = gpt.config
    return (torch.randint(0, c.frame_vocab, (b, c.frames, c.frame_tokens)),
            torch.randint(0, c.code_vocab, (b, c.frames - 1, c.codes_per_step)), torch.randint(0, c.cond_vocab, (b,)))


def test_layout_and_round_trip():
    gpt = small()
    frames, codes, cond = batch(gpt)
    idx = gpt.build_sequence(frames, codes, cond)
    assert idx.shape == (3, gpt.config.block_size) == (3, 1 + 3 * 4 + 2 * 2)
    assert gpt.kinds.tolist() == [COND] + [FRAME] * 4 + [CODE] * 2 + [FRAME] * 4 + [CODE] * 2 + [FRAME] * 4
    parts = gpt.split_sequence(idx)
    assert torch.equal(parts[FRAME].view_as(frames), frames)
    assert torch.equal(parts[CODE].view_as(codes), codes)
    assert torch.equal(parts[COND][:, 0], cond)
    assert idx[:, 0].min() >= 70 and (idx[:, 5:7] >= 50).all() and (idx[:, 5:7] < 70).all()  # offset ranges


def test_logits_stay_in_the_next_kinds_range():
    gpt = small()
    idx = gpt.build_sequence(*batch(gpt))
    logits, loss = gpt(idx[:, :-1], idx[:, 1:])
    assert logits.shape == (3, gpt.config.block_size - 1, gpt.config.vocab_size) and loss.ndim == 0
    finite = torch.isfinite(logits[0])
    assert finite[0, :50].all() and not finite[0, 50:].any()  # after cond: a frame token
    assert finite[4, 50:70].all() and not finite[4, :50].any() and not finite[4, 70:].any()  # then codes


def test_too_long():
    gpt = small()
    with pytest.raises(ValueError, match="exceeds block_size"):
        gpt(torch.zeros(1, gpt.config.block_size + 1, dtype=torch.long))


def test_kv_cache_matches_full_forward():
    gpt = small()
    c = gpt.config
    idx = gpt.build_sequence(*batch(gpt))
    full, _ = gpt(idx)
    cache = KVCache(c.n_layer)
    assert len(cache) == 0 and cache.k is None  # allocated on first use
    first, _ = gpt(idx[:, :6], cache=cache)  # a prefix, then one token at a time, then a chunk
    assert cache.k.shape == cache.v.shape == (c.n_layer, 3, c.n_head, c.block_size, c.n_embd // c.n_head)
    buffer = cache.k.data_ptr()
    parts = [first]
    for i in range(6, 10):
        parts.append(gpt(idx[:, i:i + 1], cache=cache)[0])
        assert len(cache) == i + 1
    parts.append(gpt(idx[:, 10:], cache=cache)[0])
    assert len(cache) == c.block_size and cache.k.data_ptr() == buffer  # written in place, never reallocated
    cached = torch.cat(parts, dim=1)
    assert torch.allclose(cached.nan_to_num(neginf=0), full.nan_to_num(neginf=0), atol=1e-5)
    with pytest.raises(ValueError, match="exceeds block_size"):
        gpt(idx[:, :1], cache=cache)


def test_kv_cache_keys_are_the_full_forwards():
    """Every layer's cached keys and values, filled in three chunks, equal those of one uncached pass."""
    gpt = small()
    idx = gpt.build_sequence(*batch(gpt, b=2))
    whole, parts = KVCache(gpt.config.n_layer), KVCache(gpt.config.n_layer)
    with torch.no_grad():
        gpt(idx, cache=whole)
        for a, b in [(0, 1), (1, 8), (8, idx.shape[1])]:
            gpt(idx[:, a:b], cache=parts)
    assert torch.allclose(whole.k, parts.k, atol=1e-6) and torch.allclose(whole.v, parts.v, atol=1e-6)


@pytest.mark.parametrize("prefix", [1, 5, 9])
def test_cached_greedy_equals_uncached_greedy(prefix):
    gpt = small()
    idx = gpt.build_sequence(*batch(gpt))[:, :prefix]
    n = gpt.config.block_size - prefix
    fast = gpt.generate(idx, n, temperature=0)
    slow = gpt.generate(idx, n, temperature=0, use_cache=False)
    assert torch.equal(fast, slow)
    parts = gpt.split_sequence(fast)  # every sampled id lies in its position's range
    assert parts[FRAME].min() >= 0 and parts[FRAME].max() < 50 and parts[CODE].min() >= 0 and parts[CODE].max() < 20


def test_sampling_temperature_and_top_k():
    gpt = small()
    idx = gpt.build_sequence(*batch(gpt))[:, :1]
    a = gpt.generate(idx, 10, temperature=1.0, top_k=3, generator=torch.Generator().manual_seed(1))
    b = gpt.generate(idx, 10, temperature=1.0, top_k=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)  # seeded
    top1 = gpt.generate(idx, 10, temperature=1.0, top_k=1)
    assert torch.equal(top1, gpt.generate(idx, 10, temperature=0))  # top-1 sampling is greedy


@pytest.mark.parametrize("b", [1, 10])
@pytest.mark.parametrize("temperature,top_k", [(0.0, None), (1.0, None), (0.7, 5)])
def test_generate_samples_forwards_distribution(temperature, top_k, b):
    """generate scores only the next kind's ids at the last position; drawing from forward's full masked logits
    with the same random numbers gives the same sequence, through frame and code positions, to block_size."""
    gpt = small()
    idx = gpt.build_sequence(*batch(gpt, b))[:, :3]
    n = gpt.config.block_size - 3
    fast = gpt.generate(idx, n, temperature=temperature, top_k=top_k, generator=torch.Generator().manual_seed(4))
    g, ref = torch.Generator().manual_seed(4), idx
    for _ in range(n):
        ref = torch.cat([ref, sample(gpt(ref)[0][:, -1], temperature, top_k, g)], dim=1)
    assert torch.equal(fast, ref)


@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.7, 5)])
def test_cached_sampling_equals_uncached(temperature, top_k):
    gpt = small()
    idx = gpt.build_sequence(*batch(gpt, 10))[:, :2]
    n = gpt.config.block_size - 2
    fast = gpt.generate(idx, n, temperature, top_k, generator=torch.Generator().manual_seed(2))
    slow = gpt.generate(idx, n, temperature, top_k, use_cache=False, generator=torch.Generator().manual_seed(2))
    assert torch.equal(fast, slow)
    assert torch.equal(gpt.generate(idx, 0), idx)  # nothing to sample: the prefix


def test_checkpoint_names():
    """state_dict keys are what saved checkpoints hold (the MLP's net.0 / net.2 from its old nn.Sequential)."""
    keys = set(small(n_layer=1).state_dict())
    layer = {"ln_1.weight", "attn.c_attn.weight", "attn.c_proj.weight", "ln_2.weight", "mlp.net.0.weight",
             "mlp.net.2.weight"}
    assert keys == {"wte.weight", "wpe.weight", "ln_f.weight", "lm_head.weight"} | {f"blocks.0.{k}" for k in layer}
    assert "blocks.0.mlp.net.2.bias" in small(n_layer=1, bias=True).state_dict()


def test_dropout_only_when_training():
    """Dropout is skipped in eval and at p = 0 (same output as eval); at p > 0 in training it acts, seeded."""
    idx = torch.randint(0, 50, (2, 8))
    for p in (0.0, 0.5):
        torch.manual_seed(0)
        gpt = small(dropout=p)
        ref = gpt(idx)[0]
        gpt.train()
        torch.manual_seed(1)
        a = gpt(idx)[0]
        torch.manual_seed(1)
        assert torch.equal(a, gpt(idx)[0])
        assert torch.equal(a, ref) == (p == 0)


def test_sample_follows_the_softmax():
    """20,000 draws from a known distribution: each id's share within 0.015 of its probability; top-k and
    temperature 0 as documented."""
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).expand(20_000, -1)
    g = torch.Generator().manual_seed(0)
    ids = sample(logits, 1.0, None, g)[:, 0]
    share = torch.bincount(ids, minlength=4).float() / len(ids)
    assert torch.allclose(share, torch.tensor([0.5, 0.3, 0.15, 0.05]), atol=0.015)
    top2 = sample(logits, 1.0, 2, g)[:, 0]
    assert set(top2.tolist()) == {0, 1} and abs((top2 == 0).float().mean().item() - 0.625) < 0.015
    hot = sample(logits, 0.5, None, g)[:, 0]  # T = 0.5 squares the probabilities: 0.25/0.09/... normalised
    assert abs((hot == 0).float().mean().item() - 0.25 / (0.25 + 0.09 + 0.0225 + 0.0025)) < 0.015
    assert (sample(logits[:3], 0.0) == 0).all()


def test_loss_goes_down():
    """Next-token loss on 8 sequences with structure (frame t+1 = frame t shifted by the code): memorised fast."""
    gpt = small(dropout=0.0)
    gpt.train()
    g = torch.Generator().manual_seed(0)
    frames0 = torch.randint(0, 50, (8, 1, 4), generator=g)
    codes = torch.randint(0, 20, (8, 2, 2), generator=g)
    frame1 = (frames0 + codes[:, :1, :1]) % 50
    frames = torch.cat([frames0, frame1, (frame1 + codes[:, 1:, :1]) % 50], dim=1)
    cond = torch.randint(0, 2, (8,), generator=g)

    def step(model, _):
        i = torch.randint(0, 8, (16,), generator=g)
        return model.loss_on(frames[i], codes[i], cond[i])

    losses = train_steps(gpt, step, 40, lr=3e-3)
    assert went_down(losses, 0.8), " ".join(f"{x:.4f}" for x in losses)


def test_prefix_lm_sees_the_whole_first_frame_and_stays_causal_after_it():
    from dataclasses import replace

    cfg = GPTConfig(frame_vocab=20, code_vocab=7, frame_tokens=4, codes_per_step=1, n_layer=2, n_head=2, n_embd=16,
                    first_frame_loss_weight=0.0, prefix_bidirectional=True)
    gpt = GPT(cfg).eval()
    frames, codes, cond = torch.randint(0, 20, (1, 2, 4)), torch.randint(0, 7, (1, 1, 1)), torch.tensor([1])
    idx = gpt.build_sequence(frames, codes, cond)  # [cond][4 frame-0 tokens][code][4 frame-1 tokens]
    base, _ = gpt(idx)
    last_prefix = idx.clone()
    last_prefix[0, 4] = (idx[0, 4] + 1) % 20  # the prefix's last token
    seen, _ = gpt(last_prefix)
    assert not torch.allclose(seen[0, 1], base[0, 1])  # the prefix's first frame token sees it: both ways
    after = idx.clone()
    after[0, 7] = (idx[0, 7] + 1) % 20  # a frame-1 token, after the prefix
    unseen, _ = gpt(after)
    assert torch.allclose(unseen[0, :7], base[0, :7])  # nothing before it sees it: causal
    prefix = idx[:, :5]
    cached = gpt.generate(prefix, 5, temperature=0)
    assert torch.equal(cached, gpt.generate(prefix, 5, temperature=0, use_cache=False))
    causal = GPT(replace(cfg, prefix_bidirectional=False)).eval()
    causal.load_state_dict(gpt.state_dict())
    assert torch.allclose(causal(last_prefix)[0][0, 1], causal(idx)[0][0, 1])  # the plain GPT: causal throughout
    with pytest.raises(ValueError, match="needs first_frame_loss_weight 0"):
        GPTConfig(prefix_bidirectional=True)


def test_conv_stem_reads_the_first_frame_on_its_grid():
    cfg = GPTConfig(frame_vocab=20, code_vocab=7, frame_tokens=9, codes_per_step=1, n_layer=1, n_head=2, n_embd=16,
                    first_frame_loss_weight=0.0, prefix_bidirectional=True, prefix_conv_layers=2)
    gpt = GPT(cfg).eval()
    frames, codes, cond = torch.randint(0, 20, (2, 2, 9)), torch.randint(0, 7, (2, 1, 1)), torch.tensor([0, 1])
    idx = gpt.build_sequence(frames, codes, cond)
    prefix = idx[:, :10]
    assert torch.equal(gpt.generate(prefix, 10, temperature=0),
                       gpt.generate(prefix, 10, temperature=0, use_cache=False))  # the stem runs once, in the prefix
    loss = gpt.loss_on(frames, codes, cond)
    loss.backward()
    assert gpt.prefix_conv[0].weight.grad.abs().sum() > 0  # the stem trains
    with pytest.raises(ValueError, match="needs the cond and all 9 first-frame tokens"):
        gpt(idx[:, :5])
    with pytest.raises(ValueError, match="prefix_conv_layers needs prefix_bidirectional"):
        GPTConfig(frame_tokens=9, prefix_conv_layers=2)


def test_code_readout_reads_the_first_code_off_the_whole_frame():
    cfg = GPTConfig(frame_vocab=20, code_vocab=7, frame_tokens=9, codes_per_step=1, n_layer=1, n_head=2, n_embd=16,
                    first_frame_loss_weight=0.0, prefix_bidirectional=True, code_readout=True)
    gpt = GPT(cfg).eval()
    frames, codes, cond = torch.randint(0, 20, (2, 2, 9)), torch.randint(0, 7, (2, 1, 1)), torch.tensor([0, 1])
    idx = gpt.build_sequence(frames, codes, cond)
    logits, _ = gpt(idx)
    h = gpt._trunk(idx, None)
    off = cfg.offsets[CODE]
    assert torch.allclose(logits[:, 9, off: off + 7], gpt._read_code(h[:, 1:10]))  # position 9 predicts the code
    first = gpt.generate(idx[:, :10], 1, temperature=0)[:, -1] - off
    assert torch.equal(first, logits[:, 9, off: off + 7].argmax(-1))  # sampling uses the same head
    assert torch.equal(gpt.generate(idx[:, :10], 10, temperature=0),
                       gpt.generate(idx[:, :10], 10, temperature=0, use_cache=False))
    gpt.loss_on(frames, codes, cond).backward()
    assert gpt.readout.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="code_readout needs prefix_bidirectional"):
        GPTConfig(code_readout=True)
