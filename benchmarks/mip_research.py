"""Formulation and solver-option variants of the baseline, measured on the MIP suite.

    .venv/bin/python benchmarks/mip_suite.py --variants baseline,hs,runs,log,heads,start ...

Each variant is a name in :data:`VARIANTS`: a :class:`baseline_milp.Options` (which curve
formulation, which staffing columns are integer, data-derived bounds), HiGHS options, whether to
build a first plan from the LP (``start``) and whether to solve with CBC instead. They are solved
through highspy directly (``scipy.optimize.milp`` takes no HiGHS options beyond presolve, gap and
time limit, and no MIP start), always with one thread unless the variant says otherwise.

The first plan (``start``): solve the LP relaxation; round every core headcount up (the rounded
sequence keeps the hire limits: ``ceil(a) - ceil(b) <= ceil(a - b)``), derive hires and releases
from it and fix them; solve the remaining small MIP (curve binaries and temp staff) for a few
seconds; hand its plan to HiGHS as the MIP start of the full model (``Highs.setSolution``).

``lpround`` stops after that first plan: continuous hires with rounding, no branch and bound on
the headcount; its gap is measured against the LP relaxation's bound. ``start2`` / ``lpround2``
then improve it: a short MIP with every headcount between the floor and the ceiling of its LP
value (a RENS-like neighbourhood), started from the rounded plan.

``alloc-form`` is the allocator's own formulation rebuilt here (the ``runs`` gates, integer
heads with continuous hires and releases, RINS/RENS off) with the baseline's explicit ``x``,
``u``, ``P`` columns; ``alloc-start`` adds the first plan, ``alloc-cbc`` solves it with CBC.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import baseline_milp as bm
import highspy
import numpy as np

INF = highspy.kHighsInf


@dataclass(frozen=True)
class Variant:
    options: bm.Options = bm.Options()
    highs: dict = field(default_factory=dict)
    start: bool = False
    improve: bool = False  # after the rounded plan, search floor..ceiling of the LP's headcount
    only_start: bool = False
    cbc: bool = False


ONE_THREAD = {"threads": 1}
VARIANTS: dict[str, Variant] = {
    "hs": Variant(highs=ONE_THREAD),  # the baseline through highspy: must match scipy's run
    "runs": Variant(bm.Options(pwl="runs"), ONE_THREAD),
    "log": Variant(bm.Options(pwl="log"), ONE_THREAD),
    "heads": Variant(bm.Options(staff="heads"), ONE_THREAD),
    "hires": Variant(bm.Options(staff="hires"), ONE_THREAD),
    "bounds": Variant(bm.Options(bounds=True), ONE_THREAD),
    "alloc-form": Variant(bm.Options(pwl="runs", staff="heads"),
                          {**ONE_THREAD, "mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}),
    "norins": Variant(highs={**ONE_THREAD, "mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}),
    "effort": Variant(highs={**ONE_THREAD, "mip_heuristic_effort": 0.3}),
    "nopresolve": Variant(highs={**ONE_THREAD, "presolve": "off"}),
    "nosym": Variant(highs={**ONE_THREAD, "mip_detect_symmetry": False}),
    "threads2": Variant(highs={"threads": 2}),
    "start": Variant(highs=ONE_THREAD, start=True),
    "lpround": Variant(highs=ONE_THREAD, start=True, only_start=True),
    "cbc": Variant(cbc=True),
    "start2": Variant(highs=ONE_THREAD, start=True, improve=True),
    "alloc-start": Variant(bm.Options(pwl="runs", staff="heads"),
                           {**ONE_THREAD, "mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False},
                           start=True, improve=True),
    "alloc-cbc": Variant(bm.Options(pwl="runs", staff="heads"), cbc=True),
    "implicit": Variant(bm.Options(explicit=False), ONE_THREAD),
    "alloc-implicit": Variant(bm.Options(pwl="runs", staff="heads", explicit=False),
                              {**ONE_THREAD, "mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}),
    "lpround2": Variant(highs=ONE_THREAD, start=True, improve=True, only_start=True),
}


def run_variant(name: str, s, limit: float, gap: float) -> dict:
    """Build and solve scenario ``s`` as variant ``name``; the suite's result dictionary."""
    v = VARIANTS[name]
    start = time.perf_counter()
    m = bm.build(s, v.options)
    built = time.perf_counter() - start
    if v.cbc:
        out = _cbc(m, limit, gap)
    else:
        out = _highs(m, v, limit, gap)
    out.update(build=built, columns=m.A.shape[1], integers=int(m.integer.sum()))
    return out


