"""A full disk: one line naming the file, no temporary file left, what was written stays whole, and the same
command with --resume finishes once there is space.

One always-on test injects ENOSPC into the one place where our files meet the disk (``vw_envs.fileio``); one
test fills a real, small tmpfs, where this machine allows mounting one (root with CAP_SYS_ADMIN).
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.data_pipeline.conftest import KATAGO3, vw_agent
from vw_agent.checkpoint import checkpoint_path
from vw_agent.data.format import read_meta
from vw_agent.data.reader import DatasetReader, check_dataset
from vw_agent.data.record import RecordConfig, record
from vw_agent.train import TrainConfig, train_stage
from vw_envs import fileio
from vw_envs.errors import DiskFullError


class _FullDisk:
    """``open`` for fileio whose files accept ``budget`` writes, then fail with ENOSPC (as a full disk does)."""

    def __init__(self, budget: int):
        self.budget = budget

    def __call__(self, path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)  # noqa: SIM115  (returned to the caller's with-block)
        if "w" not in mode:
            return f
        outer = self

        class Writer:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                f.close()

            def write(self, data):
                if outer.budget <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device")
                outer.budget -= 1
                return f.write(data)

        return Writer()


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".*.tmp*")]


def test_record_on_a_full_disk_fails_in_one_line_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    cfg = RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), from_sgf=str(KATAGO3), frame_size=64, shard_episodes=1)
    monkeypatch.setattr(fileio, "open", _FullDisk(budget=1), raising=False)  # the first shard fits, then full
    with pytest.raises(DiskFullError, match=r"no space left on device while writing .*shard_00001\.h5"):
        record(cfg, progress=False)
    assert _leftovers(out) == []
    meta = read_meta(out)
    assert not meta["complete"] and [sh["file"] for sh in meta["shards"]] == ["shard_00000.h5"]
    DatasetReader(out).verify(0)  # what was written is whole
    monkeypatch.undo()  # space freed
    record(cfg, resume=True, progress=False)
    assert read_meta(out)["complete"] and check_dataset(out)["episodes"] == 3


def test_train_on_a_full_disk_fails_in_one_line_and_resumes(go_dataset_64, tmp_path, monkeypatch):
    cfg = TrainConfig(stage="tokenizer", data=str(go_dataset_64), out=str(tmp_path / "run"), preset="tiny", steps=4,
                      ckpt_every=2, eval_windows=8)
    monkeypatch.setattr(fileio, "open", _FullDisk(budget=0), raising=False)
    with pytest.raises(DiskFullError, match="no space left on device while writing .*tokenizer"):
        train_stage(cfg, progress=False)
    assert _leftovers(tmp_path) == [] and not checkpoint_path(cfg.out, "tokenizer").exists()
    monkeypatch.undo()
    train_stage(TrainConfig(**{**cfg.__dict__, "resume": True}), progress=False)
    assert checkpoint_path(cfg.out, "tokenizer").exists()


@pytest.fixture(scope="module")
def go_dataset_64(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "katago3"
    record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), from_sgf=str(KATAGO3), frame_size=64), progress=False)
    return out


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 256 KB tmpfs (the 3 games at 128 px take 435 KB) (skipped where mounting is not allowed)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.slow
def test_record_fills_a_real_tmpfs(small_tmpfs):
    """Before the fix: rc 139 (h5py segfaulted after its cache flushes failed), 16 tracebacks, a temp file left."""
    out = small_tmpfs / "ds"
    args = ("record", "--env", "VideoGo-9x9-v0", "--from-sgf", str(KATAGO3), "--frame-size", "128", "--out", str(out))
    res = vw_agent(*args)
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: no space left on device while writing") and "Traceback" not in res.stderr
    assert _leftovers(small_tmpfs) == []
    assert subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)]).returncode == 0
    res = vw_agent(*args, "--resume")
    assert res.returncode == 0, res.stderr[-2000:]
    assert read_meta(out)["complete"] and check_dataset(out)["episodes"] == 3
