"""Cross-checks between sections of a field-valid scenario (``spec/scenario.md``, Validation)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from allocator.decompose.config import cross_check as decomposition_checks
from allocator.scenario.amounts import format_amount
from allocator.scenario.schema import Filter, ScenarioModel
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
    known = list(known)
    hint = did_you_mean(value, known) or f" (known: {', '.join(known)})"
    return f"unknown {what} {value!r}{hint}"


def cross_check(s: ScenarioModel) -> list[tuple[Loc, str]]:
    """Every cross-section problem, as (location in the data, message)."""
    problems: list[tuple[Loc, str]] = []
    regions = [r.id for r in s.regions]
    channels = [c.id for c in s.channels]
    classes = sorted({r.class_ for r in s.regions})
    periods = list(s.periods.names)

    if not s.response:
        problems.append((("response",), "at least one response cell is needed"))
    seen: dict[tuple[str, str], int] = {}
    for i, cell in enumerate(s.response):
        if cell.region not in regions:
            problems.append((("response", i, "region"), _unknown("region", cell.region, regions)))
        if cell.channel not in channels:
            problems.append((("response", i, "channel"), _unknown("channel", cell.channel, channels)))
        if cell.key in seen:
            problems.append(
                (("response", i), f"cell {cell.region}/{cell.channel} is listed twice (also response[{seen[cell.key]}])")
            )
        seen.setdefault(cell.key, i)
        if cell.spend.min > s.budget.total:
            amounts = f"{format_amount(cell.spend.min)} > {format_amount(s.budget.total)}"
            problems.append((("response", i, "spend", "min"), f"must not exceed budget.total ({amounts})"))

    for cls in s.targets.growth_floor:
        if cls not in classes:
            problems.append((("targets", "growth_floor", cls), _unknown("region class", cls, classes)))
    for i, region in enumerate(s.regions):
        if region.growth_floor is not None and region.last_year_revenue is None:
            problems.append((("regions", i, "growth_floor"), "needs last_year_revenue in the same region"))

    sf = s.sales_force
    if sf is not None:
        for region in sf.current:
            if region not in regions:
                problems.append((("sales_force", "current", region), _unknown("region", region, regions)))
        if isinstance(sf.max_hires_per_period, dict):
            for region in sf.max_hires_per_period:
                if region not in regions:
                    loc = ("sales_force", "max_hires_per_period", region)
                    problems.append((loc, _unknown("region", region, regions)))
        if sf.temp_staff is not None:
            for j, period in enumerate(sf.temp_staff.periods):
                if period not in periods:
                    loc = ("sales_force", "temp_staff", "periods", j)
                    problems.append((loc, _unknown("period", period, periods)))
            share = sf.temp_staff.share_of_people_cost
            if share is not None and share.min > 0 and sf.temp_staff.cost_per_head == 0:
                problems.append((("sales_force", "temp_staff", "share_of_people_cost", "min"),
                                 "can never be met: temp staff cost nothing (cost_per_head is 0)"))
        if sf.allow_release is False and sf.release_cost:
            problems.append((("sales_force", "release_cost"), "is set but allow_release is false"))

    known = {"region": regions, "region_class": classes, "channel": channels, "period": periods}
    for i, policy in enumerate(s.policies):
        if policy.share in ("people_cost", "headcount") and s.sales_force is None:
            problems.append((("policies", i, "share"), f"{policy.share} needs a sales_force section"))
        for part in ("where", "of"):
            flt: Filter | None = getattr(policy, part)
            if flt is None:
                continue
            for field, values in known.items():
                if getattr(flt, field) is not None and not getattr(flt, field):
                    problems.append((("policies", i, part, field), "must list at least one value (or be left out)"))
                for j, value in enumerate(getattr(flt, field) or ()):
                    if value not in values:
                        loc = ("policies", i, part, field, j)
                        problems.append((loc, _unknown(field.replace("_", " "), value, values)))
            if flt.channel and policy.share in ("people_cost", "headcount"):
                loc = ("policies", i, part, "channel")
                problems.append((loc, f"{policy.share} cannot be filtered by channel (people are not split by channel)"))
    return problems + decomposition_checks(s) + uncertainty_checks(s)
