"""What a re-plan changed: ``changes.csv`` and the summary in words (``docs/replan.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.plan import Plan
from allocator.report import tables, words
from allocator.scenario.amounts import format_amount

CHANGE_COLUMNS = ["region", "channel", "period", "phase", "original_spend", "actual_spend", "new_spend",
                  "spend_change", "original_revenue", "actual_revenue", "new_revenue", "revenue_change"]
MOVES_SHOWN = 3  # cells named in the summary, each way
PRICES_SHOWN = 4  # binding constraints named, before and after
SMALL = 1e-4  # a move below this share of the budget is no move


def change_table(original: Plan, new: Plan, actuals) -> pd.DataFrame:
    """Per cell and period: the original plan, the actuals (periods that are over) and the new plan."""
    keys = ["region", "channel", "period"]
    old = original.allocation.set_index(keys)[["spend", "revenue"]]
    now = new.allocation.set_index(keys)[["spend", "revenue"]]
    past = actuals.past
    rows = []
    for (r, c, p), (spend, revenue) in now.iterrows():
        o = old.loc[(r, c, p)]
        over = p in past.periods
        rows.append((r, c, p, "actual" if over else "plan", float(o.spend),
                     past.spend[(r, c, p)] if over else np.nan, float(spend), float(spend - o.spend),
                     float(o.revenue), past.revenue[(r, c, p)] if over else np.nan, float(revenue),
                     float(revenue - o.revenue)))
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _binding(plan: Plan) -> list[dict]:
    table = words.binding_constraints(plan)
    table = table[table.shadow_price.abs() > 1e-9]
    return [{"name": str(n), "kind": str(k), "shadow_price": float(v)}
            for n, k, v in zip(table.name, table.kind, table.shadow_price)]


def explain(scenario, original: Plan, new: Plan, actuals, unlocks: list[dict] | None = None) -> dict:
    """``summary.json``'s ``replan``: the numbers of the revision and ``sentences`` saying them
    (``unlocks``: each ``budget.unlocks`` entry, whether its condition held and why not)."""
    currency = scenario.currency
    budget = float(scenario.budget.total)
    past = actuals.past
    rest = [p for p in scenario.periods.names if p not in past.periods]
    a = original.allocation
    over = a.period.isin(past.periods)
    planned_spend, planned_revenue = float(a.spend[over].sum()), float(a.revenue[over].sum())
    spent, sold = float(sum(past.spend.values())), float(sum(past.revenue.values()))
    people = _people_to_date(scenario, past)
    unlocks = unlocks or []
    unlocked = sum(u["amount"] for u in unlocks if u["unlocked"])
    out = {"as_of": actuals.as_of, "actuals": actuals.file, "past_periods": list(past.periods), "periods_left": rest,
           "spent_to_date": spent, "planned_spend_to_date": planned_spend, "revenue_to_date": sold,
           "planned_revenue_to_date": planned_revenue, "people_cost_to_date": people,
           "budget_left": budget + unlocked - spent - people, "unlocked": unlocked, "unlocks": unlocks,
           "original_objective": original.summary.get("objective"),
           "ignored_rows": actuals.ignored, "binding_before": _binding(original), "binding_after": [], "moves": []}
    m = lambda v: words.money(v, currency)  # noqa: E731
    span = rest[0] if len(rest) == 1 else f"{rest[0]}-{rest[-1]}"
    sentences = [
        f"Re-planned after {actuals.as_of} with the actuals of {', '.join(past.periods)}: marketing spent "
        f"{m(spent)} against {m(planned_spend)} planned, revenue {m(sold)} against {m(planned_revenue)} planned"
        f"{_percent(sold, planned_revenue)}.",
        f"{m(budget + unlocked - spent - people)} of the {m(budget)} budget"
        + (f" (and {m(unlocked)} unlocked)" if unlocked else "") + f" is left for {span}"
        + (f" (after {m(people)} of people cost so far)." if people else "."),
    ]
    for u in unlocks:
        regions = ", ".join(u["regions"]) or "no region"
        if u["unlocked"]:
            sentences.append(f"Unlocked {m(u['amount'])} more for {regions} (budget.unlocks[{u['unlock']}]: "
                             "the collection rate held in every period so far).")
        else:
            sentences.append(f"budget.unlocks[{u['unlock']}] ({regions}) stays locked: {'; '.join(u['why'][:3])}.")
    if not new.has_plan:
        sentences.append("No plan for the rest of the year meets every constraint with these actuals"
                         + (": " + new.diagnosis["explanation"] if new.diagnosis else "."))
        out["sentences"] = sentences
        return out
    changes = new.extra_tables["changes"]
    ahead = changes[changes.phase == "plan"]
    moved = ahead.groupby(["region", "channel"], sort=False).spend_change.sum()
    moved = moved[moved.abs() > SMALL * budget].sort_values(key=lambda s: -s.abs())
    out["moves"] = [{"cell": f"{r}/{c}", "spend_change": float(v)} for (r, c), v in moved.items()]
    ups = [f"{r}/{c} {_signed(v)}" for (r, c), v in moved.items() if v > 0][:MOVES_SHOWN]
    downs = [f"{r}/{c} {_signed(v)}" for (r, c), v in moved.items() if v < 0][:MOVES_SHOWN]
    if not ups and not downs:
        sentences.append(f"The plan for {span} is unchanged: no cell moves by more than "
                         f"{format_amount(SMALL * budget)}.")
    else:
        parts = ([f"more for {', '.join(ups)}"] if ups else []) + ([f"less for {', '.join(downs)}"] if downs else [])
        sentences.append(f"Over {span} the new plan spends {' and '.join(parts)} ({currency or 'currency'}).")
    out["binding_after"] = after = _binding(new)
    before = out["binding_before"]
    sentences.append(f"Full-year expected margin (actuals plus plan): {m(new.summary.get('objective'))}, against "
                     f"{m(original.summary.get('objective'))} in the original plan.")
    sentences.append("Why: binding before " + _prices(before) + "; after " + _prices(after) + ".")
    rows = set(new.constraints.name)  # rows of periods that are over (capacity) are gone, not loosened
    gone = [b["name"] for b in before if b["name"] not in {x["name"] for x in after} and b["name"] in rows]
    came = [x["name"] for x in after if x["name"] not in {b["name"] for b in before}]
    if came or gone:
        sentences.append(("Now binding: " + ", ".join(came) + ". " if came else "")
                         + ("No longer binding: " + ", ".join(gone) + "." if gone else ""))
    out["sentences"] = [s.strip() for s in sentences]
    return out


def _people_to_date(scenario, past) -> float:
    """People cost of the periods that are over, from the actual heads (so it is known whether or
    not the rest of the year has a plan): hires and releases are the changes in core heads."""
    if scenario.sales_force is None:
        return 0.0
    current = scenario.sales_force.current
    rows = []
    for region in {r for r, _ in past.core}:
        previous = float(current.get(region, 0))
        for p in past.periods:
            core = float(past.core.get((region, p), previous))
            change, previous = core - previous, core
            rows.append((p, core, max(change, 0.0), max(-change, 0.0), float(past.temp.get((region, p), 0.0))))
    heads = pd.DataFrame(rows, columns=["period", "core", "hires", "releases", "temp"])
    return float(tables.people_cost(scenario, heads).sum())


def _percent(value: float, against: float) -> str:
    return f" ({(value - against) / against:+.1%})" if against else ""


def _signed(value: float) -> str:
    return ("+" if value > 0 else "-") + format_amount(abs(value))


def _prices(rows: list[dict]) -> str:
    if not rows:
        return "none"
    shown = [f"{r['name']} ({r['shadow_price']:.3f})" for r in rows[:PRICES_SHOWN]]
    more = f" and {len(rows) - PRICES_SHOWN} more" if len(rows) > PRICES_SHOWN else ""
    return ", ".join(shown) + more
