"""vw_agent.parallel: the one process pool (recorder, ladder, tabletop evaluation)."""

import os
import time

import pytest

from vw_agent.parallel import imap_jobs, run_jobs


def _slow_echo(job):
    """(job, pid) after a wait that makes early jobs finish last."""
    value, delay = job
    time.sleep(delay)
    if value < 0:
        raise ValueError(f"bad job {value}")
    return value, os.getpid()


def test_in_process_runs_initializer_jobs_in_order_and_finalizer():
    calls = []
    results = imap_jobs(_slow_echo, [(i, 0) for i in range(4)], workers=1, initializer=calls.append,
                        initargs=("init",), finalizer=lambda: calls.append("done"))
    assert [v for v, _pid in results] == [0, 1, 2, 3]
    assert calls == ["init", "done"]


def test_pool_orders_results_on_request_and_raises_worker_errors():
    jobs = [(0, 1.5), (1, 0.0), (2, 0.0), (3, 0.0), (4, 0.0)]
    ordered = list(imap_jobs(_slow_echo, jobs, workers=2, ordered=True))
    assert [v for v, _pid in ordered] == [0, 1, 2, 3, 4]
    assert all(pid != os.getpid() for _v, pid in ordered)
    seen = []
    run_jobs(_slow_echo, jobs, workers=2, on_result=lambda r: seen.append(r[0]))
    assert sorted(seen) == [0, 1, 2, 3, 4] and seen[-1] == 0  # completion order: the slow job last
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="bad job -1"):
        list(imap_jobs(_slow_echo, [(1, 0.0), (-1, 0.0), (2, 30.0)], workers=2, ordered=True))
    assert time.monotonic() - t0 < 20  # the job in flight was killed, not waited for
