"""Live progress of a long solve on stderr: elapsed time, best plan's margin, bound and gap.

The CLI turns it on for the commands that solve (``show_on(console)``; ``--quiet`` leaves it off);
the Python API shows nothing. A solve shorter than :data:`DELAY` seconds prints nothing at all.
On a terminal one line is refreshed in place (a rich ``Live``) and erased when the solve ends; on
a pipe or in CI a plain line is printed every :data:`EVERY` seconds, so logs stay short.

``Watch`` is what a solver run reports into (from the solver's callback thread); figures arrive
in model units and are shown in currency (times ``unit``).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from allocator.scenario.amounts import format_amount

DELAY = 2.0  # seconds before anything is shown
EVERY = 5.0  # seconds between plain lines when stderr is not a terminal
TICK = 0.25  # seconds between refreshes on a terminal

_console = None  # where progress goes; None: nowhere (the API, tests, --quiet)
_unit: float | None = None  # currency per model unit of the objective, when the caller knows it
_currency = ""


@contextlib.contextmanager
def show_on(console, quiet: bool = False) -> Iterator[None]:
    """Show the progress of every solve inside the block on ``console`` (unless ``quiet``)."""
    global _console
    saved, _console = _console, (None if quiet else console)
    try:
        yield
    finally:
        _console = saved


@contextlib.contextmanager
def money(unit: float, currency: str = "") -> Iterator[None]:
    """Solves inside the block have objectives in model units worth ``unit`` ``currency`` each."""
    global _unit, _currency
    saved, (_unit, _currency) = (_unit, _currency), (unit, currency)
    try:
        yield
    finally:
        _unit, _currency = saved


def say(text: str) -> None:
    """One line on the progress console, or on stderr when progress is off."""
    if _console is not None:
        _console.print(text, markup=False, highlight=False)
    else:
        import sys

        print(text, file=sys.stderr, flush=True)


@dataclass
class Watch:
    """What a running solve has found so far (written by solver callbacks, read by the display)."""

    solver: str
    unit: float | None = field(default_factory=lambda: _unit)
    start: float = field(default_factory=time.perf_counter)
    primal: float = math.nan  # best plan's objective, model units
    dual: float = math.nan  # bound on the optimum, model units
    gap: float = math.nan

    def mip(self, primal: float, dual: float, gap: float) -> None:
        self.primal, self.dual, self.gap = primal, dual, gap

    def line(self, currency: str = "") -> str:
        """``solving (highs): 12 s, best plan 1.23M CNY, bound 1.25M CNY, gap 1.6%``."""
        parts = [f"{time.perf_counter() - self.start:.0f} s"]
        if self.unit is not None and math.isfinite(self.primal):
            parts.append(f"best plan {_money(self.primal * self.unit, currency)}")
        elif math.isfinite(self.primal):
            parts.append("a plan found")
        if self.unit is not None and math.isfinite(self.dual):
            parts.append(f"bound {_money(self.dual * self.unit, currency)}")
        if math.isfinite(self.gap):
            parts.append(f"gap {self.gap:.2%}")
        return f"solving ({self.solver}): " + ", ".join(parts)


def _money(value: float, currency: str) -> str:
    return f"{format_amount(value)} {currency}".strip()


@contextlib.contextmanager
def displayed(watch: Watch) -> Iterator[Watch]:
    """Show ``watch`` while the block runs (if progress is on and the block outlasts DELAY)."""
    console = _console
    if console is None:
        yield watch
        return
    display = _Display(console, watch, _currency)
    display.start()
    try:
        yield watch
    finally:
        display.stop()


class _Display(threading.Thread):
    """A daemon thread: waits DELAY, then refreshes a line in place or prints one every EVERY s."""

    def __init__(self, console, watch: Watch, code: str):
        super().__init__(daemon=True, name="allocator-progress")
        self.console, self.watch, self.code = console, watch, code
        self.done = threading.Event()
        self.live = None

    def run(self) -> None:
        if self.done.wait(DELAY):
            return
        if self.console.is_terminal:
            self._live()
        else:
            self._lines()

    def _live(self) -> None:
        from rich.live import Live
        from rich.text import Text

        try:
            live = Live(Text(self.watch.line(self.code)), console=self.console, transient=True, auto_refresh=False,
                        redirect_stdout=False, redirect_stderr=False)
            live.start()
        except Exception:  # another live display (a progress bar) owns the terminal: say nothing
            return
        self.live = live
        try:
            while not self.done.wait(TICK):
                live.update(Text(self.watch.line(self.code)), refresh=True)
        finally:
            live.stop()

    def _lines(self) -> None:
        while True:
            self.console.print(self.watch.line(self.code), markup=False, highlight=False)
            if self.done.wait(EVERY):
                return

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=2.0)
