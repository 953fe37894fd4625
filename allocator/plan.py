"""A solved model as tidy tables and totals (the ``Plan`` of the API and the run folder).

:func:`plan_arrays` reads a solution into per cell-period and per region-period arrays;
:func:`totals` turns them into the summary (the one place totals are computed: ``tabulate`` and a
sweep's rows both call it); :func:`tabulate` adds the tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.model import carryover, curves
from allocator.model.build import PlanningModel
from allocator.model.kinds import GE, LE, RowKind, Status
from allocator.scenario import Scenario, load_scenario
from allocator.solve import Solution

HIDDEN_KINDS = ("curve_order", "headcount_flow", "past")  # past: a re-plan's actuals, not a constraint to loosen
ALLOCATION_COLUMNS = ["region", "channel", "period", "spend", "effective_spend", "lift", "revenue", "marginal_roi"]
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
    model: object | None = field(default=None, repr=False, compare=False)  # the PlanningModel solved

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
        if "spend" in plan.allocation.columns and "effective_spend" not in plan.allocation.columns:
            # a run folder written before carryover: the curve applied to the spend itself
            plan.allocation.insert(list(plan.allocation.columns).index("spend") + 1, "effective_spend",
                                   plan.allocation["spend"])
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


Model = PlanningModel  # the name earlier modules used


@dataclass
class _Index:
    """Where a model's quantities sit among its columns, read once per model structure."""

    keys: list  # (region, channel, period), cell by cell, period by period
    breaks: list
    seg_cols: np.ndarray
    seg_key: np.ndarray
    revenue_cols: np.ndarray
    staff_keys: list
    core_cols: np.ndarray
    hire_cols: np.ndarray
    release_cols: np.ndarray  # -1 where a period has no release column
    temp_cols: np.ndarray  # -1 where a period has no temp staff
    visible: np.ndarray  # rows shown in constraints.csv
    seg_start: np.ndarray  # each segment's first spend (currency) and width, for the interpolated lift
    seg_width: np.ndarray
    seg_slope: np.ndarray
    response_rows: np.ndarray  # per cell-period its response row (rhs: base revenue, model units)
    region_of: np.ndarray  # per cell-period: its region's position, and its (region, period) staff position
    staff_of: np.ndarray
    spend_col: np.ndarray  # per cell-period its spend column with carryover, -1 without (spend: the segments)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _index(model: PlanningModel) -> _Index:
    cached = getattr(model, "_plan_index", None)
    if cached is not None and cached[0] == (model.response_key, model.ncols, model.nrows):
        return cached[1]
    data = model.data
    keys = [(c.region, c.channel, p) for c in data.cells for p in data.periods]
    breaks = [model.breakpoints[k] for k in keys]  # as the response family built them
    seg_cols = [model.segments[k][0] for k in keys]
    seg_key = np.repeat(np.arange(len(keys)), [len(c) for c in seg_cols])
    staff = list(model.core)

    def cols(where: dict) -> np.ndarray:
        return np.array([where.get(k, -1) for k in staff], dtype=np.int64)

    starts = [bp.spend[:-1] if bp is not None else np.zeros(0) for bp in breaks]
    widths = [np.diff(bp.spend) if bp is not None else np.zeros(0) for bp in breaks]
    slopes = [bp.slopes if bp is not None else np.zeros(0) for bp in breaks]
    region = {r: k for k, r in enumerate(data.regions)}
    staff_at = {key: k for k, key in enumerate(staff)}
    index = _Index(keys, breaks, np.concatenate(seg_cols) if seg_cols else np.zeros(0, np.int64), seg_key,
                   np.array([model.revenue[k] for k in keys], dtype=np.int64), staff, cols(model.core),
                   cols(model.hires), cols(model.releases), cols(model.temp),
                   np.array([k not in HIDDEN_KINDS for k in model.kinds], dtype=bool),
                   _concat(starts), _concat(widths), _concat(slopes),
                   np.array([model.response_rows[k] for k in keys], dtype=np.int64),
                   np.array([region[k[0]] for k in keys], dtype=np.int64),
                   np.array([staff_at.get((k[0], k[2]), -1) for k in keys], dtype=np.int64),
                   np.array([model.spend_cols.get(k, -1) for k in keys], dtype=np.int64))
    model._plan_index = ((model.response_key, model.ncols, model.nrows), index)
    return index


