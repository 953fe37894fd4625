"""A plain textbook MILP of ``spec/model.md``, solved by ``scipy.optimize.milp``: the baseline.

The integer suite (``mip_suite.py``) solves every shape twice: by the allocator, and by this
independent formulation of the same model. It is written from the spec, not from the
allocator's code; the one thing it reuses is ``allocator.model.curves.breakpoints`` (the
piecewise-linear interpolant is part of the model: spec "Piecewise-linear approximation") and
the way a period's breakpoints are the annual ones scaled by seasonality, reaching 1.25x the
annual spend bound, so that both optimise the same interpolant and report the same optimum.

The default :class:`Options` are the baseline of issue 16: explicit spend ``x``, lift ``u`` and
people-cost ``P`` columns; an incremental (delta) formulation of each curve whose binaries sit
only on the non-concave part (a chain ``d_(k-1) >= w z_k``, ``d_k <= w z_k`` up to the last
segment where the slope rises, the concave tail gated as a whole by the last binary); integer
headcount, hires, releases and temp staff; HiGHS defaults. The other options are the
formulation variants measured in ``docs/performance.md`` ("Integer plans: the MIP suite"):

* ``pwl``: ``incremental`` (above), ``runs`` (the allocator's: one binary per rise, every
  segment of the concave run before it full), ``log`` (a convex combination of the breakpoints
  with a logarithmic number of binaries, Vielma-Nemhauser; the SOS2 encoding for solvers
  without SOS constraints, HiGHS has none);
* ``staff``: which staffing columns are integer: ``all``; ``heads`` (h and e, as the allocator);
  ``hires`` (n, o and e; h is integer through the flow); ``none`` (the LP relaxation);
* ``explicit``: with ``False`` no ``x``, ``u``, ``P`` columns: every row that needs a spend, a
  lift or the people cost takes the sum of segment (or breakpoint) and staffing terms instead,
  as the allocator's model does;
* ``bounds``: column bounds that hold for every plan (revenue of a cell at most base plus the
  curve's top; headcount between current, without releases, and current plus the hire limit
  times the periods so far): tighter capacity rows for presolve and the LP bound.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from allocator.model.curves import breakpoints

REACH = 1.25  # period curves reach 1.25x the annual spend bound (the bound is a row, never a column's)
RESERVE_EPS = 1e-6  # the spec's tie-break towards the largest reserve, in model units
INF = np.inf


@dataclass(frozen=True)
class Options:
    pwl: str = "incremental"  # incremental | runs | log
    staff: str = "all"  # all | heads | hires | none
    bounds: bool = False
    explicit: bool = True  # spend, lift and people-cost columns; False: their sums of terms in every row


@dataclass
class Milp:
    """``max c x`` s.t. ``row_lo <= A x <= row_hi``, ``lb <= x <= ub``, integer where ``integer``."""

    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    unit: float
    blocks: dict[str, np.ndarray]  # column indices by meaning: x, u, y, h, n, o, e, P, Z, binaries
    staff_shape: tuple[int, int]  # (regions, periods): h, n, o, e are laid out region-major

    def margin(self, values: np.ndarray) -> float:
        """The plan's expected margin ``M`` in currency (the objective without the tie-break)."""
        z = self.blocks["Z"]
        return float(self.c @ values - RESERVE_EPS * values[z].sum()) * self.unit


class _Builder:
    """Columns and rows appended block by block (triplets), turned into arrays at the end."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.integer: list[bool] = []
        self.cost: dict[int, float] = {}
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def cols(self, count: int, lb: float = 0.0, ub=INF, integer: bool = False) -> np.ndarray:
        start = len(self.lb)
        self.lb += [lb] * count
        self.ub += list(np.broadcast_to(np.asarray(ub, dtype=float), (count,)))
        self.integer += [integer] * count
        return np.arange(start, start + count)

    def row(self, terms, lo: float = -INF, hi: float = INF) -> None:
        i = len(self.lo)
        for col, coef in terms:
            self.r.append(i)
            self.c.append(int(col))
            self.v.append(float(coef))
        self.lo.append(lo)
        self.hi.append(hi)

    def arrays(self, unit: float, blocks: dict, staff_shape) -> Milp:
        n = len(self.lb)
        c = np.zeros(n)
        for col, coef in self.cost.items():
            c[col] += coef
        A = sp.csr_matrix((self.v, (self.r, self.c)), shape=(len(self.lo), n))
        A.sum_duplicates()
        return Milp(c, np.array(self.lb), np.array(self.ub), np.array(self.integer), A,
                    np.array(self.lo), np.array(self.hi), unit, blocks, staff_shape)


def period_points(curve, hi: float, season: float, shortest: float, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints (spend, lift) of a period curve ``s f(x / s)`` in currency."""
    far = REACH * hi
    annual = breakpoints(curve, hi, far / shortest, tol)
    reach = far / season
    xs = np.append(annual.spend[annual.spend < reach], reach)
    return xs * season, annual.interpolate(xs) * season


