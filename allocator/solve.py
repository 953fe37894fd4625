"""Solve a built model with HiGHS (in-process, bulk transfer) or CBC (bundled with PuLP).

Both paths return a :class:`Solution`: column values, row activities, and per-row shadow
prices ``d objective / d rhs`` in model units. For a MIP, shadow prices come from the LP with
every integer variable fixed at its optimal value (``model.md``).
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import highspy
import numpy as np
import pulp
import scipy.sparse as sp

from allocator.deadline import Deadline
from allocator.model.build import Model

INF = highspy.kHighsInf


class Status(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped by the time limit with a plan; the gap says how far off
    INFEASIBLE = "infeasible"
    NOT_SOLVED = "not_solved"  # stopped by the time limit before any plan was found


@dataclass
class Solution:
    status: Status
    values: np.ndarray
    activity: np.ndarray
    duals: np.ndarray  # d objective / d rhs per row, model units; NaN when unknown
    objective: float
    mip_gap: float
    seconds: float
    solver: str
    message: str = ""  # why the solver refused the model (not a time limit), when it did


@dataclass
class LinearForm:
    """The model as arrays: ``max c x`` s.t. ``row_lo <= A x <= row_hi``, ``lb <= x <= ub``."""

    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    matrix: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    tie_break: int | None = None  # column whose small objective weight only breaks ties

    @property
    def margin_cost(self) -> np.ndarray:
        """The objective without the tie-break weight: shadow prices are read against it."""
        c = self.c.copy()
        if self.tie_break is not None:
            c[self.tie_break] = 0.0
        return c


def linear_form(model: Model) -> LinearForm:
    """Read the PuLP problem into arrays in one pass over its rows."""
    index = {v: i for i, v in enumerate(model.columns)}
    n = len(model.columns)
    c = np.zeros(n)
    for v, coef in model.prob.objective.items():
        c[index[v]] += coef
    lb = np.array([v.lowBound if v.lowBound is not None else -INF for v in model.columns], dtype=float)
    ub = np.array([v.upBound if v.upBound is not None else INF for v in model.columns], dtype=float)
    integer = np.array([v.cat == pulp.LpInteger for v in model.columns], dtype=bool)
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    row_lo = np.empty(len(model.rows))
    row_hi = np.empty(len(model.rows))
    for r, row in enumerate(model.rows):
        con = row.constraint
        items = con.expr.items()
        indices.extend(index[v] for v, _ in items)
        data.extend(coef for _, coef in items)
        indptr.append(len(indices))
        rhs = -con.constant
        row_lo[r] = rhs if con.sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ) else -INF
        row_hi[r] = rhs if con.sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ) else INF
    matrix = sp.csr_matrix((np.asarray(data, float), np.asarray(indices, np.int32), np.asarray(indptr)), shape=(len(model.rows), n))
    tie_break = index[model.reserve] if model.reserve is not None and not model.elastic else None
    return LinearForm(c, lb, ub, integer, matrix, row_lo, row_hi, tie_break)


def solve_model(model: Model, solver: str = "highs", time_limit: float | None = None, mip_gap: float = 1e-4) -> Solution:
    if solver == "highs":
        return solve_highs(linear_form(model), time_limit, mip_gap)
    if solver == "cbc":
        return solve_cbc(model, time_limit, mip_gap)
    raise ValueError(f"unknown solver {solver!r} (use highs or cbc)")


# --- HiGHS ----------------------------------------------------------------------------------


class HighsRunner:
    """A persistent HiGHS model: pass it once, change bounds or the budget and re-solve warm."""

    def __init__(self, form: LinearForm, lb=None, ub=None, integer=None, cost=None):
        """``lb``, ``ub``, ``integer`` and ``cost`` replace the form's own (e.g. a fixed-integer LP)."""
        self.form = form
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        # RINS/RENS sub-MIPs cost 3-4x the whole solve on our staffing models (docs/performance.md)
        self.highs.setOptionValue("mip_heuristic_run_rins", False)
        self.highs.setOptionValue("mip_heuristic_run_rens", False)
        self._pass(form.lb if lb is None else lb, form.ub if ub is None else ub,
                   form.integer if integer is None else integer, cost)

    def _pass(self, lb, ub, integer, cost=None) -> None:
        f = self.form
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(f.c), len(f.row_lo)
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = f.c if cost is None else cost, lb, ub
        lp.row_lower_, lp.row_upper_ = f.row_lo, f.row_hi
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = f.matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = f.matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = f.matrix.data
        if integer.any():
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
        self.highs.passModel(lp)

    def run(self, time_limit: float | None, mip_gap: float) -> Solution:
        h, f = self.highs, self.form
        h.setOptionValue("time_limit", float(time_limit) if time_limit else INF)
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        start = time.perf_counter()
        self.deadline = Deadline(time_limit)  # the dual LP below counts against the same limit
        ran = h.run()
        status = _highs_status(h)
        values = np.asarray(h.getSolution().col_value) if status in (Status.OPTIMAL, Status.FEASIBLE) else np.array([])
        info = h.getInfo()
        mip = bool(f.integer.any())
        gap = float(info.mip_gap) if mip and status in (Status.OPTIMAL, Status.FEASIBLE) else 0.0
        if not np.isfinite(gap):
            gap = 1.0
        duals = np.full(len(f.row_lo), np.nan)
        if status in (Status.OPTIMAL, Status.FEASIBLE):
            duals = self._duals(values)
        seconds = time.perf_counter() - start
        activity = f.matrix @ values if len(values) else np.array([])
        objective = float(f.c @ values) if len(values) else float("nan")
        refused = _refusal(h, f) if ran == highspy.HighsStatus.kError and status == Status.NOT_SOLVED else ""
        return Solution(status, values, activity, duals, objective, gap, seconds, "highs", refused)

    def dual_time_limit(self) -> float:
        """The time limit of the shadow-price LP: what the last ``run`` left, with a grace (deadline.py)."""
        limit = getattr(self, "deadline", Deadline(None)).solver_limit(grace=True)
        return INF if limit is None else limit

    def _duals(self, values: np.ndarray) -> np.ndarray:
        """Duals of the LP with integer columns fixed at their (rounded) values, read against
        the margin objective (without the reserve tie-break)."""
        f = self.form
        limit = self.dual_time_limit()
        if not f.integer.any():
            if f.tie_break is None:
                return np.asarray(self.highs.getSolution().row_dual)
            # an LP: drop the tie-break weight on the solved instance and re-run from its basis
            h = self.highs
            h.changeColCost(f.tie_break, 0.0)
            h.setOptionValue("time_limit", limit)
            try:
                h.run()
                ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
                return np.asarray(h.getSolution().row_dual) if ok else np.full(len(f.row_lo), np.nan)
            finally:
                h.changeColCost(f.tie_break, float(f.c[f.tie_break]))
        lb, ub = f.lb.copy(), f.ub.copy()
        lb[f.integer] = ub[f.integer] = np.round(values[f.integer])
        fixed = HighsRunner(f, lb, ub, np.zeros_like(f.integer), f.margin_cost)
        fixed.highs.setOptionValue("time_limit", limit)
        fixed.highs.run()
        if fixed.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return np.full(len(f.row_lo), np.nan)
        return np.asarray(fixed.highs.getSolution().row_dual)


