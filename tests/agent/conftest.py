"""Fixtures: a tiny real Go dataset (the 3 KataGo games rendered at 64 px) and its windows as tensors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vw_agent.data.loader import WindowConfig, WindowDataset
from vw_agent.data.record import RecordConfig, record

ROOT = Path(__file__).resolve().parents[2]
KATAGO3 = ROOT / "tests" / "data" / "katago9-3games.sgfs"


@pytest.fixture(scope="session")
def go_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("agent-ds") / "katago3"
    record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), from_sgf=str(KATAGO3), frame_size=64),
           progress=False)
    return out


def windows(root: Path, window: int, **kw) -> dict[str, torch.Tensor]:
    """Every window of the dataset (all splits), stacked: {"frames": (n, window, 64, 64, 3) uint8, ...}."""
    ds = WindowDataset(root, WindowConfig(window=window, split=None, **kw))
    items = [ds[i] for i in range(len(ds))]
    return {k: torch.stack([it[k] for it in items]) for k in items[0] if isinstance(items[0][k], torch.Tensor)}


@pytest.fixture(autouse=True)
def _seeded_single_thread():
    """Deterministic, and polite to the other test worker on a 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def train_steps(model, batch_fn, steps: int, lr: float = 1e-3) -> list[float]:
    """Run ``steps`` AdamW steps on ``loss = batch_fn(model, step)``; return the losses."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        loss = batch_fn(model, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def went_down(losses: list[float], factor: float = 0.8, k: int = 3) -> bool:
    """Mean of the last k losses below ``factor`` times the mean of the first k."""
    return sum(losses[-k:]) / k < factor * sum(losses[:k]) / k


def train_tiny_run(data: Path, out: Path, preset: str, eval_windows: int = 8) -> Path:
    """Every stage of ``preset`` for 20 steps on ``data``, with all labels; the run folder."""
    from vw_agent.checkpoint import STAGES
    from vw_agent.train import TrainConfig, train_stage

    torch.set_num_threads(1)
    for stage in STAGES:
        train_stage(TrainConfig(stage=stage, data=str(data), out=str(out), preset=preset, steps=20,
                                label_fraction=1.0, eval_windows=eval_windows, agent_positions=6), progress=False)
    return out