def _rises(slopes: np.ndarray) -> np.ndarray:
    """Segments whose slope is above the one before (the curve turns convex there)."""
    return np.flatnonzero(slopes[1:] > slopes[:-1] * (1 + 1e-9) + 1e-12) + 1


def _curve(b: _Builder, xs: np.ndarray, fs: np.ndarray, unit: float, pwl: str, binaries: list,
           explicit: bool = True) -> tuple[list, list]:
    """One cell-period's curve with ``u <= interpolant(x)``: the terms of its spend ``x`` and lift
    ``u`` (one column each when ``explicit``, else the segment or breakpoint columns)."""
    x, u = (b.cols(1)[0], b.cols(1)[0]) if explicit else (None, None)
    w = np.diff(xs) / unit
    g = np.diff(fs) / np.diff(xs)
    rises = _rises(g)
    if pwl == "log" and len(rises):
        return _log_sos2(b, xs / unit, fs / unit, binaries, x, u)
    d = b.cols(len(w), 0.0, w)
    x_terms, u_terms = [(col, 1.0) for col in d], [(col, gk) for col, gk in zip(d, g)]
    if explicit:
        b.row([(x, 1.0)] + [(col, -k) for col, k in x_terms], 0.0, 0.0)
        b.row([(u, 1.0)] + [(col, -k) for col, k in u_terms], -INF, 0.0)
        x_terms, u_terms = [(x, 1.0)], [(u, 1.0)]
    if not len(rises):
        return x_terms, u_terms
    if pwl == "incremental":
        last = int(rises[-1])
        z = b.cols(last, 0.0, 1.0, integer=True)  # z[k-1]: segment k may fill (segment k-1 is full)
        binaries.extend(z)
        for k in range(1, last + 1):
            b.row([(d[k - 1], 1.0), (z[k - 1], -w[k - 1])], 0.0, INF)
            b.row([(d[k], 1.0), (z[k - 1], -w[k])], -INF, 0.0)
        for j in range(last + 1, len(w)):
            b.row([(d[j], 1.0), (z[last - 1], -w[j])], -INF, 0.0)
    elif pwl == "runs":
        starts = [0, *rises.tolist(), len(w)]
        for a, s, e in zip(starts, starts[1:], starts[2:]):
            z = b.cols(1, 0.0, 1.0, integer=True)[0]
            binaries.append(z)
            for j in range(a, s):
                b.row([(d[j], 1.0), (z, -w[j])], 0.0, INF)
            for j in range(s, e):
                b.row([(d[j], 1.0), (z, -w[j])], -INF, 0.0)
    else:
        raise ValueError(f"unknown pwl formulation {pwl!r}")
    return x_terms, u_terms


def _log_sos2(b: _Builder, xs, fs, binaries: list, x: int | None, u: int | None) -> tuple[list, list]:
    """A convex combination of two neighbouring breakpoints with ceil(log2 K) binaries; returns
    the terms of spend and lift (the columns ``x`` and ``u`` when given)."""
    K = len(xs) - 1
    lam = b.cols(K + 1, 0.0, 1.0)
    b.row([(col, 1.0) for col in lam], 1.0, 1.0)
    x_terms, u_terms = [(col, p) for col, p in zip(lam, xs)], [(col, f) for col, f in zip(lam, fs)]
    if x is not None:
        b.row([(x, 1.0)] + [(col, -k) for col, k in x_terms], 0.0, 0.0)
        b.row([(u, 1.0)] + [(col, -k) for col, k in u_terms], -INF, 0.0)
        x_terms, u_terms = [(x, 1.0)], [(u, 1.0)]
    bits = max(1, int(np.ceil(np.log2(K))))
    gray = [i ^ (i >> 1) for i in range(K)]  # segment i (points i, i+1) gets code gray[i]
    z = b.cols(bits, 0.0, 1.0, integer=True)
    binaries.extend(z)
    for bit in range(bits):
        ones, zeros = [], []
        for j in range(K + 1):
            near = [gray[i] >> bit & 1 for i in (j - 1, j) if 0 <= i < K]
            if all(near):
                ones.append(lam[j])
            elif not any(near):
                zeros.append(lam[j])
        b.row([(col, 1.0) for col in ones] + [(z[bit], -1.0)], -INF, 0.0)
        b.row([(col, 1.0) for col in zeros] + [(z[bit], 1.0)], -INF, 1.0)
    return x_terms, u_terms


