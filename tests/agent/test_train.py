from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from tests.agent.conftest import KATAGO3, ROOT
from vw_agent.checkpoint import STAGES, CheckpointError, checkpoint_path, load_checkpoint, load_frozen, model_config
from vw_agent.data.reader import DatasetReader
from vw_agent.data.record import RecordConfig, record
from vw_agent.data.tokens import TokenCache, cache_sequences
from vw_agent.ldm import LatentDynamicsModel
from vw_agent.presets import get_preset
from vw_agent.tokenizer import FrameTokenizer
from vw_agent.train import TrainConfig, train_stage
from vw_envs.errors import DatasetError


def cfg(data, out, stage="tokenizer", **kw) -> TrainConfig:
    kw = {"ckpt_every": 2, "eval_windows": 8, "label_fraction": 1.0, "agent_positions": 8, "preset": "tiny", **kw}
    return TrainConfig(stage=stage, data=str(data), out=str(out), **kw)


def test_every_stage_trains_and_checkpoints(go_dataset, tmp_path):
    for stage in STAGES:  # later stages read the earlier stages' checkpoints
        metrics = train_stage(cfg(go_dataset, tmp_path, stage, steps=3), progress=False)
        ck = load_checkpoint(checkpoint_path(tmp_path, stage), stage=stage, env_id="VideoGo-9x9-v0", frame_size=64)
        assert ck["step"] == 3 and ck["preset"] == "tiny" and ck["frame_size"] == 64
        assert ck["model_config"] == asdict(model_config(stage, get_preset("tiny")))
        assert json.loads((tmp_path / f"{stage}-metrics.json").read_text()) == pytest.approx(metrics, nan_ok=True)
        assert 0 < metrics["minutes"] < 10  # the stage's wall time
        assert list((tmp_path / "tb" / stage).glob("events.out.tfevents.*"))  # TensorBoard scalars
    assert 0 <= metrics["action_accuracy"] <= 1
    ldm = json.loads((tmp_path / "ldm-metrics.json").read_text())
    assert {"recon_mse", "shuffled_codes_mse", "changed_px_mse", "changed_px_shuffled_mse", "distinct_codes"} \
        <= set(ldm)
    tok = json.loads((tmp_path / "tokenizer-metrics.json").read_text())
    assert 0 <= tok["board_accuracy"] <= 1
    assert tok["board_accuracy"] == pytest.approx(1 - tok["board_points_wrong"] / tok["board_points"])
    gpt = json.loads((tmp_path / "transformer-metrics.json").read_text())
    assert 0 <= gpt["imagine_board_accuracy"] <= 1 and gpt["copy_board_accuracy"] > 0.95


def test_tokenizer_boards_reads_every_held_out_frame(go_dataset):
    """The count covers every frame of the held-out games, and a tokenizer that lost a stone is caught."""
    from vw_agent.metrics import tokenizer_boards

    class Copy(torch.nn.Module):  # ids = the frames themselves; decoding returns them, less one stone
        config = get_preset("tiny").tokenizer

        def __init__(self, spoil: bool):
            super().__init__()
            self.spoil = spoil

        def encode(self, frames):
            return frames

        def decode(self, frames):
            out = frames.float() / 255
            if self.spoil:  # paint the first frame's board over with the empty board's colours
                out[0] = out[-1] if len(out) > 1 else out[0]
            return out

    reader = DatasetReader(go_dataset)
    held = reader.split_ids("val") + reader.split_ids("test") or reader.split_ids("train")
    n = sum(reader.ref(e).frames for e in held)
    exact = tokenizer_boards(Copy(False), go_dataset, 9)
    assert exact == {"board_accuracy": 1.0, "board_points_wrong": 0.0, "board_points": 81.0 * n,
                     "board_frames": float(n)}
    spoilt = tokenizer_boards(Copy(True), go_dataset, 9)
    assert 0 < spoilt["board_points_wrong"] and spoilt["board_accuracy"] < 1


def test_sequence_cache_rows(go_dataset, tmp_path):
    """Row t: frame t's token ids, then the LDM's codes of frames t..t+H (-1 where fewer than H frames follow)."""
    p = get_preset("tiny")
    tok, ldm = FrameTokenizer(p.tokenizer).eval(), LatentDynamicsModel(p.ldm).eval()
    name = cache_sequences(tok, ldm, go_dataset, batch_size=16)
    assert name == cache_sequences(tok, ldm, go_dataset)  # a rerun finds it complete
    reader = DatasetReader(go_dataset)
    ep = reader.split_ids(None)[1]
    n, h, g = reader.ref(ep).frames, p.ldm.horizon, p.tokenizer.grid ** 2
    rows = torch.from_numpy(TokenCache(go_dataset, name).read(ep)).long()
    frames = torch.from_numpy(reader.frames(ep, 0, n))
    assert rows.shape == (n, g + h)
    assert torch.equal(rows[:, :g], tok.encode(frames).flatten(1))
    assert torch.equal(rows[7, g:], ldm.encode(frames[None, 7:7 + h + 1])[0])
    assert (rows[n - h:, g:] == -1).all() and (rows[: n - h, g:] >= 0).all()


