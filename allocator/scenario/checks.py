"""Cross-checks between sections of a field-valid scenario (``spec/scenario.md``, Validation)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from types import SimpleNamespace

from allocator.decompose.config import cross_check as decomposition_checks
from allocator.scenario.amounts import format_amount
from allocator.scenario.partial import given, parsed
from allocator.scenario.schema import Filter, ScenarioModel
from allocator.stochastic.schema import cross_check as stochastic_checks
from allocator.uncertainty.schema import cross_check as uncertainty_checks

Loc = tuple[object, ...]


def closest(word: object, choices: Iterable[object]) -> str | None:
    """The choice most like ``word``, if any is close enough to be a likely typo."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    close = closest(word, choices)
    return f"; did you mean `{close}`?" if close else ""


def _unknown(what: str, value: str, known: Iterable[str]) -> str:
    known = list(dict.fromkeys(known))
    hint = did_you_mean(value, known) or f" (known: {', '.join(known)})"
    return f"unknown {what} {value!r}{hint}"


def cross_check(s: ScenarioModel | SimpleNamespace) -> list[tuple[Loc, str]]:
    """Every cross-section problem, as (location in the data, message).

    ``s`` is a field-valid scenario, or what of one parsed (``partial.partial_scenario``): a check
    whose values did not parse is left out, so both kinds of problem are reported in one pass.
    """
    known = _known(s)
    problems = _cells(s, known) + _carryover(s) + _regions(s, known) + _sales_force(s, known) \
        + _policies(s, known) + _change_limits(s, known) + _unlocks(s, known)
    if isinstance(s, ScenarioModel):  # the decomposition's checks take a field-valid scenario
        problems += decomposition_checks(s)
    problems += uncertainty_checks(s)  # takes a partly parsed scenario too
    problems += stochastic_checks(s)
    return problems


def _ids(items: object, field: str) -> list[str] | None:
    """The ids of a list section, or ``None`` if any item or id did not parse (so none is unknown)."""
    if not parsed(items) or not all(parsed(item) and parsed(getattr(item, field)) for item in items):
        return None
    return [getattr(item, field) for item in items]


def _known(s) -> dict[str, list[str] | None]:
    periods = s.periods.names if parsed(s.periods) and parsed(s.periods.names) else None
    classes = _ids(s.regions, "class_")
    return {"region": _ids(s.regions, "id"), "region_class": None if classes is None else sorted(set(classes)),
            "channel": _ids(s.channels, "id"), "period": None if periods is None else list(periods)}


def _items(items: object):
    """(index, item) of a list section's items that parsed (at least in part)."""
    return [] if not parsed(items) else [(i, item) for i, item in enumerate(items) if parsed(item)]


def _cells(s, known) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    regions, channels = known["region"], known["channel"]
    if parsed(s.response) and not s.response:
        problems.append((("response",), "at least one response cell is needed"))
    total = s.budget.total if parsed(s.budget) and parsed(s.budget.total) else None
    seen: dict[tuple[str, str], int] = {}
    for i, cell in _items(s.response):
        if regions is not None and parsed(cell.region) and cell.region not in regions:
            problems.append((("response", i, "region"), _unknown("region", cell.region, regions)))
        if channels is not None and parsed(cell.channel) and cell.channel not in channels:
            problems.append((("response", i, "channel"), _unknown("channel", cell.channel, channels)))
        if parsed(cell.region, cell.channel):
            key = (cell.region, cell.channel)
            if key in seen:
                problems.append((("response", i), f"cell {cell.region}/{cell.channel} is listed twice (also response[{seen[key]}])"))
            seen.setdefault(key, i)
        problems += _period_spend(cell, i, known["period"])
        if total is not None and parsed(cell.spend) and parsed(cell.spend.min) and cell.spend.min > total:
            amounts = f"{format_amount(cell.spend.min)} > {format_amount(total)}"
            problems.append((("response", i, "spend", "min"), f"must not exceed budget.total ({amounts})"))
    return problems


