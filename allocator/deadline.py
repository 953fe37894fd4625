"""One time budget for a whole command: ``--time-limit`` bounds the main solve, the diagnosis
models and the dual LP together, not each of them on its own (``docs/decisions.md``).

>>> d = Deadline(30.0)
>>> 0 < d.remaining() <= 30.0, d.expired()
(True, False)
>>> Deadline(None).remaining() is None      # no limit
True
"""

from __future__ import annotations

import time

clock = time.monotonic  # module-level, so a test can drive the deadline with a fake clock

MIN_LIMIT = 1e-3  # a solver call never gets 0 s: solvers (and our own code) read 0 as "no limit"
GRACE_SHARE, GRACE_MAX = 0.05, 1.0  # the dual LP of a plan found at the limit: 5% more, at most 1 s


class Deadline:
    """``seconds`` from now (``None``: no limit). Pass it down; each step asks what is left."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self._end = None if seconds is None else clock() + float(seconds)

    @classmethod
    def of(cls, limit: float | Deadline | None) -> Deadline:
        """A deadline from a number of seconds, or the same deadline passed along."""
        return limit if isinstance(limit, Deadline) else cls(limit)

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or ``None`` without a limit."""
        return None if self._end is None else max(0.0, self._end - clock())

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0.0

    def solver_limit(self, grace: bool = False) -> float | None:
        """The time limit for the next solver call: what is left (at least ``MIN_LIMIT``).

        With ``grace``, at least ``GRACE_SHARE`` of the whole limit (at most ``GRACE_MAX`` s), for
        the quick fixed-integer LP whose duals are the shadow prices of a plan found at the limit.
        """
        left = self.remaining()
        if left is None:
            return None
        floor = min(GRACE_MAX, GRACE_SHARE * float(self.seconds)) if grace else 0.0
        return max(left, floor, MIN_LIMIT)

    def __repr__(self) -> str:
        return f"Deadline({self.seconds!r}, remaining={self.remaining()!r})"
