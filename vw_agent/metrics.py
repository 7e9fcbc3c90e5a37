"""Quality you can see: compare frames through the Go renderer's inverse (``frame_to_board``), and the stages'
held-out metrics built on it (the trainer reports them at the end of each stage). For metrics only: no network
reads the board this way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from vw_agent.data.reader import DatasetReader
from vw_agent.ldm import LatentDynamicsModel
from vw_agent.tokenizer import FrameTokenizer, to_uint8
from vw_agent.transformer import CODE, FRAME, GPT
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


@torch.no_grad()
def tokenizer_boards(tok: FrameTokenizer, root: str | Path, board_size: int, batch_size: int = 128
                     ) -> dict[str, float]:
    """Tokenizer board accuracy on every held-out frame (the val and test splits; train if both are empty, as in
    tiny data): the share of intersections read back right from the decoded ids, and the counts. Every frame,
    not a sample: one misread stone in a few thousand frames is what the 100% target is about."""
    reader = DatasetReader(root, frame_size=tok.config.frame_size)
    episodes = reader.split_ids("val") + reader.split_ids("test") or reader.split_ids("train")
    wrong = frames = 0
    for ep in episodes:
        video = torch.from_numpy(reader.frames(ep))
        for a in range(0, len(video), batch_size):
            f = video[a:a + batch_size]
            right = board_accuracy(to_uint8(tok.decode(tok.encode(f))), f, board_size)
            wrong += round((1 - right) * len(f) * board_size ** 2)
            frames += len(f)
    reader.close()
    total = frames * board_size ** 2
    return {"board_accuracy": 1 - wrong / total, "board_points_wrong": float(wrong), "board_points": float(total),
            "board_frames": float(frames)}


def token_code_usage(ldm: LatentDynamicsModel, ids: torch.Tensor) -> dict[str, float]:
    """Code usage of an LDM in the token space, on windows of ids (b t n): the share of frames t+1..t+H's ids
    predicted right, over all and over those that differ from frame t's (where the codes must act), with the
    true codes and with codes shuffled across the windows; and the distinct codes used."""
    codes = ldm.encode(ids)
    shuffled = codes[torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))]
    target = ids[:, 1:]
    changed = target != ids[:, :1]
    out = {"distinct_codes": float(codes.unique().numel())}
    for name, c in (("", codes), ("shuffled_codes_", shuffled)):
        right = ldm.decode(ids[:, 0], c) == target
        out[f"{name}token_accuracy"] = right.float().mean().item()
        out[f"{name}changed_token_accuracy"] = right[changed].float().mean().item() if changed.any() else float("nan")
    return out


def ldm_boards(ldm: LatentDynamicsModel, tok: FrameTokenizer, ids: torch.Tensor, real: torch.Tensor,
                board_size: int) -> dict[str, float]:
    """Is an LDM code a latent action? On windows of ids (b t n) and their real frames t, t+1 (b 2 h w c):
    frame t+1 rebuilt from frame t's ids and the true (or shuffled) step-1 code, decoded by the tokenizer and
    read with the renderer's inverse (a metric only): the share of intersections that changed from t to t+1
    read right, and of windows whose whole board is right."""
    codes = ldm.encode(ids)
    shuffled = codes[torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))]
    g = tok.config.grid
    before = np.stack([frame_to_board(f, board_size) for f in real[:, 0].numpy()])
    after = np.stack([frame_to_board(f, board_size) for f in real[:, 1].numpy()])
    changed = before != after  # (b N N)
    out = {"changed_points": float(changed.sum())}
    for name, c in (("", codes), ("shuffled_codes_", shuffled)):
        pred = to_uint8(tok.decode(ldm.decode(ids[:, 0], c)[:, 0].reshape(-1, g, g))).numpy()
        right = np.stack([frame_to_board(f, board_size) for f in pred]) == after
        out[f"{name}changed_points_right"] = float(right[changed].mean()) if changed.any() else float("nan")
        out[f"{name}boards_exact"] = float(right.all(axis=(1, 2)).mean())
    return out


def code_metrics(gpt: GPT, batch: dict[str, Any]) -> dict[str, float]:
    """How often the GPT names the LDM's first code of the step after real frame t (teacher-forced on held-out
    windows): top-1 and top-5 against the true code, and how many distinct codes its greedy choice uses. With H=1
    in Go the code is the move, so this is the GPT's move accuracy before any decoding."""
    c = gpt.config
    if not c.codes_per_step:  # a frames-only GPT (no LDM) names no code
        return {}
    idx = gpt.build_sequence(*batch["sequences"])[:, : 1 + c.frame_tokens + 1]  # [cond][frame t][first code]
    logits, _ = gpt(idx[:, :-1])
    off = c.offsets[CODE]
    scores, true = logits[:, -1, off: off + c.code_vocab], idx[:, -1] - off  # (b, code_vocab), (b,)
    top5 = scores.topk(min(5, c.code_vocab), dim=-1).indices
    return {"code_top1": (scores.argmax(-1) == true).float().mean().item(),
            "code_top5": (top5 == true[:, None]).any(-1).float().mean().item(),
            "code_greedy_distinct": float(scores.argmax(-1).unique().numel()),
            "code_true_distinct": float(true.unique().numel())}


def imagination_metrics(gpt: GPT, batch: dict[str, Any], board_size: int | None) -> dict[str, float]:
    """Greedy one-step imagination from real frame t: board accuracy of the decoded frame t+1, and of simply
    repeating frame t (the baseline a model that learned nothing would reach: all but one or two points).

    A GPT trained on the codes alone (``next_frame_loss_weight`` 0) renders no frame t+1 of its own: only the
    codes it uses are reported (the LDM's decoder renders its frames; the IDM stage's agent metrics judge them)."""
    tok, real = batch["tokenizer"], batch["next_frames"]  # real: (b, 2, h, w, c) frames t, t+1
    if not board_size:
        return {}
    c = gpt.config
    idx = gpt.build_sequence(*batch["sequences"])[:, : 1 + c.frame_tokens]  # [cond][frame t]
    renders = c.next_frame_loss_weight != 0
    seq = gpt.generate(idx, c.codes_per_step + (c.frame_tokens if renders else 0), temperature=0)
    out = {"copy_board_accuracy": board_accuracy(real[:, 0], real[:, 1], board_size),
           "code_vocab_used": float(gpt.split_sequence(seq)[CODE].unique().numel())}
    if renders:
        g = tok.config.grid
        next_ids = gpt.split_sequence(seq)[FRAME][:, c.frame_tokens:].reshape(-1, g, g)
        out["imagine_board_accuracy"] = board_accuracy(to_uint8(tok.decode(next_ids)), real[:, 1], board_size)
    return out
