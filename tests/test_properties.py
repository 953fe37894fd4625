"""Properties every correct planner has, on random small scenarios (hypothesis)."""

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator import Scenario, solve

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REGIONS = ["r1", "r2", "r3"]
CHANNELS = ["online", "offline"]


@st.composite
def scenarios(draw, staffed=None):
    n_regions = draw(st.integers(1, 3))
    regions = REGIONS[:n_regions]
    staffed = draw(st.booleans()) if staffed is None else staffed
    money = lambda lo, hi: draw(st.floats(lo, hi, allow_nan=False)) * 1e6  # noqa: E731
    cells = []
    for r in regions:
        for c in CHANNELS:
            kind = draw(st.sampled_from(["hill", "exp", "log", "linear"]))
            curve = {
                "hill": lambda: {"type": "hill", "max_lift": money(1, 10), "half_saturation": money(0.5, 4), "shape": 1.0},
                "exp": lambda: {"type": "exp", "max_lift": money(1, 10), "scale": money(0.5, 4)},
                "log": lambda: {"type": "log", "scale_lift": money(0.5, 4), "scale": money(0.5, 4)},
                "linear": lambda: {"type": "linear", "roas": draw(st.floats(0.5, 4)), "cap": money(0.5, 4)},
            }[kind]()
            cells.append({"region": r, "channel": c, "base": money(0, 5), "curve": curve})
    d = {
        "scenario": "prop",
        "periods": {"names": ["H1", "H2"], "seasonality": [0.4, 0.6]},
        "budget": {"total": money(2, 20), "reserve": {"min": 0.02, "max": 0.08}},
        "targets": {"growth_floor": {"core": draw(st.floats(-0.2, 0.3))}},
        "regions": [{"id": r, "class": "core", "last_year_revenue": money(1, 6)} for r in regions],
        "channels": [{"id": "online", "gross_margin": draw(st.floats(0.2, 0.6))},
                     {"id": "offline", "gross_margin": draw(st.floats(0.2, 0.6))}],
        "response": cells,
        "policies": [{"name": "online cap", "share": "marketing_spend", "where": {"channel": ["online"]},
                      "max": draw(st.floats(0.3, 1.0))}],
        "solver": {"mip_gap": 1e-9},
    }
    if staffed:
        d["sales_force"] = {"cost_per_head": money(0.05, 0.3), "revenue_capacity": money(1, 4),
                            "current": {r: draw(st.integers(0, 4)) for r in regions},
                            "max_hires_per_period": 3}
    return d


def objective(d: dict) -> float | None:
    plan = solve(Scenario.from_dict(d))
    return plan.objective if plan.has_plan else None


def _tol(d: dict) -> float:
    return 1e-5 * d["budget"]["total"]


@SETTINGS
@given(scenarios(), st.floats(1.05, 2.0))
def test_more_budget_never_lowers_the_objective(d, factor):
    # Fixed spend bounds: by default a cell's bound is the budget, which would also move the
    # curve's breakpoints (the PWL tolerance is relative to f(bound)) and compare two models.
    for cell in d["response"]:
        cell["spend"] = {"max": 8e6}
    before = objective(d)
    more = copy.deepcopy(d)
    more["budget"]["total"] *= factor
    after = objective(more)
    if before is not None:
        assert after is not None
        assert after >= before - _tol(more)


MONEY_KEYS = {"total", "base", "max_lift", "half_saturation", "scale", "scale_lift", "cap",
              "last_year_revenue", "cost_per_head", "revenue_capacity"}


def _scale_money(node, k):
    if isinstance(node, dict):
        return {key: (v * k if key in MONEY_KEYS and isinstance(v, float) else _scale_money(v, k))
                for key, v in node.items()}
    if isinstance(node, list):
        return [_scale_money(v, k) for v in node]
    return node


@SETTINGS
@given(scenarios(), st.sampled_from([0.01, 3.0, 1000.0]))
def test_scaling_every_money_amount_scales_the_objective(d, k):
    base = objective(d)
    scaled = objective(_scale_money(d, k))
    if base is None:
        assert scaled is None
    else:
        assert abs(scaled - k * base) <= 1e-6 * k * d["budget"]["total"]


@SETTINGS
@given(scenarios(), st.floats(0.01, 0.5))
def test_relaxing_a_floor_never_lowers_the_objective(d, drop):
    before = objective(d)
    relaxed = copy.deepcopy(d)
    relaxed["targets"]["growth_floor"]["core"] -= drop
    after = objective(relaxed)
    if before is not None:
        assert after is not None and after >= before - _tol(d)


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_reordering_regions_and_cells_changes_nothing(d, rng):
    shuffled = copy.deepcopy(d)
    rng.shuffle(shuffled["regions"])
    rng.shuffle(shuffled["response"])
    a, b = objective(d), objective(shuffled)
    assert (a is None) == (b is None)
    if a is not None:
        assert abs(a - b) <= _tol(d)
