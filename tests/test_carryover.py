"""Carryover (geometric adstock, ``docs/model.md``): the response of period ``t`` applies to
``a_t = sum_k w_k x_{t-k}``, ``w_k = d^k / sum_j d^j``, with ``prior_spend`` before the horizon.

Expected plans come from closed forms (the two-period case) or from scipy on the exact curves
(an independent method), never from the model itself; written plans are re-checked by
``plan_checker`` from the tables.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from allocator import solve
from allocator.model import carryover, curves
from allocator.model.build import build_model
from allocator.model.data import planning_data
from allocator.model.kinds import RebuildRequired, RowKind
from allocator.scenario import Scenario, ScenarioError
from allocator.scenario.schema import LogCurve

from .plan_checker import PlanViolation, check_run

M = 1e6


def two_periods(decay: float = 0.25, prior=None, carry: bool = True) -> dict:
    cell = {"region": "r", "channel": "c", "base": 0, "curve": {"type": "log", "scale_lift": "10M", "scale": "1M"}}
    if carry:
        cell["carryover"] = {"decay": decay, "max_lag": 1}
    if prior is not None:
        cell["prior_spend"] = prior
    return {"scenario": "carry-two", "periods": {"names": ["P1", "P2"], "seasonality": ["50%", "50%"]},
            "budget": {"total": "1M"}, "regions": [{"id": "r"}], "channels": [{"id": "c", "gross_margin": "100%"}],
            "response": [cell], "solver": {"exact_gap": 1e-7}}


@pytest.mark.parametrize("prior", [None, 0.2 * M, [0.2 * M]], ids=["no-prior", "prior-amount", "prior-list"])
def test_two_periods_by_hand(prior):
    """One log cell, ``f_t(a) = s L ln(1 + a / (s c))`` with ``s = 1/2``, ``L = 10M``, ``c = 1M``,
    margin 100%, budget ``B = 1M``, decay ``d = 1/4``, one lag: ``w_0 = 1/(1+d)``, ``w_1 = d/(1+d)``,
    ``a_1 = w_0 x_1 + w_1 p`` (``p`` the prior spend), ``a_2 = w_0 x_2 + w_1 x_1``.

    The budget binds (the marginal return stays far above 1), so ``x_2 = B - x_1`` and the optimum
    equates the value of a unit in each period: ``w_0 f'(a_1) + w_1 f'(a_2) = w_0 f'(a_2)``, i.e.
    ``f'(a_1) = (1 - d) f'(a_2)``. With ``f'(a) = L s / (s c + a)``:
    ``s c + a_2 = (1 - d)(s c + a_1)``; times ``1 + d``:
    ``(1+d) s c + B - x_1 + d x_1 = (1-d)((1+d) s c + x_1 + d p)``, so
    ``x_1 = (B + s c d (1 + d) - d (1 - d) p) / (2 (1 - d))``: 770,833 without prior spend (front-loaded
    although both periods weigh the same: period 1's spend also works in period 2, period 2's leaks
    past the horizon), 745,833 with ``p = 0.2M`` (prior spend already carries into period 1)."""
    d, s, c, B = 0.25, 0.5, 1 * M, 1 * M
    p = 0.0 if prior is None else 0.2 * M
    x1 = (B + s * c * d * (1 + d) - d * (1 - d) * p) / (2 * (1 - d))
    x = np.array([x1, B - x1])
    w0, w1 = 1 / (1 + d), d / (1 + d)
    a = np.array([w0 * x[0] + w1 * p, w0 * x[1] + w1 * x[0]])
    best = float(s * 10 * M * np.log1p(a / (s * c)).sum()) - B

    scenario = Scenario.from_dict(two_periods(prior=prior))
    assert not build_model(planning_data(scenario)).form.integer.any()  # a concave curve stays an LP
    plan = solve(scenario)
    alloc = plan.allocation
    assert np.allclose(alloc.spend, x, rtol=2e-3)
    assert np.allclose(alloc.effective_spend, w0 * alloc.spend.to_numpy() + w1 * np.array([p, alloc.spend[0]]),
                       rtol=1e-9)
    assert plan.objective == pytest.approx(best, rel=1e-6)
    assert plan.objective <= best * (1 + 1e-9)
    assert plan.summary["exact_curve_bound"] >= best * (1 - 1e-9)
    assert alloc.marginal_roi[0] == pytest.approx(alloc.marginal_roi[1], rel=1e-3)  # equal at the optimum


def _exact_optimum(scenario: Scenario) -> np.ndarray:
    """The spend per period of one cell maximising ``sum_t s_t f(a_t / s_t) - sum x`` with
    ``sum x <= B`` on the exact curve, by scipy (SLSQP): an independent method."""
    (cell,) = scenario.response
    channel = scenario.channels[0]
    season = np.array(scenario.periods.seasonality)
    w, prior = carryover.of_cell(cell, channel) if (cell.carryover or channel.carryover) else ((), ())
    B = scenario.budget.total

    def lift(x):
        a = carryover.effective(w, prior, x)
        return float((season * curves.value(cell.curve, a / season)).sum())

    n = len(season)
    res = minimize(lambda v: -(lift(v * B) - v.sum() * B) / B, np.full(n, 1.0 / n), method="SLSQP",
                   bounds=[(0.0, 1.0)] * n, constraints=[{"type": "ineq", "fun": lambda v: 1.0 - v.sum()}],
                   options={"ftol": 1e-12, "maxiter": 500})
    assert res.success, res.message
    return res.x * B


def peak(carry: bool) -> Scenario:
    data = two_periods(carry=carry)
    data["periods"] = {"names": ["P1", "P2", "P3", "P4"], "seasonality": ["20%", "20%", "45%", "15%"]}
    data["budget"] = {"total": "2M"}
    data["response"][0]["curve"] = {"type": "exp", "max_lift": "8M", "scale": "1.5M"}
    if carry:
        data["response"][0]["carryover"] = {"decay": 0.6, "max_lag": 2}
    return Scenario.from_dict(data)


def test_carryover_front_loads_spend_before_the_peak():
    """Seasonality 20/20/45/15 with a peak in P3. Without carryover the spend follows the demand
    (most in P3); with carryover (d = 0.6, two lags) spend in P2 also works in the peak, spend in P3
    partly works in the weak P4, so the plan moves spend from P3 into the periods before it. Both
    plans match scipy on the exact curves."""
    plain, carried = solve(peak(False)), solve(peak(True))
    x0, x1 = plain.allocation.spend.to_numpy(), carried.allocation.spend.to_numpy()
    assert np.allclose(x0, _exact_optimum(peak(False)), atol=2e-3 * 2 * M)
    assert np.allclose(x1, _exact_optimum(peak(True)), atol=2e-3 * 2 * M)
    assert x0.sum() == pytest.approx(x1.sum(), rel=1e-6)  # the budget binds in both
    assert x0.argmax() == 2  # no carryover: the most in the peak
    assert x1[:2].sum() > x0[:2].sum() + 0.05 * 2 * M  # carryover: more before the peak
    assert x1[2] < x0[2]
    assert x1[1] > x0[1]  # the period just before the peak gains most of it


def test_constant_spend_gives_the_response_without_carryover():
    """Normalised weights: a constant spend ``x`` (and the same ``prior_spend`` before the horizon)
    has ``a_t = x`` in every period, so the response is the one without carryover."""
    w, prior = carryover.weights(0.7, 3), (0.4 * M,) * 3
    assert sum(w) == pytest.approx(1.0)
    assert np.allclose(carryover.effective(w, prior, np.full(5, 0.4 * M)), 0.4 * M)

    data = two_periods()
    data["periods"] = {"names": ["Q1", "Q2", "Q3", "Q4"]}
    data["budget"] = {"total": "10M"}
    data["response"][0].update(carryover={"decay": 0.7, "max_lag": 3}, prior_spend="0.4M")
    model = build_model(planning_data(Scenario.from_dict(data)))
    f = model.form
    for q in ("Q1", "Q2", "Q3", "Q4"):  # spend held at 0.4M in each quarter
        cols, _ = model.spend_terms([("r", "c", q)])
        f.lb[cols] = f.ub[cols] = 0.4 * M / model.unit
    solution = model.solve()
    carried = float(sum(solution.values[model.revenue[("r", "c", q)]] for q in ("Q1", "Q2", "Q3", "Q4")) * model.unit)
    expected = 4 * 0.25 * float(curves.value(LogCurve(type="log", scale_lift=10 * M, scale=1 * M), [1.6 * M])[0])
    assert carried == pytest.approx(expected, rel=2e-3)  # 4 quarters of s f(0.4M / s), s = 1/4: f(1.6M)


def test_prior_spend_raises_early_effective_spend():
    data = two_periods(prior=[0.3 * M])
    a = solve(Scenario.from_dict(data)).allocation
    w0, w1 = 0.8, 0.2
    assert a.effective_spend[0] == pytest.approx(w0 * a.spend[0] + w1 * 0.3 * M, rel=1e-9)
    without = solve(Scenario.from_dict(two_periods())).allocation
    assert a.spend[0] < without.spend[0]  # prior spend stands in for some of period 1's own


def test_written_plan_passes_the_plan_checker(tmp_path):
    """Two cells on a channel carryover (one overriding it, one S-shaped: a MIP with gates on the
    segments), prior spend as an amount and as a list, a ROI floor and a spend policy."""
    data = {
        "scenario": "carry-check", "periods": {"names": ["Q1", "Q2", "Q3", "Q4"], "seasonality": ["15%", "35%", "35%", "15%"]},
        "budget": {"total": "6M", "reserve": {"min": "2%", "max": "5%"}},
        "regions": [{"id": "east"}, {"id": "west"}],
        "channels": [{"id": "tv", "gross_margin": "50%", "carryover": {"decay": 0.5, "max_lag": 2}},
                     {"id": "search", "gross_margin": "40%"}],
        "response": [
            {"region": "east", "channel": "tv", "base": "2M", "curve": {"type": "exp", "max_lift": "12M", "scale": "3M"},
             "prior_spend": "0.5M"},
            {"region": "west", "channel": "tv", "base": "1M",
             "curve": {"type": "hill", "max_lift": "9M", "half_saturation": "2M", "shape": 2.0},
             "carryover": {"decay": 0.3, "max_lag": 1}, "prior_spend": ["0.2M"], "min_roi": 0.1},
            {"region": "east", "channel": "search", "base": "1M", "curve": {"type": "log", "scale_lift": "3M", "scale": "1M"}},
        ],
        "policies": [{"name": "tv half", "share": "marketing_spend", "where": {"channel": "tv"}, "max": "70%"}],
    }
    plan = solve(Scenario.from_dict(data))
    assert plan.has_plan
    a = plan.allocation
    search = a[a.channel == "search"]
    assert np.allclose(search.spend, search.effective_spend)  # no carryover: the same
    assert plan.summary["marketing_spend"] == pytest.approx(a.spend.sum())
    folder = plan.write(tmp_path)
    check_run(folder)
    text = (folder / "allocation.csv").read_text()
    assert "effective_spend" in text.splitlines()[0]
    wrong = folder.parent / "wrong"  # the checker reads the adstock from the tables: a changed spend fails
    import shutil

    shutil.copytree(folder, wrong)
    frame = pd.read_csv(wrong / "allocation.csv")
    frame.loc[0, "effective_spend"] *= 1.5
    frame.to_csv(wrong / "allocation.csv", index=False)
    with pytest.raises(PlanViolation, match="effective spend of"):
        check_run(wrong)


def test_update_changes_prior_spend_in_place_and_rebuilds_for_a_new_decay():
    data = planning_data(Scenario.from_dict(two_periods(prior=[0.1 * M])))
    model = build_model(data)
    model.solve()
    changed = planning_data(Scenario.from_dict(two_periods(prior=[0.3 * M])))
    model.update(changed)
    fresh = build_model(changed)
    assert model.solve().objective == pytest.approx(fresh.solve().objective, rel=1e-9)
    rows = [i for i, k in enumerate(model.kinds) if k == RowKind.ADSTOCK]
    assert len(rows) == 2 and model.rhs[rows[0]] == pytest.approx(0.2 * 0.3 * M / model.unit)
    with pytest.raises(RebuildRequired, match="carryover"):
        model.update(planning_data(Scenario.from_dict(two_periods(decay=0.5, prior=[0.3 * M]))))


def test_spend_terms_are_the_real_spend_columns():
    model = build_model(planning_data(Scenario.from_dict(two_periods())))
    for q in ("P1", "P2"):
        cols, vals = model.spend_terms([("r", "c", q)])
        assert list(cols) == [model.spend_cols[("r", "c", q)]] and list(vals) == [1.0]
        assert model.spend_cols[("r", "c", q)] not in model.segments[("r", "c", q)][0]
    assert sorted(model.spend_terms(model.segments)[0]) == sorted(model.spend_cols.values())


def test_model_file_carryover_merges_field_by_field(tmp_path):
    (tmp_path / "m.yaml").write_text(
        "response:\n  - {region: r, channel: c, base: 0, curve: {type: log, scale_lift: 10M, scale: 1M},\n"
        "     carryover: {decay: 0.5, max_lag: 3}}\n", encoding="utf-8")
    data = two_periods(carry=False)
    data.pop("response")
    data["response_model"] = "m.yaml"
    s = Scenario.from_dict(data, base_dir=tmp_path)
    assert (s.response[0].carryover.decay, s.response[0].carryover.max_lag) == (0.5, 3)
    data["response"] = [{"region": "r", "channel": "c", "carryover": {"decay": 0.2}, "prior_spend": [1, 2]}]
    s = Scenario.from_dict(data, base_dir=tmp_path)
    assert (s.response[0].carryover.decay, s.response[0].carryover.max_lag) == (0.2, 3)


@pytest.mark.parametrize(("change", "message"), [
    ({"carryover": {"decay": 1, "max_lag": 2}}, "response[0].carryover.decay: must be >= 0 and below 1 (got 1)"),
    ({"carryover": {"decay": "-10%", "max_lag": 2}}, "response[0].carryover.decay: must be >= 0 and below 1"),
    ({"carryover": {"decay": 0.5, "max_lag": 1.5}}, "response[0].carryover.max_lag: "),
    ({"carryover": {"decay": 0.5}}, "response[0].carryover.max_lag: required field is missing"),
    ({"carryover": {"decay": 0.5, "max_lag": 2, "lag": 1}}, "response[0].carryover.lag: unknown"),
    ({"prior_spend": "1M"}, "response[0].prior_spend: needs carryover"),
    ({"carryover": {"decay": 0.5, "max_lag": 1}, "prior_spend": [1, 2]},
     "response[0].prior_spend: lists 2 periods but carryover.max_lag is 1"),
    ({"carryover": {"decay": 0.5, "max_lag": 2}, "prior_spend": [1, "lots"]}, "response[0].prior_spend[1]: "),
])
def test_bad_carryover_is_an_input_error_naming_the_field(change, message):
    data = two_periods(carry=False)
    data["response"][0].update(copy.deepcopy(change))
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data, source="plan.yaml")
    assert message in str(info.value), str(info.value)


def test_risk_evaluation_reads_the_curves_at_effective_spend():
    """With no spread, the risk evaluation of a carryover plan is its exact-curve margin: the
    drawn curves are read at the adstock of the plan's spend (``prior_spend`` included)."""
    from allocator.uncertainty.assess import risk

    s = Scenario.from_dict(two_periods(prior=[0.2 * M]) | {"uncertainty": {"spread": {}, "seed": 1}})
    plan = solve(s)
    report = risk(plan, s, samples=3, evpi_samples=0)
    assert report.info["deterministic_margin"] == pytest.approx(plan.summary["exact_curve_margin"], rel=1e-9)


