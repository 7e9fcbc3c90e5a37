from __future__ import annotations

import pytest
import torch

from tests.agent.conftest import train_steps, went_down, windows
from vw_agent.ldm import LatentDynamicsModel, LDMConfig
from vw_agent.presets import get_preset
from vw_agent.tokenizer import fit_frames


def small(horizon: int = 3) -> LatentDynamicsModel:
    return LatentDynamicsModel(LDMConfig(frame_size=64, horizon=horizon, channels=(8, 16, 16), dim=32, heads=2,
                                         query_layers=1, decoder_layers=1)).eval()


@pytest.mark.parametrize("horizon", [1, 3])
def test_shapes_and_round_trip(horizon):
    ldm = small(horizon)
    frames = torch.randint(0, 256, (2, horizon + 1, 64, 64, 3), dtype=torch.uint8)
    pred, ids, loss = ldm(frames)
    assert pred.shape == (2, horizon, 64, 64, 3) and 0 <= pred.min() and pred.max() <= 1
    assert ids.shape == (2, horizon) and ids.dtype == torch.int64 and ids.max() < ldm.vocab_size
    assert loss.ndim == 0
    assert torch.equal(ldm.encode(frames), ids)
    codes, _ = ldm.quantize(frames)
    assert torch.equal(ldm.fsq.codes_to_indices(codes).long(), ids)  # codes <-> ids exact
    assert torch.allclose(ldm.decode(frames[:, 0], ids), pred, atol=1e-5)


def test_wrong_window_length():
    with pytest.raises(ValueError, match="takes H\\+1 = 4 frames, got 3"):
        small(3).encode(torch.zeros(1, 3, 64, 64, 3, dtype=torch.uint8))


def test_query_h_sees_only_frames_up_to_t_plus_h():
    """Changing frame t+H may change only the last code; changing frame t+1 may change all of them."""
    ldm = small(3)
    with torch.no_grad():  # codes before FSQ rounding, so any leak shows
        ldm.fsq.forward = lambda z: (z, torch.zeros(z.shape[:-1], dtype=torch.long))
        frames = torch.randint(0, 256, (2, 4, 64, 64, 3), dtype=torch.uint8)
        base = ldm.quantize(frames)[0]
        late = frames.clone()
        late[:, 3] = 255 - late[:, 3]
        moved = ldm.quantize(late)[0]
        assert torch.allclose(moved[:, :2], base[:, :2], atol=1e-6)
        assert not torch.allclose(moved[:, 2], base[:, 2], atol=1e-4)
        early = frames.clone()
        early[:, 1] = 255 - early[:, 1]
        assert not torch.allclose(ldm.quantize(early)[0][:, 0], base[:, 0], atol=1e-4)


def test_decoder_step_h_uses_only_codes_up_to_h():
    ldm = small(3)
    frame = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    torch.nn.init.normal_(ldm.pixel_dec.net[-1].weight)  # undo the zero init so codes show in the pixels
    codes = torch.rand(2, 3, 4) * 2 - 1
    with torch.no_grad():
        base = ldm.decode_codes(frame, codes)
        other = codes.clone()
        other[:, 2] = -other[:, 2]
        moved = ldm.decode_codes(frame, other)
    assert torch.allclose(moved[:, :2], base[:, :2], atol=1e-6)
    assert not torch.allclose(moved[:, 2], base[:, 2], atol=1e-4)


def test_starts_as_copy_of_frame_t():
    """The zero-initialised change head: an untrained decoder predicts 'nothing moves'."""
    ldm = small(2)
    frames = torch.randint(0, 256, (1, 3, 64, 64, 3), dtype=torch.uint8)
    pred, _, _ = ldm(frames)
    assert torch.allclose(pred, frames[:, :1].float().expand(-1, 2, -1, -1, -1) / 255, atol=1e-5)


