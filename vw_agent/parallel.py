"""Run independent jobs in this process or in a pool of spawned worker processes: the one pool of the project.

The recorder, the evaluation ladder and the tabletop evaluation all need the same thing: each worker process
owns its own engines or simulators (set up once by ``initializer``); results come back to the parent, which
alone writes, as soon as they can be used (so a kill loses nothing finished); only a few jobs are in flight
(so finished results never pile up in memory); and workers die with the parent, even when it is SIGKILLed,
taking their engines along.

Two backends run the pool. ``local`` (the default) is a ``ProcessPoolExecutor`` of spawned processes on this
machine. ``ray`` is a ``ray.util.multiprocessing.Pool`` of Ray actors, one per worker, each with its own engines:
it joins the cluster named by ``RAY_ADDRESS`` (``ray start --head`` on one node, ``ray start --address ...`` on
the others), or else starts a local one with ``workers`` CPUs. Jobs carry their own seeds, so either backend,
with any number of workers, gives the same results; only who computes them changes.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from vw_envs.errors import VWError

BACKENDS = ("local", "ray")


def imap_jobs(fn: Callable[[Any], Any], jobs: Iterable[Any], *, workers: int,
              initializer: Callable[..., None] | None = None, initargs: tuple = (),
              finalizer: Callable[[], None] | None = None, ordered: bool = False,
              backend: str = "local") -> Iterator[Any]:
    """``fn(job)`` for every job, yielded as a generator.

    Args:
        fn: a module-level function (it is pickled to spawned workers).
        jobs: any iterable; it is read lazily, one job per free slot.
        workers: 1 runs everything here, in order; more uses that many spawned processes, with at most
            ``2 * workers`` jobs in flight.
        initializer, initargs: run once per process before its first job (here too, when workers is 1).
        finalizer: run here after the last job when ``workers`` is 1 (pool workers end with their pool).
        ordered: yield in job order (the recorder writes shards in attempt order); otherwise in completion
            order, so each result is handled as soon as it is ready.
        backend: ``local`` or ``ray`` (see the module docstring). With ``ray``, ``workers`` actors run the jobs
            even when it is 1, and at most one job per actor is in flight.

    A worker's exception is raised here. Closing the generator before the end (an error or Ctrl-C in the
    caller's loop) stops the workers at once, jobs in flight included.
    """
    if backend not in BACKENDS:
        raise VWError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "ray":
        yield from _imap_ray(fn, jobs, workers=workers, initializer=initializer, initargs=initargs, ordered=ordered)
        return
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        try:
            for job in jobs:
                yield fn(job)
        finally:
            if finalizer is not None:
                finalizer()
        return
    # spawn, not fork: workers start clean (no inherited threads, pybullet or engine pipes).
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_start_worker,
                               initargs=(initializer, initargs))
    todo = iter(jobs)
    finished = False
    try:
        inflight: deque[Future] = deque(pool.submit(fn, job) for job in itertools.islice(todo, 2 * workers))
        while inflight:
            if ordered:
                fut = inflight.popleft()
            else:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                fut = next(f for f in inflight if f in done)  # of those done, the first submitted
                inflight.remove(fut)
            result = fut.result()
            inflight.extend(pool.submit(fn, job) for job in itertools.islice(todo, 1))
            yield result
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _terminate(pool)


def run_jobs(fn: Callable[[Any], Any], jobs: Iterable[Any], *, workers: int,
             initializer: Callable[..., None] | None = None, initargs: tuple = (),
             on_result: Callable[[Any], None], finalizer: Callable[[], None] | None = None,
             backend: str = "local") -> None:
    """Call ``on_result(fn(job))`` for every job, in this process, in completion order (see :func:`imap_jobs`)."""
    with contextlib.closing(imap_jobs(fn, jobs, workers=workers, initializer=initializer, initargs=initargs,
                                      finalizer=finalizer, backend=backend)) as results:
        for result in results:
            on_result(result)


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    """A pool worker's set-up: the orphan watchdog, then the caller's initializer."""
    parent = os.getppid()

    def watch() -> None:  # the parent died (even by SIGKILL): exit, so engines and simulators go too
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: drop queued jobs and kill the workers (shutdown alone would wait for jobs in flight)."""
    # ProcessPoolExecutor has no public way to kill its workers before Python 3.14 (terminate_workers);
    # _processes has held them, by pid, since Python 3.2.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join()


def _imap_ray(fn: Callable[[Any], Any], jobs: Iterable[Any], *, workers: int,
              initializer: Callable[..., None] | None, initargs: tuple, ordered: bool) -> Iterator[Any]:
    """:func:`imap_jobs` on a pool of ``workers`` Ray actors; ``initializer`` runs once in each."""
    try:
        import ray  # optional and heavy: the [ray] extra
        from ray.util.multiprocessing import Pool
        from ray.util.multiprocessing.pool import PoolTaskError
    except ImportError:
        raise VWError("--backend ray needs Ray: pip install -e '.[ray]'") from None
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):  # join the cluster; its nodes bring their own CPUs
            ray.init(logging_level="WARNING")
        else:  # a local cluster of just the CPUs asked for, without the dashboard's processes
            ray.init(num_cpus=max(1, workers), include_dashboard=False, logging_level="WARNING")
    pool = Pool(processes=max(1, workers), initializer=initializer, initargs=initargs)
    finished = False
    try:
        # an iterator, not a list: Ray's imap then reads the jobs lazily, one per actor as results come back
        todo = iter(jobs)
        for result in pool.imap(fn, todo) if ordered else pool.imap_unordered(fn, todo):
            if isinstance(result, PoolTaskError):  # Ray's imap hands a job's exception back as a value
                raise result.underlying
            yield result
        finished = True
    finally:
        if finished:
            pool.close()
            pool.join()
        else:  # an error or Ctrl-C in the caller: stop the actors and the jobs in flight now
            pool.terminate()
