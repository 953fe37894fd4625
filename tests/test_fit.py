"""``allocator fit``: known curves recovered from noisy synthetic history, plans on fitted curves as
good as on the true ones, refusals, marketing-mix imports, and the file rules (exit 2, no overwrite)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from allocator.api import solve
from allocator.fit.commands import register
from allocator.fit.fitting import fit_history
from allocator.fit.synthetic import history, weeks
from allocator.model.curves import value
from allocator.scenario import Scenario, load_scenario
from allocator.scenario.schema import ResponseCell
from tests.conftest import ROOT, run_cli, typer_harness
from tests.plan_checker import check_run

fit_cli = typer_harness(register)

TRUE_CELLS = [
    {"region": "east", "channel": "online", "base": 6e6, "curve": {"type": "hill", "max_lift": 7e6, "half_saturation": 1.2e6, "shape": 1.0}},
    {"region": "east", "channel": "offline", "base": 8e6, "curve": {"type": "exp", "max_lift": 5e6, "scale": 1.5e6}},
    {"region": "west", "channel": "online", "base": 4e6, "curve": {"type": "log", "scale_lift": 2e6, "scale": 0.8e6}},
    {"region": "west", "channel": "offline", "base": 4e6, "curve": {"type": "hill", "max_lift": 5e6, "half_saturation": 1e6, "shape": 2.0}},
]
MARGINS = {"online": 0.6, "offline": 0.5}


def cells(rows=TRUE_CELLS) -> list[ResponseCell]:
    return [ResponseCell.model_validate(c) for c in rows]


def fitted(path: Path) -> dict[tuple[str, str], dict]:
    return {(c["region"], c["channel"]): c for c in yaml.safe_load(path.read_text())["response"]}


def write_history(tmp_path: Path, frame: pd.DataFrame, name: str = "history.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("true", TRUE_CELLS, ids=lambda c: c["curve"]["type"] + str(c["curve"].get("shape", "")))
def test_recovers_known_curve_parameters_within_10_percent(tmp_path, true):
    frame = history(cells([true]), weeks(dt.date(2024, 1, 1), 104), 12, seed=7, noise=0.005, spend_range=(0.05, 5))
    out = tmp_path / "m.yaml"
    result = fit_cli("fit", write_history(tmp_path, frame), "--out", out, "--periods-per-horizon", "12",
                     "--curves", true["curve"]["type"])
    assert result.exit_code == 0, result.output
    cell = fitted(out)[(true["region"], true["channel"])]
    assert cell["curve"]["type"] == true["curve"]["type"]
    for key, expected in true["curve"].items():
        if key != "type":
            assert cell["curve"][key] == pytest.approx(expected, rel=0.10), key
    assert cell["base"] == pytest.approx(true["base"], rel=0.10)


def _scenario(response: list[dict] | None = None, model: str | None = None) -> dict:
    data = {
        "scenario": "fit-check",
        "periods": {"names": ["Q1", "Q2", "Q3", "Q4"], "seasonality": ["20%", "30%", "30%", "20%"]},
        "budget": {"total": "2M"},
        "regions": [{"id": "east"}, {"id": "west"}],
        "channels": [{"id": c, "gross_margin": m} for c, m in MARGINS.items()],
    }
    if response is not None:
        data["response"] = response
    if model is not None:
        data["response_model"] = model
    return data


def marketing_margin_on_true_curves(allocation: pd.DataFrame, seasonality: dict[str, float]) -> float:
    """``sum m_c s_t f(x / s_t) - x`` over the plan's cells and periods, on the TRUE curves (model.md)."""
    true = {c.key: c.curve for c in cells()}
    total = 0.0
    for row in allocation.itertuples():
        s = seasonality[row.period]
        lift = s * float(value(true[(row.region, row.channel)], [row.spend / s])[0])
        total += MARGINS[row.channel] * lift - row.spend
    return total