def build(s, options: Options = Options()) -> Milp:
    """The model of scenario ``s`` (a validated ``allocator.Scenario``) in model units ``B / 1000``."""
    b = _Builder()
    periods = list(s.periods.names)
    T = len(periods)
    length = np.asarray(s.periods.length or [1.0 / T] * T, dtype=float)
    season = np.asarray(s.periods.seasonality or length, dtype=float)
    budget = s.budget.total
    unit = budget / 1000.0
    tol = s.solver.pwl_tolerance
    shortest = season[season > 0].min()
    ch_margin = {c.id: c.gross_margin for c in s.channels}
    region_class = {r.id: r.class_ for r in s.regions}
    regions = [r.id for r in s.regions]
    binaries: list[int] = []
    items = []  # per (cell, period): region, channel, period index, spend terms, lift terms, y
    spend_of_cell = []
    top = {}  # (region, t) -> largest revenue the region's cells can sell in t (model units)
    for cell in s.response:
        hi = cell.spend.max if cell.spend.max is not None else budget
        margin = cell.gross_margin if cell.gross_margin is not None else ch_margin[cell.channel]
        xs_of_cell, us_of_cell = [], []
        for t in range(T):
            base_t = season[t] * cell.base / unit
            if season[t] > 0 and hi > 0:
                xs, fs = period_points(cell.curve, hi, season[t], shortest, tol)
                x, u = _curve(b, xs, fs, unit, options.pwl, binaries, options.explicit)
                ceiling = base_t + fs.max() / unit
            else:
                x, u = [], []
                ceiling = base_t
            y = b.cols(1, 0.0, ceiling if options.bounds else INF)[0]
            b.row([(y, 1.0)] + [(col, -k) for col, k in u], -INF, base_t)  # y <= b + u
            b.cost[y] = margin
            for col, k in x:
                b.cost[col] = b.cost.get(col, 0.0) - k
            items.append((cell.region, cell.channel, t, x, u, y))
            top[(cell.region, t)] = top.get((cell.region, t), 0.0) + ceiling
            xs_of_cell.append(x)
            us_of_cell.append(u)
        spend_of_cell.append((cell, margin, xs_of_cell, us_of_cell))
        lo = cell.spend.min / unit
        b.row([term for x in xs_of_cell for term in x], lo if lo > 0 else -INF, hi / unit)
        if cell.min_roi is not None:
            b.row(_roi_terms([(margin, xs_of_cell, us_of_cell)], cell.min_roi), 0.0, INF)
    for ch in s.channels:
        if ch.min_roi is not None:
            parts = [(m, xs_, us_) for c, m, xs_, us_ in spend_of_cell if c.channel == ch.id]
            b.row(_roi_terms(parts, ch.min_roi), 0.0, INF)

    staff = _staffing(b, s, regions, periods, length, unit, items, top, options)
    P = staff.pop("P")  # terms of the people cost
    Z = b.cols(1)[0]
    b.cost[Z] = RESERVE_EPS
    for col, k in P:
        b.cost[col] = b.cost.get(col, 0.0) - k
    total = budget / unit
    b.row([term for it in items for term in it[3]] + P + [(Z, 1.0)], -INF, total)
    b.row([(Z, 1.0)], s.budget.reserve.min * total, s.budget.reserve.max * total)

    for r in s.regions:
        ys = [(it[5], 1.0) for it in items if it[0] == r.id]
        g = r.growth_floor if r.growth_floor is not None else s.targets.growth_floor.get(r.class_)
        if g is not None and r.last_year_revenue is not None:
            b.row(ys, (1 + g) * r.last_year_revenue / unit, INF)
        if r.potential is not None:
            b.row(ys, -INF, r.potential / unit)
    if s.targets.revenue is not None:
        b.row([(it[5], 1.0) for it in items], s.targets.revenue / unit, INF)

    def passes(flt, region, t, channel=None) -> bool:
        if flt is None:
            return True
        return ((flt.region is None or region in flt.region)
                and (flt.region_class is None or region_class[region] in flt.region_class)
                and (flt.period is None or periods[t] in flt.period)
                and (flt.channel is None or channel is None or channel in flt.channel))

    def quantity(share, flt):
        if share == "marketing_spend":
            return [term for it in items if passes(flt, it[0], it[2], it[1]) for term in it[3]]
        if share == "revenue":
            return [(it[5], 1.0) for it in items if passes(flt, it[0], it[2], it[1])]
        if share == "people_cost":
            return [term for (r, t), terms in staff["cost_terms"].items() if passes(flt, r, t) for term in terms]
        return [(staff["h"][ri * T + t], length[t]) for ri, r in enumerate(regions) for t in range(T)
                if passes(flt, r, t) and len(staff["h"])]

    for p in s.policies:
        part, whole = quantity(p.share, p.where), quantity(p.share, p.of)
        if p.min is not None:
            b.row(part + [(col, -p.min * coef) for col, coef in whole], 0.0, INF)
        if p.max is not None:
            b.row(part + [(col, -p.max * coef) for col, coef in whole], -INF, 0.0)

    blocks = {key: np.asarray(staff[key], dtype=np.int64) for key in ("h", "n", "o", "e")}
    blocks.update(y=np.array([it[5] for it in items]), Z=np.array([Z]),
                  binaries=np.asarray(binaries, dtype=np.int64), e_mask=staff["e_mask"])
    return b.arrays(unit, blocks, (len(regions) if s.sales_force else 0, T))


