"""A solved model as tidy tables and totals (the ``Plan`` of the API and the run folder)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pulp

from allocator.model import curves
from allocator.model.build import Model
from allocator.model.response import cell_breakpoints
from allocator.scenario import Scenario, load_scenario
from allocator.solve import Solution, Status

HIDDEN_KINDS = ("curve_order", "headcount_flow")
ALLOCATION_COLUMNS = ["region", "channel", "period", "spend", "lift", "revenue", "marginal_roi"]
HEADCOUNT_COLUMNS = ["region", "period", "core", "hires", "releases", "temp", "capacity", "utilisation"]
CONSTRAINT_COLUMNS = ["name", "kind", "binding", "slack", "shadow_price"]
SUMMARY_KEYS = [
    "scenario", "status", "objective", "revenue", "marketing_spend", "people_cost", "reserve",
    "unallocated", "marketing_roi", "budget_shadow_price", "mip_gap", "exact_curve_margin",
    "exact_curve_bound", "exact_curve_gap", "pwl_objective", "solve_seconds", "solver",
]


@dataclass
class Plan:
    """What a run produces: status, totals, tables, and the diagnosis when no plan exists."""

    scenario: Scenario
    status: Status
    summary: dict
    allocation: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ALLOCATION_COLUMNS))
    headcount: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HEADCOUNT_COLUMNS))
    constraints: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CONSTRAINT_COLUMNS))
    diagnosis: dict | None = None
    timings: dict = field(default_factory=dict)
    extra_tables: dict = field(default_factory=dict)  # e.g. decomposition tables, by file stem

    @property
    def objective(self) -> float | None:
        return self.summary.get("objective")

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    def __getattr__(self, name: str):
        if name in SUMMARY_KEYS:
            return self.summary.get(name)
        raise AttributeError(name)

    @classmethod
    def read(cls, folder: str | Path) -> Plan:
        """A plan from a run folder written by :meth:`write` (for reports and comparisons)."""
        from allocator.output import read_csv

        folder = Path(folder)
        scenario = load_scenario(folder / "scenario.yaml")
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        plan = cls(scenario, Status(summary["status"]), summary)
        tables = {"allocation": ("region", "channel", "period"), "headcount": ("region", "period"),
                  "constraints": ("name", "kind")}
        for name, text in tables.items():
            if (folder / f"{name}.csv").exists():
                setattr(plan, name, read_csv(folder / f"{name}.csv", text))
        if (folder / "diagnosis.json").exists():
            plan.diagnosis = json.loads((folder / "diagnosis.json").read_text(encoding="utf-8"))
        known = {"allocation", "headcount", "constraints"}
        for path in sorted(folder.glob("*.csv")):
            if path.stem not in known:
                plan.extra_tables[path.stem] = read_csv(path)
        return plan

    def write(self, out_dir: str | Path = "runs") -> Path:
        """Write the run folder ``out_dir/<scenario>`` (a new one each time); return its path."""
        from allocator.output import write_run

        return write_run(self, Path(out_dir))


def _clean(values: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.where(np.abs(values) < tol, 0.0, values)


def tabulate(model: Model, solution: Solution) -> Plan:
    """Plan tables in currency from a solution with values (``optimal`` or ``feasible``)."""
    value = dict(zip(model.columns, solution.values))
    unit, data = model.unit, model.data

    def val(v: pulp.LpVariable | None) -> float:
        return 0.0 if v is None else float(value[v])

    rows = []
    exact_lift = []
    for cell in data.cells:
        m = cell.margin
        for period in data.periods:
            key = (cell.region, cell.channel, period)
            spend = max(0.0, sum(val(v) for v, _ in model.segments[key]) * unit)
            bp = cell_breakpoints(model, cell, period)
            season = data.season[period]
            lift = float(bp.interpolate(spend)) if bp is not None else 0.0
            if season > 0:
                exact = season * float(curves.value(cell.curve, [spend / season])[0])
                roi = m * float(curves.slope(cell.curve, [spend / season])[0]) - 1.0
            else:
                exact, roi = 0.0, float("nan")
            exact_lift.append(exact)
            revenue = max(0.0, val(model.revenue[key]) * unit)
            rows.append((cell.region, cell.channel, period, spend, lift, revenue, roi if np.isfinite(roi) else np.nan))
    allocation = pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)
    for col in ("spend", "lift", "revenue"):
        allocation[col] = _clean(allocation[col], 1e-7 * unit)

    headcount = _headcount(model, val, allocation)
    exact_gain = _exact_gain(model, allocation, headcount, np.asarray(exact_lift))
    constraints = _constraints(model, solution)
    margin = data.margin
    weights = np.array([margin[(r, c)] for r, c in zip(allocation.region, allocation.channel)])
    revenue = float(allocation.revenue.sum())
    spend = float(allocation.spend.sum())
    people = _people_cost(model, headcount)
    reserve = max(0.0, val(model.reserve) * unit)
    pwl_objective = float(weights @ allocation.revenue.to_numpy()) - spend - people
    objective = pwl_objective + exact_gain  # what the plan earns on the exact curves
    budget_price = _budget_price(model, constraints)
    summary = {
        "scenario": data.scenario.scenario,
        "status": str(solution.status),
        "objective": objective,
        "revenue": revenue,
        "marketing_spend": spend,
        "people_cost": people,
        "reserve": reserve,
        "unallocated": max(0.0, data.budget - spend - people - reserve),
        "marketing_roi": float(weights @ allocation.lift.to_numpy()) / spend - 1.0 if spend > 0 else None,
        "budget_shadow_price": budget_price,
        "mip_gap": solution.mip_gap,
        "exact_curve_margin": objective,
        "exact_curve_bound": None,  # set by the refinement (allocator/exact.py)
        "exact_curve_gap": None,
        "pwl_objective": pwl_objective,
        "solve_seconds": solution.seconds,
        "solver": solution.solver,
    }
    return Plan(data.scenario, solution.status, summary, allocation, headcount, constraints.reset_index(drop=True))


def _exact_gain(model: Model, allocation: pd.DataFrame, headcount: pd.DataFrame, exact: np.ndarray) -> float:
    """Margin the plan gains (or loses) when each cell's lift is read off the exact curve.

    Where the exact curve gives less than the interpolant, a target above base + exact lift is
    not met. Where it gives more, the extra is sold only by cells whose target is their whole
    demand, and only within the room the plan leaves under capacity and potential (highest
    margin first).
    """
    data = model.data
    a = allocation.assign(exact=exact, margin=[data.margin[(r, c)] for r, c in zip(allocation.region, allocation.channel)])
    a["base"] = [data.season[p] * cell.base for cell in data.cells for p in data.periods]
    tol = 1e-6 * data.budget
    cap_room = {}
    if not headcount.empty:
        sold = a.groupby(["region", "period"]).revenue.sum()
        cap_room = {(r, p): c - sold.get((r, p), 0.0) for r, p, c in zip(headcount.region, headcount.period, headcount.capacity)}
    sold_r = a.groupby("region").revenue.sum()
    pot_room = {r: cap - sold_r.get(r, 0.0) for r, cap in data.potential.items()}
    gain = 0.0
    for row in a.sort_values("margin", ascending=False, kind="stable").itertuples():
        delta = row.exact - row.lift
        if delta < 0:
            gain -= row.margin * max(0.0, row.revenue - (row.base + row.exact))
        elif row.revenue >= row.base + row.lift - tol:  # demand-limited: it could sell more
            room = min(cap_room.get((row.region, row.period), np.inf), pot_room.get(row.region, np.inf))
            extra = max(0.0, min(delta, room))
            gain += row.margin * extra
            if (row.region, row.period) in cap_room:
                cap_room[(row.region, row.period)] -= extra
            if row.region in pot_room:
                pot_room[row.region] -= extra
    return gain


def _budget_price(model: Model, constraints: pd.DataFrame) -> float | None:
    """What one more unit of ``budget.total`` buys: the budget row's price, less the reserve share
    it must hold back, plus the spend bounds that default to the budget and grow with it."""
    low, high = model.data.reserve
    weights = {"budget": 1.0, "reserve_min": -low, "reserve_max": high}
    total = 0.0
    for i, price in constraints.shadow_price.items():  # indexed by model row
        row = model.rows[i]
        weight = 1.0 if row.meta.get("follows_budget") else weights.get(row.name, 0.0)
        if weight:
            total += weight * price
    return float(total) if "budget" in set(constraints.name) and np.isfinite(total) else None


def _headcount(model: Model, val, allocation: pd.DataFrame) -> pd.DataFrame:
    data, sf = model.data, model.data.staffing
    if sf is None:
        return pd.DataFrame(columns=HEADCOUNT_COLUMNS)
    sold = allocation.groupby(["region", "period"], sort=False).revenue.sum().to_dict()
    rows = []
    for region in data.regions:
        for period in data.periods:
            key = (region, period)
            core, hires = round(val(model.core[key])), round(val(model.hires[key]))
            releases = round(val(model.releases.get(key)))
            temp = round(val(model.temp.get(key)))
            capacity = sf.capacity * data.length[period] * core + sf.temp_capacity * temp
            revenue = sold.get(key, 0.0)
            utilisation = revenue / capacity if capacity > 0 else np.nan
            rows.append((region, period, core, hires, releases, temp, capacity, utilisation))
    return pd.DataFrame(rows, columns=HEADCOUNT_COLUMNS)


def _people_cost(model: Model, headcount: pd.DataFrame) -> float:
    sf, data = model.data.staffing, model.data
    if sf is None or headcount.empty:
        return 0.0
    length = headcount.period.map(data.length)
    return float(
        (sf.cost * length * headcount.core).sum()
        + sf.hire_cost * headcount.hires.sum()
        + sf.release_cost * headcount.releases.sum()
        + sf.temp_cost * headcount.temp.sum()
    )


def _constraints(model: Model, solution: Solution) -> pd.DataFrame:
    rows, index = [], []
    for i, row in enumerate(model.rows):
        if row.kind in HIDDEN_KINDS:
            continue
        con = row.constraint
        rhs = -con.constant
        activity = float(solution.activity[i])
        if con.sense == pulp.LpConstraintLE:
            slack, sign = rhs - activity, 1.0
        elif con.sense == pulp.LpConstraintGE:
            slack, sign = activity - rhs, -1.0
        else:
            slack, sign = 0.0, 1.0
        binding = slack <= 1e-6 * max(1.0, abs(rhs))
        dual = solution.duals[i]
        price = sign * dual * model.unit / row.scale if np.isfinite(dual) else np.nan
        rows.append((row.name, row.kind, bool(binding), max(0.0, slack) * row.scale, price))
        index.append(i)
    frame = pd.DataFrame(rows, columns=CONSTRAINT_COLUMNS, index=index)  # indexed by model row
    frame["shadow_price"] = _clean(frame.shadow_price.to_numpy(), 1e-9)
    return frame
