"""Plain words for a plan: what the terminal, ``report.html`` and ``plan.xlsx`` say about it.

The machine names stay in ``summary.json`` (``objective``, ``mip_gap``); people read "expected
margin" and "within 0.01% of the best possible". One place writes each sentence, so the three
outputs cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocator.scenario.amounts import format_amount

UNALLOCATED_WARN = 0.01  # above this share of the budget left unallocated, the plan explains why
ROI_AT_ZERO = 0.005  # a marginal ROI this close to 0: the cell is spent up to where it stops paying

# summary key -> what a planner reads
LABELS = {
    "scenario": "scenario",
    "status": "status",
    "objective": "expected margin",
    "exact_curve_margin": "expected margin on the exact curves",
    "revenue": "revenue",
    "marketing_spend": "marketing spend",
    "people_cost": "people cost",
    "reserve": "reserve",
    "unallocated": "unallocated budget",
    "marketing_roi": "marketing ROI (margin)",
    "budget_shadow_price": "margin per extra 1 {currency} of budget",
    "mip_gap": "distance from the best possible plan",
    "solve_seconds": "solve time (seconds)",
    "solver": "solver",
    "headcount": "core heads (average over the horizon)",
    "temp_staff": "temp staff x periods",
}

STATUS_WORDS = {
    "optimal": "optimal plan",
    "feasible": "plan stopped by the time limit",
    "infeasible": "no plan: the constraints cannot all hold",
    "not_solved": "no plan: the time limit came before any plan was found",
}

# constraint kind -> (what it is, the unit its shadow price is per)
KIND_WORDS = {
    "budget": ("total budget", "margin per extra 1 {c} of budget"),
    "reserve": ("reserve band", "margin per 1 {c} the reserve bound moves"),
    "unlock": ("unlocked budget kept for its regions", "margin per 1 {c} of unlocked budget free to go elsewhere"),
    "spend_max": ("spend cap of a cell", "margin per extra 1 {c} of spend cap"),
    "spend_min": ("minimum spend of a cell", "margin per 1 {c} lower minimum"),
    "period_spend_max": ("spend cap of a cell in one period", "margin per extra 1 {c} of the period's cap"),
    "period_spend_min": ("minimum spend of a cell in one period", "margin per 1 {c} lower minimum"),
    "change_limit": ("change limit against the reference plan", "margin per extra 1 {c} the limit allows"),
    "potential": ("region potential (most revenue the market holds)", "margin per extra 1 {c} of potential"),
    "capacity": ("sales capacity (reps and temp staff)", "margin per extra 1 {c} of sales capacity"),
    "hire_limit": ("hiring limit", "margin per extra head hired"),
    "growth_floor": ("growth floor", "margin per 1 {c} lower revenue floor"),
    "revenue_floor": ("revenue target", "margin per 1 {c} lower revenue target"),
    "min_roi": ("ROI floor", "margin per 1 {c} of ROI shortfall allowed"),
    "policy": ("policy", "margin per 1 {c} the policy is loosened"),
    "temp_share": ("temp staff share of people cost", "margin per 1 {c} the share bound moves"),
    "response": ("response curve", "margin per extra 1 {c} of lift"),
    "adstock": ("carryover (effective spend)", "margin per extra 1 {c} of effective spend"),
}


def label(key: str, currency: str = "") -> str:
    return LABELS.get(key, key.replace("_", " ")).format(currency=currency or "unit")


def kind_words(kind: str) -> str:
    return KIND_WORDS.get(kind, (kind.replace("_", " "), ""))[0]


def price_unit(kind: str, currency: str = "", name: str = "", policies: dict | None = None) -> str:
    """What a constraint's shadow price is measured in ("margin per extra 1 CNY of budget")."""
    if kind == "policy" and policies and policies.get(name) == "headcount":
        return "margin per extra head the policy allows"
    unit = KIND_WORDS.get(kind, ("", "margin per unit the constraint is loosened"))[1]
    return unit.format(c=currency or "unit")


def policy_quantities(scenario) -> dict[str, str]:
    """Constraint name -> the quantity its policy shares (names built forward, never parsed)."""
    return {f"policy[{p.name}].{side}": p.share for p in scenario.policies for side in ("min", "max")}


def percent_up(share: float) -> str:
    """A share rounded *up* to one significant figure: 9.3e-05 -> ``0.01%`` (never flatters)."""
    pct = 100.0 * max(share, 0.0)
    if pct == 0:
        return "0%"
    exponent = math.floor(math.log10(pct))
    step = 10.0 ** exponent
    value = math.ceil(pct / step - 1e-9) * step
    text = f"{value:.{max(0, -exponent)}f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"


def gap_words(status: str, gap: float | None) -> str:
    """``within 0.01% of the best possible`` (and that the time limit stopped it, when it did)."""
    if status not in ("optimal", "feasible"):
        return "-"
    within = "the best possible" if not gap else f"within {percent_up(gap)} of the best possible"
    if status == "feasible":
        return f"stopped by the time limit: {within}"
    return "the best possible" if not gap else within


def money(value: float | None, currency: str = "") -> str:
    return "-" if value is None else f"{format_amount(value)} {currency}".strip()