def _roi_terms(parts, rho: float) -> list:
    """``m sum u - (1 + rho) sum x`` over ``(margin, spend terms per period, lift terms per period)``."""
    terms = [(col, m * k) for m, _xs, us in parts for u in us for col, k in u]
    return terms + [(col, -(1 + rho) * k) for _m, xs, _us in parts for x in xs for col, k in x]


def _staffing(b: _Builder, s, regions, periods, length, unit, items, top, options: Options) -> dict:
    """Headcount flow, capacity, people cost ``P`` and the temp-staff share (families 3-5)."""
    column = b.cols(1)[0] if options.explicit else None  # P
    sf = s.sales_force
    T = len(periods)
    out = {"P": [] if column is None else [(column, 1.0)], "h": [], "n": [], "o": [], "e": [], "cost_terms": {},
           "e_mask": np.zeros(0, dtype=bool)}
    if sf is None:
        if column is not None:
            b.row([(column, 1.0)], 0.0, 0.0)
        return out
    integer = {"all": "hnoe", "heads": "he", "hires": "noe", "none": ""}[options.staff]
    temp = sf.temp_staff
    temp_periods = set(temp.periods) if temp is not None else set()
    e_mask = np.zeros(len(regions) * T, dtype=bool)
    cost_terms = {}
    temp_cost_terms = []
    sold = {}
    for r_, _c, t, _x, _u, y in items:
        sold.setdefault((r_, t), []).append(y)
    for region in regions:
        limit = sf.max_hires_per_period.get(region) if isinstance(sf.max_hires_per_period, dict) else sf.max_hires_per_period
        current = float(sf.current.get(region, 0))
        previous = None
        for t in range(T):
            h_lo, h_hi = 0.0, INF
            if options.bounds:  # valid for every plan: h_t = current + hires so far - releases so far
                h_lo = 0.0 if sf.allow_release else current
                h_hi = current + (t + 1) * limit if limit is not None else INF
            h = b.cols(1, h_lo, h_hi, integer="h" in integer)[0]
            n = b.cols(1, 0.0, INF if limit is None else float(limit), integer="n" in integer)[0]
            flow = [(h, 1.0), (n, -1.0)] + ([(previous, -1.0)] if previous is not None else [])
            cost = [(h, sf.cost_per_head * length[t] / unit), (n, sf.hire_cost / unit)]
            out["h"].append(h)
            out["n"].append(n)
            if sf.allow_release:
                o = b.cols(1, 0.0, INF, integer="o" in integer)[0]
                flow.append((o, 1.0))
                cost.append((o, sf.release_cost / unit))
                out["o"].append(o)
            start = current if previous is None else 0.0
            b.row(flow, start, start)
            capacity = [(y, 1.0) for y in sold.get((region, t), [])] + [(h, -sf.revenue_capacity * length[t] / unit)]
            if periods[t] in temp_periods:
                e = b.cols(1, 0.0, INF, integer="e" in integer)[0]
                capacity.append((e, -temp.revenue_capacity / unit))
                cost.append((e, temp.cost_per_head / unit))
                temp_cost_terms.append((e, temp.cost_per_head / unit))
                out["e"].append(e)
                e_mask[regions.index(region) * T + t] = True
            b.row(capacity, -INF, 0.0)
            cost_terms[(region, t)] = cost
            previous = h
    P = [term for terms in cost_terms.values() for term in terms]
    if column is not None:
        b.row([(column, 1.0)] + [(col, -coef) for col, coef in P], 0.0, 0.0)
        P = [(column, 1.0)]
    out["P"] = P
    share = temp.share_of_people_cost if temp is not None else None
    if share is not None:
        if share.min > 0:
            b.row(temp_cost_terms + [(col, -share.min * k) for col, k in P], 0.0, INF)
        if share.max < 1:
            b.row(temp_cost_terms + [(col, -share.max * k) for col, k in P], -INF, 0.0)
    out["cost_terms"] = cost_terms
    out["e_mask"] = e_mask
    return out


