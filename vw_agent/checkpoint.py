"""Stages and checkpoints: what a run folder holds, and the networks rebuilt from it.

A run folder (``vw-agent train``) holds one ``<stage>.pt`` per stage of :data:`STAGES`: the model's weights and
their SHA-256 (:func:`state_digest`, verified on every load), the optimiser state, the step, the preset and the
model config it was built from, and the dataset's env id and frame size. Training writes them
(:mod:`vw_agent.train`); the agents read them (:mod:`vw_agent.agent`, :mod:`vw_agent.agent_tabletop`) without
importing the trainer.

Example:
    >>> tok = load_frozen("runs/go9", "tokenizer")   # eval mode, no gradients
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from vw_agent.idm import IDMConfig, InverseDynamics
from vw_agent.ldm import LatentDynamicsModel, LDMConfig
from vw_agent.presets import Preset, PresetError, get_preset
from vw_agent.tokenizer import FrameTokenizer, TokenizerConfig
from vw_agent.transformer import GPT, GPTConfig
from vw_envs.errors import VWError
from vw_envs.fileio import write_bytes_atomic
from vw_envs.tabletop.tasks import TASKS  # pure numpy: the task table, no simulator

STAGES = ("tokenizer", "ldm", "transformer", "idm")


class CheckpointError(VWError, RuntimeError):
    """A checkpoint that is missing, unreadable, or made for another stage, preset, env or frame size."""


def checkpoint_path(out: str | Path, stage: str) -> Path:
    return Path(out) / f"{stage}.pt"


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """``torch.save`` into memory, then one atomic write: on a full disk that write fails as a one-line
    DiskFullError, where ``torch.save`` to a file fails with a C++ ``RuntimeError``."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getbuffer())


def load_checkpoint(path: Path, *, stage: str, env_id: str | None = None, frame_size: int | None = None
                    ) -> dict[str, Any]:
    """Read a checkpoint, checking it is for ``stage`` (and this env and frame size when given)."""
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint; train the {stage} stage first")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a corrupt file to the user
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__})") from None
    if not isinstance(ck, dict) or ck.get("stage") != stage:
        got = ck.get("stage") if isinstance(ck, dict) else type(ck).__name__
        raise CheckpointError(f"{path}: a {got!r} checkpoint, expected {stage!r}")
    verify_weights(path, ck)
    if env_id is not None and ck.get("env_id") != env_id:
        raise CheckpointError(f"{path}: trained on {ck.get('env_id')}, but the data is {env_id}")
    if frame_size is not None and ck.get("frame_size") != frame_size:
        raise CheckpointError(f"{path}: trained on {ck.get('frame_size')} px frames, but the data has "
                              f"{frame_size} px")
    return ck


def _config_of(stage: str, preset: str) -> dict[str, Any] | None:
    try:
        return asdict(model_config(stage, get_preset(preset)))
    except PresetError:
        return None


def model_config(stage: str, preset: Preset):
    return {"tokenizer": preset.tokenizer, "ldm": preset.ldm, "transformer": preset.gpt, "idm": preset.idm}[stage]


_MODELS = {"tokenizer": (FrameTokenizer, TokenizerConfig), "ldm": (LatentDynamicsModel, LDMConfig),
           "transformer": (GPT, GPTConfig), "idm": (InverseDynamics, IDMConfig)}


def build_model(stage: str, preset: Preset) -> torch.nn.Module:
    return _MODELS[stage][0](model_config(stage, preset))


def model_from_checkpoint(stage: str, ck: dict[str, Any]) -> torch.nn.Module:
    """The network of a checkpoint, built from the config stored in it (not from today's preset of that name, so
    a preset retuned later still loads the runs made with it before), with its weights."""
    cls, config_cls = _MODELS[stage]
    model = cls(config_cls(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    return model


def weights_digest(model: torch.nn.Module) -> str:
    return state_digest(model.state_dict())


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 (32 hex digits) of a state dict's names and bytes: the caches' names, and each checkpoint's checksum
    (``torch.load`` checks no CRC: a few changed bytes loaded as other, even non-finite, weights)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def verify_weights(path: Path, ck: dict[str, Any]) -> None:
    """Refuse a checkpoint whose weights do not match its checksum (checkpoints from before checksums have none:
    then only the next check applies) or hold non-finite values."""
    state = ck.get("model")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: no weights in this checkpoint")
    stored = ck.get("weights_digest")
    if stored is not None and state_digest(state) != stored:
        raise CheckpointError(f"{path}: the weights do not match the checkpoint's checksum: the file is corrupt; "
                              "retrain the stage or restore the file")
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: non-finite values in {name}; retrain the stage or restore the file")


def tabletop_task_ids() -> dict[str, int]:
    """Task name -> condition id: its index in ``sorted(TASKS)``, one fixed order, so that checkpoints trained
    on different tabletop datasets (any subset of tasks) agree on what each id means."""
    return {name: i for i, name in enumerate(sorted(TASKS))}


def load_frozen(out: str | Path, stage: str, env_id: str | None = None, frame_size: int | None = None,
                preset: str | None = None) -> torch.nn.Module:
    """The trained model of ``stage`` from run folder ``out``, in eval mode and without gradients.

    ``preset``, when given, must be the checkpoint's, or a preset with the same config for this stage (an ablation
    that shares a run's tokenizer and LDM): later stages' shapes follow from earlier stages' configs.
    """
    path = checkpoint_path(out, stage)
    ck = load_checkpoint(path, stage=stage, env_id=env_id, frame_size=frame_size)
    if preset is not None and ck["preset"] != preset and ck.get("model_config") != _config_of(stage, preset):
        raise CheckpointError(f"{path}: made with preset {ck['preset']!r}, not {preset!r}; retrain it or use "
                              f"--preset {ck['preset']}")
    return model_from_checkpoint(stage, ck).eval().requires_grad_(False)
