"""Behaviour cloning: the action-labelled oracle of the paper's tables.

A small CNN maps one frame to the action played from it, trained on **every** label of a recorded
dataset's train split (whatever fraction the IDM is allowed to see), and measured on the val split.
Frames come through the agent's own loader (:class:`vw_agent.data.loader.WindowDataset`, 2-frame windows
with actions), so BC and the agent read the same data the same way.

Go (``kind: go``): cross-entropy over N*N+1 moves; as a player, illegal moves are masked out.

Tabletop: the 7-D action is regressed (MSE on a tanh output in [-1, 1]), conditioned on the episode's task (its id
in :func:`vw_agent.checkpoint.tabletop_task_ids`, as the VideoWorld agent's transformer is), so one run serves a
multi-task dataset; as a policy it reads the task from ``info["task"]``.

VPT-style (``label_run``, Go): the training labels are not the recorded moves but what a VideoWorld run's IDM, itself
trained on a small labelled share, reads off each (frame t, frame t+1) of the train split (Baker et al., 2022,
"Video PreTraining"). The recorded moves are then read only to score the val split.

    vw-agent baseline train --algo bc --data data/go9-gnugo --out runs/bc-go9
    vw-agent play --black bc:runs/bc-go9 --white gnugo:level=1
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
from torch import nn

from vw_agent.baselines import BaselineError
from vw_agent.baselines.common import GO_PREFIX, MAX_OBS_SIZE, TABLETOP_PREFIX, masked_choice, peak_rss_mib, read_run
from vw_agent.checkpoint import tabletop_task_ids
from vw_agent.data.format import read_meta
from vw_agent.data.loader import WindowConfig, WindowDataset
from vw_envs.fileio import write_text_atomic
from vw_envs.go.render import RenderConfig
from vw_envs.players import BasePlayer, GameState, PlayerSpec
from vw_envs.tabletop.policies import clip_action, static_frame

# ----------------------------------------------------------------------------- config and network


@dataclass
class BCConfig:
    """One behaviour-cloning run; saved in ``config.json`` and in the checkpoint."""

    data: str  # a recorded dataset (vw-agent record)
    out: str  # the run folder
    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-4  # Adam
    weight_decay: float = 1e-4
    obs_size: int = 64  # frames are area-resized to this side before the CNN (84 at most)
    hidden: int = 256  # width of the layer after the convolutions
    seed: int = 0
    max_minutes: float | None = None  # stop at the first batch past this wall-clock budget (then the val pass)
    label_run: str | None = None  # VPT: a VideoWorld run whose code-blind IDM labels the train split (Go)
    num_workers: int = 0  # DataLoader workers
    progress: bool = True
    torch_threads: int = 1  # see SB3Config.torch_threads: more threads were much slower on loaded cores

    def __post_init__(self) -> None:
        if not 16 <= self.obs_size <= MAX_OBS_SIZE:
            raise BaselineError(f"obs_size must be in 16..{MAX_OBS_SIZE}, got {self.obs_size}")
        if self.epochs < 1 or self.batch_size < 1:
            raise BaselineError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")


class BCNet(nn.Module):
    """NatureCNN (the SB3 baselines' encoder) + an MLP head: (B, H, W, 3) uint8 -> (B, n_out); with ``n_cond`` a
    condition id (B,) (the tabletop task) adds a learned vector to the hidden layer."""

    def __init__(self, obs_size: int, n_out: int, hidden: int = 256, n_cond: int = 0):
        super().__init__()
        self.obs_size = obs_size
        self.cnn = nn.Sequential(
            nn.Conv2d(3, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.cnn(torch.zeros(1, 3, obs_size, obs_size)).shape[1]
        self.hidden = nn.Linear(flat, hidden)
        self.cond = nn.Embedding(n_cond, hidden) if n_cond else None
        self.out = nn.Linear(hidden, n_out)

    def prepare(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> (B, 3, S, S) float in [0, 1], area-resized to ``obs_size``."""
        x = frames.permute(0, 3, 1, 2).float() / 255.0
        if x.shape[-1] != self.obs_size or x.shape[-2] != self.obs_size:
            x = F.interpolate(x, size=(self.obs_size, self.obs_size), mode="area")
        return x

    def forward(self, frames: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden(self.cnn(self.prepare(frames)))
        if self.cond is not None:
            if cond is None:
                raise BaselineError("this BC run is conditioned on the task; give the task")
            h = h + self.cond(cond.long())
        return self.out(F.relu(h))  # (B, n_out)


def bc_loss(out: torch.Tensor, actions: torch.Tensor, discrete: bool) -> torch.Tensor:
    if discrete:
        return F.cross_entropy(out, actions.long())
    return F.mse_loss(torch.tanh(out), actions.float())


# ----------------------------------------------------------------------------- data


def _dataset(root: str, split: str, actions: bool = True) -> Any:
    # window 2 = (frame t, frame t+1) and the one action between them; all labels (fraction 1), or none (VPT)
    return WindowDataset(root, WindowConfig(window=2, split=split, actions=actions, label_fraction=1.0))


def _labeller(run: str, meta: dict[str, Any]) -> Any:
    """VPT: the code-blind IDM of VideoWorld run ``run``, as a function (frames (b 2 h w c) uint8 -> moves (b,))."""
    # lazy: the agent's checkpoints only for a VPT run
    from vw_agent.checkpoint import CheckpointError, load_frozen

    if meta.get("kind") != "go":
        raise BaselineError("label_run (VPT) reads Go moves off frames: give a Go dataset")
    try:
        idm = load_frozen(run, "idm", meta["env_id"], int(meta["frame_size"]))
    except CheckpointError as e:
        raise BaselineError(f"label_run: {e}") from None
    if idm.config.use_codes:
        raise BaselineError(f"label_run {run}: its IDM reads the LDM's codes too; VPT needs one that reads the "
                            "two frames alone (use_codes=False, presets go9-move and later)")

    @torch.no_grad()
    def label(frames: torch.Tensor) -> torch.Tensor:
        logits, _ = idm(frames[:, 0], torch.zeros(len(frames), idm.config.codes_per_step, dtype=torch.long),
                        frames[:, 1])
        return logits.argmax(-1)

    return label


def _conds(data: str, meta: dict[str, Any]) -> tuple[int, dict[int, int] | None]:
    """Tabletop: (the number of task ids, every episode's id); Go: (0, None)."""
    if meta.get("kind") == "go":
        return 0, None
    # lazy: the trainer (and its data pipeline) only for tabletop data; the agent's own reading of each task
    from vw_agent.train import episode_conds

    n = len(tabletop_task_ids())
    return n, episode_conds(data, meta, n)


def _cond_batch(batch: dict[str, Any], conds: dict[int, int] | None) -> torch.Tensor | None:
    return None if conds is None else torch.tensor([conds[int(e)] for e in batch["episode"]])


def _task_of(meta: dict[str, Any]) -> tuple[bool, int]:
    """(discrete, output size) of a dataset."""
    if meta.get("kind") == "go":
        n = int(meta.get("render", {}).get("board_size") or int(meta["env_id"].split("-")[1].split("x")[0]))
        return True, n * n + 1
    return False, 7


@torch.no_grad()
def evaluate(net: BCNet, loader: Any, discrete: bool, conds: dict[int, int] | None = None) -> dict[str, float]:
    """Mean loss (and top-1 accuracy for Go) over a loader."""
    net.eval()
    total, correct, uniform, n = 0.0, 0, 0.0, 0
    for batch in loader:
        frames, actions = batch["frames"][:, 0], batch["actions"][:, 0]
        out = net(frames, _cond_batch(batch, conds))
        total += float(bc_loss(out, actions, discrete)) * len(frames)
        if discrete:
            correct += int((out.argmax(-1) == actions).sum())
        else:  # E[(u - a)^2] for u ~ U(-1, 1): 1/3 + a^2, the MSE of uniformly random actions
            uniform += float((1 / 3 + actions.float() ** 2).mean(-1).sum())
        n += len(frames)
    net.train()
    res = {"loss": total / max(n, 1), "frames": n}
    if discrete:
        res["accuracy"] = correct / max(n, 1)
    else:
        res["uniform_loss"] = uniform / max(n, 1)
    return res


# ----------------------------------------------------------------------------- training


def train_bc(cfg: BCConfig) -> dict[str, Any]:
    """Train BC into ``cfg.out``; returns (and writes) ``summary.json``."""
    from torch.utils.data import DataLoader

    t0 = time.time()
    torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    meta = read_meta(cfg.data)
    discrete, n_out = _task_of(meta)
    n_cond, conds = _conds(cfg.data, meta)
    label = _labeller(cfg.label_run, meta) if cfg.label_run else None  # VPT: the IDM's reading, not the record
    train_ds, val_ds = _dataset(cfg.data, "train", actions=label is None), _dataset(cfg.data, "val")
    if len(train_ds) == 0:
        raise BaselineError(f"{cfg.data}: the train split has no labelled frames; record more episodes")
    run = Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    render = dict(meta.get("render", {}))
    info = {"kind": "bc", "config": asdict(cfg), "env_id": meta["env_id"], "frame_size": int(meta["frame_size"]),
            "render": render, "discrete": discrete, "n_out": n_out,
            "n_cond": n_cond}
    write_text_atomic(run / "config.json", json.dumps(info, indent=1))

    g = torch.Generator().manual_seed(cfg.seed)
    train_dl = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True, generator=g,
                          num_workers=cfg.num_workers)
    val_dl = DataLoader(val_ds, batch_size=cfg.batch_size, num_workers=cfg.num_workers)
    net = BCNet(cfg.obs_size, n_out, cfg.hidden, n_cond)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    from torch.utils.tensorboard import SummaryWriter

    tb = SummaryWriter(str(run / "tb"))
    history: list[dict[str, Any]] = []
    before = evaluate(net, val_dl, discrete, conds) if len(val_ds) else None
    step, out_of_time = 0, False
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.epochs * len(train_dl), unit="batch", desc="bc", disable=not cfg.progress)
    for epoch in range(cfg.epochs):
        losses = []
        for batch in train_dl:
            actions = batch["actions"][:, 0] if label is None else label(batch["frames"])
            loss = bc_loss(net(batch["frames"][:, 0], _cond_batch(batch, conds)), actions, discrete)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            tb.add_scalar("losses/train", losses[-1], step)
            step += 1
            bar.update()
            if cfg.max_minutes is not None and time.time() - t0 > 60 * cfg.max_minutes:
                out_of_time = True  # an epoch of a large dataset can outlast the budget
                break
        row: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses))}
        if len(val_ds):
            val = evaluate(net, val_dl, discrete, conds)
            row.update({f"val_{k}": v for k, v in val.items() if k not in ("frames", "uniform_loss")})
            for k, v in val.items():
                if k not in ("frames", "uniform_loss"):
                    tb.add_scalar(f"val/{k}", v, step)
        history.append(row)
        bar.set_postfix({k: round(v, 4) for k, v in row.items() if k != "epoch"})
        if out_of_time:
            break
    bar.close()
    tb.close()
    tmp = run / f".model.{os.getpid()}.pt"
    torch.save({"config": asdict(cfg), "n_out": n_out, "discrete": discrete, "n_cond": n_cond,
                "state_dict": net.state_dict()}, tmp)
    os.replace(tmp, run / "model.pt")
    summary: dict[str, Any] = {
        "algo": "bc", "env_id": meta["env_id"], "data": cfg.data, "train_frames": len(train_ds),
        "val_frames": len(val_ds), "epochs": len(history), "steps": step, "seconds": round(time.time() - t0, 1),
        "labels": f"the IDM of {cfg.label_run} (VPT)" if label else "recorded",
        "history": history, "val_before": before, "peak_rss_mib": peak_rss_mib(),
    }
    if label is not None and len(val_ds):  # how often the pseudo-labels are the recorded moves (held-out games)
        pairs = [(label(b["frames"]), b["actions"][:, 0]) for b in val_dl]
        summary["label_agreement_val"] = float(sum(int((a == b).sum()) for a, b in pairs) / len(val_ds))
    # What "beats random" is measured against: the uniform predictor over all N*N+1 moves (Go), or
    # uniformly random actions in [-1, 1]^7 (tabletop; their MSE on the val split).
    if discrete:
        summary["uniform"] = {"loss": math.log(n_out), "accuracy": 1.0 / n_out}
    elif before is not None:
        summary["uniform"] = {"loss": before["uniform_loss"]}
    write_text_atomic(run / "summary.json", json.dumps(summary, indent=1))
    return summary