@dataclass
class PlanArrays:
    """A solution in currency: per cell-period (``keys`` order) and per region-period."""

    keys: list
    spend: np.ndarray
    effective: np.ndarray  # the spend the curve applies to: with carryover its adstock, else the spend
    lift: np.ndarray
    revenue: np.ndarray
    exact: np.ndarray  # lift on the exact curve
    roi: np.ndarray  # marginal ROI on the exact curve
    margin: np.ndarray
    staff_keys: list
    core: np.ndarray
    hires: np.ndarray
    releases: np.ndarray
    temp: np.ndarray
    reserve: float


def plan_arrays(model: PlanningModel, solution: Solution) -> PlanArrays:
    data, unit, x = model.data, model.unit, solution.values
    ix = _index(model)
    n = len(ix.keys)
    effective = np.maximum(0.0, np.bincount(ix.seg_key, weights=x[ix.seg_cols], minlength=n) * unit)
    carrying = ix.spend_col >= 0
    spend = np.where(carrying, np.maximum(0.0, x[np.maximum(ix.spend_col, 0)] * unit), effective)
    # the interpolant at the effective spend: each segment filled up to it, times its slope
    fill = np.clip(effective[ix.seg_key] - ix.seg_start, 0.0, ix.seg_width)
    lift = np.bincount(ix.seg_key, weights=fill * ix.seg_slope, minlength=n)
    exact, roi = np.zeros(n), np.full(n, np.nan)
    width = len(data.periods)
    season = np.array([data.season[p] for p in data.periods])
    on = season > 0
    for k, cell in enumerate(data.cells):  # the keys run cell by cell, period by period
        part = slice(k * width, (k + 1) * width)
        annual = np.where(on, effective[part] / np.where(on, season, 1.0), 0.0)
        exact[part] = np.where(on, season * curves.value(cell.curve, annual), 0.0)
        with np.errstate(invalid="ignore"):
            slope = np.where(on, curves.slope(cell.curve, annual), 0.0)
            if carrying[part].any():  # a unit spent in t works in t..t+L, with weights w_k
                r = cell.margin * carryover.spread(cell.carryover, slope) - 1.0
                roi[part] = np.where(np.isfinite(r), r, np.nan)
            else:
                r = cell.margin * slope - 1.0
                roi[part] = np.where(on & np.isfinite(r), r, np.nan)
    tol = 1e-7 * unit
    revenue = np.maximum(0.0, x[ix.revenue_cols] * unit)
    spend, effective, lift, revenue = (np.where(np.abs(a) < tol, 0.0, a) for a in (spend, effective, lift, revenue))
    margin = np.array([data.margin[k[:2]] for k in ix.keys])

    def heads(cols: np.ndarray) -> np.ndarray:
        return np.where(cols >= 0, np.round(x[np.maximum(cols, 0)]), 0.0) if len(cols) else np.zeros(0)

    reserve = max(0.0, float(x[model.reserve]) * unit)
    return PlanArrays(ix.keys, spend, effective, lift, revenue, exact, roi, margin, ix.staff_keys, heads(ix.core_cols),
                      heads(ix.hire_cols), heads(ix.release_cols), heads(ix.temp_cols), reserve)


def _heads_terms(x: np.ndarray, by_key: dict, keys: list) -> np.ndarray:
    """``sum coef * round(column)`` per key, for terms kept per (region, period) on the model."""
    out = np.zeros(len(keys))
    for k, key in enumerate(keys):
        cols, vals = by_key[key]
        out[k] = float(vals @ np.round(x[cols]))
    return out


def _capacity(model: PlanningModel, solution: Solution, a: PlanArrays) -> np.ndarray:
    """Revenue the sales force can carry per region-period: the capacity family's own terms."""
    if not a.staff_keys:
        return np.zeros(0)
    return -model.unit * _heads_terms(solution.values, model.capacity_terms, a.staff_keys)


def _people(model: PlanningModel, solution: Solution, a: PlanArrays) -> float:
    """People cost in currency: the staffing family's people-cost terms at the plan's heads."""
    if not a.staff_keys:
        return 0.0
    return float(model.unit * _heads_terms(solution.values, model.people_cost_terms, a.staff_keys).sum())


