"""The reference: the allocator's model built directly as numpy arrays and solved by highspy.

:func:`build_arrays` turns a validated :class:`allocator.Scenario` into ``max c x`` s.t.
``row_lo <= A x <= row_hi``, ``lb <= x <= ub`` with the same columns and rows, in the same order,
as ``allocator.solve.linear_form(build_model(planning_data(scenario)))`` (``spec/model.md``):
per cell and period the curve segments, the fill-order binaries of non-concave curves and the
revenue column; then per region and period headcount, hires, releases and temp staff; then the
reserve. It never touches PuLP: the only allocator code it reuses is
``allocator.model.curves.breakpoints`` (the annual breakpoints of one curve), everything else is
vectorised numpy (a Python loop runs over cells, not over cells x periods, except for the few
non-concave curves). :func:`solve` passes the arrays to HiGHS with one ``Highs.passModel`` call
and the same options as the allocator (one thread, RINS/RENS off, time limit, relative gap).

Same order matters: HiGHS then takes the same path through presolve and branch-and-bound, so a
time-limited MIP stops at a comparable point and the two objectives can be compared.

Supported: everything in ``spec/model.md`` that the benchmark scenarios use, plus releases,
``revenue`` / ``people_cost`` / ``headcount`` policies and ``of:`` filters. Not the elastic or
budget-slack models of the diagnosis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from allocator.model import build as _build
from allocator.model import response as _response
from allocator.model.curves import breakpoints

INF = highspy.kHighsInf
# Two modelling constants are read from the allocator so that the reference stays the same model:
# the reserve's tie-break weight (model.md, Objective) and how far past the annual spend bound the
# period curves reach (1.0 before that constant existed).
RESERVE_EPS = getattr(_build, "RESERVE_EPS", 1e-6)
REACH = getattr(_response, "REACH", 1.0)


@dataclass
class Arrays:
    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray  # bool
    indptr: np.ndarray  # CSR, rowwise
    indices: np.ndarray
    data: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    unit: float
    tie_break: int  # the reserve column


class _Rows:
    """Collects (row, col, value) triplets and row bounds family by family, in order."""

    def __init__(self) -> None:
        self.n = 0
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []

    def block(self, count: int, sense: np.ndarray | int, rhs) -> int:
        """Reserve ``count`` rows with senses (+1 GE, -1 LE, 0 EQ) and right-hand sides."""
        start = self.n
        self.n += count
        sense = np.broadcast_to(np.asarray(sense), (count,))
        rhs = np.broadcast_to(np.asarray(rhs, dtype=float), (count,))
        self.lo.append(np.where(sense >= 0, rhs, -INF))
        self.hi.append(np.where(sense <= 0, rhs, INF))
        return start

    def add(self, rows, cols, vals) -> None:
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        vals = np.broadcast_to(np.asarray(vals, dtype=float), rows.shape)
        self.r.append(rows)
        self.c.append(cols)
        self.v.append(vals)


def _exclusive_cumsum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a), dtype=np.int64)
    np.cumsum(a[:-1], out=out[1:])
    return out


def _runs(slopes: np.ndarray) -> list[range]:
    """Maximal runs of segments whose slopes do not rise (the allocator's rule): one gating
    binary per run after the first."""
    rises = np.flatnonzero(slopes[1:] > slopes[:-1] * (1 + 1e-9) + 1e-12) + 1
    starts = [0, *rises.tolist()]
    return [range(a, b) for a, b in zip(starts, [*starts[1:], len(slopes)])]


def build_arrays(s) -> Arrays:
    """The allocator's model of scenario ``s`` as arrays (see the module docstring)."""
    periods = list(s.periods.names)
    T = len(periods)
    length = np.asarray(s.periods.length or [1.0 / T] * T, dtype=float)
    season = np.asarray(s.periods.seasonality or length, dtype=float)
    budget = s.budget.total
    unit = budget / 1000.0
    tol = s.solver.pwl_tolerance
    regions = [r.id for r in s.regions]
    rindex = {r: i for i, r in enumerate(regions)}
    rclass = {r.id: r.class_ for r in s.regions}
    chmargin = {c.id: c.gross_margin for c in s.channels}
    cells = s.response
    C = len(cells)
    cell_region = np.array([rindex[c.region] for c in cells], dtype=np.int64)
    cell_channel = [c.channel for c in cells]
    margin = np.array([c.gross_margin if c.gross_margin is not None else chmargin[c.channel] for c in cells])
    base = np.array([c.base for c in cells])
    lo = np.array([c.spend.min for c in cells])
    hi = np.array([c.spend.max if c.spend.max is not None else budget for c in cells])
    positive = season > 0
    shortest = season[positive].min()

    # --- curve segments per cell and period (cell-major, period-minor, as the allocator) ---
    Q = C * T
    K = np.zeros(Q, dtype=np.int64)  # segments per (cell, period)
    seg_len: list[np.ndarray] = []
    seg_slope: list[np.ndarray] = []
    links: dict[int, list[tuple[range, range]]] = {}  # q -> (run before, gated run) per gate
    for i, cell in enumerate(cells):
        if hi[i] <= 0:
            continue
        far = REACH * hi[i]
        annual = breakpoints(cell.curve, hi[i], far / shortest, tol)
        ts = np.flatnonzero(positive)
        reach = far / season[ts]
        k = np.searchsorted(annual.spend, reach, side="left")  # annual points below the reach
        counts = k + 1  # points per period: the kept ones and the reach
        pos = np.arange(counts.sum()) - np.repeat(_exclusive_cumsum(counts), counts)
        last = pos == np.repeat(k, counts)
        xs = np.where(last, np.repeat(reach, counts), annual.spend[np.minimum(pos, len(annual.spend) - 1)])
        s_rep = np.repeat(season[ts], counts)
        spend = xs * s_rep
        lift = np.interp(xs, annual.spend, annual.lift) * s_rep
        valid = ~last[:-1]  # a segment joins two points of the same period
        dspend = np.diff(spend)[valid]
        seg_len.append(dspend / unit)
        seg_slope.append(np.diff(lift)[valid] / dspend)
        K[i * T + ts] = k
        if len(_runs(annual.slopes)) > 1:  # non-concave: a gating binary per rising step
            slopes = seg_slope[-1]
            offs = _exclusive_cumsum(k)
            for j, t in enumerate(ts):
                runs = _runs(slopes[offs[j]: offs[j] + k[j]])
                if len(runs) > 1:
                    links[i * T + t] = list(zip(runs, runs[1:]))
    seg_len_a = np.concatenate(seg_len) if seg_len else np.zeros(0)
    seg_slope_a = np.concatenate(seg_slope) if seg_slope else np.zeros(0)
    L = np.zeros(Q, dtype=np.int64)  # gating binaries per q
    R = np.zeros(Q, dtype=np.int64)  # gating rows per q
    for q, gates in links.items():
        L[q] = len(gates)
        R[q] = sum(len(before) + len(run) for before, run in gates)

    ncol_q = K + L + 1
    col_start = _exclusive_cumsum(ncol_q)
    n_resp_cols = int(ncol_q.sum())
    nseg = int(K.sum())
    seg_q = np.repeat(np.arange(Q), K)
    seg_first = _exclusive_cumsum(K)  # index of each q's first segment in the segment arrays
    seg_col = col_start[seg_q] + (np.arange(nseg) - seg_first[seg_q])
    y_col = col_start + K + L
    q_cell = np.arange(Q) // T
    q_period = np.arange(Q) % T
    seg_cell = seg_q // T

    rows = _Rows()
    # response rows: per q the gating rows, then y - sum g d <= s_t b / unit
    resp_rows_q = R + 1
    first = rows.n
    row_start_q = first + _exclusive_cumsum(resp_rows_q)
    senses = np.full(int(resp_rows_q.sum()), -1, dtype=np.int64)
    rhs = np.zeros(len(senses))
    resp_row = row_start_q + R
    rhs[resp_row - first] = season[q_period] * base[q_cell] / unit
    for q, gates in links.items():
        r = row_start_q[q] - first
        for before, run in gates:  # the run before must be full (>=), the gated run waits (<=)
            senses[r: r + len(before)] = 1
            r += len(before) + len(run)
    rows.block(len(senses), senses, rhs)
    rows.add(resp_row, y_col, 1.0)
    rows.add(resp_row[seg_q], seg_col, -seg_slope_a)
    lb_parts, ub_parts, int_parts = [], [], []
    col_lb = np.zeros(n_resp_cols)
    col_ub = np.full(n_resp_cols, INF)
    col_int = np.zeros(n_resp_cols, dtype=bool)
    col_ub[seg_col] = seg_len_a
    for q, gates in links.items():
        r = row_start_q[q]
        for gi, (before, run) in enumerate(gates):
            g = col_start[q] + K[q] + gi
            col_ub[g] = 1.0
            col_int[g] = True
            segs = np.asarray([*before, *run]) + seg_first[q]
            rr = r + np.arange(len(segs))
            rows.add(np.concatenate([rr, rr]), np.concatenate([seg_col[segs], np.full(len(segs), g)]),
                     np.concatenate([np.ones(len(segs)), -seg_len_a[segs]]))
            r += len(segs)
    lb_parts.append(col_lb)
    ub_parts.append(col_ub)
    int_parts.append(col_int)

    # spend bounds per cell: lo <= sum_t x <= hi
    has_seg = np.bincount(seg_cell, minlength=C) > 0
    has_min = lo > 0
    nrow_cell = has_min.astype(np.int64) + has_seg
    sense_c, rhs_c = [], []
    for i in range(C):
        if has_min[i]:
            sense_c.append(1)
            rhs_c.append(lo[i] / unit)
        if has_seg[i]:
            sense_c.append(-1)
            rhs_c.append(hi[i] / unit)
    start = rows.block(len(sense_c), np.array(sense_c, dtype=np.int64), np.array(rhs_c))
    cell_row0 = start + _exclusive_cumsum(nrow_cell)
    m_seg = has_min[seg_cell]
    rows.add(cell_row0[seg_cell][m_seg], seg_col[m_seg], 1.0)
    rows.add(cell_row0[seg_cell] + has_min[seg_cell], seg_col, 1.0)

    # staffing: per region and period h, n, [o], [e]; flow, hire limit, capacity
    sf = s.sales_force
    next_col = n_resp_cols
    people_cols: list[np.ndarray] = []  # people-cost terms in the allocator's order
    people_coef: list[np.ndarray] = []
    temp_cost_u = 0.0
    h_col = None
    if sf is not None:
        R = len(regions)
        temp_set = set(sf.temp_staff.periods) if sf.temp_staff is not None else set()
        is_temp = np.array([p in temp_set for p in periods])
        rel = 1 if sf.allow_release else 0
        ncol_rt = (2 + rel + is_temp[None, :].astype(np.int64)).repeat(R, axis=0).ravel()  # (r, t) order
        rt_start = next_col + _exclusive_cumsum(ncol_rt)
        h_col = rt_start
        n_col = rt_start + 1
        o_col = rt_start + 2 if rel else None
        temp_mask = np.tile(is_temp, R)
        e_col = rt_start[temp_mask] + 2 + rel
        nstaff = int(ncol_rt.sum())
        s_lb, s_ub, s_int = np.zeros(nstaff), np.full(nstaff, INF), np.zeros(nstaff, dtype=bool)
        s_int[h_col - next_col] = True
        s_int[e_col - next_col] = True
        lb_parts.append(s_lb)
        ub_parts.append(s_ub)
        int_parts.append(s_int)
        next_col += nstaff

        if isinstance(sf.max_hires_per_period, dict):
            limit = [sf.max_hires_per_period.get(r) for r in regions]
        else:
            limit = [sf.max_hires_per_period] * R
        has_limit = np.array([x is not None for x in limit])
        nrow_rt = np.repeat(2 + has_limit.astype(np.int64), T)
        rt_row = rows.n + _exclusive_cumsum(nrow_rt)
        current = np.array([float(sf.current.get(r, 0)) for r in regions])
        sense_rt, rhs_rt = [], []
        for ri in range(R):
            for t in range(T):
                sense_rt += [0] + ([-1] if has_limit[ri] else []) + [-1]
                rhs_rt += [current[ri] if t == 0 else 0.0] + ([float(limit[ri])] if has_limit[ri] else []) + [0.0]
        rows.block(len(sense_rt), np.array(sense_rt), np.array(rhs_rt))
        rt = np.arange(R * T)
        t_of = rt % T
        rows.add(rt_row, h_col, 1.0)
        rows.add(rt_row, n_col, -1.0)
        later = t_of > 0
        rows.add(rt_row[later], h_col[rt - 1][later], -1.0)
        if rel:
            rows.add(rt_row, o_col, 1.0)
        lim_rows = rt_row[np.repeat(has_limit, T)] + 1
        rows.add(lim_rows, n_col[np.repeat(has_limit, T)], 1.0)
        cap_row = rt_row + 1 + np.repeat(has_limit, T)
        # capacity: sum of the region's revenue in the period - kappa l h - kappa_tmp e <= 0
        rows.add(cap_row[cell_region[q_cell] * T + q_period], y_col, 1.0)
        rows.add(cap_row, h_col, -sf.revenue_capacity * length[t_of] / unit)
        rows.add(cap_row[temp_mask], e_col, -sf.temp_staff.revenue_capacity / unit if sf.temp_staff else 0.0)

        # people-cost terms per (r, t): h, n, [o], [e]
        cost_h = sf.cost_per_head * length[t_of] / unit
        temp_cost_u = sf.temp_staff.cost_per_head / unit if sf.temp_staff is not None else 0.0
        pc = [h_col, n_col] + ([o_col] if rel else [])
        pv = [cost_h, np.full(R * T, sf.hire_cost / unit)] + ([np.full(R * T, sf.release_cost / unit)] if rel else [])
        people_cols = [np.concatenate(pc + [e_col])]
        people_coef = [np.concatenate(pv + [np.full(len(e_col), temp_cost_u)])]
        people_rt = np.concatenate([rt] * len(pc) + [rt[temp_mask]])

        share = sf.temp_staff.share_of_people_cost if sf.temp_staff is not None else None
        if share is not None:
            pcols, pcoef = people_cols[0], people_coef[0]
            not_e = np.arange(len(pcols)) < len(pcols) - len(e_col)  # e columns come last
            for bound, sense, on in ((share.min, 1, share.min > 0), (share.max, -1, share.max < 1)):
                if not on:
                    continue
                r0 = rows.block(1, sense, 0.0)
                coef = np.where(not_e, -bound * pcoef, temp_cost_u + (-bound * pcoef))
                rows.add(np.full(len(pcols), r0), pcols, coef)
    else:
        people_rt = np.zeros(0, dtype=np.int64)

    # budget and reserve
    z_col = next_col
    lb_parts.append(np.zeros(1))
    ub_parts.append(np.full(1, INF))
    int_parts.append(np.zeros(1, dtype=bool))
    next_col += 1
    total = budget / unit
    rb = rows.block(3, np.array([-1, 1, -1]),
                    np.array([total, s.budget.reserve.min * total, s.budget.reserve.max * total]))
    rows.add(np.full(nseg, rb), seg_col, 1.0)
    for pcols, pcoef in zip(people_cols, people_coef):
        rows.add(np.full(len(pcols), rb), pcols, pcoef)
    rows.add([rb, rb + 1, rb + 2], [z_col] * 3, 1.0)

    # growth floors, potential, company revenue floor
    floors = []
    for ri, r in enumerate(s.regions):
        g = r.growth_floor if r.growth_floor is not None else s.targets.growth_floor.get(r.class_)
        if g is not None and r.last_year_revenue is not None:
            floors.append((ri, (1 + g) * r.last_year_revenue / unit))
    q_region = cell_region[q_cell]
    for ri, rhs_ in floors:
        r0 = rows.block(1, 1, rhs_)
        rows.add(np.full(int((q_region == ri).sum()), r0), y_col[q_region == ri], 1.0)
    for ri, r in enumerate(s.regions):
        if r.potential is not None:
            r0 = rows.block(1, -1, r.potential / unit)
            rows.add(np.full(int((q_region == ri).sum()), r0), y_col[q_region == ri], 1.0)
    if s.targets.revenue is not None:
        r0 = rows.block(1, 1, s.targets.revenue / unit)
        rows.add(np.full(Q, r0), y_col, 1.0)

    # ROI floors: m sum g d - (1 + rho) sum d >= 0, per cell with min_roi, then per channel
    roi_coef = seg_slope_a * margin[seg_cell]
    for i, cell in enumerate(cells):
        if cell.min_roi is not None:
            r0 = rows.block(1, 1, 0.0)
            m = seg_cell == i
            rows.add(np.full(int(m.sum()), r0), seg_col[m], roi_coef[m] + (-(1 + cell.min_roi)))
    seg_channel = np.array(cell_channel, dtype=object)[seg_cell] if nseg else np.zeros(0, dtype=object)
    for ch in s.channels:
        if ch.min_roi is not None:
            r0 = rows.block(1, 1, 0.0)
            m = seg_channel == ch.id
            rows.add(np.full(int(m.sum()), r0), seg_col[m], roi_coef[m] + (-(1 + ch.min_roi)))

    # policies: min Q(base) <= Q(F) <= max Q(base)
    cls = np.array([rclass[r] for r in regions], dtype=object)

    def match_q(flt):  # over (cell, period)
        if flt is None:
            return np.ones(Q, dtype=bool)
        m = np.ones(Q, dtype=bool)
        if flt.region is not None:
            m &= np.isin(np.array(regions, dtype=object)[q_region], flt.region)
        if flt.region_class is not None:
            m &= np.isin(cls[q_region], flt.region_class)
        if flt.period is not None:
            m &= np.isin(np.array(periods, dtype=object)[q_period], flt.period)
        if flt.channel is not None:
            m &= np.isin(np.array(cell_channel, dtype=object)[q_cell], flt.channel)
        return m

    def match_rt(flt, rt_index):  # over (region, period) items
        if flt is None:
            return np.ones(len(rt_index), dtype=bool)
        r_, t_ = rt_index // T, rt_index % T
        m = np.ones(len(rt_index), dtype=bool)
        if flt.region is not None:
            m &= np.isin(np.array(regions, dtype=object)[r_], flt.region)
        if flt.region_class is not None:
            m &= np.isin(cls[r_], flt.region_class)
        if flt.period is not None:
            m &= np.isin(np.array(periods, dtype=object)[t_], flt.period)
        return m

    def quantity(share, flt):
        """(cols, coefs) of Q(F), in model units."""
        if share == "marketing_spend":
            m = match_q(flt)[seg_q]
            return seg_col[m], np.ones(int(m.sum()))
        if share == "revenue":
            m = match_q(flt)
            return y_col[m], np.ones(int(m.sum()))
        if sf is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        if share == "people_cost":
            m = match_rt(flt, people_rt)
            return people_cols[0][m], people_coef[0][m]
        rt_all = np.arange(len(regions) * T)
        m = match_rt(flt, rt_all)
        return h_col[m], length[rt_all % T][m]

    ncols = next_col
    for policy in s.policies:
        pcols, pcoef = quantity(policy.share, policy.where)
        bcols, bcoef = quantity(policy.share, policy.of)
        for bound, sense in ((policy.min, 1), (policy.max, -1)):
            if bound is None:
                continue
            coef = np.zeros(ncols)
            touched = np.zeros(ncols, dtype=bool)
            np.add.at(coef, pcols, pcoef)
            touched[pcols] = True
            np.add.at(coef, bcols, -bound * bcoef)
            touched[bcols] = True
            cols_ = np.flatnonzero(touched)
            r0 = rows.block(1, sense, 0.0)
            rows.add(np.full(len(cols_), r0), cols_, coef[cols_])

    # objective: M = sum m y - sum x - P (+ eps Z)
    c = np.zeros(ncols)
    c[y_col] = margin[q_cell]
    c[seg_col] = -1.0
    for pcols, pcoef in zip(people_cols, people_coef):
        c[pcols] = -pcoef
    c[z_col] = RESERVE_EPS

    # CSR (rowwise) from the triplets
    r_all = np.concatenate(rows.r)
    c_all = np.concatenate(rows.c)
    v_all = np.concatenate(rows.v)
    order = np.lexsort((c_all, r_all))
    indptr = np.zeros(rows.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_all, minlength=rows.n), out=indptr[1:])
    return Arrays(
        c=c,
        lb=np.concatenate(lb_parts),
        ub=np.concatenate(ub_parts),
        integer=np.concatenate(int_parts),
        indptr=indptr,
        indices=c_all[order],
        data=v_all[order],
        row_lo=np.concatenate(rows.lo),
        row_hi=np.concatenate(rows.hi),
        unit=unit,
        tie_break=z_col,
    )


