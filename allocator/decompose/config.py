"""The ``decomposition:`` section of a scenario: frozen pydantic models, unknown keys forbidden.

This module depends on nothing of ``allocator.scenario`` but the leaf modules ``amounts`` and
``types`` (the ``Strict`` base and value types every section shares), so that the scenario schema
can import it without an import loop.

Field-level rules live here. Rules that need the rest of the scenario (period names) are in
:func:`cross_check`; rules that need the CSV inputs or the calendar are checked when the inputs
are read (``inputs.py``) and when the targets are cut (``targets.py``), with the same
``file:line path: message`` style. See ``docs/decomposition.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from allocator.scenario.amounts import AmountError, format_share, parse_amount
from allocator.scenario.types import Name, PositiveAmount, PositiveNumber, PositiveShare, Share, Strict, fail

Loc = tuple[object, ...]
SHARE_TOLERANCE = 0.005  # rounded percentages copied from a playbook may sum to 99.9% or 100.1%
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_WORDS = {
    **{d: d for d in WEEKDAYS},
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri",
    "saturday": "sat", "sunday": "sun", "tues": "tue", "thur": "thu", "thurs": "thu",
    **{f"{prefix}{c}": d for prefix in ("周", "星期") for c, d in zip("一二三四五六日", WEEKDAYS)},
    "周天": "sun", "星期天": "sun",
}
DEFAULT_TIERS = {"star": 0.40, "potential": 0.30, "long_tail": 0.30}
DEFAULT_MULTIPLIERS = {"top": 1.5, "middle": 1.1, "new": 0.8}


_fail = fail


def parse_date(raw: object) -> dt.date:
    """``2027-07-05`` (text, as the YAML loader keeps dates) or a ``date``; never a number."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise ValueError(f"must be a date like 2027-07-05 (got {raw!r})")


def _date(raw: object) -> dt.date:
    try:
        return parse_date(raw)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _day_span(raw: object) -> tuple[dt.date, dt.date]:
    """One date, ``2027-10-01..2027-10-07``, or ``[2027-10-01, 2027-10-07]``: first and last day."""
    if isinstance(raw, str) and ".." in raw:
        first, _, last = raw.partition("..")
        parts: list[object] = [first, last]
    elif isinstance(raw, (list, tuple)):
        if len(raw) != 2:
            raise _fail(f"must be a date or [first, last] (got {len(raw)} values)")
        parts = list(raw)
    else:
        parts = [raw, raw]
    first_day, last_day = _date(parts[0]), _date(parts[1])
    if last_day < first_day:
        raise _fail(f"ends before it starts ({first_day} .. {last_day})")
    return first_day, last_day


def weekday_name(raw: object) -> str:
    word = _WEEKDAY_WORDS.get(raw.strip().lower()) if isinstance(raw, str) else None
    if word is None:
        raise _fail(f"must be a weekday such as mon, tue, ... sun (got {raw!r})")
    return word


def _whole_unit(raw: object) -> float:
    try:
        value = parse_amount(raw)
    except AmountError as exc:
        raise _fail(str(exc)) from None
    if value < 1 or value != int(value):
        raise _fail(f"must be a whole number >= 1, such as 1, 100 or 1000 (got {raw!r})")
    return value


Date = Annotated[dt.date, BeforeValidator(_date)]
DaySpan = Annotated[tuple[dt.date, dt.date], BeforeValidator(_day_span)]
Weekday = Annotated[str, BeforeValidator(weekday_name)]
CsvPath = Annotated[str, Field(min_length=1)]
Unit = Annotated[float, BeforeValidator(_whole_unit)]


def _check_sum(values, what: str = "must sum to 100%") -> None:
    total = sum(values)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise _fail(f"{what} (sums to {format_share(total)})")