# ----------------------------------------------------------------------------- acting


class BCAgent:
    """A trained BC run acting on raw frames; with a mask (Go) only legal moves are chosen."""

    def __init__(self, run: str | os.PathLike, deterministic: bool = True, seed: int = 0):
        meta = read_run(run)
        if meta.get("kind") != "bc":
            raise BaselineError(f"{run}: a {meta.get('kind')} run, not bc; use {meta.get('kind')}:{run}")
        path = Path(run) / "model.pt"
        if not path.exists():
            raise BaselineError(f"{path}: missing; the run did not finish (train it again)")
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        cfg = ckpt["config"]
        self.net = BCNet(int(cfg["obs_size"]), int(ckpt["n_out"]), int(cfg["hidden"]), int(ckpt.get("n_cond", 0)))
        self.net.load_state_dict(ckpt["state_dict"])
        self.net.eval()
        self.meta, self.discrete = meta, bool(ckpt["discrete"])
        self.env_id, self.frame_size = meta["env_id"], int(meta["frame_size"])
        self.deterministic = deterministic
        self.rng = np.random.default_rng(seed)
        self.task_ids = tabletop_task_ids()

    def reset(self) -> None:
        pass

    @torch.no_grad()
    def act(self, frame: np.ndarray, mask: np.ndarray | None = None, task: str | None = None) -> Any:
        """The move (Go, legal under ``mask``) or the 7-D action (tabletop, for ``task`` if the run is
        conditioned on it) for ``frame``."""
        cond = None
        if self.net.cond is not None:
            if task not in self.task_ids:
                raise BaselineError(f"unknown task {task!r}; valid tasks: {', '.join(self.task_ids)}")
            cond = torch.tensor([self.task_ids[task]])
        x = torch.from_numpy(np.ascontiguousarray(frame, dtype=np.uint8))[None]
        out = self.net(x, cond)[0].numpy()
        if not self.discrete:
            return np.tanh(out).astype(np.float32)
        if mask is None:
            mask = np.ones(len(out), bool)
        return masked_choice(out, np.asarray(mask, bool), self.deterministic, self.rng)


