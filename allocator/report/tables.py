"""Finance views of a plan, derived from its tables (never from the model): summary by period,
plan against last year, hires by region, and the inputs and assumptions in words.

Every figure here is a sum or ratio of ``plan.allocation`` / ``plan.headcount`` and the scenario's
own numbers; the totals rows add up to the plan's summary (``tests/test_reports.py`` checks it).
"""

from __future__ import annotations

import pandas as pd

from allocator.scenario.amounts import format_amount, format_share


def cell_margins(scenario) -> dict[tuple[str, str], float]:
    """Gross margin per (region, channel): the cell's own, else its channel's."""
    channel = {c.id: c.gross_margin for c in scenario.channels}
    return {(c.region, c.channel): c.gross_margin if c.gross_margin is not None else channel.get(c.channel, 0.0)
            for c in scenario.response}


def period_lengths(scenario) -> dict[str, float]:
    names = list(scenario.periods.names)
    return dict(zip(names, scenario.periods.length or [1 / len(names)] * len(names)))


def period_seasons(scenario) -> dict[str, float]:
    """Each period's share of the horizon's demand: ``seasonality``, else the periods' lengths."""
    names = list(scenario.periods.names)
    return dict(zip(names, scenario.periods.seasonality or period_lengths(scenario).values()))


def people_cost_by_period(plan) -> pd.Series:
    """People cost per period: core heads for the period's length, hires, releases and temp staff."""
    return people_cost(plan.scenario, plan.headcount)


def people_cost(scenario, heads: pd.DataFrame | None) -> pd.Series:
    """People cost per period of a headcount table (``period, core, hires, releases, temp`` rows)."""
    periods = list(scenario.periods.names)
    sf = scenario.sales_force
    if sf is None or heads is None or heads.empty:
        return pd.Series(0.0, index=periods)
    length = heads.period.map(period_lengths(scenario))
    temp_cost = sf.temp_staff.cost_per_head if sf.temp_staff is not None else 0.0
    cost = (sf.cost_per_head * length * heads.core + sf.hire_cost * heads.hires
            + sf.release_cost * heads.releases + temp_cost * heads.temp)
    return cost.groupby(heads.period).sum().reindex(periods, fill_value=0.0)


