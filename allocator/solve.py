"""Solve a built model with HiGHS (in-process, from the model's arrays) or through PuLP (CBC, ...).

Both paths return a :class:`Solution`: column values, row activities, and per-row shadow
prices ``d objective / d rhs`` in model units. For a MIP, shadow prices come from the LP with
every integer variable fixed at its optimal value (``model.md``). HiGHS keeps the model live on
the :class:`PlanningModel` (``model._runner``), so ``update`` + ``solve`` re-solves warm.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from allocator import progress, runtime
from allocator.deadline import Deadline
from allocator.model.build import LinearForm, PlanningModel
from allocator.model.changes import Change
from allocator.model.kinds import Status
from allocator.solve_pulp import PULP_SOLVERS, _cbc_gap, _cbc_status, solve_pulp

INF = highspy.kHighsInf
SOLVERS = ("highs", "cbc", *PULP_SOLVERS)

__all__ = ["INF", "SOLVERS", "HighsRunner", "LinearForm", "Solution", "Status", "_cbc_gap", "_cbc_status",
           "linear_form", "run_highs", "solve_highs", "solve_model"]


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
    message: str = ""  # the solver's own words when the status is ``error``

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)


def linear_form(model: PlanningModel) -> LinearForm:
    """The model's arrays (kept for callers of the former PuLP-to-arrays step)."""
    return model.form


def solve_model(model: PlanningModel, solver: str = "highs", time_limit: float | None = None,
                mip_gap: float = 1e-4, warm: bool = True) -> Solution:
    """Solve ``model``; with HiGHS the solver model stays live on it for warm re-solves
    (``warm=False`` drops the last basis first: the same path as a fresh build's solve)."""
    with progress.money(model.unit, model.data.scenario.currency):  # live progress shows currency
        if solver == "highs":
            if model._runner is None:
                model._runner = HighsRunner(model.form)
            return model._runner.run(time_limit, mip_gap, warm)
        if solver in SOLVERS:
            return solve_pulp(model, solver, time_limit, mip_gap)
    raise ValueError(f"unknown solver {solver!r} (use one of {', '.join(SOLVERS)})")


# --- HiGHS ----------------------------------------------------------------------------------


def run_highs(h: highspy.Highs, mip: bool | None = None) -> highspy.HighsStatus:
    """The one place where HiGHS runs: watched (live progress) and stoppable (Ctrl-C, SIGTERM)
    through :mod:`allocator.runtime`. ``mip``: whether the model has integer columns."""
    return runtime.run_highs(h, mip)


_ERRORS = {highspy.HighsModelStatus.kLoadError, highspy.HighsModelStatus.kModelError,
           highspy.HighsModelStatus.kPresolveError, highspy.HighsModelStatus.kSolveError,
           highspy.HighsModelStatus.kPostsolveError, highspy.HighsModelStatus.kMemoryLimit,
           highspy.HighsModelStatus.kUnbounded}