def time_limit_sentence(summary: dict, time_limit: float | None = None) -> str | None:
    """A plan (or no plan) cut short by the time limit, said in words; None otherwise."""
    status = str(summary.get("status"))
    limit = f" ({time_limit:g} s)" if time_limit else ""
    if status == "feasible":
        gap = summary.get("mip_gap")
        within = f"within {percent_up(gap)} of" if gap else "possibly short of"
        return (f"The solver stopped at its time limit{limit}: this plan is {within} the best possible. "
                "Raise --time-limit (or solver.time_limit) for a proven optimum.")
    if status == "not_solved":
        return f"The solver stopped at its time limit{limit} before finding any plan; raise --time-limit."
    return None


@dataclass(frozen=True)
class UnallocatedNote:
    """Why part of the budget is left unspent: the headline, the reasons, and the binding rows."""

    amount: float
    share: float
    headline: str
    reasons: list[str] = field(default_factory=list)
    binding: pd.DataFrame = field(default_factory=pd.DataFrame)

    def lines(self) -> list[str]:
        return [self.headline, *[f"- {r}" for r in self.reasons]]


def _cell_roi(allocation: pd.DataFrame) -> pd.Series:
    """Each cell's marginal ROI over its periods, weighed by spend (all periods alike if none)."""
    return cell_roi(allocation, skip_unknown=True)


def cell_roi(allocation: pd.DataFrame, skip_unknown: bool) -> pd.Series:
    """Per (region, channel), in the table's order: the marginal ROI of its periods weighed by
    their spend, or their plain mean when it spends nothing. ``skip_unknown`` leaves periods
    without a ROI out of the weighing (else one makes the cell's ROI unknown)."""
    a = allocation
    roi = pd.to_numeric(a.marginal_roi, errors="coerce").astype(float)
    spent = (a.spend > 0) & (roi.notna() if skip_unknown else True)
    weight = a.spend.where(spent, 0.0).astype(float)
    parts = pd.DataFrame({"weighed": (roi * weight).where(spent & roi.notna(), 0.0), "weight": weight,
                          "spent": spent, "unknown": spent & roi.isna(), "roi": roi})
    g = parts.groupby([a.region, a.channel], sort=False).agg(
        weighed=("weighed", "sum"), weight=("weight", "sum"), spent=("spent", "sum"), unknown=("unknown", "sum"),
        mean=("roi", "mean"))
    has = g.spent.to_numpy() > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(has, g.weighed.to_numpy() / np.where(has, g.weight.to_numpy(), 1.0), g["mean"].to_numpy())
    value[has & (g.unknown.to_numpy() > 0)] = np.nan
    return pd.Series(value, index=g.index)


def binding_constraints(plan) -> pd.DataFrame:
    """Binding constraints other than the response curves (and the carryover identities, which
    always hold), with words and the unit of their price."""
    c = plan.constraints
    if c is None or c.empty:
        return pd.DataFrame(columns=["name", "kind", "what", "shadow_price", "unit"])
    rows = c[c.binding.astype(bool) & ~c.kind.isin(("response", "adstock"))].copy()
    currency = plan.scenario.currency
    quantities = policy_quantities(plan.scenario)
    rows["what"] = rows.kind.map(kind_words)
    rows["unit"] = [price_unit(k, currency, n, quantities) for k, n in zip(rows.kind, rows.name)]
    rows = rows.assign(size=rows.shadow_price.abs()).sort_values("size", ascending=False, kind="stable")
    return rows[["name", "kind", "what", "shadow_price", "unit"]].reset_index(drop=True)


def unallocated_note(plan, threshold: float = UNALLOCATED_WARN) -> UnallocatedNote | None:
    """The explanation when more than ``threshold`` of the budget is left unallocated, else None."""
    s = plan.summary
    budget = float(plan.scenario.budget.total)
    amount = s.get("unallocated")
    if not plan.has_plan or amount is None or budget <= 0 or amount <= threshold * budget:
        return None
    currency = plan.scenario.currency
    share = amount / budget
    headline = (f"{money(amount, currency)} ({share:.0%} of the budget) is left unallocated: "
                "no use of it adds expected margin.")
    reasons = []
    price = s.get("budget_shadow_price")
    if price is not None and abs(price) <= 1e-6:
        reasons.append(f"One more {currency or 'unit'} of budget adds no margin (its shadow price is 0).")
    roi = _cell_roi(plan.allocation).dropna()
    if len(roi):
        done = roi[roi <= ROI_AT_ZERO]
        reasons.append(f"{len(done)} of {len(roi)} cells are spent up to where one more {currency or 'unit'} of "
                       f"marketing earns back less than it costs (marginal ROI at or below 0).")
        held = roi[roi > ROI_AT_ZERO]
        if len(held):
            names = ", ".join(f"{r}/{ch}" for r, ch in held.index[:6]) + (", ..." if len(held) > 6 else "")
            reasons.append(f"{len(held)} cells would still pay ({names}) but are held back by these binding "
                           "constraints:")
    binding = binding_constraints(plan)
    for kind, group in binding.groupby("kind", sort=False):
        if kind in ("budget",):
            continue
        names = ", ".join(group.name.head(4)) + (f" and {len(group) - 4} more" if len(group) > 4 else "")
        reasons.append(f"{kind_words(kind)} binds: {names}.")
    return UnallocatedNote(amount, share, headline, reasons, binding)