def test_loss_goes_down_on_real_go_video(go_dataset):
    cfg = get_preset("tiny").ldm
    frames = windows(go_dataset, cfg.horizon + 1)["frames"]  # video only: the loader never reads actions here
    ldm = LatentDynamicsModel(cfg)
    fixed = frames[torch.randperm(len(frames), generator=torch.Generator().manual_seed(0))[:8]]

    def step(model, _):  # one fixed batch of real windows: the test checks learning, not generalisation
        return model(fixed)[2]

    losses = train_steps(ldm, step, 25, lr=1e-3)
    assert went_down(losses, 0.8), " ".join(f"{x:.4f}" for x in losses)


def test_each_step_codes_vary_across_windows(go_dataset):
    """Pre-FSQ values are normalised per future step: no step can hand every window the same code (the
    collapse seen when all steps shared one normalisation), whatever the queries' learned constants."""
    ldm = small(horizon=3).train()
    with torch.no_grad():
        ldm.queries.add_(torch.randn_like(ldm.queries) * 10)  # steps far apart: what shared statistics fail on
        frames = windows(go_dataset, 4)["frames"][:32]
        ids = ldm.quantize(frames)[1]
    assert all(ids[:, k].unique().numel() > 4 for k in range(3)), ids


def test_frames_of_another_size_are_resized():
    """The paper's LDM sees 128 px versions of 256 px video: frames of another size are area-resized."""
    ldm = small(horizon=1)
    frames = torch.randint(0, 256, (2, 2, 128, 128, 3), dtype=torch.uint8)
    pred, ids, _ = ldm(frames)
    assert pred.shape == (2, 1, 64, 64, 3) and ids.shape == (2, 1)
    assert torch.equal(ldm.encode(frames), ldm.encode(fit_frames(frames, 64)))


def test_encode_video_equals_encode_per_window(go_dataset):
    """The token cache's shortcut (each frame's convolutions shared by the windows holding it) gives the codes
    of encoding every window on its own."""
    from vw_agent.data.reader import DatasetReader

    ldm = small(horizon=3)
    reader = DatasetReader(go_dataset)
    frames = torch.from_numpy(reader.frames(reader.split_ids(None)[0]))[:40]
    windows_ = torch.stack([frames[t:t + 4] for t in range(len(frames) - 3)])
    assert torch.equal(ldm.encode_video(frames, batch_size=16), ldm.encode(windows_))
    assert ldm.encode_video(frames[:3]).shape == (0, 3)


# ----------------------------------------------------------------------------- the token space


def small_tokens(horizon: int = 3, grid: int = 4, vocab: int = 50) -> LatentDynamicsModel:
    return LatentDynamicsModel(LDMConfig(frame_size=64, horizon=horizon, channels=(8, 16, 16), dim=32, heads=2,
                                         query_layers=1, decoder_layers=1, space="tokens", token_vocab=vocab,
                                         token_grid=grid)).eval()


def real_token_windows(root, horizon: int) -> torch.Tensor:
    """Windows of real Go video as the ids of a (fresh, seeded) tiny tokenizer: (n, H+1, g*g)."""
    from vw_agent.tokenizer import FrameTokenizer

    tok = FrameTokenizer(get_preset("tiny").tokenizer).eval()
    frames = windows(root, horizon + 1)["frames"]
    with torch.no_grad():
        ids = tok.encode(frames.flatten(0, 1)).flatten(1)  # (n (H+1), g*g)
    return ids.reshape(len(frames), horizon + 1, -1), tok


@pytest.mark.parametrize("horizon", [1, 3])
def test_tokens_shapes_and_round_trip(horizon):
    ldm = small_tokens(horizon)
    ids_in = torch.randint(0, 50, (2, horizon + 1, 16))
    logits, ids, loss = ldm(ids_in)
    assert logits.shape == (2, horizon, 16, 50) and ids.shape == (2, horizon) and loss.ndim == 0
    assert torch.equal(ldm.encode(ids_in), ids)
    assert torch.equal(ldm.encode(ids_in.reshape(2, horizon + 1, 4, 4)), ids)  # (b t g g) reads the same
    assert torch.equal(ldm.decode(ids_in[:, 0], ids), logits.argmax(-1))
    assert not hasattr(ldm, "pixel_dec") and not hasattr(ldm, "frame_enc")  # no convolutions in this space


