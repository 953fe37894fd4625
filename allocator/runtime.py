"""Running solvers so that they can be watched and stopped: Ctrl-C, SIGTERM, child processes.

- :func:`handle_signals` (the CLI's ``main``) makes SIGTERM behave like Ctrl-C: both raise a
  :class:`KeyboardInterrupt` in the main thread (SIGTERM as :class:`Terminated`), so every
  command unwinds, its ``write_folder`` removes the hidden partial folder, and the CLI exits
  130 (SIGINT) or 143 (SIGTERM) without a traceback.
- :func:`run_highs` replaces ``highs.run()``: HiGHS runs in a thread (it releases the GIL) while
  the main thread waits, so a signal is handled at once; HiGHS is then stopped through its
  interrupt callbacks and the thread joined. Inside :func:`keep_best_plan` (``allocator run``) an
  interrupted solve returns with the best plan found so far (HiGHS status ``kInterrupt``; the
  solution reads ``feasible`` with its gap) and :func:`interrupted` says so; elsewhere the
  interrupt goes on up. A second Ctrl-C while the first is handled aborts at once.
- :func:`run_cbc` replaces ``prob.solve(cbc)``: PuLP's temporary ``.mps``/``.sol`` files go to a
  private folder that is always removed, and the ``cbc`` child runs in its own process group,
  killed and reaped when the solve is interrupted (and on Linux when this process dies).
- :func:`worker_init` is the initializer of sweep worker processes: they ignore Ctrl-C (the
  parent stops them) and exit when their parent is gone.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

from allocator import progress

EXIT_SIGINT, EXIT_SIGTERM = 130, 128 + signal.SIGTERM  # the shell's convention: 128 + signal number


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


_received: int | None = None  # the first stop signal this process received
_keep_best = False
_interrupted = False  # a solve inside keep_best_plan() was stopped by a signal


def _on_signal(signum, frame) -> None:
    global _received
    if _received is None:
        _received = signum
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def handle_signals() -> None:
    """SIGINT and SIGTERM raise in the main thread (call once, from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def exit_code(exc: BaseException | None = None) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    if isinstance(exc, Terminated) or (exc is None and _received == signal.SIGTERM):
        return EXIT_SIGTERM
    return EXIT_SIGINT


def end_interrupted(code: int) -> None:
    """End an interrupted process now with ``code``: what it started was removed while the command
    unwound, and a solver thread may still wind down (``os._exit`` does not wait for it, and a late
    signal during the interpreter's shutdown cannot turn the exit status into "killed by SIGINT")."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def received() -> int | None:
    """The first SIGINT/SIGTERM this process received, if any."""
    return _received


def interrupted() -> bool:
    """Whether a solve inside :func:`keep_best_plan` was stopped by Ctrl-C or SIGTERM."""
    return _interrupted


def stop_requested() -> bool:
    """Whether a solve was interrupted: loops of re-solves (refinement rounds) should stop."""
    return _interrupted


def interruption() -> KeyboardInterrupt:
    """The exception that stands for the signal received (to raise when nothing is left to write)."""
    return Terminated() if _received == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def keep_best_plan() -> Iterator[None]:
    """Solves inside the block, when interrupted, return their best plan instead of raising."""
    global _keep_best, _interrupted
    saved, _keep_best, _interrupted = _keep_best, True, False
    try:
        yield
    finally:
        _keep_best = saved


# --- HiGHS ---------------------------------------------------------------------------------

_CONTINUOUS = None  # highspy.HighsVarType.kContinuous, set on first use (highspy loads with the solver)


def run_highs(highs, mip: bool | None = None, solver: str = "highs"):
    """``highs.run()``, watched (progress) and stoppable (Ctrl-C, SIGTERM). ``mip``: whether the
    model has integer columns (read from the model when not given): a MIP is watched and stopped
    through its MIP callbacks (its LP solves call no simplex callback), an LP through the simplex
    and interior-point ones."""
    global _interrupted, _CONTINUOUS
    if _CONTINUOUS is None:
        import highspy

        _CONTINUOUS = highspy.HighsVarType.kContinuous
    if _keep_best and _interrupted:
        return None  # the run was interrupted: later solves of it (refinements, re-solves) do not start
    stop = threading.Event()
    watch = progress.Watch(solver)

    def on_interrupt(event) -> None:
        if stop.is_set():
            event.interrupt()

    def on_mip(event) -> None:
        out = event.data_out
        watch.mip(out.mip_primal_bound, out.mip_dual_bound, out.mip_gap)
        if stop.is_set():
            event.interrupt()

    def on_plan(event) -> None:
        out = event.data_out
        watch.mip(out.mip_primal_bound, out.mip_dual_bound, out.mip_gap)

    if mip is None:
        mip = any(t != _CONTINUOUS for t in highs.getLp().integrality_)
    if mip:
        hooks = [(highs.cbMipInterrupt, on_mip), (highs.cbMipImprovingSolution, on_plan)]
    else:
        hooks = [(highs.cbSimplexInterrupt, on_interrupt), (highs.cbIpmInterrupt, on_interrupt)]
    for callback, hook in hooks:
        callback.subscribe(hook)
    failure: list[BaseException] = []
    returned: list = []
    done = threading.Event()  # not Thread.join: a join cut short by Ctrl-C can mark a live thread dead

    def solve() -> None:
        try:
            returned.append(highs.run())
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=solve, name="allocator-highs", daemon=True)
    try:
        with progress.displayed(watch):
            thread.start()
            try:
                while not done.wait(0.1):
                    pass
            except KeyboardInterrupt:
                stop.set()  # HiGHS stops at its next callback
                if not _stopped(done, keep=_keep_best and math.isfinite(watch.primal)):
                    raise
                if not _keep_best:
                    raise
                _interrupted = True
    finally:
        if done.is_set():  # a HiGHS left running keeps its hooks: they stop it at its next check
            for callback, hook in hooks:
                callback.unsubscribe(hook)
    if failure:
        raise failure[0]
    return returned[0] if returned else None  # HiGHS's own status of run()


GRACE = 0.5  # seconds HiGHS gets to stop before a command goes on without it
_abandoned = False  # a solver thread was left running: the process must end without waiting for it


def _stopped(done: threading.Event, keep: bool) -> bool:
    """Wait for a stopping HiGHS. Its callbacks can be seconds apart (a long LP inside the MIP),
    so a command gives it :data:`GRACE` seconds, then goes on without it, unless ``keep``: the
    solve has a plan to hand over, worth waiting for (a second Ctrl-C still aborts at once)."""
    global _abandoned
    if done.wait(GRACE):
        return True
    if keep:
        progress.say("stopping: the solver hands over its best plan at its next check (Ctrl-C again aborts)")
        try:
            while not done.wait(0.1):
                pass
            return True
        except KeyboardInterrupt:
            _abandoned = True
            raise
    _abandoned = True
    return False


def abandoned() -> bool:
    """Whether a solver thread was left running (the CLI then ends with ``os._exit``)."""
    return _abandoned


# --- CBC through PuLP ----------------------------------------------------------------------


class _Children:
    """Stands in for PuLP's ``subprocess`` module: starts each child in its own process group
    (killed with the parent on Linux) and remembers it."""

    def __init__(self):
        self.started: list[subprocess.Popen] = []

    def __getattr__(self, name: str):
        return getattr(subprocess, name)

    def Popen(self, *args, **kwargs) -> subprocess.Popen:  # noqa: N802 - the name PuLP calls
        kwargs.setdefault("start_new_session", True)
        if _PRCTL is not None:
            kwargs.setdefault("preexec_fn", _die_with_parent)
        child = subprocess.Popen(*args, **kwargs)
        self.started.append(child)
        return child

    def kill_all(self) -> None:
        for child in self.started:
            if child.poll() is None:
                with contextlib.suppress(OSError):
                    os.killpg(child.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                child.wait(timeout=5)


def _prctl():
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl() if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent dies (Linux ``PR_SET_PDEATHSIG``)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


_cbc_lock = threading.Lock()


def run_cbc(prob, cbc) -> None:
    """``prob.solve(cbc)`` with PuLP's temporary files in a private folder (always removed) and
    the ``cbc`` child killed and reaped if the solve is interrupted."""
    from pulp.apis import coin_api

    with _cbc_lock, tempfile.TemporaryDirectory(prefix="allocator-cbc-") as tmp:
        cbc.tmpDir = tmp
        if cbc.timeLimit is not None and math.isinf(cbc.timeLimit):
            cbc.timeLimit = None  # `--time-limit none`
        children = _Children()
        saved, coin_api.subprocess = coin_api.subprocess, children
        try:
            with progress.displayed(progress.Watch("cbc")):
                prob.solve(cbc)
        except BaseException:
            children.kill_all()
            raise
        finally:
            coin_api.subprocess = saved


# --- sweep workers -------------------------------------------------------------------------


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Start worker processes inside this block: they are born ignoring Ctrl-C (an ignored signal
    is inherited across exec), so a Ctrl-C to the terminal's process group never finds a worker
    half started. SIGTERM is held meanwhile and arrives at the end of the block; a Ctrl-C inside
    the block is lost (press it again), which is why the block should only start processes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)
        signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)


def worker_init() -> None:
    """Initializer of a sweep worker process: Ctrl-C is the parent's to handle (no worker
    tracebacks), SIGTERM ends the worker quietly, and the worker exits when its parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(EXIT_SIGTERM))
    parent = os.getppid()

    def watch_parent() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch_parent, name="allocator-parent-watch", daemon=True).start()


# --- command-line options ------------------------------------------------------------------

QUIET_HELP = "No live progress on stderr."
TIME_LIMIT_HELP = "Seconds before the solver stops, or none for no limit (default: the scenario's, 120 s)."


def parse_time_limit(text: str) -> float:
    """``--time-limit``: seconds (> 0), or ``none`` for no limit (``math.inf``)."""
    import typer

    if text.strip().lower() in ("none", "inf", "unlimited"):
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"must be a number of seconds or none (got {text!r})") from None
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a number of seconds > 0 or none (got {text!r})")
    return value
