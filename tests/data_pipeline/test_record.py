"""Recording for real: GNU Go / random self-play, SGF import, workers, and SIGKILL + --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import needs_gnugo
from tests.data_pipeline.conftest import KATAGO3, ROOT, vw_agent
from vw_agent.data.format import read_meta
from vw_agent.data.reader import DatasetReader
from vw_agent.data.record import RecordConfig, record
from vw_envs.go.env import VideoGoEnv, replay_frames
from vw_envs.go.sgf import iter_sgf_file, read_sgf


def empty_board(frame_size: int) -> np.ndarray:
    env = VideoGoEnv(board_size=9, frame_size=frame_size, opponent="none")
    obs, _ = env.reset()
    env.close()
    return obs


def assert_episode_is_its_game(reader: DatasetReader, ep_id: int) -> None:
    """The stored video is exactly the SGF's game, from the reset frame to the last move, nothing more."""
    ep = reader.episode(ep_id)
    g = read_sgf(ep.attrs["sgf"])
    frames, actions = replay_frames(g, frame_size=reader.frame_size)
    assert ep.frames.shape == frames.shape and len(ep.actions) == len(ep.frames) - 1
    np.testing.assert_array_equal(ep.frames, frames)
    np.testing.assert_array_equal(ep.actions, actions)
    assert ep.dones[-1] and not ep.dones[:-1].any()


@needs_gnugo
def test_gnugo_selfplay_two_short_games_round_trip(tmp_path):
    out = tmp_path / "go"
    s = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), episodes=2, black="gnugo:level=1",
                            white="gnugo:level=1", opening_moves=4, frame_size=64), progress=False)
    assert s.recorded == 2 and s.frames == s.total_frames
    reader = DatasetReader(out)
    assert [e.id for e in reader.episodes] == [0, 1]
    empty = empty_board(64)
    for e in reader.episodes:
        attrs = reader.attrs(e.id)
        assert attrs["players"] == {"black": "gnugo:level=1", "white": "gnugo:level=1", "opening_moves": 4}
        assert attrs["result"][:2] in ("B+", "W+") and attrs["reason"] == "two_passes"
        assert attrs["split"] in ("train", "val", "test") and len(attrs["content_hash"]) == 32
        np.testing.assert_array_equal(reader.frames(e.id, 0, 1)[0], empty)  # the video starts on the empty board
        assert_episode_is_its_game(reader, e.id)
    # --opening-moves makes the deterministic engine play two different games.
    assert reader.episodes[0].action_hash != reader.episodes[1].action_hash
    assert reader.episode(0).rewards[-1] == (1.0 if reader.attrs(0)["winner"] == "black" else -1.0)


def test_sgf_import_renders_games_and_skips_unreadable_ones(tmp_path):
    games = tmp_path / "games"
    (games / "sub").mkdir(parents=True)
    (games / "a.sgfs").write_text(KATAGO3.read_text())
    (games / "sub" / "broken.sgf").write_text("(;GM[1]SZ[9];B[ee];W[ee])")  # a move onto a stone
    (games / "sub" / "garbage.sgf").write_text("this is not SGF")
    (games / "sub" / "big.sgf").write_text("(;GM[1]SZ[19];B[dd])")
    (games / "sub" / "japanese.sgf").write_text("(;GM[1]SZ[9]KM[6.5]RU[Japanese];B[ee];W[cc];B[gg])")
    # each of these stopped a whole import before (a traceback naming no file), or said only "bad property ()"
    (games / "sub" / "both.sgf").write_text("(;GM[1]SZ[9]AB[ee]AW[ee];B[cc])")
    (games / "sub" / "offboard.sgf").write_text("(;GM[1]SZ[9];B[cc];W[zz])")
    (games / "sub" / "nan.sgf").write_text("(;GM[1]SZ[9]KM[nan];B[cc])")
    out = tmp_path / "ds"
    s = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), from_sgf=str(games), frame_size=64),
               progress=False)
    assert (s.recorded, s.skipped) == (4, 6)
    meta = read_meta(out)
    assert meta["skipped"] == 6 and meta["episodes"] == 4 and meta["complete"]
    messages = [m for sh in meta["shards"] for _k, m in sh["skipped"]]
    assert any("both.sgf" in m and "a black and a white stone on E5" in m for m in messages)
    assert any("offboard.sgf" in m and "node 2: bad W property" in m for m in messages)
    assert any("nan.sgf" in m for m in messages)
    assert any("broken.sgf" in m and "move 2" in m for m in messages)
    assert any("garbage.sgf" in m for m in messages) and any("19x19" in m for m in messages)
    reader = DatasetReader(out)
    for e in reader.episodes:
        assert_episode_is_its_game(reader, e.id)
    texts = [t for _n, t in iter_sgf_file(str(KATAGO3))]
    assert reader.attrs(0)["sgf"] == texts[0].strip()
    jp = [e.id for e in reader.episodes if reader.attrs(e.id)["rules"] == "Japanese"]
    assert len(jp) == 1 and reader.attrs(jp[0])["komi"] == 6.5  # other rules: rendered, rules/komi kept