def test_resume_equals_uninterrupted(go_dataset, tmp_path, monkeypatch):
    """A run killed right after its step-3 checkpoint and resumed ends bit-identical to an uninterrupted one
    (same batches, same learning-rate schedule)."""
    import vw_agent.train as train_mod

    train_stage(cfg(go_dataset, tmp_path / "a", steps=6), progress=False)
    real_save = train_mod.save_checkpoint

    def save_then_die(path, payload):
        real_save(path, payload)
        if payload["step"] == 3:
            raise KeyboardInterrupt  # as a kill between two steps

    monkeypatch.setattr(train_mod, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_stage(cfg(go_dataset, tmp_path / "b", steps=6, ckpt_every=3), progress=False)
    monkeypatch.setattr(train_mod, "save_checkpoint", real_save)
    train_stage(cfg(go_dataset, tmp_path / "b", steps=6, resume=True), progress=False)
    a = torch.load(tmp_path / "a" / "tokenizer.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "tokenizer.pt", weights_only=False)
    assert a["step"] == b["step"] == 6
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_checkpoint_mismatches_are_one_line_errors(go_dataset, tmp_path):
    train_stage(cfg(go_dataset, tmp_path, steps=1), progress=False)
    path = checkpoint_path(tmp_path, "tokenizer")
    with pytest.raises(CheckpointError, match="a 'tokenizer' checkpoint, expected 'ldm'"):
        load_checkpoint(path, stage="ldm")
    with pytest.raises(CheckpointError, match="trained on VideoGo-9x9-v0, but the data is VideoGo-19x19-v0"):
        load_checkpoint(path, stage="tokenizer", env_id="VideoGo-19x19-v0")
    with pytest.raises(CheckpointError, match="trained on 64 px frames, but the data has 128 px"):
        load_checkpoint(path, stage="tokenizer", frame_size=128)
    with pytest.raises(CheckpointError, match="no checkpoint; train the ldm stage first"):
        train_stage(cfg(go_dataset, tmp_path, "idm", steps=1), progress=False)
    with pytest.raises(CheckpointError, match="made with preset 'tiny', not 'go9-cpu'"):
        load_frozen(tmp_path, "tokenizer", preset="go9-cpu")
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        load_checkpoint(path, stage="tokenizer")


def test_checkpoints_load_from_their_own_config(go_dataset, tmp_path, monkeypatch):
    """A preset retuned after a run (here: a wider GPT under the same name) still loads that run's networks."""
    import vw_agent.presets as presets

    for stage in STAGES[:3]:
        train_stage(cfg(go_dataset, tmp_path, stage, steps=1), progress=False)
    before = load_frozen(tmp_path, "transformer")
    tiny = presets.PRESETS["tiny"]

    def retuned():
        p = tiny()
        p.gpt.n_embd *= 2
        return p

    monkeypatch.setitem(presets.PRESETS, "tiny", retuned)
    after = load_frozen(tmp_path, "transformer", preset="tiny")
    assert after.config == before.config and after.config.n_embd == tiny().gpt.n_embd
    assert all(torch.equal(a, b) for a, b in zip(after.state_dict().values(), before.state_dict().values(),
                                                  strict=True))


def test_frame_size_mismatch(tmp_path):
    data = tmp_path / "go96"
    record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(data), from_sgf=str(KATAGO3), frame_size=96), progress=False)
    with pytest.raises(DatasetError, match="frame-size mismatch"):
        train_stage(cfg(data, tmp_path / "run", steps=1), progress=False)