class HighsRunner:
    """A persistent HiGHS model: pass it once, change its numbers and re-solve warm."""

    def __init__(self, form: LinearForm, lb=None, ub=None, integer=None, cost=None):
        """``lb``, ``ub``, ``integer`` and ``cost`` replace the form's own (e.g. a fixed-integer LP)."""
        self.form = form
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        # RINS/RENS sub-MIPs cost 3-4x the whole solve on our staffing models (docs/performance.md)
        self.highs.setOptionValue("mip_heuristic_run_rins", False)
        self.highs.setOptionValue("mip_heuristic_run_rens", False)
        self.dual: HighsRunner | None = None  # the shadow-price LP of a MIP, passed once and kept
        self.load_error: str | None = None
        # per model column (row) its HiGHS column (row), once new breakpoints restructured it
        # (``restructure``); ``None``: the same numbers
        self.cols: np.ndarray | None = None
        self.rows: np.ndarray | None = None
        self.last: np.ndarray | None = None  # the last plan's column values, HiGHS's numbering (a MIP start)
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
            lp.integrality_ = np.where(integer, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous).tolist()
        if self.highs.passModel(lp) == highspy.HighsStatus.kError:
            self.load_error = _refusal(self.form)  # the numbers it refuses (beyond 1e15, NaN), named

    def _col(self, cols: np.ndarray) -> np.ndarray:
        return (cols if self.cols is None else self.cols[cols]).astype(np.int32)

    def _row(self, rows: np.ndarray) -> np.ndarray:
        return (rows if self.rows is None else self.rows[rows]).astype(np.int32)

    def apply(self, change: Change, form: LinearForm) -> None:
        """Push ``change`` into the live model (and its shadow-price LP); ``form`` is the new arrays."""
        models = [(self.highs, self._row, self._col)]
        if self.dual is not None:  # the shadow-price LP is always in the model's own numbering
            models.append((self.dual.highs, lambda r: r.astype(np.int32), lambda c: c.astype(np.int32)))
        for h, row, col in models:
            for i, j, v in zip(row(change.coef_rows).tolist(), col(change.coef_cols).tolist(), change.coef_values.tolist()):
                h.changeCoeff(i, j, v)
            if len(change.rows):
                h.changeRowsBounds(len(change.rows), row(change.rows), change.row_lo, change.row_hi)
        if len(change.cols):
            self.highs.changeColsBounds(len(change.cols), self._col(change.cols), change.lb, change.ub)
            if self.dual is not None:  # its integer columns are fixed again at every solve
                keep = ~form.integer[change.cols]
                cols = change.cols[keep].astype(np.int32)
                self.dual.highs.changeColsBounds(len(cols), cols, change.lb[keep], form.price_ub[cols])
        if len(change.cost_cols):
            cols = change.cost_cols.astype(np.int32)
            self.highs.changeColsCost(len(cols), self._col(change.cost_cols), change.costs)
            if self.dual is not None:
                self.dual.highs.changeColsCost(len(cols), cols, form.margin_cost[change.cost_cols])
        self.form = form
        if self.dual is not None:
            self.dual.form = form

    def restructure(self, mapping, form: LinearForm) -> None:
        """Make the live model ``form``'s, whose columns and rows ``mapping`` relates to the
        present ones (``allocator.model.restructure``): columns and rows without a counterpart
        retire (fixed at 0 and continuous; free), new ones are added at the end, and the
        coefficients, bounds, costs and integrality of the rest are set to ``form``'s. The basis
        of the last solve stays: an LP re-solves warm."""
        h, old = self.highs, self.form
        n_h, m_h = h.getNumCol(), h.getNumRow()
        old_cols = np.arange(len(old.c)) if self.cols is None else self.cols
        old_rows = np.arange(len(old.row_lo)) if self.rows is None else self.rows
        col_from, row_from = mapping.col_from, mapping.row_from
        new_c, new_r = col_from < 0, row_from < 0
        cols = np.empty(len(col_from), dtype=np.int64)
        cols[~new_c] = old_cols[col_from[~new_c]]
        cols[new_c] = n_h + np.arange(int(new_c.sum()))
        rows = np.empty(len(row_from), dtype=np.int64)
        rows[~new_r] = old_rows[row_from[~new_r]]
        rows[new_r] = m_h + np.arange(int(new_r.sum()))
        # coefficients of kept rows in kept columns, where they differ
        a_new = form.matrix.tocoo()
        kept = ~new_r[a_new.row] & ~new_c[a_new.col]
        target = sp.csr_matrix((a_new.data[kept], (rows[a_new.row[kept]], cols[a_new.col[kept]])), shape=(m_h, n_h))
        a_old = old.matrix.tocoo()
        live_row = np.zeros(m_h, dtype=bool)
        live_row[rows[~new_r]] = True
        live_col = np.zeros(n_h, dtype=bool)
        live_col[cols[~new_c]] = True
        r_old, c_old = old_rows[a_old.row], old_cols[a_old.col]
        still = live_row[r_old] & live_col[c_old]
        present = sp.csr_matrix((a_old.data[still], (r_old[still], c_old[still])), shape=(m_h, n_h))
        delta = (target - present).tocoo()
        if delta.nnz:
            values = np.asarray(target[delta.row, delta.col]).ravel()
            for i, j, v in zip(delta.row.tolist(), delta.col.tolist(), values.tolist()):
                h.changeCoeff(i, j, v)
        # new columns with their entries in kept rows, then new rows with theirs in every column
        if new_c.any():
            csc = form.matrix.tocsc()[:, np.flatnonzero(new_c)].tocoo()
            keep = ~new_r[csc.row]
            part = sp.csc_matrix((csc.data[keep], (rows[csc.row[keep]], csc.col[keep])), shape=(m_h, int(new_c.sum())))
            part.sort_indices()
            idx = np.flatnonzero(new_c)
            h.addCols(len(idx), form.c[idx], form.lb[idx], form.ub[idx], part.nnz, part.indptr[:-1].astype(np.int32),
                      part.indices.astype(np.int32), part.data)
        if new_r.any():
            idx = np.flatnonzero(new_r)
            sub = form.matrix[idx].tocoo()
            part = sp.csr_matrix((sub.data, (sub.row, cols[sub.col])), shape=(len(idx), h.getNumCol()))
            part.sort_indices()
            h.addRows(len(idx), form.row_lo[idx], form.row_hi[idx], part.nnz, part.indptr[:-1].astype(np.int32),
                      part.indices.astype(np.int32), part.data)
        # retired columns fixed at 0 (continuous: no integer is left that no plan has), rows free
        gone_c = np.setdiff1d(np.arange(h.getNumCol()), cols).astype(np.int32)
        gone_r = np.setdiff1d(np.arange(h.getNumRow()), rows).astype(np.int32)
        if len(gone_c):
            zero = np.zeros(len(gone_c))
            h.changeColsBounds(len(gone_c), gone_c, zero, zero)
            h.changeColsCost(len(gone_c), gone_c, zero)
            h.changeColsIntegrality(len(gone_c), gone_c, _integrality(np.zeros(len(gone_c), dtype=bool)))
        if len(gone_r):
            h.changeRowsBounds(len(gone_r), gone_r, np.full(len(gone_r), -INF), np.full(len(gone_r), INF))
        self.cols, self.rows, self.form, self.dual, self.last = cols, rows, form, None, None
        every = cols.astype(np.int32)
        h.changeColsBounds(len(every), every, form.lb, form.ub)
        h.changeColsCost(len(every), every, form.c)
        h.changeColsIntegrality(len(every), every, _integrality(form.integer))
        h.changeRowsBounds(len(rows), rows.astype(np.int32), form.row_lo, form.row_hi)

    def values(self) -> np.ndarray | None:
        """The last plan's column values in the model's numbering (``None``: no plan)."""
        if self.last is None:
            return None
        return self.last if self.cols is None else self.last[self.cols]

    def start(self, cols: np.ndarray, values: np.ndarray) -> None:
        """A MIP start given on some columns (the model's numbering); HiGHS completes it."""
        if len(cols):
            self.highs.setSolution(len(cols), self._col(cols), np.asarray(values, dtype=float))

    def set_columns(self, cols: np.ndarray, form: LinearForm, start: bool = False) -> None:
        """Push ``form``'s bounds and integrality of ``cols`` (headcount held or released); with
        ``start`` the last solution stays as the MIP start (it is feasible: bounds were only widened)."""
        h = self.highs
        last = self.last if start else None
        where = self._col(cols)
        h.changeColsBounds(len(where), where, form.lb[cols], form.ub[cols])
        h.changeColsIntegrality(len(where), where, _integrality(form.integer[cols]))
        self.form, self.dual = form, None  # the shadow-price LP is passed again when next needed
        if last is not None and form.integer.any():
            solution = highspy.HighsSolution()
            solution.col_value = last.tolist()
            solution.value_valid = True
            h.setSolution(solution)

    def run(self, time_limit: float | None, mip_gap: float, warm: bool = True) -> Solution:
        h, f = self.highs, self.form
        if not warm:
            h.clearSolver()
            if self.dual is not None:
                self.dual.highs.clearSolver()
        h.setOptionValue("time_limit", float(time_limit) if time_limit else INF)
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        start = time.perf_counter()
        if self.load_error is not None:
            nan = np.full(len(f.row_lo), np.nan)
            return Solution(Status.ERROR, np.array([]), np.array([]), nan, float("nan"), 0.0,
                            time.perf_counter() - start, "highs", self.load_error)
        deadline = Deadline(time_limit)  # the dual LP below counts against the same limit
        outcome = run_highs(h, bool(f.integer.any()))
        status, message = _highs_status(h, outcome)
        if status == Status.ERROR and outcome == highspy.HighsStatus.kError:
            message = _refusal(f)
        ok = status in (Status.OPTIMAL, Status.FEASIBLE)
        values = np.asarray(h.getSolution().col_value) if ok else np.array([])
        self.last = values if ok else None
        if ok and self.cols is not None:
            values = values[self.cols]
        gap = float(h.getInfo().mip_gap) if f.integer.any() and ok else 0.0
        if not np.isfinite(gap):
            gap = 1.0
        duals = self._duals(values, deadline) if ok else np.full(len(f.row_lo), np.nan)
        seconds = time.perf_counter() - start
        activity = f.matrix @ values if len(values) else np.array([])
        objective = float(f.c @ values) if len(values) else float("nan")
        return Solution(status, values, activity, duals, objective, gap, seconds, "highs", message)

    def _duals(self, values: np.ndarray, deadline: Deadline | None = None) -> np.ndarray:
        """Duals of the LP with integer columns fixed at their (rounded) values, read against
        the margin objective (without the reserve tie-break), within what is left of the time."""
        f = self.form
        limit = (deadline or Deadline(None)).solver_limit(grace=True)
        nan = np.full(len(f.row_lo), np.nan)
        if not f.integer.any():
            rows = slice(None) if self.rows is None else self.rows
            if f.tie_break is None:
                return np.asarray(self.highs.getSolution().row_dual)[rows]
            # an LP: drop the tie-break weight on the solved instance and re-run from its basis
            h = self.highs
            tie = int(self._col(np.array([f.tie_break]))[0])
            h.changeColCost(tie, 0.0)
            try:
                h.run()  # a quick re-run from the basis: it runs even after Ctrl-C (the kept plan needs its prices)
                ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
                return np.asarray(h.getSolution().row_dual)[rows] if ok else nan
            finally:
                h.changeColCost(tie, float(f.c[f.tie_break]))
        fixed = np.round(values[f.integer])
        if self.dual is None:
            lb, ub = f.lb.copy(), f.price_ub.copy()  # without the bounds only the MIP search needs
            lb[f.integer] = ub[f.integer] = fixed
            self.dual = HighsRunner(f, lb, ub, np.zeros_like(f.integer), f.margin_cost)
        else:
            cols = np.flatnonzero(f.integer).astype(np.int32)
            self.dual.highs.changeColsBounds(len(cols), cols, fixed, fixed)
        d = self.dual.highs
        d.setOptionValue("time_limit", INF if limit is None else float(limit))
        d.run()  # the shadow-price LP runs even after Ctrl-C: the kept plan needs its prices (time-boxed above)
        if d.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return nan
        return np.asarray(d.getSolution().row_dual)


