"""Quality you can see: compare frames through the Go renderer's inverse (``frame_to_board``)."""

from __future__ import annotations

import numpy as np
import torch

from vw_envs.go.render import RenderConfig, frame_to_board


def board_accuracy(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, board_size: int,
                   render: RenderConfig | None = None) -> float:
    """Share of intersections read identically from ``pred`` and ``target`` frames (b h w c).

    Frames may be uint8 in [0, 255] or float in [0, 1] (decoded or imagined frames); ``render`` must be
    the dataset's render config (``RenderConfig(frame_size=...)`` for the default style).
    """
    pred, target = _uint8(pred), _uint8(target)
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(f"expected two (b, h, w, 3) batches of one shape, got {pred.shape} and {target.shape}")
    cfg = render or RenderConfig(frame_size=pred.shape[1])
    hits = [(frame_to_board(p, board_size, cfg) == frame_to_board(t, board_size, cfg)).mean()
            for p, t in zip(pred, target, strict=True)]
    return float(np.mean(hits)) if hits else float("nan")


def _uint8(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    if frames.dtype != np.uint8:
        frames = (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return frames
