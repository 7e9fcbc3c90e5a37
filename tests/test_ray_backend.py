"""The Ray backend of the one pool, on a real local Ray of 2 CPUs: the same results, datasets and games as the
local process pool, and a recording resumed across backends. One module, so one Ray per test process."""

from __future__ import annotations

import os

import pytest

from tests.conftest import needs_gnugo
from tests.test_parallel import _slow_echo
from vw_agent.data.format import read_meta
from vw_agent.data.reader import DatasetReader
from vw_agent.data.record import RecordConfig, record
from vw_agent.eval.ladder import LadderConfig, load_games, run_ladder
from vw_agent.parallel import imap_jobs

if os.environ.get("CI"):
    import ray  # CI installs the [ray] extra: a missing Ray fails here instead of skipping
else:
    ray = pytest.importorskip("ray", reason="needs the [ray] extra")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]  # one local Ray, not one per xdist worker


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    os.environ.pop("RAY_ADDRESS", None)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_ray_pool_gives_the_local_results_and_raises_job_errors():
    jobs = [(0, 0.5), (1, 0.0), (2, 0.0), (3, 0.0)]
    got = list(imap_jobs(_slow_echo, jobs, workers=2, ordered=True, backend="ray"))
    assert [v for v, _pid in got] == [0, 1, 2, 3]
    assert all(pid != os.getpid() for _v, pid in got)  # Ray actors ran them, not this process
    assert sorted(v for v, _pid in imap_jobs(_slow_echo, jobs, workers=2, backend="ray")) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="bad job -1"):  # the job's own exception, not Ray's wrapper
        list(imap_jobs(_slow_echo, [(1, 0.0), (-1, 0.0)], workers=2, ordered=True, backend="ray"))


def _index(root) -> list:
    reader = DatasetReader(root)
    return [sh["index"] for sh in read_meta(root)["shards"]], [reader.attrs(e.id)["content_hash"]
                                                                for e in reader.episodes]


def test_record_on_ray_is_the_local_dataset_and_resumes_across_backends(tmp_path):
    kw = dict(env_id="VideoGo-9x9-v0", black="random", white="random:pass=0.05", frame_size=64, shard_episodes=2,
              workers=2)
    record(RecordConfig(out=str(tmp_path / "local"), episodes=6, **kw), progress=False)
    record(RecordConfig(out=str(tmp_path / "ray"), episodes=6, backend="ray", **kw), progress=False)
    assert _index(tmp_path / "ray") == _index(tmp_path / "local")
    mixed = str(tmp_path / "mixed")  # 4 episodes on Ray, then 2 more locally with --resume
    record(RecordConfig(out=mixed, episodes=4, backend="ray", **kw), progress=False)
    record(RecordConfig(out=mixed, episodes=6, **kw), resume=True, given={"episodes"}, progress=False)
    assert read_meta(mixed)["complete"]
    assert _index(mixed) == _index(tmp_path / "local")


@needs_gnugo
def test_ladder_on_ray_plays_the_local_games_and_resumes_across_backends(tmp_path):
    def games(backend: str, out: str, n: int) -> dict:
        cfg = LadderConfig(players=["random", "gnugo:level=1"], games_per_pair=n, workers=2, backend=backend,
                           out=str(tmp_path / out))
        run_ladder(cfg, progress=False)
        return {g["key"]: (g["moves"], g["result"], g["score"]) for g in load_games(cfg.out)}

    local = games("local", "local", 4)
    assert len(local) == 4
    first = games("local", "mixed", 2)  # 2 games locally, then the run resumed on Ray plays the other 2
    assert games("ray", "mixed", 4) == local and first.items() <= local.items()