def solve(a: Arrays, time_limit: float | None, mip_gap: float, threads: int = 1,
          rins_rens: bool = False) -> dict:
    """One ``passModel`` and one ``run`` with the allocator's HiGHS options; times in seconds."""
    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("mip_heuristic_run_rins", rins_rens)
    h.setOptionValue("mip_heuristic_run_rens", rins_rens)
    h.setOptionValue("time_limit", float(time_limit) if time_limit else INF)
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    n, m = len(a.c), len(a.row_lo)
    h.passModel(n, m, len(a.data), int(highspy.MatrixFormat.kRowwise), int(highspy.ObjSense.kMaximize), 0.0,
                a.c, a.lb, a.ub, a.row_lo, a.row_hi,
                a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data, a.integer.astype(np.int32))
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    status = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2
    values = np.asarray(h.getSolution().col_value) if has_plan else np.zeros(0)
    t3 = time.perf_counter()
    mip = bool(a.integer.any())
    objective = float(a.c @ values) if has_plan else float("nan")
    margin = objective - RESERVE_EPS * float(values[a.tie_break]) if has_plan else float("nan")
    return {
        "status": h.modelStatusToString(status),
        "has_plan": has_plan,
        "objective": objective,  # model units, with the reserve tie-break
        "margin": margin * a.unit,  # currency, the plan's expected margin M
        "mip_gap": float(info.mip_gap) if mip and has_plan else 0.0,
        "pass": t1 - t0,
        "run": t2 - t1,
        "solver": h.getRunTime(),
        "extract": t3 - t2,
        "values": values,
    }
