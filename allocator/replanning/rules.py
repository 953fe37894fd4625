"""Reallocation rules read from a scenario's ``reallocation:`` section (``docs/replan.md``).

A change limit holds each matching cell's spend per period within ``[(1 - max_decrease) R,
(1 + max_increase) R]`` of the reference plan's spend ``R``: the original plan in a re-plan, or the
``reallocation.reference`` file. ``where`` picks cells and periods like a policy filter, and
``realised_roi`` by the ROI the actuals show so far, the margin ROI of ``docs/model.md`` on actual
lift: ``m * sum_t (Y_t - s_t b) / sum_t X_t - 1`` over the periods that are over (a cell that has
not spent has no realised ROI and matches no ``realised_roi`` condition).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from allocator.decompose import csvio
from allocator.decompose.csvio import Column
from allocator.model.data import ChangeBound, Past
from allocator.report import tables
from allocator.scenario import Scenario
from allocator.scenario.checks import did_you_mean
from allocator.scenario.errors import Problem, ScenarioError

Key = tuple[str, str, str]


def realised_roi(scenario: Scenario, past: Past) -> dict[tuple[str, str], float | None]:
    """Each cell's margin ROI on its actual lift over the periods that are over."""
    season = tables.period_seasons(scenario)
    margins = tables.cell_margins(scenario)
    out: dict[tuple[str, str], float | None] = {}
    for c in scenario.response:
        m = margins[(c.region, c.channel)]
        spent = sum(past.spend[(c.region, c.channel, p)] for p in past.periods)
        lift = sum(past.revenue[(c.region, c.channel, p)] - season[p] * c.base for p in past.periods)
        out[(c.region, c.channel)] = m * lift / spent - 1.0 if spent > 0 else None
    return out


def read_reference(scenario: Scenario) -> dict[Key, float]:
    """The ``reallocation.reference`` plan file (``region, channel, period, spend``; other columns of an
    ``allocation.csv`` are read and left alone), relative to the scenario's folder."""
    ref = scenario.reallocation.reference
    if ref is None:
        raise ScenarioError([Problem(scenario.source, None, "reallocation.reference",
                                     "is needed: a plan file (region, channel, period, spend)")])
    path = Path(scenario.source).parent / ref
    if not path.is_file():
        raise ScenarioError([Problem(scenario.source, None, "reallocation.reference",
                                     f"{ref}: no such file (looked for {path})")])
    optional = [Column(name, csvio.text, required=False, blank_ok=True) for name in ("lift", "revenue", "marginal_roi")]
    columns = [Column("region", csvio.text), Column("channel", csvio.text), Column("period", csvio.text),
               Column("spend", csvio.amount)] + optional
    table = csvio.read_table(path, columns, str(path), keep_going=True)
    cells = {(c.region, c.channel) for c in scenario.response}
    names = list(scenario.periods.names)
    problems = list(table.problems)
    spend: dict[Key, float] = {}
    for row in table.rows:
        key = (row["region"], row["channel"], row["period"])
        if None in key or row["spend"] is None:
            continue
        if key[:2] not in cells:
            problems.append(Problem(table.file, row.line, "channel", f"{key[0]}/{key[1]} is not a response cell of the scenario"))
        elif key[2] not in names:
            problems.append(Problem(table.file, row.line, "period", f"unknown period {key[2]!r}{did_you_mean(key[2], names)}"))
        elif key in spend:
            problems.append(Problem(table.file, row.line, "", f"{key[0]}/{key[1]} in {key[2]} appears twice"))
        else:
            spend[key] = float(row["spend"])
    if problems:
        raise ScenarioError(problems)
    return spend


def change_bounds(scenario: Scenario, past: Past | None, reference: Mapping[Key, float] | None,
                  realised: Mapping[tuple[str, str], float | None] | None) -> tuple[ChangeBound, ...]:
    """The bounds every limit puts on every cell and period it matches (none in periods that are over)."""
    section = scenario.reallocation
    if reference is None:
        if section.reference is None and past is None:
            return ()  # no reference outside a re-plan: nothing to hold against (a note says so)
        reference = read_reference(scenario)
    classes = {r.id: r.class_ for r in scenario.regions}
    over = set(past.periods) if past is not None else set()
    problems, out = [], []
    for i, limit in enumerate(section.limits):
        flt = limit.where
        if flt.realised_roi is not None and realised is None:
            problems.append(Problem(scenario.source, None, f"reallocation.limits[{i}].where.realised_roi",
                                    "needs actuals: it is for `allocator replan`"))
            continue
        for c in scenario.response:
            if not flt.selects(c.region, classes[c.region], channel=c.channel):
                continue
            if flt.realised_roi is not None and not flt.realised_roi.holds(realised.get((c.region, c.channel))):
                continue
            for p in scenario.periods.names:
                if p in over or (flt.period is not None and p not in flt.period):
                    continue
                r = reference.get((c.region, c.channel, p))
                if r is None:
                    problems.append(Problem(scenario.source, None, "reallocation.reference",
                                            f"the reference plan has no spend for {c.region}/{c.channel} in {p}"))
                    continue
                low = None if limit.max_decrease is None else (1.0 - limit.max_decrease) * r
                high = None if limit.max_increase is None else (1.0 + limit.max_increase) * r
                out.append(ChangeBound(c.region, c.channel, p, i, r, low, high))
    if problems:
        raise ScenarioError(problems[:20])
    return tuple(out)


def limits_table(data) -> pd.DataFrame:
    """``change_limits.csv``: each limit's bounds per cell and period, and the reference spend."""
    rows = [(b.entry, b.region, b.channel, b.period, b.reference, b.low, b.high) for b in data.change_bounds]
    return pd.DataFrame(rows, columns=["limit", "region", "channel", "period", "reference", "min", "max"])


def unlocked_budgets(scenario: Scenario, actuals) -> tuple[tuple, list[dict]]:
    """The ``budget.unlocks`` whose condition holds in every period that is over, for every region
    of theirs: a region whose collection rate stays at or above ``min`` (and at most ``max``).
    Returns the unlocked budgets (``model.data.Unlocked``) and, per unlock, what was found."""
    from allocator.model.data import Unlocked

    found, active = [], []
    classes = {r.id: r.class_ for r in scenario.regions}
    total = scenario.budget.total
    for i, unlock in enumerate(scenario.budget.unlocks):
        flt, rate = unlock.where, unlock.if_.collection_rate
        regions = tuple(r for r, c in classes.items() if flt.selects(r, c))
        why = []
        for r in regions:
            for p in actuals.periods:
                value = actuals.collection_rate.get((r, p))
                if value is None:
                    why.append(f"no collection_rate for {r} in {p}")
                elif not rate.holds(value):
                    why.append(f"{r}'s collection rate is {value:.1%} in {p}")
        amount = unlock.value(total)
        found.append({"unlock": i, "regions": list(regions), "amount": amount, "unlocked": not why, "why": why})
        if not why:
            active.append(Unlocked(i, regions, amount))
    return tuple(active), found