def test_workers_leak_no_reset_frame_and_match_one_process(tmp_path):
    """Each episode is exactly its own game: no reset frame of the next game at its end, and 2 workers
    produce the same dataset as 1."""
    kw = dict(env_id="VideoGo-9x9-v0", episodes=4, black="random", white="random:pass=0.05", frame_size=64,
              shard_episodes=3)
    record(RecordConfig(out=str(tmp_path / "w2"), workers=2, **kw), progress=False)
    record(RecordConfig(out=str(tmp_path / "w1"), workers=1, **kw), progress=False)
    r2, r1 = DatasetReader(tmp_path / "w2"), DatasetReader(tmp_path / "w1")
    empty = empty_board(64)
    assert len(r2) == 4
    for e in r2.episodes:
        ep = r2.episode(e.id)
        np.testing.assert_array_equal(ep.frames[0], empty)
        assert not (ep.frames[-1] == empty).all()  # the last frame is the final position, not a reset
        assert_episode_is_its_game(r2, e.id)
        assert r2.attrs(e.id)["content_hash"] == r1.attrs(e.id)["content_hash"]


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"


def _readable(out: Path) -> int:
    """Every shard on disk (finished or not in meta.json yet) opens and reads in full; returns episodes."""
    n = 0
    for f in sorted(out.glob("shard_*.h5")):
        import h5py

        with h5py.File(f, "r") as h:
            for name in h["data"]:
                assert h["data"][name]["frames"][()].shape[1:] == (64, 64, 3)
                n += 1
    return n


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_dataset(tmp_path):
    out = tmp_path / "killed"
    args = ["record", "--env", "VideoGo-9x9-v0", "--black", "random", "--white", "random", "--episodes", "12",
            "--shard-episodes", "2", "--frame-size", "64", "--out", str(out), "--quiet"]
    cmd = [sys.executable, "-m", "vw_cli.main", *args]
    for kill_after_shards, workers in ((1, "2"), (3, "1")):
        proc = subprocess.Popen([*cmd, "--workers", workers, *(["--resume"] if out.exists() else [])], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while len(list(out.glob("shard_*.h5"))) < kill_after_shards and proc.poll() is None:
            assert time.time() < deadline, "the recorder made no shard in 60 s"
            time.sleep(0.02)
        workers_pids = [c for c in _children(proc.pid)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
        # Orphaned workers notice and exit (they would otherwise keep engines running).
        deadline = time.time() + 10
        while any(_alive(p) for p in workers_pids):
            assert time.time() < deadline, "worker processes survived the recorder"
            time.sleep(0.1)
        assert _readable(out) >= 2 * kill_after_shards
        assert not read_meta(out)["complete"] or len(read_meta(out)["shards"]) == 6
    res = subprocess.run([*cmd, "--resume"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert not list(out.glob(".shard_*"))  # temporaries of the killed runs are gone
    fresh = tmp_path / "fresh"
    res = subprocess.run([sys.executable, "-m", "vw_cli.main", *args[:-3], "--out", str(fresh), "--quiet"],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    a, b = read_meta(out), read_meta(fresh)
    assert a["complete"] and a["episodes"] == 12 == b["episodes"]
    assert [sh["index"] for sh in a["shards"]] == [sh["index"] for sh in b["shards"]]
    ra, rb = DatasetReader(out), DatasetReader(fresh)
    assert [ra.attrs(i)["content_hash"] for i in range(12)] == [rb.attrs(i)["content_hash"] for i in range(12)]
    assert json.loads((out / "meta.json").read_text())["config"]["episodes"] == 12


def test_dedup_drops_repeated_games_and_info_counts_them(tmp_path):
    line = KATAGO3.read_text().splitlines()[0]
    (tmp_path / "dup.sgfs").write_text("\n".join([line, line, KATAGO3.read_text().splitlines()[1], line]) + "\n")
    kept = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(tmp_path / "all"), from_sgf=str(tmp_path / "dup.sgfs"),
                               frame_size=64), progress=False)
    meta = read_meta(tmp_path / "all")
    assert kept.recorded == 4 and meta["duplicates"] == 2 and meta["dropped_duplicates"] == 0
    splits = {s for sh in meta["shards"] for i, _n, s, h in sh["index"] if i in (0, 1, 3)}
    assert len(splits) == 1  # copies of a game share a split: never both in train and test
    d = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(tmp_path / "dedup"), from_sgf=str(tmp_path / "dup.sgfs"),
                            frame_size=64, dedup=True), progress=False)
    meta = read_meta(tmp_path / "dedup")
    assert (d.recorded, d.dropped) == (2, 2) and meta["duplicates"] == 0 and meta["dropped_duplicates"] == 2
    assert [e.id for e in DatasetReader(tmp_path / "dedup").episodes] == [0, 2]


@pytest.mark.parametrize("workers", [1])
def test_existing_dataset_needs_resume(tmp_path, workers, sgf_dataset):
    from vw_envs.errors import DatasetError

    with pytest.raises(DatasetError, match="pass --resume"):
        record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(sgf_dataset), from_sgf=str(KATAGO3), workers=workers),
               progress=False)