def test_plan_on_fitted_curves_is_within_1_percent_of_the_true_plan(tmp_path):
    frame = history(cells(), [f"M{k:02d}" for k in range(60)], 12, seed=11, noise=0.005, spend_range=(0.05, 4))
    out = tmp_path / "model.yaml"
    assert fit_cli("fit", write_history(tmp_path, frame), "--out", out, "--periods-per-horizon", "12").exit_code == 0
    # cross-validation told the four curve types apart
    assert [c["curve"]["type"] for c in fitted(out).values()] == [c["curve"]["type"] for c in TRUE_CELLS]
    true_plan = solve(Scenario.from_dict(_scenario(TRUE_CELLS)))
    fitted_plan = solve(Scenario.from_dict(_scenario(model="model.yaml"), base_dir=tmp_path))
    assert true_plan.summary["budget_shadow_price"] > 0  # the budget binds: the split matters
    season = dict(zip(["Q1", "Q2", "Q3", "Q4"], [0.2, 0.3, 0.3, 0.2]))
    best = marketing_margin_on_true_curves(true_plan.allocation, season)
    achieved = marketing_margin_on_true_curves(fitted_plan.allocation, season)
    assert best > 0
    assert achieved >= best * (1 - 0.01)
    assert fitted_plan.allocation["spend"].sum() <= 2e6 * (1 + 1e-9)


def test_carryover_decay_is_recovered_and_reported(tmp_path):
    true = TRUE_CELLS[1]
    frame = history(cells([true]), weeks(dt.date(2024, 1, 1), 104), 12, seed=3, noise=0.005,
                    spend_range=(0.05, 5), decay=0.5, max_lag=3)
    out = tmp_path / "m.yaml"
    result = fit_cli("fit", write_history(tmp_path, frame), "--out", out, "--periods-per-horizon", "12",
                     "--curves", "exp", "--carryover", "--max-lag", "3")
    assert result.exit_code == 0, result.output
    text = out.read_text()
    decay = float(text.split("carryover: decay ")[1].split()[0])
    assert decay == pytest.approx(0.5, rel=0.10)
    cell = fitted(out)[("east", "offline")]
    assert cell["curve"]["max_lift"] == pytest.approx(5e6, rel=0.10)
    assert cell["curve"]["scale"] == pytest.approx(1.5e6, rel=0.10)
    # the model file carries the carryover as a field, and a plan on it runs with carryover
    assert cell["carryover"]["max_lag"] == 3
    assert cell["carryover"]["decay"] == pytest.approx(decay, abs=1e-3)
    scenario = Scenario.from_dict(_scenario(model="m.yaml"), base_dir=tmp_path)
    carried = {c.key: c.carryover for c in scenario.response}
    assert carried[("east", "offline")].decay == pytest.approx(decay, abs=1e-3)
    plan = solve(scenario)
    assert plan.has_plan
    east = plan.allocation[plan.allocation.channel == "offline"]
    assert not np.allclose(east.spend, east.effective_spend)  # no prior spend: Q1's effective spend is less


def test_flat_spend_is_refused_per_cell_and_nothing_is_written(tmp_path):
    rng = np.random.default_rng(0)
    spend = rng.uniform(1.1e6, 1.3e6, 24)
    flat = pd.DataFrame({"region": "east", "channel": "online", "period": [f"P{k}" for k in range(24)],
                         "spend": spend, "revenue": 5e6 + 0.8 * spend})
    good = history(cells(TRUE_CELLS[1:2]), [f"P{k}" for k in range(24)], 12, seed=1, noise=0.005, spend_range=(0.05, 5))
    path = write_history(tmp_path, pd.concat([flat, good]))
    out = tmp_path / "m.yaml"
    result = fit_cli("fit", path, "--out", out)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{path}:2 east/online: spend varied only between 1.1M and 1.3M" in result.output
    assert "give `curve:` by hand or more history" in result.output
    assert "east/offline:" not in result.output  # the cell that fits is not a problem
    assert "--partial" in result.output
    assert not out.exists()
    partial = fit_cli("fit", path, "--out", out, "--partial")
    assert partial.exit_code == 0, partial.output
    assert list(fitted(out)) == [("east", "offline")]
    assert "Not fitted" in out.read_text() and "east/online: spend varied only" in out.read_text()


def test_revenue_unrelated_to_spend_is_refused(tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"region": "r", "channel": "c", "period": [f"P{k}" for k in range(30)],
                          "spend": rng.uniform(1e4, 5e5, 30), "revenue": 1e6 * (1 + 0.03 * rng.normal(size=30))})
    result = fit_cli("fit", write_history(tmp_path, frame), "--out", tmp_path / "m.yaml")
    assert result.exit_code == 2
    assert "r/c: revenue does not follow spend" in result.output


def test_saturation_beyond_the_data_is_refused(tmp_path):
    frame = history(cells(TRUE_CELLS[:1]), [f"P{k}" for k in range(40)], 12, seed=2, noise=0.005, spend_range=(0.01, 0.06))
    result = fit_cli("fit", write_history(tmp_path, frame), "--out", tmp_path / "m.yaml")
    assert result.exit_code == 2
    assert "saturates is not in the data" in result.output


