"""The VideoWorld agent: it imagines the next frame and reads its move off the imagined change.

VideoWorld (https://arxiv.org/abs/2501.09781) never sees the rules of Go. To choose a move on frame t:

1. the tokenizer turns frame t into g token ids;
2. the GPT, given ``[whose turn][frame t]``, samples the H LDM codes and then frame t+1's g ids;
3. the tokenizer decodes frame t+1: the imagination;
4. the IDM maps (frame t, the codes, the imagined frame t+1) to a move.

With ``GPTConfig.next_frame == "ldm"`` (presets ``go9-move`` and ``go9-point``, the shipped model) step 2 samples
only the codes, and frame t+1's ids come from the LDM's decoder given frame t and those codes: one deterministic
change per code, not g independent draws. ``AgentConfig.imagine`` overrides who renders the frame.

**Legal moves.** In play and evaluation the agent draws a fresh imagination when the IDM's move is illegal,
up to ``draws`` draws in all (the paper's release: 10), and counts how often its *first* draw was illegal
(``first_sample_illegal``: the paper's legal-rate metric, read by ``vw_agent.eval.knowledge``). When every
draw is illegal it plays the likeliest legal move of the last draw's IDM reading (``fallbacks`` counts
those). With ``resample=False`` it plays its first draw, legal or not, and the referee forfeits an illegal one.

The agent loads a run folder (``vw-agent train``) or the checkpoint shipped in the package
(``assets/checkpoints/go9``). ``videoworld`` / ``videoworld:RUN`` / ``videoworld:run=RUN,temperature=1,...``
make it a player wherever a player spec is accepted.

Axis letters: b batch (draws), h w pixels, c channels, g tokens per frame, s codes per step.

Example:
    >>> agent = VideoWorldAgent.load("runs/go9")
    >>> frames = agent.imagine(frame, steps=4, to_play="black")   # 4 imagined frames, uint8 (h, w, 3)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from einops import rearrange

import vw_assets
from vw_agent.checkpoint import (
    STAGES,
    CheckpointError,
    checkpoint_path,
    load_checkpoint,
    load_frozen,
    save_checkpoint,
    state_digest,
)
from vw_agent.idm import InverseDynamics
from vw_agent.ldm import LatentDynamicsModel
from vw_agent.tokenizer import FrameTokenizer, to_uint8
from vw_agent.transformer import CODE, COND, FRAME, GPT
from vw_envs.errors import SpecError
from vw_envs.fileio import write_text_atomic
from vw_envs.go.render import RenderConfig
from vw_envs.players import BasePlayer, GameState, PlayerSpec

SHIPPED = "go9"  # the checkpoint under assets/checkpoints/ that a bare ``videoworld`` spec loads (go9-point)
SHIPPED_TABLETOP = "tabletop"  # ... and on a tabletop env (tabletop-chunk)


def shipped_run(name: str = SHIPPED) -> Path:
    """The folder of a checkpoint shipped as package data (``vw_assets/checkpoints/<name>``)."""
    return Path(vw_assets.__file__).parent / "checkpoints" / name


@dataclass
class AgentConfig:
    temperature: float = 1.0  # sampling temperature of the codes and frame tokens (0: greedy, deterministic)
    top_k: int | None = None  # keep the k likeliest ids per position (None: the full distribution)
    resample: bool = True  # draw a new imagination when the move read off it is illegal (the paper's release)
    draws: int = 10  # imaginations per move at most, the first included (the paper's release: 10)
    vote: int = 1  # imaginations drawn at once per move; the legal move most of them show is played (1: the first)
    pass_share: float = 0.5  # with vote > 1: a pass is played only if more than this share of the draws show one
    # who renders frame t+1 once the codes are drawn: "gpt" samples its tokens, "ldm" decodes them from frame t and
    # the codes (needs the run's LDM); None: the run's own choice (GPTConfig.next_frame)
    imagine: str | None = None
    frame_temperature: float | None = None  # "gpt": temperature of frame t+1's tokens (None: ``temperature``)
    seed: int = 0  # sampling seed; a player's ``reset(seed=...)`` reseeds it
    # torch CPU threads while acting (None: leave torch's setting alone). 1 by default: batch-1 steps of these
    # small networks gain little from more, and with players sharing the cores (ladder workers, GNU Go) torch's
    # spinning threads made moves take ~9 s instead of ~0.1 s
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.draws < 1:
            raise ValueError(f"draws must be >= 1, got {self.draws}")
        if self.vote < 1:
            raise ValueError(f"vote must be >= 1, got {self.vote}")
        if self.imagine not in (None, "gpt", "ldm"):
            raise ValueError(f"imagine must be 'gpt', 'ldm' or None, got {self.imagine!r}")
        if self.frame_temperature is not None and not self.frame_temperature >= 0:
            raise ValueError(f"frame_temperature must be >= 0, got {self.frame_temperature}")


class VideoWorldAgent:
    """The four trained networks of one run, and acting by imagination (Go)."""

    def __init__(self, tokenizer: FrameTokenizer, gpt: GPT, idm: InverseDynamics, info: dict[str, Any],
                 config: AgentConfig | None = None, ldm: LatentDynamicsModel | None = None):
        self.tokenizer, self.gpt, self.idm, self.ldm = tokenizer, gpt, idm, ldm
        self.config = config or AgentConfig()
        self.by_ldm = _imagines_by_ldm(self.config, gpt)  # the LDM renders frame t+1
        if self.by_ldm and ldm is None:
            raise CheckpointError("imagined frames decoded by the LDM need the run's LDM (imagine='ldm')")
        if not self.by_ldm and gpt.config.next_frame_loss_weight == 0:
            raise CheckpointError("this GPT learned the codes alone (next_frame_loss_weight 0) and cannot render "
                                  "frame t+1: let the LDM render it (imagine='ldm')")
        self.info = info  # env_id, frame_size, preset, data provenance (from the checkpoints)
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.board_size: int | None = (info.get("data") or {}).get("render", {}).get("board_size")
        self.last_imagination: list[np.ndarray] | None = None  # frames imagined behind the last act
        self.future: torch.Tensor | None = None  # draw(future=True): the imagined frames of every coded step
        self.first_sample_illegal = 0  # moves whose first draw was illegal
        self.fallbacks = 0  # moves where every draw was illegal
        self.moves = 0  # moves chosen

    # --- loading and saving

    @classmethod
    def load(cls, run: str | Path, config: AgentConfig | None = None) -> VideoWorldAgent:
        """The agent of run folder ``run``. The GPT's checkpoint names env, frame size and preset: the GPT is what
        makes the agent, and the other stages may come from a run of another preset (copied in, as the ablations
        and ``tabletop-code`` do) as long as their configs are that preset's."""
        run = Path(run)
        if not run.is_dir():
            raise CheckpointError(f"{run}: no such run folder (train one with vw-agent train all)")
        head = load_checkpoint(checkpoint_path(run, "transformer"), stage="transformer")
        env_id, size, preset = head["env_id"], head["frame_size"], head["preset"]
        tok = load_frozen(run, "tokenizer", env_id, size, preset)
        gpt = load_frozen(run, "transformer", env_id, size, preset)
        idm = load_frozen(run, "idm", env_id, size, preset)
        # the LDM's decoder renders the imagined frame from the sampled codes (GPTConfig.next_frame)
        ldm = load_frozen(run, "ldm", env_id, size, preset) if _imagines_by_ldm(config, gpt) else None
        info = {"run": str(run), "env_id": env_id, "frame_size": size, "preset": preset, "data": head.get("data")}
        return cls(tok, gpt, idm, info, config, ldm=ldm)

    @property
    def frame_size(self) -> int:
        return int(self.info["frame_size"])

    @property
    def render_config(self):
        """The Go renderer settings of the training video: the agent must see boards drawn the same way."""
        return RenderConfig.from_meta(self.info.get("data"), self.frame_size)

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    # --- imagination

    @torch.no_grad()
    def draw(self, frame: np.ndarray, cond: int, n: int, future: bool = False
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """n imaginations of the step after ``frame`` given condition ``cond`` (Go: 0 black / 1 white to play;
        tabletop: the task id) -> (codes (b s), frame t+1 (b h w c) float in [0, 1], IDM output: Go move logits
        (b a), or a chunk of robot actions (b k a)).

        ``future``: when the LDM renders the imagination, also keep the frames of every step the codes describe
        in ``self.future`` (b s h w c), frame t+1 first (else it is None)."""
        gpt, c = self.gpt, self.gpt.config
        off = c.offsets
        if frame.shape != (self.frame_size, self.frame_size, 3):
            raise ValueError(f"frame has shape {frame.shape}, the agent sees ({self.frame_size}, {self.frame_size}, 3)")
        x = torch.from_numpy(np.ascontiguousarray(frame))[None]  # (1, h, w, c) uint8
        ids = self.tokenizer.encode(x).flatten(1)  # (1, g)
        prefix = torch.cat([torch.tensor([[cond + off[COND]]]), ids + off[FRAME]], dim=1).expand(n, -1)
        by_ldm = self.by_ldm  # the GPT samples only the codes; the LDM's decoder renders frame t+1
        ft = self.config.frame_temperature
        split = by_ldm or (ft is not None and ft != self.config.temperature)  # codes first, then frame t+1
        seq = gpt.generate(prefix, c.codes_per_step + (0 if split else c.frame_tokens),
                           temperature=self.config.temperature, top_k=self.config.top_k, generator=self.generator)
        if split and not by_ldm:
            seq = gpt.generate(seq, c.frame_tokens, temperature=ft, top_k=self.config.top_k, generator=self.generator)
        seq = seq[:, prefix.shape[1]:]
        codes = seq[:, : c.codes_per_step] - off[CODE]  # (b, s)
        g = self.tokenizer.config.grid
        steps = 1
        if by_ldm:  # step 1's prediction needs only code 1 (the decoder's mask), so later codes may be zeros
            full = torch.zeros(n, self.ldm.config.horizon, dtype=torch.long)
            full[:, : c.codes_per_step] = codes
            # future=True: every step the sampled codes describe (the steps an action chunk runs through)
            steps = c.codes_per_step if future else 1
            nxt_ids = rearrange(self.ldm.decode(ids.expand(n, -1), full)[:, :steps], "b s (y x) -> (b s) y x", y=g)
        else:
            nxt_ids = (seq[:, c.codes_per_step:] - off[FRAME]).reshape(n, g, g)
        frames = rearrange(self.tokenizer.decode(nxt_ids), "(b s) h w c -> b s h w c", s=steps)  # in [0, 1]
        self.future = frames if future and by_ldm else None
        imagined = frames[:, 0]  # (b, h, w, c): frame t+1
        out, _ = self.idm(x.expand(n, -1, -1, -1), codes, imagined)
        return codes, imagined, out

    def imagine(self, frame: np.ndarray, steps: int = 1, to_play: str = "black") -> list[np.ndarray]:
        """Roll the world model ``steps`` moves ahead of ``frame`` (colours alternating from ``to_play``):
        a list of ``steps`` uint8 frames (h, w, 3). Each step sees only the frame before it, as in training."""
        first = 0 if to_play == "black" else 1
        return self.rollout(frame, [first ^ (k % 2) for k in range(steps)])[0]

    def rollout(self, frame: np.ndarray, conds: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """One imagined step per entry of ``conds`` (Go: whose turn; tabletop: the task id, the same each step)
        -> (the imagined uint8 frames (h, w, 3), the IDM's output for each step (a,): Go move logits or a
        tabletop action)."""
        frames, outs, cur = [], [], frame
        with self.threads():
            for cond in conds:
                _, imagined, out = self.draw(cur, cond, 1)
                cur = to_uint8(imagined[0]).numpy()
                frames.append(cur)
                outs.append(out[0].numpy())
        return frames, outs

    # --- acting

    def act(self, frame: np.ndarray, to_play: str, legal_mask: np.ndarray | None = None) -> int:
        """The move (action index, N*N = pass) chosen on ``frame`` for ``to_play``; see the module docstring.

        ``legal_mask`` (bool, N*N+1) is used only to judge draws, never to steer the imagination: with ``vote``
        > 1 the legal reading that most of the first ``vote`` draws agree on is played (ties: the earliest
        draw), and a pass only when more than ``pass_share`` of them show no change; when none of them is legal,
        ``resample`` draws more, up to ``draws`` in all.
        """
        cond = 0 if to_play == "black" else 1
        k = min(self.config.vote, self.config.draws)
        with self.threads():
            _, imagined, out = self.draw(frame, cond, k)
            reads = out.argmax(-1)  # (b,) the move read off each imagination
            move, chosen = int(reads[0]), 0
            self.moves += 1
            if legal_mask is not None:
                mask = torch.from_numpy(np.asarray(legal_mask, dtype=bool))
                if not mask[move]:
                    self.first_sample_illegal += 1
                legal = mask[reads]
                if not legal.any() and self.config.resample and self.config.draws > k:
                    # the other draws in one batch: the first legal one in draw order is what drawing them one
                    # at a time would have played
                    _, more, more_out = self.draw(frame, cond, self.config.draws - k)
                    imagined, out = torch.cat([imagined, more]), torch.cat([out, more_out])
                    reads = out.argmax(-1)
                    legal = mask[reads]
                    if legal.any():
                        chosen = int(legal.nonzero()[0])
                        move = int(reads[chosen])
                elif legal.any():  # a vote among the legal readings of the first k draws
                    chosen = vote(reads, mask, self.config.pass_share)
                    move = int(reads[chosen])
                if not legal.any() and self.config.resample and self.config.draws > 1:
                    self.fallbacks += 1
                    chosen = len(out) - 1
                    move = int(out[-1].masked_fill(~mask, float("-inf")).argmax())
        self.last_imagination = [to_uint8(imagined[chosen]).numpy()]
        return move

    def stats(self) -> dict[str, float]:
        """Moves chosen, first draws illegal, fallbacks, and the first-draw legal rate."""
        rate = 1.0 - self.first_sample_illegal / self.moves if self.moves else float("nan")
        return {"moves": self.moves, "first_sample_illegal": self.first_sample_illegal, "fallbacks": self.fallbacks,
                "first_sample_legal_rate": rate}

    def threads(self) -> _TorchThreads:
        """A context in which torch uses ``config.threads`` CPU threads (acting only; restored after)."""
        return _TorchThreads(self.config.threads)


def vote(reads: torch.Tensor, legal_mask: torch.Tensor, pass_share: float) -> int:
    """The draw to play among moves ``reads`` (b,) read off b imaginations: the earliest of the legal readings most
    draws agree on. A pass (the last action: an imagined frame that shows no change) counts only when more than
    ``pass_share`` of all b draws show one, or no other reading is legal: on boards unlike the training games' (a
    random opponent's) narrow votes passed early and lost. At least one reading must be legal."""
    legal = legal_mask[reads]
    passing = reads == len(legal_mask) - 1
    if passing.float().mean() <= pass_share and bool((legal & ~passing).any()):
        legal = legal & ~passing
    votes = torch.bincount(reads[legal], minlength=len(legal_mask))[reads].masked_fill(~legal, -1)
    return int(votes.argmax())  # torch.argmax returns the first maximum: the earliest draw of the most common


def _imagines_by_ldm(config: AgentConfig | None, gpt: GPT) -> bool:
    """Whether the LDM's decoder renders the imagined frame: the config's choice, else the run's own."""
    return ((config.imagine if config else None) or gpt.config.next_frame) == "ldm"


ACTING = "acting.json"  # a run's chosen acting defaults, beside its checkpoints (exported with them)
_ACTING_KEYS = ("temperature", "top_k", "vote", "pass_share", "draws")


def run_defaults(run: str | Path) -> AgentConfig:
    """How a player spec that names no sampling options acts with run ``run``.

    A run may hold ``acting.json``: the defaults chosen for it on validation positions, e.g. ``{"temperature": 0.5,
    "vote": 8, "pass_share": 0.99, "chosen_on": "..."}`` (keys of AgentConfig: temperature, top_k, vote,
    pass_share, draws; a key starting with "chosen" is a note). Otherwise, a run whose imagined frame is the LDM's
    decoding of the code (GPTConfig.next_frame == "ldm", presets go9-move and later): 8 draws at temperature 1, a
    vote among them, and a pass only if all 8 show no change (greedy codes passed early and lost to random;
    docs/agent-go.md has the measurements). Other runs: one draw at temperature 1, as they were measured.

    Raises:
        CheckpointError: ``acting.json`` is not a JSON object of those keys, or its values are out of range.
    """
    acting = Path(run) / ACTING
    if acting.exists():
        try:
            chosen = json.loads(acting.read_text())
            if not isinstance(chosen, dict):
                raise ValueError("not a JSON object")
            unknown = sorted(k for k in chosen if k not in _ACTING_KEYS and not k.startswith("chosen"))
            if unknown:
                raise ValueError(f"unknown keys {', '.join(unknown)} (valid: {', '.join(_ACTING_KEYS)})")
            return AgentConfig(**{k: v for k, v in chosen.items() if k in _ACTING_KEYS})
        except (ValueError, TypeError) as e:  # JSONDecodeError is a ValueError; AgentConfig checks the ranges
            raise CheckpointError(f"{acting}: {e}") from None
    path = checkpoint_path(Path(run), "transformer")
    if path.exists() and load_checkpoint(path, stage="transformer")["model_config"].get("next_frame") == "ldm":
        return AgentConfig(temperature=1.0, vote=8, pass_share=0.99)
    return AgentConfig()  # (a missing run: loading it then names what is missing)


class _TorchThreads:
    """Set torch's CPU threads for a block, then restore them (no-op for None)."""

    def __init__(self, n: int | None):
        self.n, self.old = n, None

    def __enter__(self) -> None:
        if self.n is not None:
            self.old = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        if self.old is not None:
            torch.set_num_threads(self.old)


# ----------------------------------------------------------------------------- the player

_KEYS = {"run", "temperature", "top_k", "resample", "draws", "vote", "pass_share", "imagine", "frame_temperature",
         "seed", "threads"}


class VideoWorldPlayer(BasePlayer):
    """The agent as a Go :class:`~vw_envs.players.Player`: ``videoworld`` (the shipped 9x9 checkpoint),
    ``videoworld:RUN`` or ``videoworld:run=RUN,temperature=T,top_k=K,resample=0|1,draws=D,vote=V,pass_share=P,
    imagine=gpt|ldm,frame_temperature=F,seed=S,threads=N``."""

    def __init__(self, run: str | Path | None = None, config: AgentConfig | None = None):
        run = Path(run) if run is not None else shipped_run()
        self.agent = VideoWorldAgent.load(run, config)
        if not self.agent.info["env_id"].startswith("VideoGo-"):
            raise CheckpointError(f"{run}: trained on {self.agent.info['env_id']}; as a Go player use a Go run")
        self.render_config = self.agent.render_config  # GameState.frame draws the board as the video did
        self.name = "videoworld" if run == shipped_run() else f"videoworld:{run}"

    @classmethod
    def from_spec(cls, spec: PlayerSpec) -> VideoWorldPlayer:
        spec.check_keys(_KEYS, arg_allowed=True)
        run = spec.arg or spec.params.get("run")
        if spec.params.get("imagine") not in (None, "gpt", "ldm"):
            raise SpecError(f"imagine must be gpt or ldm, got {spec.params['imagine']!r}")
        d = run_defaults(Path(run) if run else shipped_run())  # what the spec leaves out
        top_k = spec.get_int("top_k", d.top_k or 0, 0, 1_000_000)
        cfg = AgentConfig(temperature=spec.get_float("temperature", d.temperature, 0.0, 100.0), top_k=top_k or None,
                          resample=spec.get_int("resample", 1, 0, 1) == 1,
                          draws=spec.get_int("draws", d.draws, 1, 1000),
                          vote=spec.get_int("vote", d.vote, 1, 1000), imagine=spec.params.get("imagine"),
                          pass_share=spec.get_float("pass_share", d.pass_share, 0.0, 1.0),
                          frame_temperature=(spec.get_float("frame_temperature", 0.0, 0.0, 100.0)
                                             if "frame_temperature" in spec.params else None),
                          seed=spec.get_int("seed", 0, 0, 2**31 - 1),
                          threads=spec.get_int("threads", 1, 0, 1024) or None)
        return cls(run, cfg)

    @property
    def last_imagination(self) -> list[np.ndarray] | None:
        return self.agent.last_imagination

    @property
    def first_sample_illegal(self) -> int:
        return self.agent.first_sample_illegal

    def reset(self, board_size: int, komi: float, color: str, *, seed: int | None = None) -> None:
        super().reset(board_size, komi, color, seed=seed)
        if self.agent.board_size is not None and board_size != self.agent.board_size:
            raise SpecError(f"{self.name} learned {self.agent.board_size}x{self.agent.board_size} Go from video; "
                            f"it cannot play {board_size}x{board_size}")
        self.agent.first_sample_illegal = self.agent.fallbacks = self.agent.moves = 0
        self.agent.last_imagination = None
        self.agent.reseed(self.agent.config.seed if seed is None else seed)

    def genmove(self, state: GameState) -> int:
        return self.agent.act(state.frame, state.to_play, state.legal_mask)


# ----------------------------------------------------------------------------- shipping a run


def export_run(run: str | Path, dest: str | Path) -> Path:
    """Copy run ``run``'s models to ``dest`` without optimiser state (for shipping), with its metrics.

    Each checkpoint keeps its config, preset, env, frame size and data provenance; ``dest/run.json`` lists
    them. Files are written atomically, and ``dest`` is replaced only when every file is written. A GPT that
    predicts no codes (a "video only" run) never uses the LDM, so the LDM is left out.
    """
    run, dest = Path(run), Path(dest)
    gpt = load_checkpoint(checkpoint_path(run, "transformer"), stage="transformer")
    stages = [s for s in STAGES if s != "ldm" or gpt["model_config"]["codes_per_step"] > 0]
    stage_dir = dest.with_name(dest.name + ".partial")
    shutil.rmtree(stage_dir, ignore_errors=True)
    stage_dir.mkdir(parents=True)
    summary: dict[str, Any] = {"source": str(run), "stages": {}}
    for stage in stages:
        ck = load_checkpoint(checkpoint_path(run, stage), stage=stage)
        ck.pop("optim", None)
        ck["weights_digest"] = state_digest(ck["model"])  # verified on load (a checkpoint from before had none)
        save_checkpoint(checkpoint_path(stage_dir, stage), ck)
        metrics_file = run / f"{stage}-metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else None
        if metrics is not None:
            shutil.copyfile(metrics_file, stage_dir / metrics_file.name)
        summary["stages"][stage] = {"steps": ck["step"], "preset": ck["preset"], "metrics": metrics,
                                    "train_config": ck.get("train_config")}
        summary.update(env_id=ck["env_id"], frame_size=ck["frame_size"], data=ck.get("data"))
    for extra in ("agent-metrics.json", ACTING):
        if (run / extra).exists():
            shutil.copyfile(run / extra, stage_dir / extra)
    write_text_atomic(stage_dir / "run.json", json.dumps(summary, indent=2, default=str))
    if dest.exists():
        shutil.rmtree(dest)
    stage_dir.rename(dest)
    return dest
