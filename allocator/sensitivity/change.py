"""What changed between two plans, as a table and in words (for notebooks and reports).

>>> low, high = solve(base), solve(base.with_changes({"budget.total": "8M"}))   # doctest: +SKIP
>>> print(describe_change(low, high, ("6M", "8M")))
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from allocator.plan import Plan
from allocator.scenario.amounts import format_amount

MEASURES = ("spend", "revenue")
SAME = 1e-4  # margins closer than this (relative) are the same plan up to the curves' and the MIP's tolerance


def allocation_change(before: Plan, after: Plan, by: Sequence[str] = ("region", "channel")) -> pd.DataFrame:
    """Spend and revenue per ``by`` group in both plans and the change, largest spend change first."""
    if not (before.has_plan and after.has_plan):
        raise ValueError("both plans need a solution (status optimal or feasible)")
    by = list(by)
    a = before.allocation.groupby(by, sort=False)[list(MEASURES)].sum()
    b = after.allocation.groupby(by, sort=False)[list(MEASURES)].sum()
    table = a.add_suffix("_before").join(b.add_suffix("_after"), how="outer").fillna(0.0)
    for m in MEASURES:
        table[f"{m}_change"] = table[f"{m}_after"] - table[f"{m}_before"]
    order = table.spend_change.abs().sort_values(ascending=False, kind="stable").index
    columns = [f"{m}_{w}" for m in MEASURES for w in ("before", "after", "change")]
    return table.loc[order, columns].reset_index()


def _money(value: float, currency: str) -> str:
    return f"{format_amount(value)} {currency}".strip()


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + format_amount(abs(value))


def describe_change(before: Plan, after: Plan, names: tuple[str, str] = ("before", "after"), top: int = 3) -> str:
    """A few sentences a planner can paste: margin, where the money moved, where revenue grew."""
    currency = after.scenario.currency
    if not (before.has_plan and after.has_plan):
        missing = [n for n, p in zip(names, (before, after)) if not p.has_plan]
        return f"No comparison: {' and '.join(missing)} has no plan ({', '.join(str(p.status) for p in (before, after))})."
    s, t = before.summary, after.summary
    diff = t["objective"] - s["objective"]
    if abs(diff) <= SAME * max(abs(s["objective"]), abs(t["objective"])):
        lines = [f"From {names[0]} to {names[1]} the expected margin stays the same "
                 f"({_money(t['objective'], currency)}, within {SAME:.2%})."]
    else:
        lines = [f"From {names[0]} to {names[1]} the expected margin {'rises' if diff > 0 else 'falls'} by "
                 f"{_money(abs(diff), currency)} ({_money(s['objective'], currency)} -> {_money(t['objective'], currency)})."]
    parts = []
    for key, words in (("marketing_spend", "marketing"), ("people_cost", "people cost"), ("reserve", "the reserve"),
                       ("unallocated", "unallocated money")):
        change = (t[key] or 0.0) - (s[key] or 0.0)
        if abs(change) >= 0.5e-3 * max(1.0, abs(s[key] or 0.0), abs(t[key] or 0.0)):
            parts.append(f"{words} {_signed(change)}")
    if parts:
        lines.append("Budget use: " + ", ".join(parts) + ".")
    table = allocation_change(before, after)
    label = table.region + "/" + table.channel
    noise = 1e-4 * max(1.0, float(table.spend_after.abs().max()))
    gains = [f"{n} ({_signed(v)})" for n, v in zip(label, table.spend_change) if v > noise][:top]
    cuts = [f"{n} ({_signed(v)})" for n, v in zip(label, table.spend_change) if v < -noise][:top]
    if gains:
        lines.append("Marketing grows most in " + ", ".join(gains) + ".")
    if cuts:
        lines.append("It is cut in " + ", ".join(cuts) + ".")
    if not gains and not cuts:
        lines.append("The marketing allocation is the same.")
    by_region = table.groupby("region", sort=False).revenue_change.sum().sort_values(ascending=False)
    moved = [f"{r} ({_signed(v)})" for r, v in by_region.items() if abs(v) > noise][:top]
    if moved:
        lines.append("Revenue targets move most in " + ", ".join(moved) + ".")
    return " ".join(lines)