def _cli(*args: str, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}  # one core each: the suite runs -n 2
    return subprocess.Popen([sys.executable, "-m", "vw_cli.main", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


@pytest.mark.slow
def test_cli_kill_then_resume(go_dataset, tmp_path):
    """A real training subprocess is SIGKILLed after a checkpoint; --resume finishes from that step."""
    args = ["train", "tokenizer", "--data", str(go_dataset), "--out", str(tmp_path), "--preset", "tiny",
            "--ckpt-every", "2"]
    proc = _cli(*args, "--steps", "100000")
    ck = checkpoint_path(tmp_path, "tokenizer")
    deadline = time.time() + 60
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ck.exists(), proc.stderr.read()
    killed_at = load_checkpoint(ck, stage="tokenizer")["step"]  # an atomic write: always readable
    assert killed_at >= 2 and not list(tmp_path.glob(".tokenizer.pt.*"))[1:]  # at most one stale temporary
    out, err = _cli(*args, "--steps", str(killed_at + 2), "--resume", "--quiet").communicate(timeout=120)
    assert json.loads(out.strip().splitlines()[-1])["steps"] == killed_at + 2, err
    assert load_checkpoint(ck, stage="tokenizer")["step"] == killed_at + 2


@pytest.mark.slow
def test_cli_train_all(go_dataset, tmp_path):
    proc = _cli("train", "all", "--data", str(go_dataset), "--out", str(tmp_path), "--preset", "tiny", "--steps", "2",
                "--label-fraction", "1", "--quiet")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert [json.loads(line)["stage"] for line in out.strip().splitlines()] == list(STAGES)
    assert all(checkpoint_path(tmp_path, s).exists() for s in STAGES)


def test_cli_errors_exit_2(go_dataset, tmp_path):
    proc = _cli("train", "ldm", "--data", str(go_dataset), "--out", str(tmp_path), "--preset", "nope")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "unknown preset 'nope'" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["tokenizer", "transformer"])
def test_torchrun_two_processes_take_the_steps_of_one(go_dataset, tmp_path, stage):
    """``torchrun --nproc_per_node=2`` (DDP over gloo) splits each global batch by rank: the weights after
    3 steps equal a single process's. The transformer stage also fills the token cache from one rank."""
    one, two = tmp_path / "one", tmp_path / "two"
    for out in (one, two):
        for earlier in STAGES[: STAGES.index(stage)]:
            train_stage(cfg(go_dataset, out, earlier, steps=2), progress=False)
    args = ["train", stage, "--data", str(go_dataset), "--preset", "tiny", "--steps", "3", "--batch-size", "8",
            "--quiet"]
    out1, err1 = _cli(*args, "--out", str(one)).communicate(timeout=180)
    assert err1.strip() == "" or "Traceback" not in err1, err1
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "--no-python",
                           str(Path(sys.executable).parent / "vw-agent"), *args, "--out", str(two)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout.strip().splitlines()) == 1  # one report, from rank 0
    a = load_checkpoint(checkpoint_path(one, stage), stage=stage)["model"]
    b = load_checkpoint(checkpoint_path(two, stage), stage=stage)["model"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=2e-5, rtol=1e-4, msg=k)


def test_lr_schedule_warms_up_then_decays_to_a_tenth():
    from vw_agent.train import lr_at

    lrs = [lr_at(s, 1000, 1e-3) for s in range(1000)]
    assert lrs[0] < lrs[49] == pytest.approx(1e-3)  # 50 warm-up steps (5%)
    assert all(a >= b for a, b in zip(lrs[49:], lrs[50:], strict=False))  # then never rises
    assert lrs[-1] == pytest.approx(1e-4, rel=0.01)


def test_idm_reads_the_ldm_codes_from_the_token_cache(go_dataset, tmp_path):
    """The IDM's training codes come from the token cache, and equal the frozen LDM's codes of each window."""
    from vw_agent.train import _batch, _dataset

    for stage in ("tokenizer", "ldm"):
        train_stage(cfg(go_dataset, tmp_path, stage, steps=2), progress=False)
    p = get_preset("tiny")
    tok, ldm = load_frozen(tmp_path, "tokenizer"), load_frozen(tmp_path, "ldm")
    cache = TokenCache(go_dataset, cache_sequences(tok, ldm, go_dataset))
    ds = _dataset(cfg(go_dataset, tmp_path, "idm"), p, "train")
    batch = _batch(ds, torch.arange(8), p, code_cache=cache)
    assert torch.equal(batch["codes"], ldm.encode(batch["frames"])[:, : p.idm.codes_per_step])


@pytest.fixture
def tiny_tokens(monkeypatch) -> str:
    """The tiny preset with the patch encoder and its LDM in the token space (as go9-cpu), registered as
    ``tiny-tokens``."""
    import vw_agent.presets as presets

    def make():
        p = presets.get_preset("tiny")
        return presets.linked("tiny-tokens", "tests: the tiny preset, LDM on the tokenizer's ids",
                              replace(p.tokenizer, encoder="patch", patch_width=64),
                              replace(p.ldm, space="tokens"), gpt=dict(n_layer=2, n_head=2, n_embd=64),
                              idm=dict(channels=(16, 32, 32), code_dim=16, hidden=128), train=p.train)

    monkeypatch.setitem(presets.PRESETS, "tiny-tokens", make)
    return "tiny-tokens"