def _points_file(tmp_path: Path) -> Path:
    """A marketing-mix export of hill(L=3M, K=1M, shape 1.5), 25 points per cell, for the whole horizon."""
    curve = ResponseCell.model_validate({"region": "a", "channel": "b", "curve": {
        "type": "hill", "max_lift": 3e6, "half_saturation": 1e6, "shape": 1.5}}).curve
    spend = np.linspace(0, 4e6, 25)
    frame = pd.DataFrame({"region": "north", "channel": "tv", "spend": spend, "response": value(curve, spend)})
    return write_history(tmp_path, frame, "mmm.csv")


def test_marketing_mix_points_import_as_points_and_as_hill(tmp_path):
    path = _points_file(tmp_path)
    as_points = tmp_path / "points.yaml"
    assert fit_cli("fit", path, "--out", as_points).exit_code == 0
    cell = fitted(as_points)[("north", "tv")]
    assert cell["curve"]["type"] == "points" and len(cell["curve"]["points"]) == 25
    assert cell["curve"]["points"][-1] == pytest.approx([4e6, float(3e6 * 4**1.5 / (1 + 4**1.5))], rel=1e-5)
    as_hill = tmp_path / "hill.yaml"
    weekly = fit_cli("fit", path, "--out", as_hill, "--as", "hill", "--periods-per-horizon", "13")
    assert weekly.exit_code == 0, weekly.output
    curve = fitted(as_hill)[("north", "tv")]["curve"]
    assert curve["type"] == "hill"
    assert curve["max_lift"] == pytest.approx(13 * 3e6, rel=0.01)  # a weekly export, 13 weeks per horizon
    assert curve["half_saturation"] == pytest.approx(13 * 1e6, rel=0.01)
    assert curve["shape"] == pytest.approx(1.5, rel=0.01)