def test_carryover_without_prior_spend_is_noted():
    notes = Scenario.from_dict(two_periods()).notes
    assert any("carryover without `prior_spend`" in n for n in notes)
    assert not any("prior_spend" in n for n in Scenario.from_dict(two_periods(prior=1)).notes)
    assert not any("prior_spend" in n for n in Scenario.from_dict(two_periods(carry=False)).notes)


def test_refinement_rounds_change_the_live_model_in_place():
    """New breakpoints (as the exact-curve rounds add them) in a live model with carrying cells,
    LP and S-curve MIP: the same optimum, arrays and plan as a fresh build solved from scratch;
    the spend columns and adstock rows are the same ones (by key) after each round."""
    from allocator.model.restructure import mapping
    from tests.test_warm_refinement import _rounds

    lp = planning_data(Scenario.from_dict(peak(True).to_dict()))
    model = build_model(lp)
    _rounds(lp, model, model.solve(), 2)
    s_curve = two_periods()
    s_curve["response"][0]["curve"] = {"type": "hill", "max_lift": "6M", "half_saturation": "0.8M", "shape": 2.5}
    s_curve["response"].append({"region": "r", "channel": "c2", "base": 0,
                                "curve": {"type": "log", "scale_lift": "2M", "scale": "0.5M"}})
    s_curve["channels"].append({"id": "c2", "gross_margin": "100%"})
    mip = planning_data(Scenario.from_dict(s_curve))
    model = build_model(mip)
    assert model.form.integer.any()
    old = model
    refined = build_model(dataclasses.replace(mip, extra_points={("r", "c"): (0.3 * M, 0.9 * M)}), unit=model.unit)
    m = mapping(old, refined)
    for k, col in refined.spend_cols.items():
        assert m.col_from[col] == old.spend_cols[k]
    for k, row in refined.adstock_rows.items():
        assert m.row_from[row] == old.adstock_rows[k]
    _rounds(mip, model, model.solve(mip_gap=1e-9), 2)


def test_prior_spend_without_any_carryover_is_noted():
    notes = Scenario.from_dict(two_periods(decay=0.0, prior=1)).notes
    assert any("`prior_spend` has no effect" in n for n in notes)
    assert not any("no effect" in n for n in Scenario.from_dict(two_periods(prior=1)).notes)