class WeekdayProfile(Strict):
    """How sales spread over Monday..Sunday: exactly one of ``shares``, ``sample`` or ``history``."""

    shares: dict[Weekday, Share] | None = None
    sample: tuple[PositiveAmount, ...] | None = None  # Monday..Sunday sales, e.g. summed over 3 weeks
    history: CsvPath | None = None  # daily sales: date, amount

    @field_validator("shares")
    @classmethod
    def _all_days(cls, shares):
        if shares is None:
            return shares
        missing = [d for d in WEEKDAYS if d not in shares]
        if missing:
            raise _fail(f"needs a share for every weekday (missing {', '.join(missing)}; give 0 for a closed day)")
        _check_sum(shares.values())
        return {d: shares[d] for d in WEEKDAYS}

    @field_validator("sample")
    @classmethod
    def _seven(cls, sample):
        if sample is not None and len(sample) != 7:
            raise _fail(f"needs 7 values, Monday to Sunday (got {len(sample)})")
        return sample

    @model_validator(mode="after")
    def _exactly_one(self) -> WeekdayProfile:
        given = [k for k in ("shares", "sample", "history") if getattr(self, k) is not None]
        if len(given) != 1:
            raise _fail(f"needs exactly one of `shares`, `sample` or `history` (got {', '.join(given) or 'none'})")
        return self


class Calendar(Strict):
    """Dates of the plan's periods, the days nobody sells, and how a period spreads over its days."""

    start: Date | None = None
    period: Literal["quarter", "month", "week"] | None = None  # consecutive periods from `start`
    period_dates: dict[Name, DaySpan] | None = None  # or each period's first and last day
    holidays: tuple[DaySpan, ...] = ()
    closed_weekdays: tuple[Weekday, ...] = ()
    month_profile: Literal["working_days", "weighted_days"] = "working_days"
    month_shares: tuple[Share, ...] | None = None  # shares of the months inside each period
    weekdays: WeekdayProfile | None = None  # default: every working day alike

    @field_validator("month_shares")
    @classmethod
    def _month_sum(cls, shares):
        if shares is not None:
            if not shares:
                raise _fail("needs at least one share")
            _check_sum(shares)
        return shares

    @model_validator(mode="after")
    def _dated(self) -> Calendar:
        if self.period_dates is None and (self.start is None or self.period is None):
            raise _fail("needs `start` and `period` (quarter, month or week), or `period_dates`")
        if self.period_dates is not None and (self.start is not None or self.period is not None):
            raise _fail("give either `start` with `period`, or `period_dates`, not both")
        if self.period_dates:
            spans = sorted((span, name) for name, span in self.period_dates.items())
            for (a, name_a), (b, name_b) in zip(spans, spans[1:]):
                if b[0] <= a[1]:
                    raise _fail(f"period {name_b} overlaps period {name_a}", at=("period_dates", name_b))
        if set(self.closed_weekdays) == set(WEEKDAYS):
            raise _fail("closes every day of the week", at=("closed_weekdays",))
        return self


class Rounding(Strict):
    unit: Unit = 1.0  # targets are whole multiples of this


class Products(Strict):
    """Product targets: tier shares over a product list, or last year's mix from a history CSV."""

    file: CsvPath  # product, tier[, share]
    by: Literal["region", "region_channel"] = "region"
    split: Literal["tiers", "history"] = "tiers"
    tiers: dict[Name, Share] = DEFAULT_TIERS
    history: CsvPath | None = None  # month, product, revenue[, region][, channel]

    @field_validator("tiers")
    @classmethod
    def _tier_sum(cls, tiers):
        _check_sum(tiers.values())
        return tiers

    @model_validator(mode="after")
    def _history_given(self) -> Products:
        if self.split == "history" and self.history is None:
            raise _fail("split: history needs `history:` (a CSV of month, product, revenue)", at=("history",))
        if self.split == "tiers" and self.history is not None:
            raise _fail("is only read with split: history", at=("history",))
        return self


class Reps(Strict):
    """Rep quotas from a roster: tier multipliers, ramp-up of new starters, capacity, stretch."""

    roster: CsvPath  # rep, region, tier[, capacity][, period_capacity][, start][, end]
    multipliers: dict[Name, PositiveNumber] = DEFAULT_MULTIPLIERS
    ramp: tuple[Share, ...] = ()  # productivity in a starter's 1st, 2nd, ... month; then 100%
    ramp_tiers: tuple[Name, ...] | None = None  # tiers that ramp up (default: every tier)
    stretch: Share = 0.0  # quotas sum to (1 + stretch) x the region target

    @model_validator(mode="after")
    def _known_tiers(self) -> Reps:
        for i, tier in enumerate(self.ramp_tiers or ()):
            if tier not in self.multipliers:
                raise _fail(f"unknown tier {tier!r} (tiers: {', '.join(self.multipliers)})", at=("ramp_tiers", i))
        return self


