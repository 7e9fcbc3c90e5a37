"""The format's guarantees: one-line errors naming the file, seeded splits, the token cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.data_pipeline.conftest import vw_agent
from vw_agent.data.format import DEFAULT_FRACTIONS, assign_split, read_meta, read_shard_info
from vw_agent.data.reader import DatasetReader
from vw_agent.data.tokens import TokenCache
from vw_envs.errors import DatasetError


def test_layout_and_meta(sgf_dataset):
    meta = read_meta(sgf_dataset)
    assert meta["env_id"] == "VideoGo-9x9-v0" and meta["frame_size"] == 64 and meta["format_version"] == 1
    assert meta["shard_episodes_counts"] == {"shard_00000.h5": 2, "shard_00001.h5": 1}
    assert meta["render"]["last_move_marker"] is False and meta["sources"][0].startswith("sgf:")
    reader = DatasetReader(sgf_dataset)
    ep = reader.episode(0)
    assert ep.frames.dtype == np.uint8 and ep.frames.shape[1:] == (64, 64, 3)
    assert ep.actions.dtype == np.int64 and len(ep.rewards) == len(ep.dones) == len(ep.frames) - 1
    assert ep.attrs["komi"] == 7.5 and ep.attrs["rules"] == "Tromp-Taylor" and ep.attrs["source"] == "sgf"
    assert ep.rewards[-1] == (1.0 if ep.attrs["result"].startswith("B+") else -1.0)


def test_splits_are_seeded_and_deterministic():
    keys = [f"{i:032x}" for i in range(2000)]
    a = [assign_split(k, 0) for k in keys]
    assert a == [assign_split(k, 0) for k in keys]
    assert a != [assign_split(k, 1) for k in keys]
    for name, frac in DEFAULT_FRACTIONS.items():
        assert abs(a.count(name) / len(a) - frac) < 0.03
    assert set(assign_split(k, 0, {"train": 0.5, "val": 0.0, "test": 0.5}) for k in keys) == {"train", "test"}


def test_split_stored_in_episode_and_meta(sgf_dataset):
    meta = read_meta(sgf_dataset)
    assert meta["splits"]["seed"] == 0 and sum(meta["splits"]["counts"].values()) == 3
    reader = DatasetReader(sgf_dataset)
    for e in reader.episodes:
        assert reader.attrs(e.id)["split"] == e.split == assign_split(e.action_hash, 0)


def _one_line_exit_2(res, *needles):
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    for n in needles:
        assert n in res.stderr, res.stderr


def test_missing_meta_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    _one_line_exit_2(vw_agent("data", "info", str(tmp_path / "empty")), "empty/meta.json", "missing meta.json")
    with pytest.raises(DatasetError, match="missing meta.json"):
        DatasetReader(tmp_path / "nowhere")


def test_truncated_and_corrupt_shards_name_the_file(sgf_dataset, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(sgf_dataset, ds)
    shard = ds / "shard_00000.h5"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(DatasetError, match="shard_00000.h5: corrupt or truncated"):
        read_shard_info(shard)
    with pytest.raises(DatasetError, match="shard_00000.h5: corrupt or truncated"):
        DatasetReader(ds).frames(0)
    _one_line_exit_2(vw_agent("data", "info", str(ds), "--check"), "shard_00000.h5", "corrupt or truncated")
    _one_line_exit_2(vw_agent("data", "export", str(ds), "--episode", "1", "--gif", str(tmp_path / "x.gif")),
                     "shard_00000.h5")
    # Not HDF5 at all, and a --resume that meets a shard the meta does not know yet.
    (ds / "shard_00001.h5").write_bytes(b"garbage" * 100)
    (ds / "shard_00001.h5").rename(ds / "shard_00007.h5")
    _one_line_exit_2(vw_agent("record", "--from-sgf", "tests/data/katago9-3games.sgfs", "--out", str(ds),
                              "--resume", "--quiet"), "shard_00007.h5", "corrupt or truncated")


def test_frame_size_mismatch_names_the_file(sgf_dataset, tmp_path):
    with pytest.raises(DatasetError, match="meta.json: frame-size mismatch"):
        DatasetReader(sgf_dataset, frame_size=128)
    _one_line_exit_2(vw_agent("record", "--from-sgf", "tests/data/katago9-3games.sgfs", "--out", str(sgf_dataset),
                              "--resume", "--frame-size", "128"), "meta.json", "frame-size mismatch")
    # A shard whose frames disagree with meta.json (e.g. copied in from another dataset).
    ds = tmp_path / "ds"
    shutil.copytree(sgf_dataset, ds)
    meta_text = (ds / "meta.json").read_text().replace('"frame_size": 64', '"frame_size": 96')
    (ds / "meta.json").write_text(meta_text)
    with pytest.raises(DatasetError, match="shard_00000.h5: frame-size mismatch"):
        DatasetReader(ds).frames(0)


def test_token_cache_round_trip(sgf_dataset, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(sgf_dataset, ds)
    reader = DatasetReader(ds)
    cache = TokenCache(ds, "fsq16", config={"tokenizer": "test", "tokens_per_frame": 16})
    assert cache.missing([0, 1, 2]) == [0, 1, 2]
    for e in reader.episodes:
        cache.write(e.id, np.arange(e.frames * 16, dtype=np.int32).reshape(e.frames, 16))
    again = TokenCache(ds, "fsq16")
    assert again.config["tokens_per_frame"] == 16 and again.missing([0, 1, 2]) == []
    np.testing.assert_array_equal(again.read(1, 2, 5), np.arange(32, 80).reshape(3, 16))
    with pytest.raises(DatasetError, match="another tokenizer config"):
        TokenCache(ds, "fsq16", config={"tokenizer": "other"})
    with pytest.raises(DatasetError, match="no tokens cached"):
        TokenCache(ds, "empty").read(0)


def test_open_dataset_handles_are_bounded(sgf_dataset, monkeypatch):
    """Every open h5py dataset keeps its decompressed chunks: a reader that kept one handle per episode held
    23 GB after one pass over 8,714 episodes. The handles are an LRU of OPEN_DATASETS."""
    import vw_agent.data.reader as fmt

    monkeypatch.setattr(fmt, "OPEN_DATASETS", 2)
    reader = DatasetReader(sgf_dataset)
    first = [reader.frames(e) for e in reader.split_ids(None)]  # 3 episodes, 2 handles at most
    assert len(reader._datasets) == 2
    again = [reader.frames(e, 1, 3) for e in reversed(reader.split_ids(None))]  # evicted ones reopen
    assert all(np.array_equal(a[1:3], b) for a, b in zip(first, reversed(again), strict=True))
    assert len(reader._datasets) == 2
    reader.close()


def test_silently_changed_frames_fail_their_content_hash(sgf_dataset, tmp_path):
    """A change the file format itself does not notice (valid HDF5, valid gzip, other pixels) is caught by the
    episode's content hash on whole-episode reads and by `data info --check`. Frame reads skip it: the hash covers
    the actions, which the video-only path must not need (test_loader strips them)."""
    import h5py

    ds = tmp_path / "ds"
    shutil.copytree(sgf_dataset, ds)
    clean = vw_agent("data", "info", str(ds), "--check")
    assert clean.returncode == 0 and "3 match their content hash, 0 recorded without one, in 2 shards" in clean.stdout
    with h5py.File(ds / "shard_00000.h5", "r+") as f:
        f["data/ep_0/frames"][1, 10, 10] = 255 - f["data/ep_0/frames"][1, 10, 10]  # one pixel flipped
    reader = DatasetReader(ds)
    assert reader.frames(0, 0, 3).shape[0] == 3  # frames alone: not checked
    reader.verify(1)  # the other episodes still match
    for read in (lambda: reader.episode(0), lambda: reader.verify(0)):
        with pytest.raises(DatasetError, match="shard_00000.h5: episode 0 does not match its content hash"):
            read()
    _one_line_exit_2(vw_agent("data", "info", str(ds), "--check"), "shard_00000.h5", "episode 0 does not match")
    _one_line_exit_2(vw_agent("data", "export", str(ds), "--episode", "0", "--gif", str(tmp_path / "x.gif")),
                     "episode 0 does not match")
    assert not (tmp_path / "x.gif").exists()


def test_random_bytes_inside_a_shard_fail_the_check(sgf_dataset, tmp_path):
    """20 KB of random bytes in the middle of a shard: `data info --check` reads every episode and says so."""
    ds = tmp_path / "ds"
    shutil.copytree(sgf_dataset, ds)
    shard = ds / "shard_00000.h5"
    raw = bytearray(shard.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 20_000] = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    shard.write_bytes(bytes(raw))
    _one_line_exit_2(vw_agent("data", "info", str(ds), "--check"), "shard_00000.h5")


def test_a_shard_the_user_may_not_read_is_not_called_corrupt(sgf_dataset, tmp_path):
    """Permission denied is said as such (deleting the file, as the corrupt-shard message advises, would lose good
    data). Root reads any file, so as root the command runs as `nobody` (setpriv, util-linux)."""
    import os
    import stat
    import subprocess
    import sys
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="vw-perm-"))  # pytest's tmp_path is private to root: nobody cannot enter it
    try:
        ds = top / "ds"
        shutil.copytree(sgf_dataset, ds)
        top.chmod(0o755)
        ds.chmod(0o755)
        for p in ds.iterdir():
            p.chmod(0o644)
        cmd = [sys.executable, "-m", "vw_cli.main", "data", "info", str(ds), "--check"]
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv to drop to another user")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
            probe = subprocess.run([*cmd[:cmd.index(sys.executable) + 1], "-c", "import vw_cli.main"],
                                   capture_output=True, text=True, cwd=top)
            if probe.returncode != 0:  # e.g. a clone under /root or a mktemp -d folder (mode 700)
                pytest.skip(f"user nobody cannot run this checkout's Python ({sys.executable}: a parent folder is "
                            "private); this test needs a checkout that other users may read")
        assert subprocess.run(cmd, capture_output=True, text=True, cwd=top).returncode == 0  # readable: fine
        (ds / "shard_00001.h5").chmod(0)
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=top)
        _one_line_exit_2(res, "shard_00001.h5: permission denied", "do not delete it")
        assert "corrupt" not in res.stderr
        assert stat.S_IMODE((ds / "shard_00001.h5").stat().st_mode) == 0  # untouched
        ds.chmod(0o700)  # the folder itself: the command line says so (click), the library too
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=top)
        assert res.returncode == 2 and "is not readable" in res.stderr and "Traceback" not in res.stderr
        code = f"from vw_agent.data.format import read_meta; read_meta({str(ds)!r})"
        res = subprocess.run([*cmd[:cmd.index(sys.executable) + 1], "-c", code], capture_output=True, text=True)
        assert "meta.json: permission denied" in res.stderr, res.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)