def totals(model: PlanningModel, solution: Solution, a: PlanArrays | None = None) -> dict:
    """The summary of a solved model (``summary.json``): used by ``tabulate`` and by sweep rows."""
    a = plan_arrays(model, solution) if a is None else a
    data = model.data
    gain = exact_gain(model, a, _capacity(model, solution, a))
    spend, revenue = float(a.spend.sum()), float(a.revenue.sum())
    people = _people(model, solution, a)
    pwl_objective = float(a.margin @ a.revenue) - spend - people
    objective = pwl_objective + gain  # what the plan earns on the exact curves (docs/exact-curves.md)
    return {
        "scenario": data.scenario.scenario,
        "status": str(solution.status),
        "objective": objective,
        "revenue": revenue,
        "marketing_spend": spend,
        "people_cost": people,
        "reserve": a.reserve,
        "unallocated": max(0.0, data.budget - spend - people - a.reserve),
        "marketing_roi": float(a.margin @ a.lift) / spend - 1.0 if spend > 0 else None,
        "budget_shadow_price": budget_price(model, solution),
        "mip_gap": solution.mip_gap,
        "exact_curve_margin": objective,
        "exact_curve_bound": None,  # set by the refinement (allocator/exact.py)
        "exact_curve_gap": None,
        "pwl_objective": pwl_objective,
        "solve_seconds": solution.seconds,
        "solver": solution.solver,
    }


def no_plan_summary(scenario: Scenario, solution: Solution) -> dict:
    """The summary of a solve that found no plan (status, solver, time; and the solver's message)."""
    summary = dict.fromkeys(SUMMARY_KEYS)
    summary.update(scenario=scenario.scenario, status=str(solution.status), solver=solution.solver,
                   solve_seconds=solution.seconds)
    if solution.message:
        summary["message"] = solution.message
    return summary


def tabulate(model: PlanningModel, solution: Solution) -> Plan:
    """Plan tables in currency from a solution with values (``optimal`` or ``feasible``)."""
    data = model.data
    a = plan_arrays(model, solution)
    allocation = pd.DataFrame({"region": [k[0] for k in a.keys], "channel": [k[1] for k in a.keys],
                               "period": [k[2] for k in a.keys], "spend": a.spend,
                               "effective_spend": a.effective, "lift": a.lift,
                               "revenue": a.revenue, "marginal_roi": a.roi}, columns=ALLOCATION_COLUMNS)
    headcount = pd.DataFrame(columns=HEADCOUNT_COLUMNS)
    if data.staffing is not None:
        capacity = _capacity(model, solution, a)
        sold = allocation.groupby(["region", "period"], sort=False).revenue.sum().to_dict()
        revenue = np.array([sold.get(k, 0.0) for k in a.staff_keys])
        with np.errstate(divide="ignore", invalid="ignore"):
            utilisation = np.where(capacity > 0, revenue / np.where(capacity > 0, capacity, 1.0), np.nan)
        headcount = pd.DataFrame({
            "region": [k[0] for k in a.staff_keys], "period": [k[1] for k in a.staff_keys],
            "core": a.core.astype(int), "hires": a.hires.astype(int), "releases": a.releases.astype(int),
            "temp": a.temp.astype(int), "capacity": capacity, "utilisation": utilisation}, columns=HEADCOUNT_COLUMNS)
    summary = totals(model, solution, a)
    constraints = constraint_table(model, solution)
    return Plan(data.scenario, solution.status, summary, allocation, headcount, constraints.reset_index(drop=True))


def exact_gain(model: PlanningModel, a: PlanArrays, capacity: np.ndarray) -> float:
    """Margin the plan gains (or loses) when each cell's lift is read off the exact curve.

    Where the exact curve gives less than the interpolant, a target above base + exact lift is
    not met. Where it gives more, the extra is sold only by cells whose target is their whole
    demand, and only within the room the plan leaves under capacity and potential (highest
    margin first).
    """
    data = model.data
    ix = _index(model)
    base = np.asarray(model.rhs)[ix.response_rows] * model.unit  # read now: an update may change it
    delta = a.exact - a.lift
    if data.past is not None:  # a period that is over sold its actual revenue, whatever the curve says
        delta = np.where([data.is_past(k[2]) for k in ix.keys], 0.0, delta)
    short = delta < 0
    gain = -float(a.margin[short] @ np.maximum(0.0, a.revenue - (base + a.exact))[short])
    tol = 1e-6 * data.budget
    cap_room = capacity - np.bincount(ix.staff_of[ix.staff_of >= 0], weights=a.revenue[ix.staff_of >= 0],
                                      minlength=len(capacity)) if len(capacity) else capacity
    sold = np.bincount(ix.region_of, weights=a.revenue, minlength=len(data.regions))
    pot_room = np.array([data.potential[r] - sold[k] if r in data.potential else np.inf
                         for k, r in enumerate(data.regions)])
    gains = (delta > 0) & (a.revenue >= base + a.lift - tol)  # demand-limited: it could sell more
    # without a capacity or potential row to share, a cell sells its whole extra lift
    shared = (ix.staff_of >= 0) | np.isfinite(pot_room)[ix.region_of]
    gain += float(a.margin[gains & ~shared] @ delta[gains & ~shared])
    order = np.argsort(-a.margin, kind="stable")  # highest margin first, ties in the table's order
    cap_room, pot_room = cap_room.tolist(), pot_room.tolist()
    for k in order[(gains & shared)[order]].tolist():
        staff, region = int(ix.staff_of[k]), int(ix.region_of[k])
        room = min(cap_room[staff] if staff >= 0 else np.inf, pot_room[region])
        extra = max(0.0, min(float(delta[k]), room))
        gain += float(a.margin[k]) * extra
        if staff >= 0:
            cap_room[staff] -= extra
        pot_room[region] -= extra
    return gain


