from __future__ import annotations

import pytest
import torch

from vw_agent.idm import InverseDynamics
from vw_agent.ldm import LatentDynamicsModel
from vw_agent.presets import PRESETS, get_preset
from vw_agent.tokenizer import FrameTokenizer, TokenizerConfig
from vw_agent.transformer import GPT


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_linked(name):
    p = get_preset(name)
    assert p.gpt.frame_vocab == p.tokenizer.vocab_size
    assert p.gpt.code_vocab == p.ldm.vocab_size == p.idm.code_vocab
    assert p.gpt.frame_tokens % p.tokenizer.grid ** 2 == 0
    assert p.gpt.codes_per_step == p.idm.codes_per_step <= p.ldm.horizon
    assert p.idm.frame_size == p.ldm.frame_size
    assert set(p.train) == {"tokenizer", "ldm", "transformer", "idm"}


def test_paper_sizes():
    go = get_preset("paper-go-300m")
    assert go.tokenizer.grid ** 2 == 16 and go.tokenizer.vocab_size == 64_000
    assert go.ldm.frame_size == 128 and go.ldm.horizon == 5
    with torch.device("meta"):
        gpt = GPT(go.gpt)
    body = gpt.num_params() - gpt.wte.weight.numel()
    assert 290e6 < body < 310e6
    calvin = get_preset("paper-calvin")
    assert calvin.ldm.horizon == 9 and calvin.gpt.codes_per_step == 5 and calvin.gpt.frame_tokens == 32
    assert not calvin.idm.discrete and calvin.idm.action_dim == 7


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'nope'; choose one of tiny"):
        get_preset("nope")


def test_tiny_pipeline_end_to_end():
    """Frames -> tokens -> GPT samples codes and next-frame tokens -> decoders -> IDM logits, all shapes agree."""
    p = get_preset("tiny")
    tok, ldm, gpt, idm = (FrameTokenizer(p.tokenizer), LatentDynamicsModel(p.ldm), GPT(p.gpt),
                          InverseDynamics(p.idm))
    for m in (tok, ldm, gpt, idm):
        m.eval()
    frames = torch.randint(0, 256, (2, p.ldm.horizon + 1, 64, 64, 3), dtype=torch.uint8)
    ids = tok.encode(frames[:, 0]).flatten(1)  # (2, g)
    codes = ldm.encode(frames)  # (2, H)
    assert codes.shape == (2, p.gpt.codes_per_step)
    prefix = torch.cat([torch.tensor([[p.gpt.frame_vocab + p.gpt.code_vocab]] * 2), ids], dim=1)
    seq = gpt.generate(prefix, p.gpt.codes_per_step + p.gpt.frame_tokens, temperature=1.0, top_k=10)
    parts = gpt.split_sequence(seq)
    next_ids = parts[1][:, -p.gpt.frame_tokens:].reshape(2, p.tokenizer.grid, p.tokenizer.grid)
    imagined = tok.decode(next_ids)  # (2, 64, 64, 3) in [0, 1]
    sampled_codes = parts[2]
    assert sampled_codes.shape == (2, p.gpt.codes_per_step) and sampled_codes.max() < p.gpt.code_vocab
    logits, _ = idm(frames[:, 0], sampled_codes, imagined)
    assert logits.shape == (2, 82)
    assert ldm.decode(frames[:, 0], sampled_codes).shape == (2, p.ldm.horizon, 64, 64, 3)


def test_config_is_plain_data():
    assert TokenizerConfig(channels=[8, 8], frame_size=64).channels == (8, 8)  # lists from JSON become tuples
