from __future__ import annotations

import pytest
import torch

from tests.agent.conftest import train_steps, went_down, windows
from vw_agent.idm import IDMConfig, InverseDynamics
from vw_agent.presets import get_preset


@pytest.mark.parametrize("discrete", [True, False])
def test_shapes(discrete):
    idm = InverseDynamics(IDMConfig(frame_size=64, channels=(8, 16), codes_per_step=3, code_vocab=30, hidden=32,
                                    discrete=discrete, num_actions=82, action_dim=7))
    frame = torch.randint(0, 256, (4, 64, 64, 3), dtype=torch.uint8)
    imagined = torch.rand(4, 64, 64, 3)  # decoded frames are floats in [0, 1]
    codes = torch.randint(0, 30, (4, 3))
    actions = torch.randint(0, 82, (4,)) if discrete else torch.rand(4, 7) * 2 - 1
    out, loss = idm(frame, codes, imagined, actions)
    assert out.shape == ((4, 82) if discrete else (4, 1, 7)) and loss.ndim == 0
    if not discrete:
        assert out.abs().max() <= 1
        assert torch.allclose(loss, ((out[:, 0] - actions) ** 2).mean())  # (b a) is a chunk of one, not broadcast
    assert idm(frame, codes, imagined)[1] is None


def test_a_chunk_of_actions():
    idm = InverseDynamics(IDMConfig(frame_size=64, channels=(8, 16), codes_per_step=3, code_vocab=30, hidden=32,
                                    discrete=False, action_dim=7, chunk=3))
    frame = torch.randint(0, 256, (4, 64, 64, 3), dtype=torch.uint8)
    codes = torch.randint(0, 30, (4, 3))
    actions = torch.rand(4, 3, 7) * 2 - 1
    out, loss = idm(frame, codes, frame, actions)
    assert out.shape == (4, 3, 7) and torch.allclose(loss, ((out - actions) ** 2).mean())
    with pytest.raises(ValueError, match=r"actions have shape \(4, 7\), the IDM reads \(4, 3, 7\)"):
        idm(frame, codes, frame, actions[:, 0])
    with pytest.raises(ValueError, match="chunk must be >= 1, and 1 for discrete"):
        IDMConfig(discrete=True, chunk=2)


def test_loss_goes_down_on_labelled_go_moves(go_dataset):
    p = get_preset("tiny")
    data = windows(go_dataset, 2, actions=True, label_fraction=1.0)
    frames, moves = data["frames"], data["actions"][:, 0]  # (n, 2, 64, 64, 3), (n,) move ids in [0, 82)
    assert moves.max() < 82
    codes = torch.randint(0, p.idm.code_vocab, (len(frames), p.idm.codes_per_step))  # stand-in LDM codes
    idm = InverseDynamics(p.idm)
    g = torch.Generator().manual_seed(0)

    def step(model, _):
        i = torch.randint(0, len(frames), (32,), generator=g)
        return model(frames[i, 0], codes[i], frames[i, 1], moves[i])[1]

    losses = train_steps(idm, step, 40, lr=1e-3)
    assert went_down(losses, 0.7), " ".join(f"{x:.4f}" for x in losses)