def test_every_stage_trains_with_the_ldm_on_tokens(go_dataset, tmp_path, tiny_tokens):
    """The token-space LDM trains on the frame-token cache; its codes fill the sequence cache; the agent acts."""
    from vw_agent.data.tokens import cache_frame_tokens

    for stage in STAGES:
        metrics = train_stage(cfg(go_dataset, tmp_path, stage, steps=3, preset=tiny_tokens), progress=False)
        if stage == "ldm":
            assert {"token_accuracy", "changed_token_accuracy", "shuffled_codes_changed_token_accuracy",
                    "distinct_codes"} <= set(metrics)
            assert 0 <= metrics["changed_token_accuracy"] <= 1
    assert 0 <= metrics["action_accuracy"] <= 1 and 0 <= metrics["agent_first_sample_legal_rate"] <= 1
    tok, ldm = load_frozen(tmp_path, "tokenizer"), load_frozen(tmp_path, "ldm")
    assert ldm.config.space == "tokens" and ldm.config.token_vocab == tok.vocab_size
    reader = DatasetReader(go_dataset)
    ep = reader.split_ids(None)[1]
    frames = TokenCache(go_dataset, cache_frame_tokens(tok, go_dataset))
    rows = torch.from_numpy(TokenCache(go_dataset, cache_sequences(tok, ldm, go_dataset)).read(ep)).long()
    ids = torch.from_numpy(frames.read(ep)).long()
    g, h = ids.shape[1], ldm.config.horizon
    assert torch.equal(ids, tok.encode(torch.from_numpy(reader.frames(ep))).flatten(1))
    assert torch.equal(rows[:, :g], ids) and torch.equal(rows[7, g:], ldm.encode(ids[None, 7:7 + h + 1])[0])


def test_ldm_on_tokens_refuses_a_tokenizer_of_another_shape(go_dataset, tmp_path, tiny_tokens, monkeypatch):
    import vw_agent.presets as presets

    train_stage(cfg(go_dataset, tmp_path, "tokenizer", steps=1, preset=tiny_tokens), progress=False)
    make = presets.PRESETS[tiny_tokens]

    def retuned():  # the LDM now expects a 125-id tokenizer; the run's has 1,000
        p = make()
        p.ldm = replace(p.ldm, token_vocab=125)
        return p

    monkeypatch.setitem(presets.PRESETS, tiny_tokens, retuned)
    with pytest.raises(CheckpointError, match="1000 ids on a 4x4 grid, but the LDM of preset 'tiny-tokens' reads "
                                              "125 on 4x4"):
        train_stage(cfg(go_dataset, tmp_path, "ldm", steps=1, preset=tiny_tokens), progress=False)


def test_a_non_finite_loss_stops_training_before_it_saves(go_dataset, tmp_path):
    """A learning rate of 1e30 sends the weights to inf within a few steps: training stops with one line and
    leaves the last good checkpoint, not a NaN one."""
    from vw_envs.errors import VWError

    cfg = TrainConfig(stage="tokenizer", data=str(go_dataset), out=str(tmp_path), preset="tiny", steps=4,
                      ckpt_every=2)
    train_stage(cfg, progress=False)
    good = torch.load(checkpoint_path(tmp_path, "tokenizer"), weights_only=False)
    with pytest.raises(VWError, match="the loss is (nan|inf)"):
        train_stage(replace(cfg, steps=40, lr=1e30, resume=True), progress=False)
    kept = torch.load(checkpoint_path(tmp_path, "tokenizer"), weights_only=False)
    assert all(torch.isfinite(v).all() for v in kept["model"].values() if v.is_floating_point())
    assert kept["step"] >= good["step"]


def test_corrupt_or_non_finite_weights_are_refused(go_dataset, tmp_path):
    """torch.load checks no CRC: changed bytes load as other weights. A checkpoint carries a checksum of its
    weights, verified on load; non-finite weights are refused even in a checkpoint from before checksums."""
    cfg = TrainConfig(stage="tokenizer", data=str(go_dataset), out=str(tmp_path), preset="tiny", steps=2)
    train_stage(cfg, progress=False)
    path = checkpoint_path(tmp_path, "tokenizer")
    ck = torch.load(path, weights_only=False)
    assert len(ck["weights_digest"]) == 32
    load_checkpoint(path, stage="tokenizer")  # intact: loads
    name = next(k for k, v in ck["model"].items() if v.is_floating_point())
    ck["model"][name].view(-1)[0] += 1.0  # one weight changed, as a flipped byte would
    torch.save(ck, path)
    with pytest.raises(CheckpointError, match="do not match the checkpoint's checksum"):
        load_checkpoint(path, stage="tokenizer")
    del ck["weights_digest"]  # as checkpoints saved before checksums
    ck["model"][name].view(-1)[0] = float("nan")
    torch.save(ck, path)
    with pytest.raises(CheckpointError, match=f"non-finite values in {name}"):
        load_checkpoint(path, stage="tokenizer")
