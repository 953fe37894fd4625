"""The actuals of a re-plan: one tidy CSV ``period, region, channel, metric, value`` (``docs/replan.md``).

``metric`` is ``spend`` or ``revenue`` (per cell: ``channel`` set), or ``core``, ``temp`` or
``collection_rate`` (per region: ``channel`` empty). ``period`` is a period name of the scenario
or a date inside one (the scenario's ``decomposition.calendar`` says which days a period has): a
daily file is summed per period, as ``allocator track`` sums it; for heads and collection rates,
which are levels rather than flows, the period's latest date counts. Every problem names the
CSV line and column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from allocator.decompose import csvio
from allocator.decompose.calendar import period_spans
from allocator.decompose.csvio import Column
from allocator.model import carryover
from allocator.model.data import Past
from allocator.report import tables
from allocator.scenario import Scenario
from allocator.scenario.amounts import AmountError, format_amount, parse_amount, parse_share
from allocator.scenario.checks import did_you_mean
from allocator.scenario.errors import Problem, ScenarioError

CELL_METRICS = ("spend", "revenue")
REGION_METRICS = ("core", "temp", "collection_rate")
METRICS = CELL_METRICS + REGION_METRICS
FLOWS = CELL_METRICS  # summed over the dates of a period; the others are levels (latest date)
MAX_LISTED = 8  # missing values listed by name before "and N more"


@dataclass(frozen=True)
class Actuals:
    """A re-plan's actuals up to ``as_of`` (the last period that is over)."""

    file: str
    as_of: str
    past: Past
    collection_rate: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (region, period)
    ignored: int = 0  # rows for periods after as_of (not read)

    @property
    def periods(self) -> tuple[str, ...]:
        return self.past.periods


def _spans(scenario: Scenario) -> dict[str, tuple[dt.date, dt.date]] | None:
    section = scenario.decomposition
    return None if section is None else period_spans(section.calendar, scenario.periods.names)


def past_periods(scenario: Scenario, as_of: str, option: str = "--as-of") -> tuple[str, ...]:
    """The periods over by ``as_of``: up to a period name, or those whose last day is by a date."""
    names = list(scenario.periods.names)
    text = str(as_of).strip()
    if text in names:
        return tuple(names[: names.index(text) + 1])
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        hint = did_you_mean(text, names) or f" (periods: {', '.join(names)})"
        raise ScenarioError([Problem(option, None, "", f"{text!r} is neither a period nor a date like 2027-06-30{hint}")]) from None
    spans = _spans(scenario)
    if spans is None:
        raise ScenarioError([Problem(option, None, "", f"{text} is a date, but the scenario has no "
                                     "decomposition.calendar to date its periods: give a period name "
                                     f"({', '.join(names)})")])
    done = tuple(p for p in names if spans[p][1] <= day)
    if not done:
        first = names[0]
        raise ScenarioError([Problem(option, None, "", f"no period is over by {text} (the first, {first}, "
                                     f"ends {spans[first][1]})")])
    if len(done) == len(names):
        raise ScenarioError([Problem(option, None, "", f"every period is over by {text}: nothing is left to re-plan")])
    return done


def read_actuals(path: str | Path, scenario: Scenario, as_of: str, display: str | None = None) -> Actuals:
    """The actuals CSV, every row checked against the scenario; problems name the CSV line."""
    periods = past_periods(scenario, as_of)
    if len(periods) == len(scenario.periods.names):
        raise ScenarioError([Problem("--as-of", None, "", f"{as_of} is the last period: nothing is left to re-plan")])
    columns = [Column("period", csvio.text), Column("region", csvio.text), Column("channel", csvio.text, blank_ok=True),
               Column("metric", csvio.text), Column("value", csvio.text)]
    table = csvio.read_table(Path(path), columns, display, keep_going=True)
    file = table.file
    names = list(scenario.periods.names)
    regions = [r.id for r in scenario.regions]
    cells = {(c.region, c.channel) for c in scenario.response}
    channels = [c.id for c in scenario.channels]
    spans = _spans(scenario)
    problems = list(table.problems)
    values: dict[tuple, tuple[float, dt.date | None, int]] = {}  # key -> (value, date, line)
    seen: dict[tuple, int] = {}
    ignored = 0
    for row in table.rows:
        where = lambda column, message, line=row.line: problems.append(Problem(file, line, column, message))  # noqa: E731
        period, day = _period(row["period"], names, spans, where)
        region, channel, metric, raw = row["region"], row["channel"], row["metric"], row["value"]
        if metric is not None and metric not in METRICS:
            where("metric", f"unknown metric {metric!r}{did_you_mean(metric, METRICS) or ' (metrics: ' + ', '.join(METRICS) + ')'}")
            continue
        if region is not None and region not in regions:
            where("region", f"unknown region {region!r}{did_you_mean(region, regions) or ' (regions: ' + ', '.join(regions) + ')'}")
            continue
        if None in (period, region, metric, raw):
            continue
        if metric in CELL_METRICS:
            if not channel:
                where("channel", f"is empty: {metric} is per cell (region and channel)")
                continue
            if (region, channel) not in cells:
                hint = did_you_mean(channel, channels) if channel not in channels else ""
                where("channel", f"{region}/{channel} is not a response cell of the scenario{hint}")
                continue
        elif channel:
            where("channel", f"must be empty: {metric} is per region (got {channel!r})")
            continue
        elif metric in ("core", "temp") and scenario.sales_force is None:
            where("metric", f"{metric} heads, but the scenario has no sales_force: leave the row out")
            continue
        value = _value(metric, raw, where)
        if value is None:
            continue
        key = (metric, region, channel or "", period)
        raw_key = (key, day)
        if raw_key in seen:
            where("", f"duplicate actuals row ({metric} of {region}{'/' + channel if channel else ''} in "
                      f"{row['period']}; first on line {seen[raw_key]})")
            continue
        seen[raw_key] = row.line
        if period not in periods:
            ignored += 1
            continue
        if key in values and (values[key][1] is None) != (day is None):
            where("period", f"mixes dates and the period name {period} for {metric} of {region}")
            continue
        if key not in values:
            values[key] = (value, day, row.line)
        elif metric in FLOWS:
            values[key] = (values[key][0] + value, max(day, values[key][1]), row.line)
        elif day > values[key][1]:
            values[key] = (value, day, row.line)
    if problems:
        raise ScenarioError(problems)
    past = _complete(scenario, periods, {k: v[0] for k, v in values.items()}, file)
    rates = {(k[1], k[3]): v[0] for k, v in values.items() if k[0] == "collection_rate"}
    return Actuals(file, periods[-1], past, rates, ignored)


