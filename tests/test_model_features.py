"""One small case per feature of ``spec/model.md``, each against an optimum found without allocator.

Expected optima come from hand algebra, closed forms, brute-force enumeration, or scipy on our own
formulation; the independent curve maths is in :class:`Hill` and :class:`Exp` below. Every test runs
on HiGHS and on CBC against the same expected value, and every feasible plan is written and
re-verified by ``tests.plan_checker``.

Tolerances: the model replaces a curve by an interpolant within ``delta = pwl_tolerance * f(hi)``
of it (``hi`` the cell's spend max, default ``budget.total``). Two consequences used throughout:
- a concave cell's interpolant lies below the curve, so an objective lies in ``[M* - m delta, M*]``;
- a chord of width ``w`` sags by at least ``min|f''| w^2 / 8``, so no segment is wider than
  ``w = sqrt(8 delta / min|f''|)``: a spend the LP stops at a breakpoint is within ``w`` of the
  exact optimum, and a segment's slope lies between ``f'`` at its two ends (mean value theorem).
Linear and ``points`` curves are interpolated exactly; those tests compare to solver precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.optimize import brentq, linprog, minimize

from allocator import Scenario, solve
from tests.plan_checker import check_run

M = 1e6
SOLVERS = ["highs", "cbc"]


@pytest.fixture(params=SOLVERS)
def solver(request) -> str:
    return request.param


# --- independent curve maths ---------------------------------------------------------------


@dataclass(frozen=True)
class Hill:
    """``f(x) = L x^a / (x^a + K^a)``."""

    L: float
    K: float
    a: float = 1.0

    def f(self, x: float) -> float:
        r = (max(x, 0.0) / self.K) ** self.a
        return self.L * r / (1.0 + r)

    def df(self, x: float) -> float:
        if x <= 0:
            return self.L / self.K if self.a == 1 else 0.0
        r = (x / self.K) ** self.a
        return self.L * self.a * r / (x * (1.0 + r) ** 2)

    def spec(self) -> dict:
        return {"type": "hill", "max_lift": self.L, "half_saturation": self.K, "shape": self.a}


@dataclass(frozen=True)
class Exp:
    """``f(x) = L (1 - exp(-x / K))``."""

    L: float
    K: float

    def f(self, x: float) -> float:
        return self.L * (1.0 - math.exp(-x / self.K))

    def df(self, x: float) -> float:
        return self.L / self.K * math.exp(-x / self.K)

    def spec(self) -> dict:
        return {"type": "exp", "max_lift": self.L, "scale": self.K}


def d2f(curve, x: float) -> float:
    h = 1e-4 * curve.K
    return (curve.df(x + h) - curve.df(x - h)) / (2 * h)


def widest_segment(curve, x: float, delta: float) -> float:
    """Bound on the width of an interpolant segment near ``x`` (its sag is at most ``delta``)."""
    w = math.sqrt(8 * delta / abs(d2f(curve, x)))
    flattest = min(abs(d2f(curve, max(x - 2 * w, 1e-9 * curve.K))), abs(d2f(curve, x + 2 * w)))
    return math.sqrt(8 * delta / flattest)


def linear(roas: float, cap: float | None = None) -> dict:
    return {"type": "linear", "roas": roas, **({"cap": cap} if cap is not None else {})}


# --- scenarios and solving -----------------------------------------------------------------


def scenario(response: list[dict], channels: dict[str, float], *, budget: float, reserve=(0.0, 0.0),
             regions: list[dict] | None = None, periods=("Y",), seasonality=None, pwl: float | None = None,
             channel_roi: dict[str, float] | None = None, **sections) -> dict:
    """A scenario dict; ``channels`` maps id to gross margin; missing cell regions default to ``r``."""
    channel_roi = channel_roi or {}
    d = {
        "scenario": "feature",
        "periods": {"names": list(periods), **({"seasonality": list(seasonality)} if seasonality else {})},
        "budget": {"total": budget, "reserve": {"min": reserve[0], "max": reserve[1]}},
        "regions": regions or [{"id": "r"}],
        "channels": [{"id": c, "gross_margin": m, **({"min_roi": channel_roi[c]} if c in channel_roi else {})}
                     for c, m in channels.items()],
        "response": [{"region": "r", **cell} for cell in response],
        **sections,
    }
    if pwl is not None:
        d["solver"] = {"pwl_tolerance": pwl}
    return d


def run(d: dict, solver: str, tmp_path, mip_gap: float | None = None):
    plan = solve(Scenario.from_dict(d), solver=solver, mip_gap=mip_gap)
    assert plan.status == "optimal", plan.diagnosis
    check_run(plan.write(tmp_path / solver))
    return plan


def spend_of(plan, channel: str, region: str = "r") -> float:
    a = plan.allocation
    return float(a.spend[(a.region == region) & (a.channel == channel)].sum())


def constraint(plan, name: str):
    rows = plan.constraints[plan.constraints.name == name]
    assert len(rows) == 1, f"{name} not reported once in {list(plan.constraints.name)}"
    return rows.iloc[0]


def eps(budget: float) -> float:
    """Solver feasibility and the reserve tie-break (1e-6 * reserve): far below any effect tested."""
    return 1e-6 * budget


# --- 1. linear curves: an LP solved by hand ------------------------------------------------


def test_linear_channels_fill_the_more_profitable_one_to_its_cap_then_the_next(solver, tmp_path):
    # a: margin 50%, roas 4 up to 3M -> 0.5*4 - 1 = +1.00 per unit, nothing past the cap
    # b: margin 40%, roas 3.5        -> 0.4*3.5 - 1 = +0.40 per unit
    # budget 6M: a takes its 3M, b the other 3M. M = 0.5*(10+12) + 0.4*(5+10.5) - 6 = 11.2M
    d = scenario([{"channel": "a", "base": 10 * M, "curve": linear(4, 3 * M)},
                  {"channel": "b", "base": 5 * M, "curve": linear(3.5)}],
                 {"a": 0.5, "b": 0.4}, budget=6 * M)
    plan = run(d, solver, tmp_path)
    assert spend_of(plan, "a") == pytest.approx(3 * M, abs=eps(6 * M))
    assert spend_of(plan, "b") == pytest.approx(3 * M, abs=eps(6 * M))
    assert plan.objective == pytest.approx(11.2 * M, abs=eps(6 * M))
    assert plan.summary["budget_shadow_price"] == pytest.approx(0.4, abs=1e-6)  # b's marginal margin


# --- 2. concave curves: the optimum where m f'(X) = 1 ----------------------------------------

CONCAVE = {
    # hill shape 1: m f'(X) = m L K / (X + K)^2 = 1  ->  X* = K (sqrt(mL/K) - 1) = 2M
    "hill": (Hill(20 * M, 2 * M), 2 * M),
    # exp: m (L/K) exp(-X/K) = 1  ->  X* = K ln(mL/K) = 2M ln 4
    "exp": (Exp(20 * M, 2 * M), 2 * M * math.log(4.0)),
}


@pytest.mark.parametrize("kind", CONCAVE)
def test_concave_curve_spends_where_margin_times_slope_is_one(kind, solver, tmp_path):
    curve, x_star = CONCAVE[kind]
    m, base, hi, pwl = 0.4, 5 * M, 6 * M, 1e-5
    assert m * curve.df(x_star) == pytest.approx(1.0)  # the closed form is right
    d = scenario([{"channel": "c", "base": base, "curve": curve.spec(), "spend": {"max": hi}}],
                 {"c": m}, budget=10 * M, pwl=pwl)
    plan = run(d, solver, tmp_path)
    best = m * (base + curve.f(x_star)) - x_star
    delta = pwl * curve.f(hi)
    w = widest_segment(curve, x_star, delta)  # the LP stops on a breakpoint within w of X*
    x = spend_of(plan, "c")
    assert x == pytest.approx(x_star, abs=w)
    assert best - m * delta - eps(10 * M) <= plan.objective <= best + eps(10 * M)
    # marginal ROI m f'(x) - 1 at the chosen spend: |m f''| * w at most
    roi_tol = m * max(abs(d2f(curve, x_star - w)), abs(d2f(curve, x_star + w))) * w
    assert abs(plan.allocation.marginal_roi.iloc[0]) <= roi_tol
    assert roi_tol < 0.02  # the bound is tight enough to mean "about zero"


# --- 3. S-curve: global optimum, not the local one at zero ---------------------------------


def test_s_curve_reaches_the_global_optimum_a_local_search_from_zero_misses(solver, tmp_path):
    curve, m, base, hi, pwl = Hill(20 * M, 2 * M, 2.0), 0.5, 1 * M, 8 * M, 1e-4

    def margin(x: float) -> float:
        return m * (base + curve.f(x)) - x

    # a gradient method started at zero spend stays there: f'(0) = 0, so the margin only falls
    assert curve.df(0.0) == 0.0
    local = minimize(lambda v: -margin(v[0] * M) / M, x0=[0.0], jac=lambda v: [1.0 - m * curve.df(v[0] * M)],
                     bounds=[(0.0, hi / M)], method="L-BFGS-B")
    assert local.x[0] == 0.0
    # brute force over spend on a 1k grid: the global optimum spends about 3.6M
    grid = np.linspace(0.0, hi, 8001)
    values = np.array([margin(x) for x in grid])
    x_best, best = float(grid[values.argmax()]), float(values.max())
    assert x_best > 3 * M and best > margin(0.0) + 3 * M

    d = scenario([{"channel": "c", "base": base, "curve": curve.spec(), "spend": {"max": hi}}],
                 {"c": m}, budget=10 * M, pwl=pwl)
    plan = run(d, solver, tmp_path, mip_gap=1e-7)
    delta = pwl * curve.f(hi)  # the interpolant is within delta of the curve on both sides here
    w = widest_segment(curve, x_best, delta)
    assert spend_of(plan, "c") == pytest.approx(x_best, abs=w + 1e3)
    # the interpolant is within m delta in margin; the 1k grid's max is within |g''| (0.5k)^2 / 2 (< 1)
    # of the true one, and the grid argmax within 1k of the true argmax
    assert plan.objective == pytest.approx(best, abs=m * delta + 1e3 + eps(10 * M))
    assert plan.summary["exact_curve_margin"] == pytest.approx(margin(spend_of(plan, "c")), abs=1e-6 * M)


# --- 4-5. sales force: integer headcount, hire limits, temp share ----------------------------


def test_headcount_is_the_best_whole_number_of_reps_within_the_hire_limit(solver, tmp_path):
    # Two halves (length 0.5): a rep closes 1M and costs 150k per half, a hire 50k more.
    # Demand at zero spend: 5.6M in H1, 4.4M in H2; marketing (roas 4, margin 30%) adds demand at
    # +0.2 per unit of spend. 3 reps today, at most 1 hire per half.
    m, base, season, roas, budget = 0.3, 10 * M, (0.56, 0.44), 4.0, 2 * M
    kappa, cost, hire_cost, current, limit = 2 * M, 300e3, 50e3, 3, 1

    def best_margin(hires: tuple[int, int] | None) -> tuple[float, np.ndarray]:
        """linprog: max m (y1 + y2) - (x1 + x2) - P over x, y for fixed hires (None: relaxed)."""
        # columns x1 x2 y1 y2 n1 n2; h1 = 3 + n1, h2 = 3 + n1 + n2;
        # P = cost/2 (h1 + h2) + hire_cost (n1 + n2) = cost*3 + (cost + hire_cost) n1 + (cost/2 + hire_cost) n2
        people = np.array([0, 0, 0, 0, cost + hire_cost, 0.5 * cost + hire_cost])
        c = np.array([1.0, 1.0, -m, -m, 0, 0]) + people  # minimise -M (without the constant cost*3)
        half = 0.5 * kappa
        a_ub = [[-roas, 0, 1, 0, 0, 0], [0, -roas, 0, 1, 0, 0],  # y_t <= s_t b + roas x_t
                [0, 0, 1, 0, -half, 0], [0, 0, 0, 1, -half, -half],  # y_t <= kappa l_t h_t
                [1, 1, 0, 0, *people[4:]]]  # x1 + x2 + P <= B
        b_ub = [season[0] * base, season[1] * base, half * current, half * current, budget - cost * current]
        hire_bounds = [(n, n) for n in hires] if hires is not None else [(0, limit)] * 2
        res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, bounds=[(0, None)] * 4 + hire_bounds, method="highs")
        assert res.status == 0
        return -res.fun - cost * current, res.x

    enumerated = {(n1, n2): best_margin((n1, n2))[0] for n1 in range(limit + 1) for n2 in range(limit + 1)}
    (hires, best), (_, second) = sorted(enumerated.items(), key=lambda kv: -kv[1])[:2]
    assert hires == (1, 0) and best - second > 10e3  # one clear winner: 4 reps in both halves
    relaxed, x = best_margin(None)
    assert x[5] == pytest.approx(0.4, abs=1e-6)  # continuous headcount would take 4.4 reps in H2
    assert relaxed > best + 10e3

    d = scenario([{"channel": "c", "base": base, "curve": linear(roas)}], {"c": m}, budget=budget,
                 periods=("H1", "H2"), seasonality=season,
                 sales_force={"cost_per_head": cost, "revenue_capacity": kappa, "current": {"r": current},
                              "max_hires_per_period": limit, "hire_cost": hire_cost})
    plan = run(d, solver, tmp_path, mip_gap=1e-7)
    heads = plan.headcount.set_index("period")
    assert list(heads.core) == [current + hires[0], current + hires[0] + hires[1]]
    assert list(heads.hires) == list(hires)
    assert plan.objective == pytest.approx(best, abs=eps(budget))
    assert constraint(plan, "hire_limit[r,H1]").binding  # H1 would hire more if it could
    assert constraint(plan, "capacity[r,H1]").binding and constraint(plan, "capacity[r,H2]").binding


def test_temp_staff_share_minimum_forces_unprofitable_temp_staff(solver, tmp_path):
    # 5 core reps at 90k close 5M against 2M of demand: temp staff (25k each) add nothing but cost,
    # yet must be at least 10% of people cost: 25k e >= 10% (450k + 25k e)  ->  e >= 2 (exactly).
    m, base, core_cost, temp_cost = 0.4, 2 * M, 90e3, 25e3

    def margin(hires: int, temps: int) -> float | None:
        people = core_cost * (5 + hires) + temp_cost * temps
        share = temp_cost * temps / people
        if not (0.10 - 1e-12 <= share <= 0.15):
            return None
        return m * base - people  # demand is below capacity; marketing loses 0.6 per unit

    feasible = {(n, e): v for n in range(4) for e in range(11) if (v := margin(n, e)) is not None}
    (hires, temps), best = max(feasible.items(), key=lambda kv: kv[1])
    assert (hires, temps) == (0, 2) and best == pytest.approx(300e3)

    d = scenario([{"channel": "c", "base": base, "curve": linear(1.0)}], {"c": m}, budget=1 * M,
                 sales_force={"cost_per_head": core_cost, "revenue_capacity": 1 * M, "current": {"r": 5},
                              "temp_staff": {"periods": ["Y"], "cost_per_head": temp_cost,
                                             "revenue_capacity": 100e3,
                                             "share_of_people_cost": {"min": "10%", "max": "15%"}}})
    plan = run(d, solver, tmp_path, mip_gap=1e-7)
    row = plan.headcount.iloc[0]
    assert (row.core, row.hires, row.temp) == (5, hires, temps)
    assert plan.summary["people_cost"] == pytest.approx(500e3)
    assert plan.objective == pytest.approx(best, abs=eps(M))
    assert constraint(plan, "temp_share_min").binding


# --- 6. reserve ----------------------------------------------------------------------------


def test_reserve_goes_to_max_when_marketing_is_unprofitable(solver, tmp_path):
    # margin 40% * roas 2 = 0.8 < 1: no spend, the reserve takes its max 8% of 10M, the rest idles
    d = scenario([{"channel": "c", "base": 10 * M, "curve": linear(2.0)}], {"c": 0.4}, budget=10 * M,
                 reserve=("5%", "8%"))
    plan = run(d, solver, tmp_path)
    assert plan.summary["marketing_spend"] == pytest.approx(0.0, abs=eps(10 * M))
    assert plan.summary["reserve"] == pytest.approx(0.8 * M, abs=eps(10 * M))
    assert plan.summary["unallocated"] == pytest.approx(9.2 * M, abs=eps(10 * M))
    assert plan.objective == pytest.approx(4 * M, abs=eps(10 * M))
    assert constraint(plan, "reserve_max").binding and not constraint(plan, "reserve_min").binding


def test_reserve_stays_at_min_when_marketing_pays(solver, tmp_path):
    # margin 40% * roas 4 = 1.6: every unit not held back is spent; reserve at its min 5% of 10M
    d = scenario([{"channel": "c", "base": 10 * M, "curve": linear(4.0)}], {"c": 0.4}, budget=10 * M,
                 reserve=("5%", "8%"))
    plan = run(d, solver, tmp_path)
    assert plan.summary["reserve"] == pytest.approx(0.5 * M, abs=eps(10 * M))
    assert plan.summary["marketing_spend"] == pytest.approx(9.5 * M, abs=eps(10 * M))
    assert plan.summary["unallocated"] == pytest.approx(0.0, abs=eps(10 * M))
    assert plan.objective == pytest.approx(0.4 * 10 * M + 0.6 * 9.5 * M, abs=eps(10 * M))
    assert constraint(plan, "reserve_min").binding and not constraint(plan, "reserve_max").binding


# --- 7-8. growth floor and potential: spend set by a revenue bound -------------------------


def test_growth_floor_forces_unprofitable_spend_up_to_the_floor(solver, tmp_path):
    # exp L=10M K=5M at margin 30%: m f'(0) = 0.6 < 1, so without the floor nothing is spent.
    # Floor 30% on 10M -> revenue 13M: f(X) = 3M  ->  X = -K ln(1 - 3/10).
    curve, m, budget, pwl = Exp(10 * M, 5 * M), 0.3, 5 * M, 1e-5
    x_star = -curve.K * math.log(1 - 0.3)
    best = m * 13 * M - x_star
    d = scenario([{"channel": "c", "base": 10 * M, "curve": curve.spec()}], {"c": m}, budget=budget, pwl=pwl,
                 regions=[{"id": "r", "class": "growth", "last_year_revenue": 10 * M}],
                 targets={"growth_floor": {"growth": "30%"}})
    plan = run(d, solver, tmp_path)
    # the interpolant is below the curve by at most delta: it needs up to delta / f' more spend
    # (f' taken 1k past X*, far beyond that extra spend, as f' falls)
    extra = pwl * curve.f(budget) / curve.df(x_star + 1e-3 * M)
    x = spend_of(plan, "c")
    assert x_star - eps(budget) <= x <= x_star + extra + eps(budget)
    assert best - extra - eps(budget) <= plan.objective <= best + eps(budget)
    assert plan.summary["revenue"] == pytest.approx(13 * M, abs=eps(budget))
    assert plan.allocation.marginal_roi.iloc[0] < 0  # the spend loses money at the margin
    floor = constraint(plan, "growth_floor[r]")
    assert floor.binding
    # one unit less floor saves 1/f' of spend and loses m of margin; f' of the active segment lies
    # between f' at its ends, each within w of X*
    w = widest_segment(curve, x_star, pwl * curve.f(budget))
    low, high = 1 / curve.df(x_star - w) - m, 1 / curve.df(x_star + w) - m
    assert low - 1e-6 <= floor.shadow_price <= high + 1e-6


def test_potential_caps_revenue_and_spend_stops_where_it_binds(solver, tmp_path):
    # hill L=20M K=2M at margin 40% would spend 2M for 10M of lift; potential 12M on a 10M base
    # leaves 2M: f(X) = 2M  ->  X = K u / (L - u) = 2/9 M.
    curve, m, budget, pwl = Hill(20 * M, 2 * M), 0.4, 5 * M, 1e-5
    x_star = curve.K * 2 * M / (curve.L - 2 * M)
    best = m * 12 * M - x_star
    d = scenario([{"channel": "c", "base": 10 * M, "curve": curve.spec()}], {"c": m}, budget=budget, pwl=pwl,
                 regions=[{"id": "r", "potential": 12 * M}])
    plan = run(d, solver, tmp_path)
    extra = pwl * curve.f(budget) / curve.df(x_star + 1e-3 * M)
    assert x_star - eps(budget) <= spend_of(plan, "c") <= x_star + extra + eps(budget)
    assert best - extra - eps(budget) <= plan.objective <= best + eps(budget)
    assert plan.summary["revenue"] == pytest.approx(12 * M, abs=eps(budget))
    cap = constraint(plan, "potential[r]")
    assert cap.binding
    # one more unit of potential earns m and costs 1/f' of spend (f' of the active segment)
    w = widest_segment(curve, x_star, pwl * curve.f(budget))
    low, high = m - 1 / curve.df(x_star + w), m - 1 / curve.df(x_star - w)
    assert low - 1e-6 <= cap.shadow_price <= high + 1e-6


# --- 9. ROI floors --------------------------------------------------------------------------


def test_cell_roi_floor_stops_spend_where_average_margin_roi_meets_it(solver, tmp_path):
    # hill shape 1: m f(X)/X = m L/(X + K) = 1 + rho  ->  X = mL/(1 + rho) - K = 8/2.5 - 2 = 1.2M,
    # below the unconstrained 2M (whose average margin ROI is only 100%)
    curve, m, rho, base, budget, pwl = Hill(20 * M, 2 * M), 0.4, 1.5, 5 * M, 10 * M, 1e-4
    x_star = m * curve.L / (1 + rho) - curve.K
    assert m * curve.f(x_star) / x_star == pytest.approx(1 + rho)
    best = m * (base + curve.f(x_star)) - x_star
    d = scenario([{"channel": "c", "base": base, "curve": curve.spec(), "min_roi": rho}], {"c": m},
                 budget=budget, pwl=pwl)
    plan = run(d, solver, tmp_path)
    # the interpolant (up to delta below f) meets the floor a little earlier:
    # m (f(X) - delta) = (1 + rho) X  ->  X* - X <= m delta / ((1 + rho) - m f'(X*))
    delta = pwl * curve.f(budget)
    short = 1.01 * m * delta / ((1 + rho) - m * curve.df(x_star))
    x = spend_of(plan, "c")
    assert x_star - short - eps(budget) <= x <= x_star + eps(budget)
    margin_slope = m * curve.df(x_star - short) - 1
    assert best - margin_slope * short - m * delta - eps(budget) <= plan.objective <= best + eps(budget)
    assert constraint(plan, "min_roi[r/c]").binding
    assert plan.summary["marketing_roi"] == pytest.approx(rho, abs=1e-6)


def test_channel_roi_floor_equalises_slopes_across_its_cells(solver, tmp_path):
    # Channel online (margin 40%, ROI floor 120%) in two regions: hill L=20M K=2M and exp L=8M K=2M.
    # Lagrange: m f_i'(x_i) (1 + lam) = 1 + (1 + rho) lam, the same slope q in both cells:
    # x_e = sqrt(LK/q) - K, x_w = K ln(L/(Kq)); q solves the floor with equality.
    east, west, m, rho, budget, pwl = Hill(20 * M, 2 * M), Exp(8 * M, 2 * M), 0.4, 1.2, 10 * M, 1e-5

    def spends(q: float) -> tuple[float, float]:
        return (max(0.0, math.sqrt(east.L * east.K / q) - east.K), max(0.0, west.K * math.log(west.L / (west.K * q))))

    def floor_gap(xe: float, xw: float) -> float:
        return m * (east.f(xe) + west.f(xw)) - (1 + rho) * (xe + xw)

    assert floor_gap(*spends(1 / m)) < 0  # the unconstrained optimum (q = 1/m) breaks the floor
    q = brentq(lambda q: floor_gap(*spends(q)), 1 / m, west.L / west.K, xtol=1e-14)
    xe, xw = spends(q)
    best = m * (east.f(xe) + west.f(xw)) - xe - xw  # bases add m * 8M below
    # cross-check with a general-purpose optimiser on the same formulation (spend in millions)
    check = minimize(lambda v: -(m * (east.f(v[0] * M) + west.f(v[1] * M)) - (v[0] + v[1]) * M) / M, [1.0, 1.0],
                     bounds=[(0, 10), (0, 10)], method="SLSQP", options={"ftol": 1e-12},
                     constraints=[{"type": "ineq", "fun": lambda v: floor_gap(v[0] * M, v[1] * M) / M}])
    assert check.x * M == pytest.approx([xe, xw], abs=1e3)
    best += m * 8 * M

    d = scenario([{"region": "e", "channel": "online", "base": 5 * M, "curve": east.spec()},
                  {"region": "w", "channel": "online", "base": 3 * M, "curve": west.spec()}],
                 {"online": m}, budget=budget, pwl=pwl, channel_roi={"online": rho},
                 regions=[{"id": "e"}, {"id": "w"}])
    plan = run(d, solver, tmp_path)
    # the interpolants sit up to delta_i below the curves, which tightens the floor too: with the
    # floor's multiplier lam the optimum moves by at most (1 + lam) m sum(delta_i)
    lam = (m * q - 1) / ((1 + rho) - m * q)
    loss = (1 + lam) * m * pwl * (east.f(budget) + west.f(budget)) * 1.5
    assert best - loss - eps(budget) <= plan.objective <= best + eps(budget)
    # each cell stops on a breakpoint next to its exact spend: within two segment widths of it
    for region, curve, x in (("e", east, xe), ("w", west, xw)):
        w = widest_segment(curve, x, pwl * curve.f(budget))
        assert spend_of(plan, "online", region) == pytest.approx(x, abs=2 * w)
    assert constraint(plan, "min_roi[online]").binding
    assert plan.summary["marketing_roi"] == pytest.approx(rho, abs=1e-6)


# --- 10. share policies ---------------------------------------------------------------------

POLICY_CHANNELS = {"online": 0.4, "offline": 0.35, "partner": 0.3}
POLICY_CELLS = [("online", 4 * M, 5.0), ("offline", 6 * M, 4.0), ("partner", 2 * M, 3.5)]  # base, roas
ONLINE_MAX = {"name": "online at most 40% of direct", "share": "marketing_spend", "where": {"channel": "online"},
              "of": {"channel": ["online", "offline"]}, "max": "40%"}
PARTNER_MIN = {"name": "partner at least 10%", "share": "marketing_spend", "where": {"channel": ["partner"]},
               "min": 0.10}


def policy_lp(budget: float, online_max: bool, partner_min: bool):
    """linprog on spends (online, offline, partner): max sum (m roas - 1) x; returns (M, x, duals)."""
    gain = np.array([POLICY_CHANNELS[c] * roas - 1 for c, _, roas in POLICY_CELLS])
    base = sum(POLICY_CHANNELS[c] * b for c, b, _ in POLICY_CELLS)
    rows, rhs = [[1.0, 1.0, 1.0]], [budget]
    if online_max:
        rows.append([1 - 0.4, -0.4, 0.0])  # on <= 0.4 (on + off)
        rhs.append(0.0)
    if partner_min:
        rows.append([0.1, 0.1, -0.9])  # pa >= 0.1 (on + off + pa)
        rhs.append(0.0)
    res = linprog(-gain, A_ub=np.array(rows), b_ub=rhs, bounds=[(0, None)] * 3, method="highs")
    assert res.status == 0
    return base - res.fun, res.x, -res.ineqlin.marginals


def test_policy_max_with_a_base_filter_caps_online_share_of_direct_spend(solver, tmp_path):
    # online +1.00, offline +0.40, partner +0.05 per unit: alone, online would take all 10M;
    # online <= 40% of (online + offline) gives 4M / 6M / 0 (partner is outside the base)
    best, x, duals = policy_lp(10 * M, online_max=True, partner_min=False)
    assert x == pytest.approx([4 * M, 6 * M, 0.0], abs=1.0)
    d = scenario([{"channel": c, "base": b, "curve": linear(roas)} for c, b, roas in POLICY_CELLS],
                 POLICY_CHANNELS, budget=10 * M, policies=[ONLINE_MAX])
    plan = run(d, solver, tmp_path)
    assert [spend_of(plan, c) for c in POLICY_CHANNELS] == pytest.approx(list(x), abs=eps(10 * M))
    assert plan.objective == pytest.approx(best, abs=eps(10 * M))
    row = constraint(plan, f"policy[{ONLINE_MAX['name']}].max")
    assert row.binding
    assert row.shadow_price == pytest.approx(duals[1], abs=1e-6)  # 1.00 - 0.40 per unit moved
    assert duals[1] == pytest.approx(0.6)


def test_policy_min_share_forces_spend_into_a_weak_channel(solver, tmp_path):
    # partner >= 10% of all marketing: 1M to partner, the 9M left split 40/60 -> 3.6M / 5.4M
    best, x, duals = policy_lp(10 * M, online_max=True, partner_min=True)
    assert x == pytest.approx([3.6 * M, 5.4 * M, 1 * M], abs=1.0)
    d = scenario([{"channel": c, "base": b, "curve": linear(roas)} for c, b, roas in POLICY_CELLS],
                 POLICY_CHANNELS, budget=10 * M, policies=[ONLINE_MAX, PARTNER_MIN])
    plan = run(d, solver, tmp_path)
    assert [spend_of(plan, c) for c in POLICY_CHANNELS] == pytest.approx(list(x), abs=eps(10 * M))
    assert plan.objective == pytest.approx(best, abs=eps(10 * M))
    row = constraint(plan, f"policy[{PARTNER_MIN['name']}].min")
    assert row.binding
    assert row.shadow_price == pytest.approx(duals[2], abs=1e-6)
    assert row.shadow_price > 0


# --- 11. seasonality -------------------------------------------------------------------------

SEASONS = (0.1, 0.2, 0.3, 0.4)
SEASON_CURVE = Hill(20 * M, 2 * M)


def seasonal(budget: float, pwl: float) -> dict:
    return scenario([{"channel": "c", "base": 5 * M, "curve": SEASON_CURVE.spec(), "spend": {"max": 6 * M}}],
                    {"c": 0.4}, budget=budget, periods=("Q1", "Q2", "Q3", "Q4"), seasonality=SEASONS, pwl=pwl)


@pytest.mark.parametrize("budget, annual", [(10 * M, 2 * M), (1.2 * M, 1.2 * M)], ids=["optimum-inside", "budget-binds"])
def test_seasonality_splits_spend_in_proportion_to_demand(budget, annual, solver, tmp_path):
    # f_t(x) = s_t f(x/s_t) has slope f'(x/s_t): equal slopes <=> x_t = s_t X. X is 2M (hill,
    # margin 40%) when the budget leaves room, else the whole 1.2M budget.
    curve, m, pwl = SEASON_CURVE, 0.4, 1e-5
    plan = run(seasonal(budget, pwl), solver, tmp_path)
    # period t's breakpoints are s_t times the annual ones: x_t / s_t sits within w of X
    w = widest_segment(curve, annual, pwl * curve.f(6 * M))
    spends = plan.allocation.set_index("period").spend
    for period, s in zip(("Q1", "Q2", "Q3", "Q4"), SEASONS):
        assert spends[period] == pytest.approx(s * annual, abs=s * w + eps(budget))
    assert spends.sum() == pytest.approx(annual, abs=w)
    best = m * (5 * M + curve.f(annual)) - annual
    assert best - m * pwl * curve.f(6 * M) - eps(budget) <= plan.objective <= best + eps(budget)


# --- 12. budget shadow price ---------------------------------------------------------------


def test_budget_shadow_price_is_the_marginal_margin_of_money(solver, tmp_path):
    # hill L=20M K=2M, margin 40%, budget 1.2M < the unconstrained 2M: price = m f'(B) - 1 = 0.5625
    curve, m, budget, hi, pwl, step = Hill(20 * M, 2 * M), 0.4, 1.2 * M, 6 * M, 1e-5, 0.1 * M

    def exact(b: float) -> float:
        return m * (5 * M + curve.f(b)) - b

    d = scenario([{"channel": "c", "base": 5 * M, "curve": curve.spec(), "spend": {"max": hi}}], {"c": m},
                 budget=budget, pwl=pwl)
    plan = run(d, solver, tmp_path)
    assert constraint(plan, "budget").binding
    price = plan.summary["budget_shadow_price"]
    assert price == constraint(plan, "budget").shadow_price
    # the active segment's slope lies between f' at its ends, each within w of B
    w = widest_segment(curve, budget, pwl * curve.f(hi))
    assert m * curve.df(budget + w) - 1 <= price <= m * curve.df(budget - w) - 1
    assert m * curve.df(budget) - 1 == pytest.approx(0.5625)
    # finite difference: each objective is within m delta of the exact optimum at its budget
    d["budget"]["total"] = budget + step
    larger = run(d, solver, tmp_path / "larger")
    slope = (larger.objective - plan.objective) / step
    fd_tol = 2 * m * pwl * curve.f(hi) / step + 2 * eps(budget) / step
    assert slope == pytest.approx((exact(budget + step) - exact(budget)) / step, abs=fd_tol)


def test_budget_shadow_price_counts_a_default_spend_max_that_grows_with_the_budget(solver, tmp_path):
    # one linear cell (margin 40% * roas 3 -> +0.2 per unit) with no spend max spends the whole budget;
    # its max defaults to budget.total, so one more unit of budget buys 0.2 of margin
    d = scenario([{"channel": "c", "base": 5 * M, "curve": linear(3.0)}], {"c": 0.4}, budget=1.2 * M)
    plan = run(d, solver, tmp_path)
    d["budget"]["total"] = 1.3 * M
    larger = run(d, solver, tmp_path / "larger")
    assert (larger.objective - plan.objective) / (0.1 * M) == pytest.approx(0.2, abs=1e-6)
    assert plan.summary["budget_shadow_price"] == pytest.approx(0.2, abs=1e-6)


def test_budget_shadow_price_counts_the_reserve_that_grows_with_the_budget(solver, tmp_path):
    # +0.6 per unit spent; of one more unit of budget, 5% goes to the reserve min: 0.95 * 0.6 = 0.57
    d = scenario([{"channel": "c", "base": 10 * M, "curve": linear(4.0)}], {"c": 0.4}, budget=10 * M,
                 reserve=("5%", "8%"))
    plan = run(d, solver, tmp_path)
    d["budget"]["total"] = 10.1 * M
    larger = run(d, solver, tmp_path / "larger")
    assert (larger.objective - plan.objective) / (0.1 * M) == pytest.approx(0.57, abs=1e-6)
    assert plan.summary["budget_shadow_price"] == pytest.approx(0.57, abs=1e-6)


def test_interpolant_stays_within_a_small_pwl_tolerance_of_the_curve(solver, tmp_path):
    # model.md: the interpolant is within pwl_tolerance * f(hi) of the curve; with 1e-6 that is 15
    pwl, hi, budget = 1e-6, 6 * M, 1.2 * M
    plan = solve(Scenario.from_dict(seasonal(budget, pwl)), solver=solver)
    assert plan.status == "optimal"
    season = dict(zip(("Q1", "Q2", "Q3", "Q4"), SEASONS))
    a = plan.allocation
    gaps = [abs(lift - season[p] * SEASON_CURVE.f(x / season[p])) for p, x, lift in zip(a.period, a.spend, a.lift)]
    assert max(gaps) <= pwl * SEASON_CURVE.f(hi) + eps(budget)


# --- reporting: the plan evaluated on exact curves ------------------------------------------


def test_exact_curve_margin_recomputes_the_plan_on_the_exact_curves(solver, tmp_path):
    # a coarse interpolant (5%) and a small budget that ends inside its first segment: the exact
    # curve lies above the interpolant there, so the two margins differ
    m, curve = 0.4, SEASON_CURVE
    d = seasonal(0.5 * M, 0.05)
    d["solver"]["exact_gap"] = 1.0  # no refinement: keep the coarse interpolant's plan
    plan = run(d, solver, tmp_path)
    a = plan.allocation
    season = dict(zip(("Q1", "Q2", "Q3", "Q4"), SEASONS))
    exact = sum(m * season[p] * (5 * M + curve.f(x / season[p])) - x for p, x in zip(a.period, a.spend))
    assert exact - plan.summary["pwl_objective"] > 1e3  # precondition: the interpolant visibly undershoots here
    # (the plan's revenue column carries the solver's rounding: compare to its precision)
    assert plan.summary["exact_curve_margin"] == pytest.approx(exact, abs=eps(0.5 * M))


# --- infeasible ------------------------------------------------------------------------------


def test_unreachable_growth_floor_is_infeasible_and_the_diagnosis_names_it(solver):
    # floor +50% on 10M = 15M; base 10M and roas 2 on a 1M budget reach 12M at most: 3M short.
    # Reaching it would take 2.5M of spend: 1.5M more budget.
    d = scenario([{"channel": "c", "base": 10 * M, "curve": linear(2.0), "spend": {"max": 10 * M}}], {"c": 0.4},
                 budget=1 * M, regions=[{"id": "r", "last_year_revenue": 10 * M, "growth_floor": "50%"}])
    plan = solve(Scenario.from_dict(d), solver=solver)
    assert plan.status == "infeasible"
    assert plan.objective is None
    (gave,) = plan.diagnosis["gave"]
    assert gave["constraint"] == "growth_floor[r]"
    assert gave["shortfall"] == pytest.approx(3 * M, rel=1e-6)
    assert "growth floor of region r" in gave["message"]
    assert plan.diagnosis["budget_needed"] == pytest.approx(1.5 * M, rel=1e-6)
    d["budget"]["total"] = 2.5 * M * 1.0001
    assert solve(Scenario.from_dict(d), solver=solver).status == "optimal"


def test_diagnosis_budget_needed_counts_a_default_spend_max_that_grows_with_the_budget():
    # as above, but the cell has no spend max: it defaults to budget.total, so 2.5M of budget works
    d = scenario([{"channel": "c", "base": 10 * M, "curve": linear(2.0)}], {"c": 0.4}, budget=1 * M,
                 regions=[{"id": "r", "last_year_revenue": 10 * M, "growth_floor": "50%"}])
    plan = solve(Scenario.from_dict(d))
    assert plan.status == "infeasible"
    d["budget"]["total"] = 2.5 * M * 1.0001
    assert solve(Scenario.from_dict(d)).status == "optimal"  # more budget does make it feasible
    assert plan.diagnosis["budget_needed"] == pytest.approx(1.5 * M, rel=1e-6)


# --- 13. HiGHS and CBC on the same cases ---------------------------------------------------

AGREEMENT_CASES = {
    "seasonal-concave": lambda: seasonal(1.2 * M, 1e-4),
    "s-curve": lambda: scenario([{"channel": "c", "base": M, "curve": Hill(20 * M, 2 * M, 2.0).spec(),
                                  "spend": {"max": 8 * M}}], {"c": 0.5}, budget=10 * M, pwl=1e-4),
    "policies": lambda: scenario([{"channel": c, "base": b, "curve": linear(r)} for c, b, r in POLICY_CELLS],
                                 POLICY_CHANNELS, budget=10 * M, policies=[ONLINE_MAX, PARTNER_MIN]),
}


@pytest.mark.parametrize("case", AGREEMENT_CASES)
def test_highs_and_cbc_reach_the_same_objective(case):
    scenario_ = Scenario.from_dict(AGREEMENT_CASES[case]())
    highs, cbc = solve(scenario_, solver="highs", mip_gap=1e-7), solve(scenario_, solver="cbc", mip_gap=1e-7)
    assert highs.status == cbc.status == "optimal"
    assert highs.objective == pytest.approx(cbc.objective, abs=1e-6 * scenario_.budget.total)


# --- review fixes -----------------------------------------------------------------------------


def _one_region(**extra) -> dict:
    d = {
        "scenario": "capped", "periods": {"names": ["P1", "P2"]}, "budget": {"total": 1000},
        "regions": [{"id": "a"}], "channels": [{"id": "on", "gross_margin": 1.0}],
        "response": [{"region": "a", "channel": "on", "curve": {"type": "exp", "max_lift": 1000, "scale": 300}}],
        "solver": {"pwl_tolerance": 0.05, "exact_gap": 1.0},  # no refinement: the coarse plan is the point
    }
    d.update(extra)
    return d


def test_exact_curve_margin_sells_no_extra_lift_beyond_the_potential(solver):
    # revenue sits at the potential (400): the exact curve's extra lift cannot be sold
    capped = solve(Scenario.from_dict(_one_region(regions=[{"id": "a", "potential": 400}])), solver=solver)
    assert capped.summary["revenue"] == pytest.approx(400, abs=1e-6)
    assert capped.summary["exact_curve_margin"] == pytest.approx(capped.summary["pwl_objective"], abs=1e-6)
    # capped by a budget instead (spend ends inside a segment), the exact curve's extra lift sells
    budget = {"total": 100}
    free = solve(Scenario.from_dict(_one_region(budget=budget)), solver=solver)
    assert free.summary["exact_curve_margin"] > free.summary["pwl_objective"] + 1.0


def test_a_money_policy_is_named_in_the_diagnosis_even_when_the_budget_is_1000():
    # budget.total 1000 makes the model's money unit exactly 1: the policy must still read as money
    d = {
        "scenario": "k", "periods": {"names": ["P1"]}, "budget": {"total": 1000},
        "regions": [{"id": "a"}, {"id": "b"}], "channels": [{"id": "on", "gross_margin": 0.5}],
        "response": [
            {"region": "a", "channel": "on", "curve": {"type": "linear", "roas": 3}, "spend": {"min": 600, "max": 1000}},
            {"region": "b", "channel": "on", "curve": {"type": "linear", "roas": 3}, "spend": {"max": 1000}},
        ],
        "policies": [{"name": "b half", "share": "marketing_spend", "where": {"region": ["b"]}, "min": "50%"}],
    }
    plan = solve(Scenario.from_dict(d))
    assert plan.status == "infeasible"
    messages = " ".join(g["message"] for g in plan.diagnosis["gave"])
    assert "policy 'b half'" in messages and "head-years" not in messages
