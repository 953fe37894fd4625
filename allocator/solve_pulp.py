"""The model through PuLP: CBC (bundled), any other solver PuLP drives, and ``.mps``/``.lp`` export.

The PuLP problem is made from the model's arrays (columns ``v0..``, rows ``r0..`` in the arrays'
order, zero-padded), so what CBC solves and what ``--write-model`` writes is exactly what HiGHS receives.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pulp

from allocator import runtime
from allocator.deadline import Deadline
from allocator.model.kinds import Status

# --solver names beside highs and cbc, and the PuLP solver class each one means
PULP_SOLVERS = {"glpk": "GLPK_CMD", "gurobi": "GUROBI_CMD", "cplex": "CPLEX_CMD", "scip": "SCIP_CMD",
                "xpress": "XPRESS", "mosek": "MOSEK", "copt": "COPT_CMD", "highs-cmd": "HiGHS_CMD"}
MODEL_SUFFIXES = (".mps", ".lp")


class SolverUnavailable(RuntimeError):
    """A solver PuLP knows but cannot find on this machine."""


def to_pulp(model) -> tuple[pulp.LpProblem, list[pulp.LpVariable], list[pulp.LpConstraint]]:
    """The model as a PuLP problem (maximise the margin), built from its arrays."""
    f = model.form
    prob = pulp.LpProblem("allocator", pulp.LpMaximize)
    columns = []
    width = len(str(max(len(f.c), len(f.row_lo))))  # PuLP writes columns sorted by name: v007 before v010
    for j in range(len(f.c)):
        cat = pulp.LpInteger if f.integer[j] else pulp.LpContinuous
        lo = None if not np.isfinite(f.lb[j]) else float(f.lb[j])
        hi = None if not np.isfinite(f.ub[j]) else float(f.ub[j])
        columns.append(prob.add_variable(f"v{j:0{width}d}", lowBound=lo, upBound=hi, cat=cat))
    nz = np.flatnonzero(f.c)
    prob.setObjective(pulp.LpAffineExpression([(columns[j], float(f.c[j])) for j in nz]))
    m, rows = f.matrix, []
    for i in range(len(f.row_lo)):
        part = slice(m.indptr[i], m.indptr[i + 1])
        expr = pulp.LpAffineExpression([(columns[j], v) for j, v in zip(m.indices[part].tolist(), m.data[part].tolist())])
        lo, hi = f.row_lo[i], f.row_hi[i]
        if lo == hi:
            sense, rhs = pulp.LpConstraintEQ, lo
        elif np.isfinite(hi):
            sense, rhs = pulp.LpConstraintLE, hi
        else:
            sense, rhs = pulp.LpConstraintGE, lo
        con = pulp.LpConstraint(expr, sense, f"r{i:0{width}d}", float(rhs))
        prob.addConstraint(con)
        rows.append(con)
    return prob, columns, rows


def write_model(model, path: str | Path) -> Path:
    """Write the model as ``.mps`` or ``.lp`` (by the suffix) through a temporary file and a rename."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"{path}: the model file must end in .mps or .lp")
    prob, _, _ = to_pulp(model)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    try:
        if suffix == ".mps":
            prob.writeMPS(tmp, with_objsense=True)
        else:
            prob.writeLP(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _cbc(**options) -> pulp.LpSolver:
    """The CBC binary bundled with PuLP 3 (PuLP flags it for removal in 4.0; we pin pulp<4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, **options)


def solver_available(name: str) -> bool:
    """Whether ``--solver name`` can run here (HiGHS and CBC always can)."""
    if name not in PULP_SOLVERS:
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(getattr(pulp, PULP_SOLVERS[name])(msg=False).available())


def _other(name: str, time_limit: float | None, mip_gap: float) -> pulp.LpSolver:
    cls = getattr(pulp, PULP_SOLVERS[name])
    solver = cls(msg=False, timeLimit=time_limit, gapRel=mip_gap)
    if not solver.available():
        raise SolverUnavailable(f"solver {name!r} ({PULP_SOLVERS[name]}) is not installed or not on PATH; "
                                "use highs or cbc, or install it")
    return solver


def solve_pulp(model, solver: str = "cbc", time_limit: float | None = None, mip_gap: float = 1e-4):
    """Solve through PuLP (not persistent: the problem is made from the arrays each time)."""
    from allocator.solve import Solution

    f = model.form
    prob, columns, rows = to_pulp(model)
    integers = [v for v, i in zip(columns, f.integer) if i]
    start = time.perf_counter()
    deadline = Deadline(time_limit)  # the dual LP below counts against the same limit
    text = ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "solver.log"
            if solver == "cbc":
                # temp files in a private folder, the cbc child killed and reaped on Ctrl-C / SIGTERM
                runtime.run_cbc(prob, _cbc(timeLimit=time_limit, gapRel=mip_gap, logPath=str(log)))
            else:
                prob.solve(_other(solver, time_limit, mip_gap))
            text = log.read_text(errors="replace") if log.exists() else ""
    except pulp.PulpSolverError as exc:
        return _failed(Solution, f, solver, f"{solver}: {exc}", time.perf_counter() - start)
    out_of_time = time_limit is not None and time.perf_counter() - start >= 0.95 * time_limit
    status = _cbc_status(prob, text, out_of_time)
    values = np.array([v.varValue if v.varValue is not None else 0.0 for v in columns])
    gap = 0.0
    if integers and status in (Status.OPTIMAL, Status.FEASIBLE):
        gap = _cbc_gap(text, status) if solver == "cbc" else float("nan")
    duals = np.full(len(rows), np.nan)
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        duals = _duals(prob, rows, integers, columns, values, f, solver, deadline.solver_limit(grace=True))
    seconds = time.perf_counter() - start
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        values = np.array([])
    activity = f.matrix @ values if len(values) else np.array([])
    objective = float(f.c @ values) if len(values) else float("nan")
    return Solution(status, values, activity, duals, objective, gap, seconds, solver)


def _failed(solution_type, f, solver: str, message: str, seconds: float):
    return solution_type(Status.ERROR, np.array([]), np.array([]), np.full(len(f.row_lo), np.nan), float("nan"),
                         0.0, seconds, solver, message)


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


def _duals(prob, rows, integers, columns, values, f, solver: str, time_limit: float | None = None) -> np.ndarray:
    """Fix the integers, re-solve the LP, read the duals (against the margin objective), restore."""
    index = {id(v): j for j, v in enumerate(columns)}
    implied = [columns[j] for j in np.flatnonzero(f.price_ub != f.ub)]  # bounds only the MIP search needs
    saved = [(v, v.lowBound, v.upBound, v.cat) for v in integers + implied]
    objective = prob.objective
    try:
        for v in implied:
            hi = f.price_ub[index[id(v)]]
            v.upBound = float(hi) if np.isfinite(hi) else None
        for v in integers:
            fixed = float(round(values[index[id(v)]]))
            v.lowBound = v.upBound = fixed
            v.cat = pulp.LpContinuous
        if f.tie_break is not None:
            tie = columns[f.tie_break]
            prob.setObjective(pulp.LpAffineExpression({v: c for v, c in objective.items() if v is not tie}))
        if solver == "cbc":
            runtime.run_cbc(prob, _cbc(timeLimit=time_limit))
        else:
            prob.solve(_other(solver, time_limit, 0.0))
        ok = prob.status == pulp.LpStatusOptimal
        return np.array([r.pi if ok and r.pi is not None else np.nan for r in rows], dtype=float)
    finally:
        for v, lo, hi, cat in saved:
            v.lowBound, v.upBound, v.cat = lo, hi, cat
        prob.setObjective(objective)
