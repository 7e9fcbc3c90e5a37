from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from tests.agent.conftest import train_steps, went_down, windows
from vw_agent.metrics import board_accuracy
from vw_agent.presets import get_preset
from vw_agent.tokenizer import FrameTokenizer, TokenizerConfig, frames_to_input, to_uint8


@pytest.mark.parametrize("levels", [(8, 5, 5, 5), (8, 8, 8, 5, 5, 5)])
@pytest.mark.parametrize("channels", [(8, 8), (8, 16, 16)])
def test_shapes_and_round_trip(levels, channels):
    tok = FrameTokenizer(TokenizerConfig(frame_size=64, channels=channels, levels=levels))
    frames = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    grid = 64 // 2 ** len(channels)
    recon, ids, loss = tok(frames)
    assert recon.shape == (3, 64, 64, 3) and 0 <= recon.min() and recon.max() <= 1
    assert ids.shape == (3, grid, grid) and ids.dtype == torch.int64
    assert 0 <= ids.min() and ids.max() < tok.vocab_size == torch.tensor(levels).prod()
    assert loss.ndim == 0
    assert torch.equal(tok.encode(frames), ids)
    # FSQ ids <-> codes is exact both ways, and decoding ids equals decoding the quantised codes
    codes = tok.fsq.indices_to_codes(ids)  # (b, d, gh, gw)
    assert codes.shape == (3, len(levels), grid, grid)
    assert torch.equal(tok.fsq.codes_to_indices(codes.movedim(1, -1)).long(), ids)
    every = torch.arange(tok.vocab_size)
    assert torch.equal(tok.fsq.codes_to_indices(tok.fsq.indices_to_codes(every)).long(), every)
    assert torch.allclose(tok.decode(ids), recon, atol=1e-5)


@pytest.mark.parametrize("encoder", ["conv", "patch"])
def test_patch_encoder_shapes_and_round_trip(encoder):
    tok = FrameTokenizer(TokenizerConfig(frame_size=64, channels=(8, 16, 16), res_blocks=0, encoder=encoder,
                                         patch_width=32, levels=(8, 5, 5, 5)))
    frames = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    recon, ids, _ = tok(frames)
    assert recon.shape == (3, 64, 64, 3) and ids.shape == (3, 8, 8)
    assert torch.allclose(tok.decode(ids), recon, atol=1e-5)
    assert (tok.pos is None) == (encoder == "conv")


def test_patch_encoder_ids_depend_on_their_own_patch_only():
    """Changing the pixels of one 16 px patch changes at most that token's id; with the conv encoder the
    change reaches the neighbours' ids too (overlapping fields), which is what the patch encoder avoids."""
    torch.manual_seed(0)
    frames = torch.randint(0, 256, (1, 64, 64, 3), dtype=torch.uint8)
    edited = frames.clone()
    edited[0, 16:32, 32:48] = 255 - edited[0, 16:32, 32:48]  # the patch of token (1, 2)
    for encoder in ("patch", "conv"):
        tok = FrameTokenizer(TokenizerConfig(frame_size=64, channels=(8, 16, 16, 16), encoder=encoder,
                                             patch_width=32, levels=(8, 5, 5, 5)))
        with torch.no_grad():  # pre-FSQ values: ids could coincide by rounding, the features cannot
            z = [tok.to_fsq(tok.encoder(frames_to_input(f))) for f in (frames, edited)]
        moved = (z[0] != z[1]).any(dim=1)[0]  # (gh, gw)
        if encoder == "patch":
            assert moved.nonzero().tolist() == [[1, 2]]
        else:
            assert moved.sum() > 1


def test_frame_size_must_divide():
    with pytest.raises(ValueError, match="not divisible"):
        TokenizerConfig(frame_size=64, channels=(8,) * 7)
    with pytest.raises(ValueError, match="encoder must be"):
        TokenizerConfig(frame_size=64, channels=(8, 8), encoder="vit")


@pytest.mark.parametrize("encoder", ["conv", "patch"])
def test_loss_goes_down_on_real_go_frames(go_dataset, encoder):
    frames = windows(go_dataset, 1)["frames"][:, 0]  # (n, 64, 64, 3)
    tok = FrameTokenizer(replace(get_preset("tiny").tokenizer, encoder=encoder, patch_width=64))
    g = torch.Generator().manual_seed(0)

    def step(model, _):
        return model(frames[torch.randint(0, len(frames), (16,), generator=g)])[2]

    losses = train_steps(tok, step, 30, lr=3e-3)
    assert went_down(losses, 0.5), " ".join(f"{x:.4f}" for x in losses)


def test_board_accuracy(go_dataset):
    frames = windows(go_dataset, 1)["frames"][:, 0]
    late = frames[-4:]  # late positions: many stones
    assert board_accuracy(late, late, 9) == 1.0
    assert board_accuracy(late.float() / 255, late, 9) == 1.0  # float frames in [0, 1] read the same
    empty = frames[:1].expand_as(late)
    assert board_accuracy(empty, late, 9) < 0.9
    assert to_uint8(late.float() / 255).equal(late)



def test_adversarial_flag_trains_critic_and_autoencoder_apart(go_dataset):
    """adversarial > 0 adds a PatchGAN critic after a warm-up; its loss moves only the critic, the generator
    term only the autoencoder, and reconstruction still improves on real frames."""
    frames = windows(go_dataset, 1)["frames"][:, 0]
    tok = FrameTokenizer(TokenizerConfig(frame_size=64, channels=(16, 32, 32, 32), levels=(8, 5, 5, 5),
                                         adversarial=0.05, adversarial_start=20))
    real, fake = frames[:4].float() / 255, tok(frames[:4])[0]
    critic, generator = tok.critic.losses(real, fake)
    generator.backward()
    assert all(p.grad is None for p in tok.critic.parameters())  # the generator's term never trains the critic
    assert tok.decoder.net[-1].weight.grad is not None
    tok.zero_grad()
    critic.backward()
    assert all(p.grad is None for p in tok.decoder.parameters())  # nor the critic's the decoder
    assert tok.critic.net[0].weight.grad is not None
    tok.zero_grad()

    g = torch.Generator().manual_seed(0)

    def step(model, _):
        return model(frames[torch.randint(0, len(frames), (16,), generator=g)])[2]

    def recon_mse() -> float:
        tok.eval()
        with torch.no_grad():
            out = torch.nn.functional.mse_loss(tok(frames[:64])[0], frames[:64].float() / 255).item()
        tok.train()
        return out

    before = recon_mse()
    train_steps(tok, step, 40, lr=3e-3)
    assert recon_mse() < 0.5 * before and int(tok.train_steps) == 41  # 40 steps, and the first forward