def _period(raw, names, spans, where) -> tuple[str | None, dt.date | None]:
    if raw is None:
        return None, None
    if raw in names:
        return raw, None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        where("period", f"{raw!r} is neither a period nor a date{did_you_mean(raw, names) or ' (periods: ' + ', '.join(names) + ')'}")
        return None, None
    if spans is None:
        where("period", f"{raw} is a date, but the scenario has no decomposition.calendar to date its periods")
        return None, None
    for name, (first, last) in spans.items():
        if first <= day <= last:
            return name, day
    first, last = min(s[0] for s in spans.values()), max(s[1] for s in spans.values())
    where("period", f"{raw} is outside the plan's calendar ({first} .. {last})")
    return None, None


def _value(metric: str, raw: str, where) -> float | None:
    try:
        if metric == "collection_rate":
            value = parse_share(raw)
            if not 0.0 <= value <= 1.5:
                raise AmountError(f"must be a share like 96% (got {raw!r})")
            return value
        value = parse_amount(raw)
    except AmountError as exc:
        where("value", str(exc))
        return None
    if value < 0:
        where("value", f"must be >= 0 (got {raw!r})")
        return None
    if metric in ("core", "temp") and value != int(value):
        where("value", f"{metric} heads must be a whole number (got {raw!r})")
        return None
    return value


def _complete(scenario: Scenario, periods: tuple[str, ...], values: dict, file: str) -> Past:
    """Every cell's spend and revenue and every region's heads in each past period, and actuals
    the model can hold (no spend where a cell cannot spend, no more than its spend.max)."""
    problems: list[Problem] = []
    missing: list[str] = []
    season = tables.period_seasons(scenario)
    spend, revenue, core, temp = {}, {}, {}, {}
    channels = {ch.id: ch for ch in scenario.channels}
    for c in scenario.response:
        total = 0.0
        carries = bool(carryover.of_cell(c, channels.get(c.channel))[0])  # its spend works in later periods
        for p in periods:
            for metric, into in (("spend", spend), ("revenue", revenue)):
                value = values.get((metric, c.region, c.channel, p))
                if value is None:
                    missing.append(f"{metric} of {c.region}/{c.channel} in {p}")
                else:
                    into[(c.region, c.channel, p)] = value
            x = spend.get((c.region, c.channel, p), 0.0)
            total += x
            if x > 0 and season[p] <= 0 and not carries:
                problems.append(Problem(file, None, "", f"{c.region}/{c.channel} spent {format_amount(x)} in {p}, "
                                        "a period of 0% seasonality where the model cannot spend"))
        hi = c.spend.max if c.spend.max is not None else scenario.budget.total
        if total > hi * (1 + 1e-9):
            problems.append(Problem(file, None, "", f"{c.region}/{c.channel} spent {format_amount(total)} by {periods[-1]}, "
                                    f"above its spend.max {format_amount(hi)}"))
    sf = scenario.sales_force
    if sf is not None:
        temp_periods = set(sf.temp_staff.periods) if sf.temp_staff is not None else set()
        for r in scenario.regions:
            for p in periods:
                h = values.get(("core", r.id, "", p))
                if h is None:
                    missing.append(f"core of {r.id} in {p}")
                else:
                    core[(r.id, p)] = int(h)
                e = values.get(("temp", r.id, "", p))
                if p in temp_periods:
                    if e is None:
                        missing.append(f"temp of {r.id} in {p}")
                    else:
                        temp[(r.id, p)] = int(e)
                elif e:
                    problems.append(Problem(file, None, "", f"temp of {r.id} in {p} is {int(e)}, but {p} is not a "
                                            "temp-staff period (sales_force.temp_staff.periods)"))
    if missing:
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        problems.append(Problem(file, None, "", f"no actuals for {', '.join(missing[:MAX_LISTED])}{more}: every period up to "
                                f"{periods[-1]} needs each cell's spend and revenue"
                                + (" and each region's core (and temp) heads" if sf is not None else "")))
    if problems:
        raise ScenarioError(problems)
    return Past(periods, spend, revenue, core, temp)
