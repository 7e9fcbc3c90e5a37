"""Run independent jobs in this process or in a pool of spawned worker processes.

The evaluation ladder and the tabletop evaluation both need the same thing: each worker process owns
its own engines or simulators (set up once by ``initializer``), results are handled in the parent as
they finish (so they are saved at once and a kill loses nothing finished), and only a few jobs are in
flight, so results stream back in roughly the submitted order.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any


def run_jobs(fn: Callable[[Any], Any], jobs: Iterable[Any], *, workers: int,
             initializer: Callable[..., None], initargs: tuple = (),
             on_result: Callable[[Any], None], finalizer: Callable[[], None] | None = None) -> None:
    """Call ``on_result(fn(job))`` for every job.

    Args:
        fn: a module-level function (it is pickled to spawned workers).
        workers: 1 runs everything here, in order; more uses that many spawned processes, with at most
            ``2 * workers`` jobs in flight.
        initializer, initargs: run once per process before its first job (here too, when workers is 1).
        on_result: called in this process, in completion order.
        finalizer: run here after the last job when ``workers`` is 1 (pool workers end with their pool).
    """
    jobs = list(jobs)
    if workers <= 1:
        initializer(*initargs)
        try:
            for job in jobs:
                on_result(fn(job))
        finally:
            if finalizer is not None:
                finalizer()
        return
    # spawn, not fork: workers must not inherit the parent's engine pipes or threads.
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=initializer,
                             initargs=initargs) as pool:
        pending = {pool.submit(fn, job) for job in jobs[: workers * 2]}
        rest = jobs[workers * 2:]
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                on_result(fut.result())
                if rest:
                    pending.add(pool.submit(fn, rest.pop(0)))