def _model(m: bm.Milp, integer: np.ndarray, lb=None, ub=None, options: dict | None = None,
           log: Path | None = None) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", log is not None)
    if log is not None:
        h.setOptionValue("log_to_console", False)
        h.setOptionValue("log_file", str(log))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    A = m.A.tocsr()
    h.passModel(A.shape[1], A.shape[0], A.nnz, int(highspy.MatrixFormat.kRowwise), int(highspy.ObjSense.kMaximize),
                0.0, m.c, m.lb if lb is None else lb, m.ub if ub is None else ub, m.row_lo, m.row_hi,
                A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data, integer.astype(np.int32))
    return h


def _values(h: highspy.Highs) -> np.ndarray | None:
    return np.asarray(h.getSolution().col_value) if h.getInfo().primal_solution_status == 2 else None


def first_plan(m: bm.Milp, options: dict, seconds: float, improve: bool = False) -> tuple[np.ndarray | None, float, dict]:
    """LP relaxation, headcount rounded up and fixed, the rest re-solved (``improve``: then the
    neighbourhood of the LP's headcount searched): (plan, LP bound, timings)."""
    t0 = time.perf_counter()
    lp = _model(m, np.zeros_like(m.integer), options=options)
    lp.run()
    x = _values(lp)
    timings = {"lp": time.perf_counter() - t0}
    if x is None:
        return None, INF, timings
    bound = float(m.c @ x)
    lb, ub = m.lb.copy(), m.ub.copy()
    R, T = m.staff_shape
    h_cols = m.blocks["h"]
    if len(h_cols):
        heads = np.ceil(x[h_cols] - 1e-6).reshape(R, T)
        flow = x[h_cols].reshape(R, T)[:, :1] - x[m.blocks["n"]].reshape(R, T)[:, :1]
        if len(m.blocks["o"]):
            flow = flow + x[m.blocks["o"]].reshape(R, T)[:, :1]
        current = np.round(flow)  # h_1 - n_1 + o_1 = current
        step = np.diff(np.concatenate([current, heads], axis=1), axis=1)
        lb[h_cols] = ub[h_cols] = heads.ravel()
        lb[m.blocks["n"]] = ub[m.blocks["n"]] = np.maximum(step, 0).ravel()
        if len(m.blocks["o"]):
            lb[m.blocks["o"]] = ub[m.blocks["o"]] = np.maximum(-step, 0).ravel()
    sub = _model(m, m.integer, lb, ub, options={**options, "time_limit": seconds, "mip_rel_gap": 1e-4})
    sub.run()
    timings["fix"] = time.perf_counter() - t0 - timings["lp"]
    plan = _values(sub)
    if improve and plan is not None and len(h_cols):
        plan = _neighbourhood(m, options, seconds, x, plan)
        timings["improve"] = time.perf_counter() - t0 - timings["lp"] - timings["fix"]
    return plan, bound, timings


def _neighbourhood(m: bm.Milp, options: dict, seconds: float, lp: np.ndarray, plan: np.ndarray) -> np.ndarray:
    """Improve a plan: every headcount between the floor and the ceiling of its LP value (hires,
    releases, temp staff and curve binaries free), a short MIP started from ``plan``."""
    lb, ub = m.lb.copy(), m.ub.copy()
    h_cols = m.blocks["h"]
    lb[h_cols] = np.maximum(np.floor(lp[h_cols] + 1e-6), m.lb[h_cols])
    ub[h_cols] = np.ceil(lp[h_cols] - 1e-6)
    sub = _model(m, m.integer, lb, ub, options={**options, "time_limit": seconds, "mip_rel_gap": 1e-5})
    sol = highspy.HighsSolution()
    sol.col_value = list(plan)
    sol.value_valid = True
    sub.setSolution(sol)
    sub.run()
    better = _values(sub)
    return better if better is not None and m.c @ better >= m.c @ plan else plan