@needs_gnugo
def test_an_engine_crash_is_retried_once_then_reported(tmp_path):
    """The first engine process dies at once; the recorder restarts it and the game is played anyway.
    An engine that always dies ends the run with one line and leaves no half dataset."""
    marker = tmp_path / "crashed-once"
    flaky = (f"gtp:bash -c 'if [ ! -e {marker} ]; then touch {marker}; exit 1; fi; "
             "exec /usr/games/gnugo --mode gtp --level 1'")
    s = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(tmp_path / "ok"), episodes=1, black=flaky,
                            white="random:pass=0.2", frame_size=64), progress=False)
    assert s.recorded == 1 and marker.exists()
    res = vw_agent("record", "--black", "gtp:bash -c 'exit 1'", "--episodes", "1", "--out", str(tmp_path / "bad"),
                   "--quiet")
    assert res.returncode == 2 and "exited" in res.stderr and res.stderr.count("\n") == 1
    assert not (tmp_path / "bad").exists()


def test_resume_adopts_a_shard_renamed_before_meta_was_written(sgf_dataset, tmp_path):
    """A kill between a shard's rename and the meta.json update: the shard is adopted, not re-recorded;
    a killed shard's temporary file is deleted."""
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(sgf_dataset, ds)
    meta = json.loads((ds / "meta.json").read_text())
    meta["shards"] = meta["shards"][:1]
    meta["complete"] = False
    (ds / "meta.json").write_text(json.dumps(meta))
    (ds / ".shard_00002.h5.abc.tmp.h5").write_bytes(b"half a shard")
    s = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(ds), from_sgf=str(KATAGO3)), resume=True,
               progress=False)
    assert s.attempted == 0 and s.total_episodes == 3
    assert read_meta(ds)["complete"] and not list(ds.glob(".shard_*"))
    assert read_meta(ds)["shards"] == read_meta(sgf_dataset)["shards"]


def _split_seed(hashes: list[str], want: list[bool]) -> int:
    """A split seed that puts game i in train exactly when want[i] (so the test need not hard-code one)."""
    from vw_agent.data.format import assign_split

    return next(s for s in range(1000) if [assign_split(h, s) == "train" for h in hashes] == want)