def summary_by_period(plan) -> pd.DataFrame:
    """Revenue, gross margin, marketing spend, people cost and expected margin per period, and a
    total row (the reserve is held for the whole horizon, so it appears in the total only)."""
    periods = list(plan.scenario.periods.names)
    a = plan.allocation
    margins = cell_margins(plan.scenario)
    weights = [margins.get((r, c), 0.0) for r, c in zip(a.region, a.channel)]
    a = a.assign(gross=a.revenue * pd.Series(weights, index=a.index))
    by = a.groupby("period", sort=False)[["revenue", "gross", "spend"]].sum().reindex(periods, fill_value=0.0)
    table = pd.DataFrame({
        "period": periods,
        "revenue": by.revenue.to_numpy(),
        "gross_margin": by.gross.to_numpy(),
        "marketing_spend": by.spend.to_numpy(),
        "people_cost": people_cost_by_period(plan).to_numpy(),
    })
    table["expected_margin"] = table.gross_margin - table.marketing_spend - table.people_cost
    table["reserve"] = float("nan")
    total = {"period": "total", **{c: table[c].sum() for c in table.columns if c not in ("period", "reserve")},
             "reserve": plan.summary.get("reserve")}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def vs_last_year(plan, by: str) -> pd.DataFrame:
    """Planned revenue per region (or channel) against last year's: value, change, change in %.

    Last year's revenue is in the scenario by region only; by channel the columns stay empty
    rather than invent a split."""
    table = plan.allocation.groupby(by, sort=False)[["revenue"]].sum().rename(columns={"revenue": "plan_revenue"})
    last = {r.id: r.last_year_revenue for r in plan.scenario.regions} if by == "region" else {}
    table["last_year_revenue"] = [last.get(k) for k in table.index]
    table["last_year_revenue"] = pd.to_numeric(table.last_year_revenue, errors="coerce")
    table["change"] = table.plan_revenue - table.last_year_revenue
    table["change_pct"] = table.change / table.last_year_revenue
    table["share_of_revenue"] = table.plan_revenue / table.plan_revenue.sum() if table.plan_revenue.sum() else 0.0
    table = table.rename_axis(by).reset_index()
    known = table.last_year_revenue.notna()
    ly_total = table.last_year_revenue[known].sum() if known.any() else float("nan")
    plan_known = table.plan_revenue[known].sum() if known.any() else float("nan")
    total = {by: "total", "plan_revenue": table.plan_revenue.sum(), "last_year_revenue": ly_total,
             "change": plan_known - ly_total, "change_pct": (plan_known - ly_total) / ly_total if known.any() else float("nan"),
             "share_of_revenue": 1.0}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def hires_by_region(plan) -> pd.DataFrame:
    """Hires, releases, heads at the start and the end, and temp staff (x periods) per region."""
    heads = plan.headcount
    cols = ["region", "heads_now", "hires", "releases", "heads_at_end", "temp_staff_periods"]
    if heads is None or heads.empty:
        return pd.DataFrame(columns=cols)
    sf = plan.scenario.sales_force
    rows = []
    for region, part in heads.groupby("region", sort=False):
        rows.append((region, sf.current.get(region, 0) if sf is not None else 0, int(part.hires.sum()),
                     int(part.releases.sum()), int(part.core.iloc[-1]), int(part.temp.sum())))
    table = pd.DataFrame(rows, columns=cols)
    total = {"region": "total", **{c: table[c].sum() for c in cols[1:]}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def curve_words(curve) -> str:
    """A response curve's parameters in words."""
    t = curve.type
    if t == "hill":
        return (f"Hill: lift rises to at most {format_amount(curve.max_lift)}, half of it at "
                f"{format_amount(curve.half_saturation)} of spend (shape {curve.shape:g})")
    if t == "exp":
        return (f"exponential: lift rises to at most {format_amount(curve.max_lift)}, "
                f"63% of it at {format_amount(curve.scale)} of spend")
    if t == "log":
        return (f"logarithmic: lift = {format_amount(curve.scale_lift)} x ln(1 + spend / "
                f"{format_amount(curve.scale)}), no ceiling")
    if t == "linear":
        cap = f", up to {format_amount(curve.cap)} of spend" if curve.cap is not None else ""
        return f"linear: {curve.roas:g} of revenue per 1 of spend{cap}"
    if t == "points":
        last = curve.points[-1]
        return (f"{len(curve.points)} points, straight between them, up to {format_amount(last[1])} of lift "
                f"at {format_amount(last[0])}")
    return t


def curves_table(scenario) -> pd.DataFrame:
    margins = cell_margins(scenario)
    rows = []
    for cell in scenario.response:
        rows.append((cell.region, cell.channel, cell.curve.type, curve_words(cell.curve), cell.base,
                     cell.spend.min, cell.spend.max, margins.get(cell.key), cell.min_roi))
    return pd.DataFrame(rows, columns=["region", "channel", "curve", "in_words", "base_revenue", "spend_min",
                                       "spend_max", "gross_margin_pct", "min_roi"])


def assumptions(scenario) -> pd.DataFrame:
    """The scenario's inputs in words: one row per setting (section, item, value)."""
    s, rows = scenario, []

    def add(section: str, item: str, value) -> None:
        rows.append((section, item, value))

    add("budget", "total budget", s.budget.total)
    add("budget", "reserve band", f"{format_share(s.budget.reserve.min)} to {format_share(s.budget.reserve.max)} of the budget")
    if s.targets.revenue is not None:
        add("targets", "revenue target", s.targets.revenue)
    for cls, g in s.targets.growth_floor.items():
        add("targets", f"growth floor ({cls} regions)", f"{format_share(g)} over last year")
    for r in s.regions:
        extra = [f"class {r.class_}"]
        if r.last_year_revenue is not None:
            extra.append(f"last year {format_amount(r.last_year_revenue)}")
        if r.potential is not None:
            extra.append(f"potential {format_amount(r.potential)}")
        if r.growth_floor is not None:
            extra.append(f"growth floor {format_share(r.growth_floor)}")
        add("regions", r.id, ", ".join(extra))
    for c in s.channels:
        roi = f", ROI floor {format_share(c.min_roi)}" if c.min_roi is not None else ""
        add("channels", c.id, f"gross margin {format_share(c.gross_margin)}{roi}")
    for p in s.policies:
        bounds = " and ".join(b for b in (f"at least {format_share(p.min)}" if p.min is not None else "",
                                           f"at most {format_share(p.max)}" if p.max is not None else "") if b)
        add("policies", p.name, f"{p.share.replace('_', ' ')}: {bounds}")
    sf = s.sales_force
    if sf is not None:
        add("sales force", "cost per rep (horizon)", sf.cost_per_head)
        add("sales force", "revenue per rep (horizon)", sf.revenue_capacity)
        add("sales force", "reps now", ", ".join(f"{k} {v}" for k, v in sf.current.items()) or "-")
        if sf.max_hires_per_period is not None:
            hires = sf.max_hires_per_period
            add("sales force", "most hires per period",
                hires if isinstance(hires, int) else ", ".join(f"{k} {v}" for k, v in hires.items()))
        add("sales force", "cost per hire", sf.hire_cost)
        add("sales force", "releases allowed", "yes" if sf.allow_release else "no")
        if sf.temp_staff is not None:
            t = sf.temp_staff
            add("sales force", "temp staff periods", ", ".join(t.periods))
            add("sales force", "cost per temp staffer (period)", t.cost_per_head)
            add("sales force", "revenue per temp staffer (period)", t.revenue_capacity)
            if t.share_of_people_cost is not None:
                band = t.share_of_people_cost
                add("sales force", "temp share of people cost", f"{format_share(band.min)} to {format_share(band.max)}")
    add("solver", "solver", s.solver.name)
    add("solver", "time limit (s)", s.solver.time_limit if s.solver.time_limit is not None else "none")
    add("solver", "MIP gap tolerance", format_share(s.solver.mip_gap))
    add("solver", "curve tolerance (piecewise-linear)", format_share(s.solver.pwl_tolerance))
    return pd.DataFrame(rows, columns=["section", "item", "value"])