def _period_spend(cell, i: int, periods: list[str] | None) -> list[tuple[Loc, str]]:
    """``spend.periods``: known period names, and minimums the annual maximum can hold."""
    problems: list[tuple[Loc, str]] = []
    if not parsed(cell.spend) or not parsed(cell.spend.periods):
        return problems
    for name in cell.spend.periods:
        if periods is not None and name not in periods:
            problems.append((("response", i, "spend", "periods", name), _unknown("period", name, periods)))
    lows = sum(b.min for b in cell.spend.periods.values() if parsed(b) and parsed(b.min))
    if parsed(cell.spend.max) and cell.spend.max is not None and lows > cell.spend.max:
        problems.append((("response", i, "spend", "periods"), f"the periods' minimums add up to {format_amount(lows)}, "
                         f"above spend.max {format_amount(cell.spend.max)}"))
    return problems


def _carryover(s) -> list[tuple[Loc, str]]:
    """``prior_spend`` needs a carryover (the cell's or its channel's) and lists at most ``max_lag``
    periods: spend longer ago than that no longer works."""
    problems: list[tuple[Loc, str]] = []
    if not parsed(s.channels):
        return problems
    channel = {c.id: c for c in s.channels if parsed(c) and parsed(c.id)}
    for i, cell in _items(s.response):
        if not parsed(cell.prior_spend, cell.carryover, cell.channel) or cell.prior_spend is None:
            continue
        own = channel.get(cell.channel)
        if own is not None and not parsed(own.carryover):
            continue
        carry = cell.carryover if cell.carryover is not None else own.carryover if own is not None else None
        if carry is None:
            problems.append((("response", i, "prior_spend"), "needs carryover: {decay, max_lag} on the cell or its "
                             f"channel ({cell.channel}): spend before the horizon matters only through carryover"))
        elif parsed(carry.max_lag) and isinstance(cell.prior_spend, tuple) and len(cell.prior_spend) > carry.max_lag:
            problems.append((("response", i, "prior_spend"), f"lists {len(cell.prior_spend)} periods but "
                             f"carryover.max_lag is {carry.max_lag}: spend more than {carry.max_lag} "
                             f"period{'s' if carry.max_lag != 1 else ''} before the horizon no longer works"))
    return problems


def _regions(s, known) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    classes = known["region_class"]
    floors = s.targets.growth_floor if parsed(s.targets) and parsed(s.targets.growth_floor) else {}
    # a region that a class floor would bind (it has last-year revenue, no floor of its own) but that
    # has no class: said at the region, not as an "unknown class" at the floor it was meant for
    classless = [i for i, r in _items(s.regions) if floors and not given(r, "class_")
                 and parsed(r.last_year_revenue, r.growth_floor) and r.last_year_revenue is not None
                 and r.growth_floor is None]
    for i in classless:
        message = (f"required field is missing: targets.growth_floor sets floors by class ({', '.join(floors)}) "
                   "and this region has last_year_revenue; give it a class (or its own growth_floor)")
        problems.append((("regions", i, "class"), message))
    for cls in floors:
        if classes is not None and cls not in classes and not classless:
            problems.append((("targets", "growth_floor", cls), _unknown("region class", cls, classes)))
    for i, region in _items(s.regions):
        if parsed(region.growth_floor, region.last_year_revenue) and region.growth_floor is not None \
                and region.last_year_revenue is None:
            problems.append((("regions", i, "growth_floor"), "needs last_year_revenue in the same region"))
    return problems


def _sales_force(s, known) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    sf, regions, periods = s.sales_force, known["region"], known["period"]
    if sf is None or not parsed(sf):
        return problems
    if regions is not None and parsed(sf.current):
        for region in sf.current:
            if region not in regions:
                problems.append((("sales_force", "current", region), _unknown("region", region, regions)))
    if regions is not None and parsed(sf.max_hires_per_period) and isinstance(sf.max_hires_per_period, dict):
        for region in sf.max_hires_per_period:
            if region not in regions:
                loc = ("sales_force", "max_hires_per_period", region)
                problems.append((loc, _unknown("region", region, regions)))
    temp = sf.temp_staff
    if temp is not None and parsed(temp):
        if periods is not None and parsed(temp.periods):
            for j, period in enumerate(temp.periods):
                if period not in periods:
                    problems.append((("sales_force", "temp_staff", "periods", j), _unknown("period", period, periods)))
        share = temp.share_of_people_cost
        if parsed(share, temp.cost_per_head) and share is not None and parsed(share.min) and share.min > 0 \
                and temp.cost_per_head == 0:
            problems.append((("sales_force", "temp_staff", "share_of_people_cost", "min"),
                             "can never be met: temp staff cost nothing (cost_per_head is 0)"))
    if parsed(sf.allow_release, sf.release_cost) and sf.allow_release is False and sf.release_cost:
        problems.append((("sales_force", "release_cost"), "is set but allow_release is false"))
    return problems