def test_bad_rows_are_reported_with_file_line_and_column(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("region,channel,period,spend,revenue\neast,online,P1,12k,1M\neast,online,P2,lots,1M\n"
                    "east,online,P1,10k,2M\neast,online,P3,-5,1M\n")
    result = fit_cli("fit", path, "--out", tmp_path / "m.yaml")
    assert result.exit_code == 2
    assert f"{path}:3 spend:" in result.output
    assert f"{path}:4: duplicate period" in result.output
    assert f"{path}:5 spend:" in result.output
    assert "Traceback" not in result.output
    wrong = tmp_path / "w.csv"
    wrong.write_text("region,channel,week,spend,revenue\n")
    result = fit_cli("fit", wrong, "--out", tmp_path / "m.yaml")
    assert result.exit_code == 2 and f"{wrong}:1: columns must be exactly" in result.output
    falling = tmp_path / "f.csv"
    falling.write_text("region,channel,spend,response\na,b,0,0\na,b,1M,2M\na,b,2M,1.5M\n")
    result = fit_cli("fit", falling, "--out", tmp_path / "m.yaml")
    assert result.exit_code == 2 and f"{falling}:4 response: a/b: response falls" in result.output


def test_an_existing_model_file_is_kept_unless_force(tmp_path):
    path = _points_file(tmp_path)
    out = tmp_path / "m.yaml"
    out.write_text("keep me\n")
    result = fit_cli("fit", path, "--out", out)
    assert result.exit_code == 2 and "already exists; pass --force" in result.output
    assert out.read_text() == "keep me\n"
    assert fit_cli("fit", path, "--out", out, "--force").exit_code == 0
    assert "north" in out.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_example_history_fits_the_model_of_fitted_plan_and_runs(tmp_path):
    """``scenarios/history_retail.csv`` -> ``models/fitted_retail.yaml`` (as committed) -> ``allocator run``."""
    (tmp_path / "models").mkdir()
    (tmp_path / "scenarios").mkdir()
    out = tmp_path / "models" / "fitted_retail.yaml"
    done = run_cli("fit", ROOT / "scenarios" / "history_retail.csv", "--out", out, "--periods-per-horizon", "12")
    assert done.returncode == 0, done.stderr
    committed = fitted(ROOT / "models" / "fitted_retail.yaml")
    fresh = fitted(out)
    assert committed.keys() == fresh.keys()
    for key, cell in fresh.items():
        assert cell["curve"]["type"] == committed[key]["curve"]["type"]
        for name, v in cell["curve"].items():
            if name != "type":
                assert v == pytest.approx(committed[key]["curve"][name], rel=0.01), (key, name)
    shutil.copy(ROOT / "scenarios" / "fitted_plan.yaml", tmp_path / "scenarios")
    ran = run_cli("run", tmp_path / "scenarios" / "fitted_plan.yaml", "--out", tmp_path / "runs")
    assert ran.returncode == 0, ran.stderr
    check_run(tmp_path / "runs" / "q3-fitted")
    resolved = load_scenario(tmp_path / "runs" / "q3-fitted" / "scenario.yaml")
    assert {c.key for c in resolved.response} == set(fresh)


def test_the_command_default_names_every_fitted_curve_type():
    from allocator.fit.commands import DEFAULT_CURVES
    from allocator.fit.curvefit import FIT_CURVES

    assert DEFAULT_CURVES.split(",") == list(FIT_CURVES)


def test_history_fit_as_a_library_call():
    report = fit_history(ROOT / "scenarios" / "history_retail.csv", periods_per_horizon=12)
    assert not report.refusals and len(report.cells) == 6
    assert all(r.r2 is not None and r.r2 > 0.8 for r in report.rows)


def test_option_mistakes_are_input_errors(tmp_path):
    history_file = write_history(tmp_path, history(cells(TRUE_CELLS[1:2]), [f"P{k}" for k in range(12)], 12))
    points_file = _points_file(tmp_path)
    out = tmp_path / "m.yaml"
    for args, message in [((history_file, "--curves", "hill,spline"), "unknown curve type 'spline'"),
                          ((history_file, "--as", "hill"), "applies to marketing-mix response points"),
                          ((points_file, "--carryover"), "needs a history"),
                          ((points_file, "--as", "spline"), "must be points or hill"),
                          ((history_file, "--periods-per-horizon", "0"), "must be > 0"),
                          ((tmp_path / "missing.csv",), "file not found")]:
        result = fit_cli("fit", *args, "--out", out)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert not out.exists()


def test_dated_periods_are_put_in_date_order(tmp_path):
    from allocator.fit.inputs import read_history

    frame = history(cells(TRUE_CELLS[1:2]), weeks(dt.date(2025, 12, 1), 10), 12, seed=5)
    path = write_history(tmp_path, frame.sample(frac=1.0, random_state=1))
    (cell,) = read_history(path)
    assert list(cell.periods) == sorted(frame["period"])
    assert list(cell.spend) == list(frame.set_index("period").loc[list(cell.periods), "spend"])


def test_ids_that_yaml_would_misread_survive_the_model_file(tmp_path):
    spend = np.linspace(0, 4e6, 9)
    frame = pd.DataFrame({"region": "no", "channel": "tv: web", "spend": spend, "response": 2e6 * -np.expm1(-spend / 1e6)})
    out = tmp_path / "m.yaml"
    assert fit_cli("fit", write_history(tmp_path, frame, "mmm.csv"), "--out", out).exit_code == 0
    scenario = Scenario.from_dict({"scenario": "ids", "periods": {"names": ["P1"]}, "budget": {"total": "1M"},
                                   "regions": [{"id": "no"}], "channels": [{"id": "tv: web", "gross_margin": 0.5}],
                                   "response_model": "m.yaml"}, base_dir=tmp_path)
    assert [c.key for c in scenario.response] == [("no", "tv: web")]
    assert scenario.response[0].curve.type == "points"


def test_the_year_model_is_the_same_fit_over_52_periods():
    """``models/fitted_retail_year.yaml`` (used by ``scenarios/fitted_year.yaml``) is
    ``allocator fit scenarios/history_retail.csv --periods-per-horizon 52``: the quarter's model with
    base, spend and lift axes scaled by 52 / 12 (docs/fitting.md)."""
    quarter, year = fitted(ROOT / "models" / "fitted_retail.yaml"), fitted(ROOT / "models" / "fitted_retail_year.yaml")
    assert quarter.keys() == year.keys()
    for key, cell in year.items():
        assert cell["curve"]["type"] == quarter[key]["curve"]["type"]
        assert cell["base"] == pytest.approx(quarter[key]["base"] * 52 / 12, rel=1e-4)
        for name, v in cell["curve"].items():
            if name != "type":
                assert v == pytest.approx(quarter[key]["curve"][name] * 52 / 12, rel=1e-4), (key, name)
