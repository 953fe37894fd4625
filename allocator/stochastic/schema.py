"""The ``stochastic:`` section: a two-stage plan that sizes the reserve (docs/uncertainty.md).

A leaf of the scenario schema (it builds on ``allocator.scenario.types`` only, like the
``uncertainty:`` section); ``cross_check`` relates it to the periods, the uncertainty section and
the budget.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from allocator.scenario.amounts import format_share
from allocator.scenario.types import Amount, Name, PositiveShare, Share, Strict, fail

MAX_STOCHASTIC_SAMPLES = 1000  # each sample is a copy of the response, capacity and potential rows
DEFAULT_LEVELS = (0.05, 0.06, 0.07, 0.08)  # the playbooks' reserve range, in whole points


class Risk(Strict):
    """CVaR of the margin at ``cvar_level`` (the mean of the worst ``cvar_level`` share of samples),
    either held above ``min_cvar_margin`` or weighed into the objective with ``risk_weight``."""

    cvar_level: PositiveShare = 0.05
    min_cvar_margin: Amount | None = None
    risk_weight: Share | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Risk:
        if (self.min_cvar_margin is None) == (self.risk_weight is None):
            raise fail("needs exactly one of `min_cvar_margin` (a floor on CVaR) and `risk_weight` "
                       "(CVaR's weight in the objective)")
        return self


class ReserveRange(Strict):
    min: Share = 0.0
    max: Share = 0.0

    @model_validator(mode="after")
    def _ordered(self) -> ReserveRange:
        if self.min > self.max:
            raise fail(f"must not exceed max ({format_share(self.min)} > {format_share(self.max)})", at=("min",))
        if self.max >= 1.0:
            raise fail(f"must be below 100% (got {format_share(self.max)})", at=("max",))
        return self


class Stochastic(Strict):
    checkpoint: Name | None = None  # default: the period that ends the first half of the year
    samples: Annotated[int, Field(ge=1, le=MAX_STOCHASTIC_SAMPLES, strict=True)] = 50
    seed: Annotated[int | None, Field(ge=0, strict=True)] = None  # default: the uncertainty section's
    reserve: ReserveRange | None = None  # range the reserve is sized in; default budget.reserve
    risk: Risk | None = None
    recourse_premium: Share = 0.10  # reserve spent after the checkpoint costs this much more (docs/decisions.md)
    reserve_levels: tuple[Share, ...] = DEFAULT_LEVELS
    evaluation_samples: Annotated[int, Field(ge=0, le=100_000, strict=True)] = 200


def checkpoint_of(stochastic: Stochastic, periods: tuple[str, ...]) -> str:
    """The checkpoint period: the section's, else the last period of the first half."""
    if stochastic.checkpoint is not None:
        return stochastic.checkpoint
    return periods[max(0, len(periods) // 2 - 1)]


def cross_check(s) -> list[tuple[tuple[object, ...], str]]:
    """Problems of the ``stochastic:`` section against the rest of the scenario, as (loc, message)."""
    from allocator.scenario.checks import did_you_mean

    st = getattr(s, "stochastic", None)
    if not isinstance(st, Stochastic):
        return []
    problems = []
    if getattr(s, "uncertainty", None) is None:
        problems.append((("stochastic",), "needs an `uncertainty:` section to draw its samples from "
                         "(docs/uncertainty.md)"))
    periods = getattr(getattr(s, "periods", None), "names", None)
    if isinstance(periods, tuple) and st.checkpoint is not None:
        if st.checkpoint not in periods:
            problems.append((("stochastic", "checkpoint"),
                             f"unknown period {st.checkpoint!r}"
                             f"{did_you_mean(st.checkpoint, periods) or ' (periods: ' + ', '.join(periods) + ')'}"))
        elif st.checkpoint == periods[-1]:
            problems.append((("stochastic", "checkpoint"), f"must come before the last period {periods[-1]!r}: "
                             "after the checkpoint the reserve is spent, so at least one period must follow"))
    elif isinstance(periods, tuple) and len(periods) < 2:
        problems.append((("stochastic",), "needs at least two periods: one before the checkpoint, one after"))
    return problems
