"""Where the points of a sweep are solved: ``serial`` (this process), ``local`` (processes on this
machine) or ``dask`` (a Dask distributed cluster, or a ``LocalCluster`` started for the sweep).

Every engine cuts the points into contiguous batches, so that a worker's warm model moves between
neighbouring points, and returns the rows in the order of the points whatever order they finish
in. A batch whose worker dies becomes rows with status ``error``; the sweep goes on. Dask is
imported only when the ``dask`` engine is used.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from allocator.runtime import signals_held, worker_init
from allocator.scenario import ScenarioError
from allocator.scenario.errors import Problem
from allocator.sensitivity.worker import ERROR, Job, PointSolver, run_chunk

ENGINES = ("serial", "local", "dask")
Progress = Callable[[int, int], None]  # (points done, points in all)
BATCHES_PER_WORKER = 4  # more batches balance the load; fewer keep warm models on neighbours


def default_workers() -> int:
    return os.cpu_count() or 1


def batches(points: Sequence[dict], count: int) -> list[list[tuple[int, dict]]]:
    """``count`` contiguous batches of ``(index, changes)`` (fewer if there are fewer points)."""
    indexed = list(enumerate(points))
    size = max(1, math.ceil(len(indexed) / max(1, count)))
    return [indexed[i:i + size] for i in range(0, len(indexed), size)]


def run_points(job: Job, points: Sequence[dict], engine: str = "local", workers: int | None = None,
               scheduler=None, progress: Progress | None = None) -> list[dict]:
    """One row per point, in the points' order."""
    if engine not in ENGINES:
        raise ScenarioError([Problem("--engine", None, "", f"must be one of {', '.join(ENGINES)} (got {engine!r})")])
    if scheduler is not None and engine != "dask":
        raise ScenarioError([Problem("--scheduler", None, "", f"needs the dask engine (got --engine {engine})")])
    if workers is not None and workers < 1:
        raise ScenarioError([Problem("--workers", None, "", f"must be at least 1 (got {workers})")])
    rows: list[dict | None] = [None] * len(points)
    report = _Counter(len(points), progress)
    if engine == "serial" or (engine == "local" and (workers == 1 or len(points) <= 1)):
        solver = PointSolver(job)
        for index, changes in enumerate(points):
            rows[index] = solver.solve(changes)
            report(1)
    elif engine == "local":
        _run_local(job, points, workers or default_workers(), rows, report)
    else:
        _run_dask(job, points, workers, scheduler, rows, report)
    return rows  # type: ignore[return-value]


class _Counter:
    def __init__(self, total: int, progress: Progress | None):
        self.done, self.total, self.progress = 0, total, progress
        if progress is not None:
            progress(0, total)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)


SPAWN_HINT = ("; a script that sweeps with engine='local' must start it under "
              "`if __name__ == \"__main__\":` (worker processes import the script)")


def _failed(chunk, exc: BaseException, hint: str = "") -> list[tuple[int, dict]]:
    message = f"worker failed: {type(exc).__name__}: {exc}{hint}"
    return [(index, {**changes, "status": ERROR, "method": None, "seconds": None, "message": message})
            for index, changes in chunk]


def _collect(rows: list, results: list[tuple[int, dict]], report) -> None:
    for index, row in results:
        rows[index] = row
    report(len(results))


def _run_local(job: Job, points, workers: int, rows: list, report) -> None:
    """Processes started with ``spawn`` (safe in notebooks and on every platform)."""
    chunks = batches(points, workers * BATCHES_PER_WORKER)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=worker_init)
    try:
        with signals_held():  # the workers start with Ctrl-C held, until worker_init ignores it
            futures = {pool.submit(run_chunk, job, chunk): chunk for chunk in chunks}
        for future in as_completed(futures):
            try:
                results = future.result()
            except Exception as exc:  # a worker that died (memory, a crash in the solver, no main guard)
                results = _failed(futures[future], exc, SPAWN_HINT if isinstance(exc, BrokenProcessPool) else "")
            _collect(rows, results, report)
    except BaseException:  # Ctrl-C, SIGTERM or a bug: stop the workers now, not after their batches
        _stop_pool(pool)
        raise
    pool.shutdown()


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started, kill the worker processes and reap them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # private, but there since 3.2
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)


def _run_dask(job: Job, points, workers: int | None, scheduler, rows: list, report) -> None:
    """``scheduler``: ``None`` (a ``LocalCluster`` of ``workers`` processes for this sweep), an
    address such as ``tcp://host:8786``, or a ``dask.distributed.Client`` to reuse."""
    try:
        import dask
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise ScenarioError([Problem("--engine", None, "dask", "needs Dask: pip install 'dask[distributed]'")]) from None
    cluster = client = scratch = level = None
    pids: dict = {}
    try:
        if scheduler is None:
            scratch = tempfile.mkdtemp(prefix="allocator-dask-")  # removed even when workers are killed
            with signals_held(), dask.config.set({"temporary-directory": scratch}):  # workers start with Ctrl-C held, until _own_worker ignores it
                cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR, local_directory=scratch)
                client = Client(cluster)
                pids = client.run(_own_worker)  # our workers: they ignore Ctrl-C and end with this process
        elif isinstance(scheduler, str):
            try:
                client = Client(scheduler, timeout="10s")
            except OSError as exc:
                raise ScenarioError([Problem("--scheduler", None, scheduler, f"cannot connect: {exc}")]) from None
        active = client or scheduler
        threads = sum(active.nthreads().values()) or 1
        [remote_job] = active.scatter([job], broadcast=True, hash=False)
        chunks = batches(points, threads * BATCHES_PER_WORKER)
        futures = [active.submit(run_chunk, remote_job, chunk, pure=False) for chunk in chunks]
        chunk_of = {future.key: chunk for future, chunk in zip(futures, chunks)}
        for future in dask_completed(futures):
            try:
                results = future.result()
            except Exception as exc:
                results = _failed(chunk_of[future.key], exc)
            _collect(rows, results, report)
    except BaseException:  # Ctrl-C, SIGTERM: our own workers stop now, not after their batches
        # the client then logs its closed connections at INFO with a traceback: noise, not a bug
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        _kill_own_workers(cluster, pids)
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        if level is not None:
            logging.getLogger("distributed").setLevel(level)


def _kill_own_workers(cluster, pids: dict) -> None:
    """Kill the worker processes of the sweep's LocalCluster; their nannies close instead of restarting them."""
    from distributed.core import Status

    for nanny in getattr(cluster, "workers", {}).values():
        with contextlib.suppress(Exception):
            nanny.status = Status.closing_gracefully  # on its worker's exit a nanny then closes
    for pid in pids.values():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _own_worker() -> int:
    """Run on each worker of the sweep's own LocalCluster: the sweep worker set-up; its process id."""
    if threading.current_thread() is threading.main_thread():
        worker_init()
    return os.getpid()
