"""Minari export and import: every frame and action round-trips, Minari's own API reads what we write, and
Minari's DataCollector works around our envs. Every test writes to a temporary MINARI_DATASETS_PATH."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

from vw_agent.data.format import read_meta
from vw_agent.data.reader import DatasetReader
from vw_agent.data.record import RecordConfig, record
from vw_cli.main import cli
from vw_envs.errors import DatasetError

minari = pytest.importorskip("minari")

from vw_agent.data.minari_io import export_minari, import_minari  # noqa: E402


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_same_dataset(a_root, b_root) -> None:
    """Same episodes (ids, splits, hashes), frames, actions, rewards, dones, attributes and state."""
    a, b = DatasetReader(a_root), DatasetReader(b_root)
    assert [(e.id, e.frames, e.split, e.action_hash) for e in a.episodes] == \
           [(e.id, e.frames, e.split, e.action_hash) for e in b.episodes]
    for ref in a.episodes:
        ea, eb = a.episode(ref.id), b.episode(ref.id)  # each checked against its content hash
        for name in ("frames", "actions", "rewards", "dones"):
            assert np.array_equal(getattr(ea, name), getattr(eb, name)), name
        assert ea.attrs == eb.attrs
        assert (ea.state or {}).keys() == (eb.state or {}).keys()
        for key, value in (ea.state or {}).items():
            assert np.array_equal(value, eb.state[key]), key


def test_go_round_trip_through_the_cli(sgf_dataset, tmp_path):
    res = run("data", "export", str(sgf_dataset), "--minari", "videoworld/katago3-v0")
    assert res.exit_code == 0 and "3 episodes" in res.output and "our shards" in res.output

    ds = minari.load_dataset("videoworld/katago3-v0")
    reader = DatasetReader(sgf_dataset)
    assert len(ds) == 3 and ds.total_steps == sum(e.frames - 1 for e in reader.episodes)
    assert ds.observation_space == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    for ref, ep in zip(reader.episodes, ds.iterate_episodes(), strict=True):
        ours = reader.episode(ref.id)
        assert np.array_equal(ep.observations, ours.frames)  # every frame, lossless
        assert np.array_equal(ep.actions, ours.actions) and ep.actions.dtype == np.int64
        assert np.array_equal(ep.rewards, ours.rewards)
        assert ep.terminations[-1] and not ep.terminations[:-1].any() and not ep.truncations.any()

    env = ds.recover_environment()
    assert env.spec.id == "VideoGo-9x9-v0" and env.unwrapped.opponent is None  # both colours, one move a step
    frame, _info = env.reset(seed=0)
    first = reader.episode(reader.episodes[0].id)
    assert np.array_equal(frame, first.frames[0])
    for t, action in enumerate(first.actions[:10]):  # the recovered env makes the recorded frames
        frame, *_ = env.step(int(action))
        assert np.array_equal(frame, first.frames[t + 1])
    env.close()

    res = run("data", "import", "--minari", "videoworld/katago3-v0", "--out", str(tmp_path / "back"))
    assert res.exit_code == 0 and "3 episodes" in res.output
    assert_same_dataset(sgf_dataset, tmp_path / "back")
    meta = read_meta(tmp_path / "back")
    assert meta["sources"][-1] == "minari:videoworld/katago3-v0" and meta["complete"]


def test_jpeg_is_smaller_and_lossy(sgf_dataset):
    lossless = export_minari(sgf_dataset, "vw/lossless-v0")
    jpeg = export_minari(sgf_dataset, "vw/jpeg-v0", jpeg=True)
    assert jpeg.bytes < lossless.bytes
    frames = next(iter(minari.load_dataset("vw/jpeg-v0"))).observations
    exact = DatasetReader(sgf_dataset).frames(DatasetReader(sgf_dataset).episodes[0].id)
    assert frames.shape == exact.shape and not np.array_equal(frames, exact)


def test_errors(sgf_dataset, tmp_path):
    export_minari(sgf_dataset, "vw/once-v0")
    with pytest.raises(DatasetError, match="already exists"):
        export_minari(sgf_dataset, "vw/once-v0")
    with pytest.raises(DatasetError, match="not a Minari dataset id"):
        export_minari(sgf_dataset, "no version")
    with pytest.raises(DatasetError, match="no such Minari dataset"):
        import_minari("vw/missing-v0", tmp_path / "x")
    with pytest.raises(DatasetError, match="already holds a dataset"):
        import_minari("vw/once-v0", sgf_dataset)
    res = CliRunner().invoke(cli, ["data", "export", str(sgf_dataset), "--minari", "vw/once-v0"])
    assert res.exit_code == 2 and "already exists" in res.output
    res = CliRunner().invoke(cli, ["data", "export", str(sgf_dataset), "--minari", "vw/b-v0", "--episode", "0"])
    assert res.exit_code == 2 and "--minari exports every episode" in res.output


def test_tabletop_round_trip(tmp_path):
    """Float actions, info["state"] per frame, the task as the reset option; recover_environment's id."""
    out = tmp_path / "tt"
    record(RecordConfig(env_id="VideoTabletop-MultiTask-v0", out=str(out), episodes=1, policy="expert",
                        tasks="turn_on_led", frame_size=48, workers=1), progress=False)
    export_minari(out, "videoworld/led-v0")
    ds = minari.load_dataset("videoworld/led-v0")
    ep = next(iter(ds))
    assert ep.actions.dtype == np.float32 and ep.actions.ndim == 2 and "state" in ep.infos
    assert next(iter(ds.storage.get_episode_metadata([0])))["options"] == {"task": "turn_on_led"}
    env = ds.recover_environment()
    assert env.spec.id == "VideoTabletop-MultiTask-v0" and env.observation_space.shape == (48, 48, 3)
    env.close()
    import_minari("videoworld/led-v0", tmp_path / "back")
    assert_same_dataset(out, tmp_path / "back")


def test_data_collector_around_our_env():
    """Minari's own recorder wrapped around a VideoGo env, as its docs show (it needs jax: minari[create])."""
    if not os.environ.get("CI"):  # CI installs dev, which has minari[create]: a missing jax fails there
        pytest.importorskip("jax", reason='DataCollector needs jax (pip install "minari[create]"), left out here')
    env = minari.DataCollector(gym.make("VideoGo-9x9-v0", frame_size=64, opponent="random"), jpeg_encoding=False)
    for seed in range(2):
        _obs, info = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        done = False
        while not done:
            action = int(rng.choice(np.flatnonzero(info["action_mask"])))
            _obs, _r, terminated, truncated, info = env.step(action)
            done = terminated or truncated
    ds = env.create_dataset(dataset_id="videoworld/collected-v0", algorithm_name="random",
                            author="tests", description="DataCollector around VideoGo-9x9-v0")
    env.close()
    ds = minari.load_dataset("videoworld/collected-v0")
    assert len(ds) == 2
    ep = next(iter(ds))
    assert ep.observations.shape[1:] == (64, 64, 3) and len(ep.observations) == len(ep.actions) + 1
    assert ds.recover_environment().spec.id == "VideoGo-9x9-v0"
