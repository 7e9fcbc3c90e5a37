"""Training of every stage, in order, with atomic checkpoints that hold the config, and resume.

* ``tokenizer``: single frames.
* ``ldm``: windows of H+1 frames; video only, never actions. In the token space it reads the frame-token cache.
* ``transformer``: reads the sequence cache (per frame, the frozen tokenizer's ids and the frozen LDM's H codes
  of frames t..t+H). Both caches (:mod:`vw_agent.data.tokens`) are filled once, before the first step.
  Its condition token is whose turn it is (Go) or the episode's task (tabletop:
  :func:`vw_agent.checkpoint.tabletop_task_ids`).
* ``idm``: the seeded labelled share of episodes (``label_fraction``), with codes from the frozen LDM.

Logging: TensorBoard in ``<out>/tb/<stage>/`` (``losses/…``, ``charts/…``, ``eval/…``) and a tqdm bar
showing the loss, frames or tokens per second and the ETA.

Each stage writes ``<out>/<stage>.pt`` (model and optimiser state, step, the preset's configs, the dataset's
env id and frame size) and, at the end, ``<out>/<stage>-metrics.json``. Batches are drawn from a generator
seeded by (seed, step), so a resumed run sees exactly the batches an uninterrupted run would have seen.

Example:
    >>> metrics = train_stage(TrainConfig(stage="tokenizer", data="data/go9", out="runs/go9", preset="tiny"))
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vw_agent.agent import AgentConfig, VideoWorldAgent
from vw_agent.checkpoint import (
    STAGES,
    CheckpointError,
    build_model,
    checkpoint_path,
    load_checkpoint,
    load_frozen,
    model_config,
    save_checkpoint,
    state_digest,
    tabletop_task_ids,
)
from vw_agent.data.loader import WindowConfig, WindowDataset, rank_and_world
from vw_agent.data.reader import DatasetReader
from vw_agent.data.tokens import TokenCache, cache_frame_tokens, cache_sequences
from vw_agent.eval.imagination import evaluate_agent
from vw_agent.ldm import LatentDynamicsModel
from vw_agent.metrics import code_metrics, imagination_metrics, ldm_boards, token_code_usage, tokenizer_boards
from vw_agent.presets import Preset, get_preset
from vw_agent.tokenizer import FrameTokenizer, fit_frames
from vw_envs.errors import VWError
from vw_envs.fileio import write_text_atomic


@dataclass
class TrainConfig:
    stage: str = "tokenizer"  # one of STAGES
    data: str = "data/go9"  # dataset directory (vw-agent record)
    out: str = "runs/go9"  # run folder: checkpoints and metrics
    preset: str = "go9-cpu"  # network sizes and per-stage budgets (vw_agent.presets)
    steps: int | None = None  # None: the preset's steps for this stage
    batch_size: int | None = None  # None: the preset's batch size
    lr: float | None = None  # None: the preset's learning rate
    seed: int = 0  # model init and batch order
    resume: bool = False  # continue from <out>/<stage>.pt
    ckpt_every: int = 200  # steps between checkpoints (and one at the end)
    # steps between kept snapshots <stage>-step<N>.pt beside the checkpoint, without the optimiser state (a learning
    # curve: copy one in as <stage>.pt of another run folder to evaluate it); 0 keeps none
    keep_every: int = 0
    label_fraction: float = 0.1  # idm: the seeded share of episodes whose actions may be read
    label_seed: int = 0  # idm: seed of that share
    eval_windows: int = 512  # windows of the held-out splits used for the end-of-stage metrics (64 gave +-6 points)
    agent_positions: int = 200  # idm, Go: held-out positions for the whole agent's metrics (0: skip)
    grad_clip: float = 1.0  # max global gradient norm (nanoGPT's default)
    decoder_only: bool = False  # ldm: train on the decoder of <out>/ldm.pt alone; its codes stay as they are

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}; choose one of {', '.join(STAGES)}")
        if self.decoder_only and self.stage != "ldm":
            raise ValueError(f"decoder_only applies to the ldm stage, not {self.stage!r}")


def lr_at(step: int, steps: int, peak: float) -> float:
    """Learning rate of step ``step`` of ``steps``: linear warm-up over the first 5% (at most 100 steps), then
    cosine decay to a tenth of ``peak`` (nanoGPT's schedule). A constant rate let the go9-cpu tokenizer's loss
    jump 50-fold in its last 30 of 3,000 steps; decaying makes the last checkpoint the settled one."""
    warmup = max(1, min(100, steps // 20))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def data_provenance(root: str | Path, meta: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint learned from: the dataset's folder, sources, size, splits and render settings."""
    keys = ("kind", "sources", "episodes", "frames", "render", "created", "komi")
    return {"path": str(root), **{k: meta[k] for k in keys if k in meta},
            "splits": (meta.get("splits") or {}).get("counts")}


def _window(stage: str, preset: Preset) -> int:
    if stage == "tokenizer":
        return 1
    if stage == "transformer":  # frames 0..T-1, and the codes of frame T-2 reach H frames further
        return preset.gpt.frames + preset.ldm.horizon - 1
    return preset.ldm.horizon + 1


def _dataset(cfg: TrainConfig, preset: Preset, split: str, tokens: str | None = None) -> WindowDataset:
    labelled = cfg.stage == "idm"
    return WindowDataset(cfg.data, WindowConfig(window=_window(cfg.stage, preset), split=split, actions=labelled,
                                                # held-out windows are only ever measured against, never learned from
                                                label_fraction=cfg.label_fraction if split == "train" else 1.0,
                                                label_seed=cfg.label_seed, tokens=tokens),
                         frame_size=preset.tokenizer.frame_size)


def episode_conds(root: str | Path, meta: dict[str, Any], cond_vocab: int) -> dict[int, int] | None:
    """Tabletop: every episode's condition id (its ``task`` attr, read once here); None for Go, whose
    condition (whose turn) follows from a window's start."""
    if meta.get("kind") == "go":
        return None
    ids, reader = tabletop_task_ids(), DatasetReader(root)
    conds = {}
    for ep in reader.split_ids(None):
        task = reader.attrs(ep).get("task")
        if task not in ids:
            raise VWError(f"{root}: episode {ep} has task {task!r}, not a tabletop task ({', '.join(ids)})")
        if ids[task] >= cond_vocab:
            raise VWError(f"{root}: task {task!r} is condition id {ids[task]}, but the preset's cond_vocab is "
                          f"{cond_vocab}; use a tabletop preset (cond_vocab >= {len(ids)})")
        conds[ep] = ids[task]
    reader.close()
    return conds


def _batch(ds: WindowDataset, idx: torch.Tensor, preset: Preset, conds: dict[int, int] | None = None,
           code_cache: TokenCache | None = None) -> dict[str, Any]:
    """Windows ``idx`` of ``ds`` stacked; ``code_cache`` (idm): also each window's first-frame LDM codes, read
    from the transformer's token cache instead of running the frozen LDM on every batch."""
    items = [ds[int(i)] for i in idx]
    batch: dict[str, Any] = {k: torch.stack([it[k] for it in items]) for k in items[0]
                             if isinstance(items[0][k], torch.Tensor)}
    if "tokens" in batch:
        cond = None if conds is None else torch.tensor([conds[it["episode"]] for it in items])
        batch["sequences"] = _sequences(batch["tokens"], torch.tensor([it["start"] for it in items]), preset, cond)
        batch["episodes"] = [(it["episode"], it["start"]) for it in items]
    if code_cache is not None:
        g, s = preset.gpt.frame_tokens, preset.idm.codes_per_step
        batch["codes"] = torch.from_numpy(np.stack([code_cache.read(it["episode"], it["start"], it["start"] + 1)[0]
                                                    for it in items]))[:, g:g + s].long()
    return batch


def _sequences(rows: torch.Tensor, start: torch.Tensor, preset: Preset, cond: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, ...]:
    """Cache rows (b, window, g + H) -> frame tokens (b t g), codes (b t-1 s), cond (b,) for the GPT.

    ``cond`` given (tabletop: the episodes' task ids) is used as is. Otherwise it is Go's whose turn it is at
    the window's first frame: black moves first, so the parity of its index (games with setup stones or
    handicap would need the SGF's PL; the KataGo corpus has none).
    """
    c = preset.gpt
    rows = rows.long()
    frames = rows[:, : c.frames, : c.frame_tokens]
    codes = rows[:, : c.frames - 1, c.frame_tokens: c.frame_tokens + c.codes_per_step]
    return frames, codes, (start.long() % 2) if cond is None else cond.long()


def _loss(stage: str, model: torch.nn.Module, batch: dict[str, torch.Tensor], ldm: LatentDynamicsModel | None,
          codes_per_step: int) -> torch.Tensor:
    if stage == "transformer":
        return model.loss_on(*batch["sequences"])
    if stage == "ldm":  # frames, or in the token space their ids
        return model(batch["tokens"] if "tokens" in batch else batch["frames"])[2]
    frames = batch["frames"]
    if stage == "tokenizer":
        return model(frames[:, 0])[2]
    codes = batch["codes"] if "codes" in batch else ldm.encode(frames)[:, :codes_per_step]  # (b, s)
    return model(frames[:, 0], codes, frames[:, 1], idm_targets(model, batch["actions"]))[1]


def idm_targets(idm: torch.nn.Module, actions: torch.Tensor) -> torch.Tensor:
    """The IDM's targets among a window's actions (b t ...): Go's first move (b,), or the robot's first
    ``chunk`` actions (b k a)."""
    cfg = idm.config
    return actions[:, 0] if cfg.discrete else actions[:, : cfg.chunk]


@torch.no_grad()
def evaluate(stage: str, model: torch.nn.Module, batch: dict[str, torch.Tensor], ldm: LatentDynamicsModel | None,
             codes_per_step: int, board_size: int | None) -> dict[str, float]:
    """End-of-stage metrics on held-out windows: the loss, plus what you can see."""
    model.eval()
    out: dict[str, float] = {"loss": _loss(stage, model, batch, ldm, codes_per_step).item()}
    if stage == "transformer":
        out.update(code_metrics(model, batch))
        out.update(imagination_metrics(model, batch, board_size))
        model.train()
        return out
    frames = batch.get("frames")
    if stage == "ldm" and model.tokens:
        out.update(token_code_usage(model, batch["tokens"].long()))
        if board_size and "tokenizer" in batch:
            out.update(ldm_boards(model, batch["tokenizer"], batch["tokens"].long(), batch["next_frames"], board_size))
    elif stage == "ldm":
        frames = fit_frames(frames, model.config.frame_size)
        ids = model.encode(frames)
        target = frames[:, 1:].float() / 255
        shuffled = ids[torch.randperm(len(ids), generator=torch.Generator().manual_seed(0))]
        err = {"": model.decode(frames[:, 0], ids), "shuffled_": model.decode(frames[:, 0], shuffled),
               "copy_": frames[:, :1].float() / 255}
        err = {k: ((v - target) ** 2).mean(-1) for k, v in err.items()}  # (b s h w)
        changed = (frames[:, 1:] != frames[:, :1]).any(dim=-1)
        out["recon_mse"], out["shuffled_codes_mse"] = err[""].mean().item(), err["shuffled_"].mean().item()
        # the same on the pixels that change (a stone is ~1% of a Go frame), where the codes must act
        for k, e in err.items():
            out[f"changed_px_{k}mse"] = e[changed].mean().item() if changed.any() else float("nan")
        out["distinct_codes"] = float(ids.unique().numel())
    if stage == "idm":
        codes = batch["codes"] if "codes" in batch else ldm.encode(frames)[:, :codes_per_step]
        logits, _ = model(frames[:, 0], codes, frames[:, 1])
        actions = idm_targets(model, batch["actions"])
        # frame t+1 (and the codes, which are read off it) of another window: an IDM that reads the move off
        # the change does far worse here; one that learned a policy from frame t alone would not
        perm = torch.randperm(len(actions), generator=torch.Generator().manual_seed(1))
        shuffled, _ = model(frames[:, 0], codes[perm], frames[perm, 1])
        if model.config.discrete:
            out["action_accuracy"] = (logits.argmax(-1) == actions).float().mean().item()
            out["shuffled_next_action_accuracy"] = (shuffled.argmax(-1) == actions).float().mean().item()
            out["windows"] = float(len(actions))
        else:  # the 7-D action; predicting all zeros is the reference an IDM that learned nothing would beat
            out["action_mse"] = F.mse_loss(logits, actions.float()).item()
            out["first_action_mse"] = F.mse_loss(logits[:, 0], actions[:, 0].float()).item()
            out["shuffled_next_action_mse"] = F.mse_loss(shuffled, actions.float()).item()
            out["zero_action_mse"] = actions.float().pow(2).mean().item()
            out["windows"] = float(len(actions))
    model.train()
    return out


def train_stage(cfg: TrainConfig, progress: bool = True) -> dict[str, float]:
    """Train one stage of ``cfg.preset`` on ``cfg.data``; checkpoint to ``cfg.out``; return held-out metrics."""
    began = time.time()
    # Flush subnormal floats to zero. As go9-code's GPT trained, the GELUs of its conv stem output ever more values
    # below 1e-38, which x86 CPUs compute far slower: a step went from 0.65 s to 2.0 s over 850 steps, and the
    # trained model's step took 2.6x as long with them kept as flushed (benchmarks/bench_gpt_step.py,
    # docs/agent-go.md)
    torch.set_flush_denormal(True)
    preset = get_preset(cfg.preset)
    budget = preset.train[cfg.stage]
    steps = cfg.steps if cfg.steps is not None else budget.steps
    batch_size = cfg.batch_size or budget.batch_size
    lr = cfg.lr or budget.lr
    meta = DatasetReader(cfg.data).meta
    env_id, frame_size = meta["env_id"], int(meta["frame_size"])
    provenance = data_provenance(cfg.data, meta)
    rank, world = join_process_group()
    if batch_size % world:
        raise VWError(f"batch size {batch_size} does not split evenly over {world} processes")
    tokens = tok = conds = None
    if cfg.stage == "transformer":
        conds = episode_conds(cfg.data, meta, preset.gpt.cond_vocab)  # None for Go: whose turn
        tok = load_frozen(cfg.out, "tokenizer", env_id, frame_size, cfg.preset)
        ldm_frozen = load_frozen(cfg.out, "ldm", env_id, frame_size, cfg.preset)
        if rank == 0:  # one process fills the cache; the others then find every episode cached
            tokens = cache_sequences(tok, ldm_frozen, cfg.data)
        _barrier(world)
        tokens = cache_sequences(tok, ldm_frozen, cfg.data)
    if cfg.stage == "ldm" and preset.ldm.space == "tokens":  # the LDM reads the frozen tokenizer's ids
        tok = load_frozen(cfg.out, "tokenizer", env_id, frame_size, cfg.preset)
        if (tok.vocab_size, tok.config.grid) != (preset.ldm.token_vocab, preset.ldm.token_grid):
            raise CheckpointError(f"{checkpoint_path(cfg.out, 'tokenizer')}: {tok.vocab_size} ids on a "
                                  f"{tok.config.grid}x{tok.config.grid} grid, but the LDM of preset {cfg.preset!r} "
                                  f"reads {preset.ldm.token_vocab} on {preset.ldm.token_grid}x{preset.ldm.token_grid}")
        if rank == 0:
            cache_frame_tokens(tok, cfg.data)
        _barrier(world)
        tokens = cache_frame_tokens(tok, cfg.data)
    train_ds = _dataset(cfg, preset, "train", tokens)
    if len(train_ds) == 0:
        raise VWError(f"{cfg.data}: no training windows of {_window(cfg.stage, preset)} frames "
                      f"(episodes too short for H={preset.ldm.horizon}, or no labelled episodes)")
    board_size = meta.get("render", {}).get("board_size") if meta.get("kind") == "go" else None
    ldm = load_frozen(cfg.out, "ldm", env_id, frame_size, cfg.preset) if cfg.stage == "idm" else None
    code_cache = None
    if cfg.stage == "idm":  # the LDM's codes of every window come from the token cache (filled if need be)
        frozen_tok = load_frozen(cfg.out, "tokenizer", env_id, frame_size, cfg.preset)
        if rank == 0:
            cache_sequences(frozen_tok, ldm, cfg.data)
        _barrier(world)
        code_cache = TokenCache(cfg.data, cache_sequences(frozen_tok, ldm, cfg.data))

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.stage, preset)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    path = checkpoint_path(cfg.out, cfg.stage)
    start, ck = 0, None
    if cfg.decoder_only or (cfg.resume and path.exists()):  # decoder-only starts from the trained LDM: it must exist
        ck = load_checkpoint(path, stage=cfg.stage, env_id=env_id, frame_size=frame_size)
        if ck["preset"] != cfg.preset:
            raise CheckpointError(f"{path}: made with preset {ck['preset']!r}, not {cfg.preset!r}")
        model.load_state_dict(ck["model"])
    # --resume continues the checkpoint's run; a decoder-only fine-tune continues only a decoder-only run, and
    # otherwise starts at step 0 with a fresh optimiser from the checkpoint's weights
    if ck is not None and cfg.resume and (not cfg.decoder_only or ck["train_config"].get("decoder_only")):
        opt.load_state_dict(ck["optim"])
        start = ck["step"]
        if isinstance(model, FrameTokenizer):
            model.train_steps.fill_(start)  # the adversarial warm-up counts on from the checkpoint
    if cfg.decoder_only:
        model.freeze_encoder()

    def payload(step: int) -> dict[str, Any]:
        state = model.state_dict()
        return {"stage": cfg.stage, "preset": cfg.preset, "step": step, "model": state,
                "weights_digest": state_digest(state),
                "optim": opt.state_dict(), "train_config": asdict(cfg), "env_id": env_id,
                "frame_size": frame_size, "model_config": asdict(model_config(cfg.stage, preset)),
                "data": provenance}

    from torch.utils.tensorboard import SummaryWriter  # lazy: TensorBoard is heavy
    from tqdm import tqdm

    unit, per_item = _throughput_unit(cfg.stage, preset)
    lead = rank == 0  # only the first process writes checkpoints, logs and metrics
    writer = SummaryWriter(str(Path(cfg.out) / "tb" / cfg.stage)) if lead else None
    bar = tqdm(total=steps, initial=start, desc=cfg.stage, disable=not (progress and lead), dynamic_ncols=True)
    model.train()
    runner = StageLoss(cfg.stage, model, ldm, preset.idm.codes_per_step)
    if world > 1:  # gradients are averaged across processes during backward
        runner = torch.nn.parallel.DistributedDataParallel(runner)
    t0, loss = time.time(), float("nan")
    for step in range(start, steps):
        # The global batch is drawn from (seed, step) alone and split by rank, so N processes take exactly the
        # optimiser steps one process would (and a resumed run sees the batches an uninterrupted one would).
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        idx = torch.randint(0, len(train_ds), (batch_size,), generator=g)[rank::world]
        loss_t = runner(_batch(train_ds, idx, preset, conds, code_cache))
        if not torch.isfinite(loss_t):  # before the step and any save: the last checkpoint stays the good one
            raise VWError(f"{cfg.stage}: the loss is {loss_t.item()} at step {step + 1} (learning rate "
                          f"{lr_at(step, steps, lr):.3g}); lower --lr, or --resume from {path} with a lower one")
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr)
        opt.step()
        loss = loss_t.item()
        done = step + 1
        keep = bool(cfg.keep_every) and done % cfg.keep_every == 0
        if lead and (done % cfg.ckpt_every == 0 or done == steps or keep):
            if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):  # never save a broken model
                raise VWError(f"{cfg.stage}: the weights are not finite after step {done}; lower --lr, or "
                              f"--resume from {path} with a lower one")
            save_checkpoint(path, payload(done))
            if keep:
                save_checkpoint(path.with_name(f"{cfg.stage}-step{done}.pt"), {**payload(done), "optim": None})
        rate = (done - start) * batch_size * per_item / max(time.time() - t0, 1e-9)
        if lead:
            writer.add_scalar(f"losses/{cfg.stage}", loss, done)
            writer.add_scalar(f"charts/{cfg.stage}_{unit}_per_s", rate, done)
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}", **{f"{unit}/s": f"{rate:.0f}"})
    bar.close()
    if lead and start >= steps and not path.exists():
        save_checkpoint(path, payload(steps))
    if not lead:
        _barrier(world)  # wait until the lead has evaluated (it may read what this stage's peers wrote)
        return {}

    held_out = _held_out(cfg, preset, tokens, conds, code_cache)
    if cfg.stage == "transformer" or (cfg.stage == "ldm" and tok is not None):
        held_out["tokenizer"] = tok
    metrics = evaluate(cfg.stage, model, held_out, ldm, preset.idm.codes_per_step, board_size)
    if cfg.stage == "tokenizer" and board_size:
        model.eval()
        metrics.update(tokenizer_boards(model, cfg.data, board_size))
    metrics.update(steps=float(steps), train_loss=loss)
    if cfg.stage == "idm" and board_size and cfg.agent_positions:
        metrics.update({f"agent_{k}": v for k, v in _agent_metrics(cfg).items()})
    # wall time of this invocation, evaluation and caches included (a resumed stage counts only its own part)
    metrics["minutes"] = (time.time() - began) / 60
    for k, v in metrics.items():
        writer.add_scalar(f"eval/{cfg.stage}/{k}", v, steps)
    writer.close()
    write_text_atomic(Path(cfg.out) / f"{cfg.stage}-metrics.json", json.dumps(metrics, indent=2))
    _barrier(world)
    return metrics