def _classless_hint(s) -> str:
    """``; north has no `class```: the likely reason a region class is unknown."""
    ids = [r.id for _, r in _items(s.regions) if not given(r, "class_") and parsed(r.id)]
    if not ids:
        return ""
    return f"; {', '.join(ids)} {'has' if len(ids) == 1 else 'have'} no `class`"


def _policies(s, known) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for i, policy in _items(s.policies):
        people = parsed(policy.share) and policy.share in ("people_cost", "headcount")
        if people and s.sales_force is None:
            problems.append((("policies", i, "share"), f"{policy.share} needs a sales_force section"))
        for part in ("where", "of"):
            flt: Filter | None = getattr(policy, part)
            if flt is None or not parsed(flt):
                continue
            problems += _filter_values(flt, known, ("policies", i, part), _classless_hint(s))
            if people and parsed(flt.channel) and flt.channel:
                loc = ("policies", i, part, "channel")
                problems.append((loc, f"{policy.share} cannot be filtered by channel (people are not split by channel)"))
    return problems


def _unlocks(s, known) -> list[tuple[Loc, str]]:
    """``budget.unlocks``: known regions and classes, and no region in two unlocks (the money of each
    is kept for its own regions, which is only exact when they do not overlap)."""
    problems: list[tuple[Loc, str]] = []
    if not parsed(s.budget) or not parsed(s.budget.unlocks) or not parsed(s.regions):
        return problems
    regions = [(r.id, r.class_) for _, r in _items(s.regions) if parsed(r.id, r.class_)]
    owner: dict[str, int] = {}
    for i, unlock in _items(s.budget.unlocks):
        flt = unlock.where
        if not parsed(flt):
            continue
        for field in ("region", "region_class"):
            values = known[field]
            for j, value in enumerate(getattr(flt, field) or ()):
                if values is not None and value not in values:
                    problems.append((("budget", "unlocks", i, "where", field, j),
                                     _unknown(field.replace("_", " "), value, values)))
        for rid, cls in regions:  # the filter may be partly parsed (a namespace): its fields, not its methods
            if (flt.region is None or rid in flt.region) and (flt.region_class is None or cls in flt.region_class):
                if rid in owner:
                    problems.append((("budget", "unlocks", i, "where"), f"region {rid} is in budget.unlocks[{owner[rid]}] "
                                     "too: each region may be in one unlock"))
                    break
                owner[rid] = i
    return problems


def _change_limits(s, known) -> list[tuple[Loc, str]]:
    """``reallocation.limits[].where``: known regions, classes, channels and periods."""
    problems: list[tuple[Loc, str]] = []
    section = getattr(s, "reallocation", None)
    if section is None or not parsed(section) or not parsed(section.limits):
        return problems
    for i, limit in _items(section.limits):
        flt = limit.where
        if not parsed(flt):
            continue
        problems += _filter_values(flt, known, ("reallocation", "limits", i, "where"), _classless_hint(s))
    return problems


def _filter_values(flt: Filter, known, at: Loc, class_hint: str = "") -> list[tuple[Loc, str]]:
    """A filter's lists at ``at``: not empty, and every value a known one (``known``: field -> values)."""
    problems: list[tuple[Loc, str]] = []
    for field, values in known.items():
        chosen = getattr(flt, field)
        if not parsed(chosen):
            continue
        if chosen is not None and not chosen:
            problems.append(((*at, field), "must list at least one value (or be left out)"))
        for j, value in enumerate(chosen or ()):
            if values is not None and value not in values:
                hint = class_hint if field == "region_class" else ""
                problems.append(((*at, field, j), _unknown(field.replace("_", " "), value, values) + hint))
    return problems