def _refusal(h: highspy.Highs, f: LinearForm) -> str:
    """Why HiGHS returned an error instead of solving (it refuses |values| above 1e15, for one)."""
    numbers = [np.abs(f.matrix.data), np.abs(f.c)] + [np.abs(v[np.isfinite(v)]) for v in (f.row_lo, f.row_hi, f.lb, f.ub)]
    values = np.concatenate(numbers)
    values = values[values > 0]
    span = f"; its numbers run from {values.min():.0e} to {values.max():.0e}" if len(values) else ""
    return f"HiGHS refused it{span}, past the 1e15 it accepts: amounts are too far apart from budget.total"


def _highs_status(h: highspy.Highs) -> Status:
    ms = h.getModelStatus()
    has_plan = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    if ms == highspy.HighsModelStatus.kOptimal:
        return Status.OPTIMAL
    if ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return Status.INFEASIBLE
    return Status.FEASIBLE if has_plan else Status.NOT_SOLVED


def solve_highs(form: LinearForm, time_limit: float | None = None, mip_gap: float = 1e-4) -> Solution:
    return HighsRunner(form).run(time_limit, mip_gap)


# --- CBC ------------------------------------------------------------------------------------


def solve_cbc(model: Model, time_limit: float | None = None, mip_gap: float = 1e-4) -> Solution:
    prob = model.prob
    integers = [v for v in model.columns if v.cat == pulp.LpInteger]
    start = time.perf_counter()
    deadline = Deadline(time_limit)  # the dual LP below counts against the same limit
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        prob.solve(_cbc(timeLimit=time_limit, gapRel=mip_gap, logPath=str(log)))
        text = log.read_text(errors="replace") if log.exists() else ""
    out_of_time = time_limit is not None and time.perf_counter() - start >= 0.95 * time_limit
    status = _cbc_status(prob, text, out_of_time)
    values = np.array([v.varValue if v.varValue is not None else 0.0 for v in model.columns])
    gap = 0.0
    if integers and status in (Status.OPTIMAL, Status.FEASIBLE):
        gap = _cbc_gap(text, status)
    duals = np.full(len(model.rows), np.nan)
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        duals = _cbc_duals(model, integers, values, deadline.solver_limit(grace=True))
    seconds = time.perf_counter() - start
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        values = np.array([])
    form = linear_form(model)
    activity = form.matrix @ values if len(values) else np.array([])
    objective = float(form.c @ values) if len(values) else float("nan")
    return Solution(status, values, activity, duals, objective, gap, seconds, "cbc")