def budget_price(model: PlanningModel, solution: Solution) -> float | None:
    """What one more unit of ``budget.total`` buys: the budget row's price, less the reserve share
    it must hold back, plus the spend bounds that default to the budget and grow with it."""
    rows, weights = _budget_rows(model)
    rows, weights = rows[weights != 0], weights[weights != 0]
    total = float(weights @ _clean(_prices(model, solution, rows), 1e-9)) if len(rows) else 0.0
    return float(total) if np.isfinite(total) else None


def _budget_rows(model: PlanningModel) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``budget.total`` moves and how much each moves with it (the rows found once per
    model structure; whether a spend bound follows the budget is read each time)."""
    cached = getattr(model, "_budget_rows", None)
    low, high = model.data.reserve
    if cached is not None and cached[0] == (model.response_key, model.ncols, model.nrows):
        rows, kinds = cached[1]
    else:
        picked = []
        for i, (kind, label) in enumerate(zip(model.kinds, model.labels)):
            if kind == RowKind.BUDGET:
                picked.append((i, "budget"))
            elif kind == RowKind.RESERVE:
                picked.append((i, "low" if label == ("min",) else "high"))
            elif kind == RowKind.SPEND_MAX:
                picked.append((i, "spend"))  # moves with the budget when its bound defaults to it
        rows, kinds = np.array([i for i, _ in picked], dtype=np.int64), [k for _, k in picked]
        model._budget_rows = ((model.response_key, model.ncols, model.nrows), (rows, kinds))
    meta = model.meta
    weights = np.array([1.0 if k == "budget" else -low if k == "low" else high if k == "high"
                        else float(bool(meta[i]["follows_budget"])) for i, k in zip(rows.tolist(), kinds)])
    return rows, weights


def _prices(model: PlanningModel, solution: Solution, rows: np.ndarray) -> np.ndarray:
    """Shadow prices in currency per currency (or head) of ``rows``: never negative when binding."""
    sense = np.asarray(model.sense)[rows]
    sign = np.where(sense == GE, -1.0, 1.0)
    dual = solution.duals[rows]
    scale = np.asarray(model.scale)[rows]
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(dual), sign * dual * model.unit / scale, np.nan)


def constraint_table(model: PlanningModel, solution: Solution) -> pd.DataFrame:
    """``constraints.csv``: every row but the hidden kinds, indexed by model row."""
    rows = np.flatnonzero(_index(model).visible)
    rhs = np.asarray(model.rhs)[rows]
    sense = np.asarray(model.sense)[rows]
    activity = solution.activity[rows]
    slack = np.where(sense == LE, rhs - activity, np.where(sense == GE, activity - rhs, 0.0))
    binding = slack <= 1e-6 * np.maximum(1.0, np.abs(rhs))
    frame = pd.DataFrame({
        "name": [model.names[i] for i in rows],
        "kind": [str(model.kinds[i]) for i in rows],
        "binding": binding.astype(bool),
        "slack": np.maximum(0.0, slack) * np.asarray(model.scale)[rows],
        "shadow_price": _clean(_prices(model, solution, rows), 1e-9),
    }, index=rows, columns=CONSTRAINT_COLUMNS)
    return frame


_constraints = constraint_table  # the name earlier modules used