class StageLoss(torch.nn.Module):
    """One stage's training loss as a module, so DistributedDataParallel can wrap it (its forward is the loss)."""

    def __init__(self, stage: str, model: torch.nn.Module, ldm: LatentDynamicsModel | None, codes_per_step: int):
        super().__init__()
        self.stage, self.model, self.ldm, self.codes_per_step = stage, model, ldm, codes_per_step

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return _loss(self.stage, self.model, batch, self.ldm, self.codes_per_step)


def join_process_group() -> tuple[int, int]:
    """(rank, world size); under torchrun (WORLD_SIZE > 1) join its process group first (gloo on CPU)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return rank_and_world()


def _barrier(world: int) -> None:
    if world > 1:
        torch.distributed.barrier()


def _agent_metrics(cfg: TrainConfig) -> dict[str, float]:
    """The whole agent on held-out games (vw_agent.eval.imagination), also written to agent-metrics.json."""
    agent = VideoWorldAgent.load(cfg.out, AgentConfig(seed=cfg.seed))
    metrics = evaluate_agent(agent, cfg.data, positions=cfg.agent_positions, seed=cfg.seed)
    write_text_atomic(Path(cfg.out) / "agent-metrics.json", json.dumps(metrics, indent=2))
    return metrics


def _throughput_unit(stage: str, preset: Preset) -> tuple[str, int]:
    """What the progress bar counts per second, and how many of them one window holds."""
    if stage == "transformer":
        return "tokens", preset.gpt.block_size - 1
    if stage == "ldm":
        return "frames", preset.ldm.horizon + 1
    return "frames", 1 if stage == "tokenizer" else 2


def _held_out(cfg: TrainConfig, preset: Preset, tokens: str | None, conds: dict[int, int] | None = None,
              code_cache: TokenCache | None = None) -> dict[str, Any]:
    """Up to ``eval_windows`` windows of the val and test splits (train if both are empty, as in tiny data)."""
    for split in ("val", "test", "train"):
        ds = _dataset(cfg, preset, split, tokens)
        if len(ds):
            n = min(cfg.eval_windows, len(ds))
            idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(cfg.seed))[:n]
            batch = _batch(ds, idx, preset, conds, code_cache)
            if cfg.stage == "transformer" or tokens:  # the real frames t, t+1 to judge imagination against
                batch["next_frames"] = torch.stack([torch.from_numpy(ds.reader.frames(e, s, s + 2))
                                                    for e, s in batch["episodes"]])
            return batch
    raise VWError(f"{cfg.data}: no windows to evaluate on")