def _cbc(**options) -> pulp.LpSolver:
    """The CBC binary bundled with PuLP 3 (PuLP flags it for removal in 4.0; we pin pulp<4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, **options)


def _cbc_status(prob: pulp.LpProblem, log: str, out_of_time: bool) -> Status:
    """CBC's outcome. Cut short by its time limit, CBC may call a model "infeasible" in
    preprocessing; that is a model it did not solve, not a proof that no plan exists."""
    if prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal:
        return Status.OPTIMAL
    if prob.sol_status == pulp.LpSolutionIntegerFeasible:
        return Status.FEASIBLE
    if out_of_time or "stopped on time" in log.lower():
        return Status.NOT_SOLVED
    if prob.status == pulp.LpStatusInfeasible or "infeasible" in log.lower():
        return Status.INFEASIBLE
    return Status.NOT_SOLVED


def _cbc_gap(log: str, status: Status) -> float:
    """The relative gap from CBC's closing lines (its own "Gap:" line keeps only 2 decimals)."""
    value = re.search(r"^Objective value:\s+([-\d.eE+]+)", log, re.MULTILINE)
    bound = re.search(r"^(?:Upper|Lower) bound:\s+([-\d.eE+]+)", log, re.MULTILINE)
    if value and bound:
        best, limit = float(value.group(1)), float(bound.group(1))
        return abs(limit - best) / max(abs(best), 1e-9)
    return 0.0 if status == Status.OPTIMAL else float("nan")


def _pis(model: Model) -> np.ndarray:
    return np.array([r.constraint.pi if r.constraint.pi is not None else np.nan for r in model.rows], dtype=float)


def _cbc_duals(model: Model, integers: list[pulp.LpVariable], values: np.ndarray,
               time_limit: float | None = None) -> np.ndarray:
    """Fix the integers, re-solve the LP with CBC, read the duals, restore the problem."""
    index = {v: i for i, v in enumerate(model.columns)}
    saved = [(v, v.lowBound, v.upBound) for v in integers]
    objective = model.prob.objective
    try:
        for v in integers:
            fixed = float(round(values[index[v]]))
            v.lowBound = v.upBound = fixed
            v.cat = pulp.LpContinuous
        if model.reserve is not None and not model.elastic:
            margin = pulp.LpAffineExpression({v: c for v, c in objective.items() if v is not model.reserve})
            model.prob.setObjective(margin)
        model.prob.solve(_cbc(timeLimit=time_limit))
        duals = _pis(model) if model.prob.status == pulp.LpStatusOptimal else np.full(len(model.rows), np.nan)
    finally:
        for v, lo, hi in saved:
            v.lowBound, v.upBound, v.cat = lo, hi, pulp.LpInteger
        model.prob.setObjective(objective)
    return duals