def _integrality(integer: np.ndarray) -> np.ndarray:
    """HiGHS's integrality codes (``kContinuous`` 0, ``kInteger`` 1)."""
    return np.asarray(integer, dtype=bool).astype(np.uint8)


def _refusal(f: LinearForm) -> str:
    """Why HiGHS returned an error instead of solving (it refuses |values| above 1e15, for one)."""
    numbers = [np.abs(f.matrix.data), np.abs(f.c)] + [np.abs(v[np.isfinite(v)]) for v in (f.row_lo, f.row_hi, f.lb, f.ub)]
    values = np.concatenate(numbers)
    if np.isnan(values).any():
        return "HiGHS refused it: the model holds a NaN (a number that is not a number)"
    values = values[values > 0]
    span = f"; its numbers run from {values.min():.0e} to {values.max():.0e}" if len(values) else ""
    return f"HiGHS refused it{span}, past the 1e15 it accepts: amounts are too far apart from budget.total"


def _highs_status(h: highspy.Highs, outcome) -> tuple[Status, str]:
    ms = h.getModelStatus()
    has_plan = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    if ms == highspy.HighsModelStatus.kOptimal:
        return Status.OPTIMAL, ""
    if ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return Status.INFEASIBLE, ""
    unknown = ms in (highspy.HighsModelStatus.kUnknown, highspy.HighsModelStatus.kNotset) and not has_plan
    if ms in _ERRORS or outcome == highspy.HighsStatus.kError or unknown:
        return Status.ERROR, f"HiGHS: {h.modelStatusToString(ms)} (run status {outcome.name})"
    return (Status.FEASIBLE if has_plan else Status.NOT_SOLVED), ""


def solve_highs(form: LinearForm, time_limit: float | None = None, mip_gap: float = 1e-4) -> Solution:
    return HighsRunner(form).run(time_limit, mip_gap)