def test_tokens_wrong_shapes():
    with pytest.raises(ValueError, match="takes H\\+1 = 4 frames, got 3"):
        small_tokens(3).encode(torch.zeros(1, 3, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="takes ids \\(b, t, 16\\)"):
        small_tokens(3).encode(torch.zeros(1, 4, 25, dtype=torch.long))
    with pytest.raises(ValueError, match="needs token_vocab and token_grid"):
        LatentDynamicsModel(LDMConfig(space="tokens"))
    with pytest.raises(ValueError, match="space must be"):
        LDMConfig(space="token")


def test_tokens_query_h_sees_only_frames_up_to_t_plus_h():
    ldm = small_tokens(3)
    with torch.no_grad():
        ldm.fsq.forward = lambda z: (z, torch.zeros(z.shape[:-1], dtype=torch.long))
        ids = torch.randint(0, 50, (2, 4, 16))
        base = ldm.quantize(ids)[0]
        late = ids.clone()
        late[:, 3] = (late[:, 3] + 1) % 50
        moved = ldm.quantize(late)[0]
        assert torch.allclose(moved[:, :2], base[:, :2], atol=1e-6)
        assert not torch.allclose(moved[:, 2], base[:, 2], atol=1e-4)


def test_tokens_decoder_step_h_uses_only_codes_up_to_h():
    ldm = small_tokens(3)
    first = torch.randint(0, 50, (2, 16))
    codes = torch.rand(2, 3, 4) * 2 - 1
    with torch.no_grad():
        base = ldm.decode_codes(first, codes)
        other = codes.clone()
        other[:, 2] = -other[:, 2]
        moved = ldm.decode_codes(first, other)
    assert torch.allclose(moved[:, :2], base[:, :2], atol=1e-5)
    assert not torch.allclose(moved[:, 2], base[:, 2], atol=1e-4)


def test_tokens_encode_video_equals_encode_per_window():
    ldm = small_tokens(3)
    video = torch.randint(0, 50, (40, 4, 4))
    per_window = torch.stack([video[t:t + 4].flatten(1) for t in range(37)])
    assert torch.equal(ldm.encode_video(video, batch_size=16), ldm.encode(per_window))
    assert ldm.encode_video(video[:3]).shape == (0, 3)


def test_tokens_loss_goes_down_on_real_go_video(go_dataset):
    ids, tok = real_token_windows(go_dataset, 2)
    ldm = small_tokens(2, grid=tok.config.grid, vocab=tok.vocab_size).train()
    fixed = ids[torch.randperm(len(ids), generator=torch.Generator().manual_seed(0))[:16]]
    losses = train_steps(ldm, lambda model, _: model(fixed)[2], 25, lr=1e-3)
    assert went_down(losses, 0.8), " ".join(f"{x:.4f}" for x in losses)


def test_tokens_changed_ids_weigh_more():
    """The loss counts ids that differ from frame t's ``1 + change_weight`` times: with the same per-id error, a
    window where every id changes costs 21x (change_weight 20) one where none does."""
    ldm = small_tokens(1, vocab=50)
    torch.nn.init.zeros_(ldm.dec_out[1].weight)  # uniform logits: every id costs log(50)
    torch.nn.init.zeros_(ldm.dec_out[1].bias)
    still = torch.randint(0, 50, (1, 1, 16)).repeat(1, 2, 1)
    moved = still.clone()
    moved[:, 1] = (moved[:, 1] + 1) % 50
    assert ldm(still)[2].item() == pytest.approx(torch.log(torch.tensor(50.0)).item(), rel=1e-5)
    assert ldm(moved)[2].item() == pytest.approx(21 * ldm(still)[2].item(), rel=1e-5)
