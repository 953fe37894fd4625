"""Plans optimal on the exact curves, with a certificate (allocator/exact.py).

Expected optima come from closed forms or brute-force grids on the exact curves, never from the
model itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator import load_scenario, solve
from allocator.model import curves
from allocator.scenario.schema import ExpCurve, HillCurve, LogCurve

BETA = np.array([8256.21, 7764.20, 7953.36])


def scenario(cells: list[str], budget: float, extra: str = "", periods: str = "periods: {names: [FY]}"):
    text = f"""
scenario: exact
currency: CNY
{periods}
budget: {{total: {budget}}}
regions:
  - {{id: r, class: mature}}
channels:
""" + "".join(f"  - {{id: c{i}, gross_margin: 100%}}\n" for i in range(len(cells))) + "response:\n" + "".join(
        f"  - {{region: r, channel: c{i}, base: 0, curve: {curve}}}\n" for i, curve in enumerate(cells)) + extra
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exact.yaml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path)


def textbook(gap: str) -> object:
    cells = [f"{{type: log, scale_lift: {10 * b}, scale: 1}}" for b in BETA]
    return scenario(cells, 100_000, f"solver: {{exact_gap: {gap}}}\n")


def test_textbook_log_case_spends_in_proportion_to_beta():
    """sales_i = 10 beta_i ln(1 + x_i), margin 100%, budget B: x_i + 1 = (B + 3) beta_i / sum beta
    (equal marginal returns 10 beta_i / (1 + x_i)), which is B beta_i / sum beta to 3e-5."""
    plan = solve(textbook("1e-6"))
    B = 100_000
    x = (B + 3) * BETA / BETA.sum() - 1
    best = float((10 * BETA * np.log1p(x)).sum()) - B
    spend = plan.allocation.spend.to_numpy()
    assert np.allclose(spend, x, rtol=5e-3)
    assert plan.objective == pytest.approx(best, rel=1e-6)
    assert plan.objective <= best + 1e-6 * best  # never above the true optimum
    s = plan.summary
    assert s["exact_curve_bound"] >= best - 1e-9 * best  # the certificate holds the optimum
    assert 0.0 <= s["exact_curve_gap"] <= 1e-6


def test_tight_gap_equalises_marginal_roi_on_concave_cells():
    plan = solve(textbook("1e-12"))
    roi = plan.allocation.marginal_roi.to_numpy()
    assert roi.max() - roi.min() <= 1e-4
    # the closed form: every marginal return equals 10 sum(beta) / (B + 3)
    assert roi.mean() + 1 == pytest.approx(10 * BETA.sum() / (100_000 + 3), rel=1e-4)


def test_exp_cells_with_seasonality_reach_the_closed_form():
    """Two exp cells, four periods, budget binding: at the optimum every period's marginal
    return L_i/K_i exp(-X_i/K_i) (X the annual-equivalent spend x_t / s_t) is the same lambda,
    so X_i = K_i ln(L_i / (K_i lambda)) and sum_i X_i = B fixes lambda."""
    L, K, B = np.array([5e6, 3e6]), np.array([1e6, 0.5e6]), 1.2e6
    cells = [f"{{type: exp, max_lift: {l_}, scale: {k}}}" for l_, k in zip(L, K)]
    periods = "periods: {names: [Q1, Q2, Q3, Q4], seasonality: [10%, 20%, 30%, 40%]}"
    plan = solve(scenario(cells, B, "solver: {exact_gap: 1e-9}\n", periods))
    log_lam = (np.sum(K * np.log(L / K)) - B) / K.sum()
    X = K * (np.log(L / K) - log_lam)
    best = float((L * -np.expm1(-X / K)).sum()) - B
    assert plan.objective == pytest.approx(best, rel=1e-8)
    spend = plan.allocation.groupby("channel", sort=False).spend.sum().to_numpy()
    assert np.allclose(spend, X, rtol=1e-3)


def s_curve_grid(L, K, a, B, n=200_001):
    """Brute force: the best split of B between two S-curves (or spending less) on a fine grid,
    then a local polish of the best point."""
    x = np.linspace(0.0, B, n)
    hill = [HillCurve(type="hill", max_lift=l_, half_saturation=k, shape=s) for l_, k, s in zip(L, K, a)]
    best = -np.inf
    for total in np.linspace(0, B, 201):  # the plan may leave money unspent
        x1 = x[x <= total]
        m = curves.value(hill[0], x1) + curves.value(hill[1], total - x1) - total
        best = max(best, float(m.max()))
    return best


def test_s_curves_reach_the_global_optimum_that_a_local_search_misses():
    """Two S-curves where starting from an even split, hill-climbing stays with both cells half
    funded; the global optimum funds one cell fully."""
    L, K, a, B = [4e6, 3.6e6], [1.0e6, 0.9e6], [3.0, 3.0], 1.6e6
    cells = [f"{{type: hill, max_lift: {l_}, half_saturation: {k}, shape: {s}}}" for l_, k, s in zip(L, K, a)]
    plan = solve(scenario(cells, B, "solver: {exact_gap: 1e-7, mip_gap: 1e-9}\n"))
    best = s_curve_grid(L, K, a, B)
    assert plan.objective == pytest.approx(best, rel=2e-6)
    assert plan.summary["exact_curve_bound"] >= best * (1 - 1e-9)
    # the local optimum around the even split is much worse: one cell must take most of the money
    spend = plan.allocation.spend.to_numpy()
    assert spend.max() > 0.6 * spend.sum()


def test_brute_force_grid_on_two_concave_cells():
    curve_a, curve_b = ExpCurve(type="exp", max_lift=2e6, scale=4e5), LogCurve(type="log", scale_lift=9e5, scale=2e5)
    B = 1e6
    cells = ["{type: exp, max_lift: 2000000, scale: 400000}", "{type: log, scale_lift: 900000, scale: 200000}"]
    plan = solve(scenario(cells, B))
    x = np.linspace(0, B, 1_000_001)
    grid = curves.value(curve_a, x) + curves.value(curve_b, B - x) - B
    assert plan.objective == pytest.approx(float(grid.max()), rel=1e-6)
    assert plan.objective <= float(grid.max()) * (1 + 1e-9) + 1e-6


def test_default_run_reports_the_certificate():
    plan = solve(textbook("1e-6"))
    s = plan.summary
    assert s["exact_curve_margin"] == s["objective"]
    assert s["pwl_objective"] <= s["objective"] + 1e-6 * abs(s["objective"])  # chords lie under concave curves
    assert s["exact_curve_bound"] >= s["objective"]


curve_params = st.tuples(
    st.sampled_from(["exp", "log", "hill"]),
    st.floats(0.5, 5.0),  # lift, millions
    st.floats(0.1, 2.0),  # scale, millions
    st.floats(0.6, 3.0),  # hill shape
)


def _curve_text(kind, lift, scale, shape):
    if kind == "exp":
        return f"{{type: exp, max_lift: {lift * 1e6:.6g}, scale: {scale * 1e6:.6g}}}"
    if kind == "log":
        return f"{{type: log, scale_lift: {lift * 1e6:.6g}, scale: {scale * 1e6:.6g}}}"
    return f"{{type: hill, max_lift: {lift * 1e6:.6g}, half_saturation: {scale * 1e6:.6g}, shape: {shape:.3g}}}"


def _curve(kind, lift, scale, shape):
    if kind == "exp":
        return ExpCurve(type="exp", max_lift=float(f"{lift * 1e6:.6g}"), scale=float(f"{scale * 1e6:.6g}"))
    if kind == "log":
        return LogCurve(type="log", scale_lift=float(f"{lift * 1e6:.6g}"), scale=float(f"{scale * 1e6:.6g}"))
    return HillCurve(type="hill", max_lift=float(f"{lift * 1e6:.6g}"), half_saturation=float(f"{scale * 1e6:.6g}"),
                     shape=float(f"{shape:.3g}"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(curve_params, min_size=2, max_size=3), st.floats(0.3, 3.0), st.integers(0, 2**32 - 1))
def test_bound_is_above_every_random_plan_and_the_gap_is_never_negative(params, budget, seed):
    """Random search over feasible plans (spend per cell, total at most the budget) on the exact
    curves never beats the certificate's bound."""
    B = budget * 1e6
    plan = solve(scenario([_curve_text(*p) for p in params], f"{B:.6g}"))
    s = plan.summary
    assert s["exact_curve_gap"] >= 0.0
    assert s["exact_curve_bound"] >= s["objective"] - 1e-9 * abs(s["objective"])
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.ones(len(params) + 1), size=4000)[:, :-1]  # the last share is left unspent
    spend = shares * float(f"{B:.6g}")
    margin = sum(curves.value(_curve(*p), spend[:, i]) for i, p in enumerate(params)) - spend.sum(axis=1)
    assert float(margin.max()) <= s["exact_curve_bound"] * (1 + 1e-9) + 1e-6
    assert float(margin.max()) <= s["objective"] + max(1e-6, s["exact_curve_gap"]) * abs(s["exact_curve_bound"]) + 1e-6