STAGES = ("lead_to_opportunity", "opportunity_to_draft", "draft_to_order", "order_to_delivery")


class FunnelSource(Strict):
    source: Name
    share: Share  # of the deals (deliveries)
    lead_to_opportunity: PositiveShare
    opportunity_to_draft: PositiveShare
    draft_to_order: PositiveShare
    order_to_delivery: PositiveShare
    deal_value: PositiveAmount | None = None  # default: the funnel's


class Funnel(Strict):
    """Leads each target needs, per lead source: exactly one of ``sources`` or ``file``."""

    deal_value: PositiveAmount | None = None
    sources: tuple[FunnelSource, ...] | None = None
    file: CsvPath | None = None  # source, share, the four rates[, deal_value]

    @field_validator("sources")
    @classmethod
    def _sources(cls, sources):
        if sources is None:
            return sources
        if not sources:
            raise _fail("needs at least one source")
        seen: dict[str, int] = {}
        for i, s in enumerate(sources):
            if s.source in seen:
                raise _fail(f"source {s.source!r} appears more than once (also sources[{seen[s.source]}])", at=(i, "source"))
            seen[s.source] = i
        _check_sum([s.share for s in sources], "shares of the sources must sum to 100%")
        return sources

    @model_validator(mode="after")
    def _one_input(self) -> Funnel:
        if (self.sources is None) == (self.file is None):
            raise _fail("needs exactly one of `sources` (a list) or `file` (a CSV)")
        for i, s in enumerate(self.sources or ()):
            if s.deal_value is None and self.deal_value is None:
                raise _fail("needs a deal_value here or on the funnel", at=("sources", i, "deal_value"))
        return self


class Tracking(Strict):
    """Status thresholds, as shares of the pro-rata target to date."""

    red_below: Share = 0.80
    amber_below: Share = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> Tracking:
        if self.red_below > self.amber_below:
            raise _fail(f"must not exceed amber_below ({format_share(self.red_below)} > "
                        f"{format_share(self.amber_below)})", at=("red_below",))
        return self


class DecompositionConfig(Strict):
    """The ``decomposition:`` section. Only ``calendar`` is required; each other part adds a table."""

    calendar: Calendar
    rounding: Rounding = Rounding()
    products: Products | None = None
    reps: Reps | None = None
    funnel: Funnel | None = None
    tracking: Tracking = Tracking()

    def csv_paths(self) -> dict[Loc, str]:
        """Every CSV input, by its location in the section (for copying and for messages)."""
        paths: dict[Loc, str] = {}
        weekdays = self.calendar.weekdays
        if weekdays is not None and weekdays.history:
            paths[("calendar", "weekdays", "history")] = weekdays.history
        if self.products is not None:
            paths[("products", "file")] = self.products.file
            if self.products.history:
                paths[("products", "history")] = self.products.history
        if self.reps is not None:
            paths[("reps", "roster")] = self.reps.roster
        if self.funnel is not None and self.funnel.file:
            paths[("funnel", "file")] = self.funnel.file
        return paths


def cross_check(scenario) -> list[tuple[Loc, str]]:
    """Problems between ``decomposition:`` and the rest of a field-valid scenario, as (loc, message).

    Meant for ``allocator.scenario.checks.cross_check``: ``problems += decompose.cross_check(s)``.
    """
    config: DecompositionConfig | None = getattr(scenario, "decomposition", None)
    if config is None:
        return []
    return period_problems(config, tuple(scenario.periods.names))


def period_problems(config: DecompositionConfig, periods: tuple[str, ...]) -> list[tuple[Loc, str]]:
    dates = config.calendar.period_dates
    if dates is None:
        return []
    loc: Loc = ("decomposition", "calendar", "period_dates")
    problems = [(loc + (name,), f"unknown period {name!r} (periods: {', '.join(periods)})")
                for name in dates if name not in periods]
    missing = [p for p in periods if p not in dates]
    if missing:
        problems.append((loc, f"needs dates for every period (missing {', '.join(missing)})"))
    return problems