def test_symmetries_copy_each_training_game_eight_ways_and_held_out_games_never(tmp_path):
    from vw_agent.data.loader import labelled_episodes
    from vw_agent.data.sources import source_hash
    from vw_envs.errors import DatasetError
    from vw_envs.go.coords import symmetric_action
    from vw_envs.go.render import frame_to_board

    games = list(iter_sgf_file(str(KATAGO3)))
    hashes = [source_hash(read_sgf(t)) for _n, t in games]
    seed = _split_seed(hashes, [True, False, True])
    out = tmp_path / "sym"
    s = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), from_sgf=str(KATAGO3), frame_size=64,
                            symmetries=8, split_seed=seed, shard_episodes=5), progress=False)
    assert s.recorded == 2 * 8 + 1 and s.held_out_copies == 7 and s.dropped == 0
    reader = DatasetReader(out)
    assert [e.id for e in reader.episodes] == [*range(0, 8), 8, *range(16, 24)]
    assert reader.ref(8).split != "train" and read_meta(out)["config"]["symmetries"] == 8
    for game in (0, 2):
        played = reader.frames(game * 8)
        for sym in range(8):
            ep_id = game * 8 + sym
            attrs, ref = reader.attrs(ep_id), reader.ref(ep_id)
            assert ref.split == "train" and attrs["symmetry"] == sym
            if sym:
                assert attrs["source_action_hash"] == hashes[game] != ref.action_hash
            assert_episode_is_its_game(reader, ep_id)  # its SGF is the rotated game, and its video shows it
            # Every frame shows the played game's board under the symmetry.
            frames = reader.frames(ep_id)
            for t in (1, len(frames) // 2, len(frames) - 1):
                board = frame_to_board(played[t], 9).reshape(-1)
                image = np.zeros_like(board)
                image[[symmetric_action(a, 9, sym) for a in range(81)]] = board
                np.testing.assert_array_equal(frame_to_board(frames[t], 9).reshape(-1), image)
    # The IDM's label draw takes a game with all its copies (and its share of games is unchanged).
    drawn = labelled_episodes(reader.split_ids("train"), 0.5, seed=0, copies=8)
    assert drawn in ([*range(0, 8)], [*range(16, 24)])
    # --resume continues the same recording: another --symmetries is refused.
    with pytest.raises(DatasetError, match="recorded with symmetries=8"):
        record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(out), from_sgf=str(KATAGO3), frame_size=64),
               resume=True, given={"symmetries"}, progress=False)


def test_symmetries_leave_out_a_training_game_that_is_a_held_out_game_mirrored(tmp_path):
    from vw_agent.data.sources import source_hash
    from vw_envs.go.sgf import transform_sgf

    _name, b = next(iter_sgf_file(str(KATAGO3)))
    a = transform_sgf(b, 5)  # another game of the collection, which happens to be b's mirror image
    corpus = tmp_path / "pair.sgfs"
    corpus.write_text(f"{b.strip()}\n{a}\n")
    seed = _split_seed([source_hash(read_sgf(t)) for t in (b, a)], [False, True])
    s = record(RecordConfig(env_id="VideoGo-9x9-v0", out=str(tmp_path / "ds"), from_sgf=str(corpus),
                            frame_size=64, symmetries=8, split_seed=seed), progress=False)
    reader = DatasetReader(tmp_path / "ds")
    # b is held out; every copy of a is one of b's eight images, so none may train.
    assert [e.id for e in reader.episodes] == [0] and reader.ref(0).split != "train"
    assert s.held_out_copies == 7 + 8
    dropped = {k: of for sh in read_meta(tmp_path / "ds")["shards"] for k, of in sh["dropped"]}
    assert dropped == {k: 0 for k in range(1, 16)}


@pytest.mark.parametrize(("changes", "match"), [
    ({"symmetries": 4}, "symmetries must be 1"),
    ({"symmetries": 8, "from_sgf": None}, "needs --from-sgf"),
])
def test_symmetries_bad_settings_fail_before_anything_is_written(tmp_path, changes, match):
    from vw_envs.errors import DatasetError

    cfg = {"env_id": "VideoGo-9x9-v0", "out": str(tmp_path / "ds"), "from_sgf": str(KATAGO3), **changes}
    with pytest.raises(DatasetError, match=match):
        record(RecordConfig(**cfg), progress=False)
    assert not (tmp_path / "ds").exists()


def test_cli_record_symmetries(tmp_path):
    r = vw_agent("record", "--env", "VideoGo-9x9-v0", "--from-sgf", str(KATAGO3), "--symmetries", "8",
                 "--frame-size", "64", "--quiet", "--out", str(tmp_path / "ds"))
    assert r.returncode == 0, r.stderr
    assert "recorded 24 episodes" in r.stdout  # the 3 games are all training games under split seed 0
    r = vw_agent("record", "--env", "VideoTabletop-OpenDrawer-v0", "--symmetries", "8", "--out",
                 str(tmp_path / "tt"))
    assert r.returncode != 0 and "--symmetries" in r.stderr and "Traceback" not in r.stderr