# --- solving with scipy.optimize.milp (HiGHS defaults) -------------------------------------------


@dataclass
class Result:
    status: str  # optimal | feasible (stopped with a plan) | infeasible | no plan
    margin: float  # currency, nan without a plan
    objective: float  # model units, with the tie-break
    gap: float
    seconds: float
    trajectory: list[tuple[float, float]] = field(default_factory=list)  # (seconds, gap) from the log
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    log: str = ""


def solve_scipy(m: Milp, time_limit: float | None = None, mip_gap: float = 1e-4, log: bool = True) -> Result:
    """``scipy.optimize.milp`` with HiGHS's defaults apart from the gap and the time limit.

    With ``log`` the HiGHS log (printed on the process's stdout by scipy) is captured at the file
    descriptor and parsed into the gap trajectory.
    """
    options = {"mip_rel_gap": mip_gap, "disp": log, "presolve": True}
    if time_limit:
        options["time_limit"] = float(time_limit)
    start = time.perf_counter()
    with _captured_stdout() as text:
        res = milp(-m.c, integrality=m.integer.astype(int), bounds=Bounds(m.lb, m.ub),
                   constraints=LinearConstraint(m.A, m.row_lo, m.row_hi), options=options)
    seconds = time.perf_counter() - start
    has_plan = res.x is not None
    status = {0: "optimal", 2: "infeasible"}.get(res.status, "feasible" if has_plan else "no plan")
    values = np.asarray(res.x) if has_plan else np.zeros(0)
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0) if has_plan and m.integer.any() else 0.0
    return Result(status, m.margin(values) if has_plan else float("nan"),
                  float(m.c @ values) if has_plan else float("nan"), gap, seconds,
                  parse_log(text[0]), values, text[0])


@contextlib.contextmanager
def _captured_stdout():
    """Redirect file descriptor 1 (where HiGHS's C++ code prints) into a temporary file."""
    box = [""]
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(tmp.fileno(), 1)
        try:
            yield box
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            box[0] = tmp.read().decode(errors="replace")


_TIME = re.compile(r"(\d+(?:\.\d+)?)s$")


def parse_log(text: str) -> list[tuple[float, float]]:
    """(seconds, relative gap) of each branch-and-bound line of a HiGHS MIP log.

    A line reads ``Src Proc. InQueue | Leaves Expl. | BestBound BestSol Gap | Cuts InLp Confl. |
    LpIters Time``; the gap is the sixth token from the end (``inf`` or ``Large`` before there is
    a plan, read as 1).
    """
    out = []
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 10 or not _TIME.search(tokens[-1]):
            continue
        gap = tokens[-6]
        try:
            value = float(gap.rstrip("%")) / 100.0 if gap.endswith("%") else (1.0 if gap in ("inf", "Large") else None)
        except ValueError:
            continue
        if value is None:
            continue
        out.append((float(_TIME.search(tokens[-1]).group(1)), value))
    return out
