"""The model-size estimate: close to an independent count, and a too-large scenario refused up front."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.scenario import Scenario, ScenarioError, load_scenario
from allocator.scenario import size as size_module
from allocator.scenario.schema import ExpCurve, HillCurve, LogCurve
from allocator.scenario.size import MAX_COLUMNS, estimate_size, smooth_segments
from tests.conftest import SCENARIOS, run_cli

CURVES = {
    "exp": ExpCurve(type="exp", max_lift=10.0, scale=3.0),
    "log": LogCurve(type="log", scale_lift=4.0, scale=1.0),
    "hill concave": HillCurve(type="hill", max_lift=10.0, half_saturation=2.0, shape=0.7),
    "hill": HillCurve(type="hill", max_lift=10.0, half_saturation=2.0, shape=1.0),
    "hill S-shaped": HillCurve(type="hill", max_lift=10.0, half_saturation=2.0, shape=2.5),
}


def f(curve, x):
    if isinstance(curve, ExpCurve):
        return curve.max_lift * (1 - np.exp(-x / curve.scale))
    if isinstance(curve, LogCurve):
        return curve.scale_lift * np.log1p(x / curve.scale)
    r = (x / curve.half_saturation) ** curve.shape
    return curve.max_lift * r / (1 + r)


def greedy_segments(curve, hi: float, reach: float, tolerance: float) -> int:
    """Brute force: from 0, take the longest chord whose largest gap (dense samples) stays within
    ``tolerance * f(hi)``, and count the chords up to ``reach``."""
    gap, left, count = tolerance * f(curve, hi), 0.0, 0
    while left < reach:
        lo, hi_end = left, reach
        for _ in range(50):  # bisection on the chord's right end
            mid = hi_end if lo == hi_end else 0.5 * (lo + hi_end)
            x = np.linspace(left, mid, 801)
            chord = f(curve, left) + (f(curve, mid) - f(curve, left)) * (x - left) / (mid - left)
            if np.max(np.abs(f(curve, x) - chord)) <= gap:
                lo = mid
            else:
                hi_end = mid
        x = np.linspace(left, reach, 801)
        chord = f(curve, left) + (f(curve, reach) - f(curve, left)) * (x - left) / (reach - left)
        left = reach if np.max(np.abs(f(curve, x) - chord)) <= gap else max(lo, left + 1e-9)
        count += 1
    return count


@pytest.mark.parametrize("tolerance", [1e-3, 1e-4])
@pytest.mark.parametrize("name", list(CURVES))
def test_segment_estimate_is_close_to_a_greedy_count(name, tolerance):
    curve, hi = CURVES[name], 8.0
    expected = greedy_segments(curve, hi, 1.25 * hi, tolerance)
    estimate = float(smooth_segments(curve, hi, 1.25 * hi, tolerance))
    assert 0.75 * expected <= estimate <= 1.25 * expected + 1, (estimate, expected)


def big(periods: int, cells: int, tolerance: float) -> dict:
    regions = [{"id": f"r{i}"} for i in range(cells // 10)]
    channels = [{"id": f"c{j}", "gross_margin": 0.4} for j in range(10)]
    curve = {"type": "hill", "max_lift": "20M", "half_saturation": "2M", "shape": 1.0}
    response = [{"region": r["id"], "channel": c["id"], "base": "1M", "curve": curve} for r in regions for c in channels]
    return {"scenario": "big", "periods": {"names": [f"W{t}" for t in range(periods)]}, "budget": {"total": "100M"},
            "regions": regions, "channels": channels, "response": response, "solver": {"pwl_tolerance": tolerance}}


def test_columns_add_up_from_periods_cells_and_segments():
    s = Scenario.from_dict(big(periods=4, cells=20, tolerance=1e-3))
    estimate = estimate_size(s)
    assert (estimate.periods, estimate.cells) == (4, 20)
    # one revenue column per cell and period, the segments, the reserve; no sales force
    assert estimate.columns == pytest.approx(4 * 20 * (estimate.segments + 1) + 1, abs=1)


def test_segments_fall_as_the_square_root_of_the_tolerance():
    fine = estimate_size(Scenario.from_dict(big(periods=2, cells=10, tolerance=1e-5))).segments
    coarse = estimate_size(Scenario.from_dict(big(periods=2, cells=10, tolerance=1e-3))).segments
    assert fine / coarse == pytest.approx(10, rel=0.1)


def test_a_scenario_past_the_limit_is_refused_with_its_size_and_what_to_change():
    data = big(periods=52, cells=2000, tolerance=1e-5)
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    (problem,) = info.value.problems
    assert problem.path == "solver.pwl_tolerance"
    assert "52 periods x 2000 cells" in problem.message and "pwl_tolerance" in problem.message
    assert estimate_size(Scenario.from_dict({**data, "solver": {"pwl_tolerance": 0.01}})).columns <= MAX_COLUMNS


def test_validate_refuses_a_too_large_file_with_exit_2(tmp_path, monkeypatch):
    monkeypatch.setattr(size_module, "MAX_COLUMNS", 100)
    with pytest.raises(ScenarioError) as info:
        load_scenario(SCENARIOS / "annual_plan.yaml")
    (problem,) = info.value.problems
    assert problem.path == "solver.pwl_tolerance" and "more than the 100 " in problem.message
    path = tmp_path / "huge.yaml"
    import yaml

    path.write_text(yaml.safe_dump(big(periods=52, cells=2000, tolerance=1e-5)), encoding="utf-8")
    result = run_cli("validate", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}:" in result.stderr and "solver.pwl_tolerance: the model would have about" in result.stderr