def _highs(m: bm.Milp, v: Variant, limit: float, gap: float) -> dict:
    options = dict(v.highs)
    spent = 0.0
    seed = None
    extra = {}
    t0 = time.perf_counter()
    if v.start:
        seed, bound, timings = first_plan(m, options, max(2.0, 0.1 * limit), v.improve)
        spent = time.perf_counter() - t0
        extra["start_seconds"] = spent
        if seed is not None:
            seed_obj = float(m.c @ seed)
            extra["start_gap"] = (bound - seed_obj) / max(abs(seed_obj), 1e-9)
            extra["start_margin"] = m.margin(seed)
        if v.only_start:
            ok = seed is not None
            return {"status": "feasible" if ok else "no plan", "margin": m.margin(seed) if ok else None,
                    "gap": extra.get("start_gap"), "solve": spent, "trajectory": [], **extra}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "highs.log"
        h = _model(m, m.integer, options={**options, "mip_rel_gap": gap, "time_limit": max(limit - spent, 1.0)}, log=log)
        if seed is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(seed)
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        seconds = time.perf_counter() - t0
        trajectory = [(t + spent, g) for t, g in bm.parse_log(log.read_text(errors="replace"))]
    x = _values(h)
    status = h.getModelStatus()
    if x is None:
        return {"status": "no plan", "margin": None, "gap": None, "solve": seconds, "trajectory": trajectory, **extra}
    mip_gap = float(h.getInfo().mip_gap)
    name = "optimal" if status == highspy.HighsModelStatus.kOptimal else "feasible"
    return {"status": name, "margin": m.margin(x), "gap": mip_gap, "solve": seconds, "trajectory": trajectory, **extra}


# --- CBC (the binary bundled with PuLP) on the same arrays -----------------------------------------

_CBC_LINE = re.compile(r"Cbc0010I After \d+ nodes, \d+ on tree, ([-\d.e+]+) best solution, best possible ([-\d.e+]+) \(([\d.]+) seconds\)")


def _cbc_path() -> str:
    import pulp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pulp.PULP_CBC_CMD(msg=False).path


def _cbc(m: bm.Milp, limit: float, gap: float) -> dict:
    """Write the model as MPS (minimise -c) with highspy and run CBC, one thread, on it."""
    with tempfile.TemporaryDirectory() as tmp:
        mps, sol = Path(tmp) / "m.mps", Path(tmp) / "m.sol"
        neg = replace(m, c=-m.c)
        h = _model(neg, m.integer)
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        h.writeModel(str(mps))
        start = time.perf_counter()
        proc = subprocess.run([_cbc_path(), str(mps), "-sec", str(limit), "-ratioGap", str(gap), "-threads", "1",
                               "-timeMode", "elapsed", "-solve", "-solu", str(sol)],
                              capture_output=True, text=True, timeout=limit * 3 + 60)
        seconds = time.perf_counter() - start
        log = proc.stdout
        trajectory = []
        for best, possible, t in _CBC_LINE.findall(log):
            b, p = float(best), float(possible)
            trajectory.append((float(t), abs(b - p) / max(abs(b), 1e-9) if abs(b) < 1e49 else 1.0))
        if not sol.exists():
            return {"status": "no plan", "margin": None, "gap": None, "solve": seconds, "trajectory": trajectory}
        lines = sol.read_text().splitlines()
    values = np.zeros(len(m.c))
    for line in lines[1:]:
        parts = line.replace("**", " ").split()
        if len(parts) >= 3 and parts[1].startswith("c") and parts[1][1:].isdigit():
            values[int(parts[1][1:])] = float(parts[2])
    optimal = lines[0].lower().startswith("optimal")
    objective = float(m.c @ values)
    bound_match = re.search(r"Lower bound:\s+([-\d.e+]+)", log)
    final_gap = 0.0 if optimal else 1.0
    if bound_match and not optimal:
        final_gap = abs(-float(bound_match.group(1)) - objective) / max(abs(objective), 1e-9)
    elif optimal:
        value_match = re.search(r"Gap:\s+([\d.e+-]+)", log)
        final_gap = float(value_match.group(1)) if value_match else 0.0
    return {"status": "optimal" if optimal else "feasible", "margin": m.margin(values), "gap": final_gap,
            "solve": seconds, "trajectory": trajectory}