def _options(spec: PlayerSpec) -> dict[str, Any]:
    if spec.arg is not None:
        return {"run": spec.arg}
    spec.check_keys({"run", "greedy", "seed"})
    if "run" not in spec.params:
        raise BaselineError(f"{spec.text!r}: give the run folder: bc:RUN or bc:run=RUN,greedy=0")
    return {"run": spec.params["run"], "greedy": spec.get_int("greedy", 1, 0, 1) == 1,
            "seed": spec.get_int("seed", 0, 0, 2**31 - 1)}


class BCPlayer(BasePlayer):
    """A BC run as a Go player (``bc:runs/bc-go9``; ``bc:run=DIR,greedy=0`` samples its softmax)."""

    def __init__(self, run: str, greedy: bool = True, seed: int = 0):
        self.agent = BCAgent(run, deterministic=greedy, seed=seed)
        if not self.agent.env_id.startswith(GO_PREFIX):
            raise BaselineError(f"{run}: trained on {self.agent.env_id} data; as a Go player use a Go dataset's run")
        # See the board exactly as the dataset drew it.
        self.render_config = RenderConfig.from_meta(self.agent.meta, self.agent.frame_size)
        self.name = f"bc:{run}"

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> BCPlayer:
        return cls(**_options(spec))

    def genmove(self, state: GameState) -> int:
        return int(self.agent.act(state.frame, state.legal_mask))


class BCPolicy:
    """A BC run trained on tabletop data as a tabletop policy (``bc:runs/bc-drawer``)."""

    def __init__(self, run: str, greedy: bool = True, seed: int = 0):
        self.agent = BCAgent(run, deterministic=greedy, seed=seed)
        if not self.agent.env_id.startswith(TABLETOP_PREFIX):
            raise BaselineError(f"{run}: trained on {self.agent.env_id} data; as a tabletop policy use tabletop data")
        self.name = f"bc:{run}"

    @classmethod
    def from_spec(cls, spec: PlayerSpec, env: Any = None) -> BCPolicy:
        return cls(**_options(spec))

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, obs: Any, info: dict) -> np.ndarray:
        return clip_action(self.agent.act(static_frame(obs), task=info.get("task")))

    def close(self) -> None:
        pass
