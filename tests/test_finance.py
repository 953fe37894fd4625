"""Finance's view: comparisons, the budget frontier, the workbook and the HTML report."""

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image

from allocator import Scenario, load_scenario, solve
from allocator.compare import compare
from allocator.frontier import frontier
from tests.conftest import SCENARIOS, run_cli
from tests.plan_checker import check_run

ANNUAL = SCENARIOS / "annual_plan.yaml"
QUARTER = SCENARIOS / "quarter_12_weeks.yaml"


def lp_scenario(**extra) -> Scenario:
    """Marketing only (no headcount): an LP, whose frontier is concave and whose duals are exact."""
    d = {
        "scenario": "lp",
        "currency": "CNY",
        "periods": {"names": ["H1", "H2"], "seasonality": ["40%", "60%"]},
        "budget": {"total": "6M", "reserve": {"min": "5%", "max": "8%"}},
        "regions": [{"id": "east", "class": "mature"}, {"id": "west", "class": "growth"}],
        "channels": [{"id": "online", "gross_margin": "40%"}, {"id": "offline", "gross_margin": "35%"}],
        "response": [
            {"region": "east", "channel": "online", "base": "5M", "curve": {"type": "exp", "max_lift": "8M", "scale": "2M"}, "spend": {"max": "12M"}},
            {"region": "east", "channel": "offline", "base": "4M", "curve": {"type": "hill", "max_lift": "6M", "half_saturation": "2M"}, "spend": {"max": "12M"}},
            {"region": "west", "channel": "online", "base": "2M", "curve": {"type": "log", "scale_lift": "3M", "scale": "1M"}, "spend": {"max": "12M"}},
        ],
        "solver": {"pwl_tolerance": 0.0005},
    }
    d.update(extra)
    return Scenario.from_dict(d)


# --- compare ------------------------------------------------------------------------------


def test_compare_puts_each_option_in_a_column_equal_to_its_own_solve():
    base = load_scenario(QUARTER)
    richer = base.with_changes({"budget.total": "8M", "targets.growth_floor.growth": "10%"})
    table = compare([base, richer], labels=["base", "richer"])
    assert list(table.columns) == ["base", "richer"]
    for name, scenario in (("base", base), ("richer", richer)):
        plan = solve(scenario)
        for metric in ("objective", "revenue", "marketing_spend", "people_cost", "reserve", "budget_shadow_price"):
            assert table.loc[metric, name] == pytest.approx(plan.summary[metric], rel=1e-9, abs=1e-9)
    assert table.loc["objective", "richer"] >= table.loc["objective", "base"] - 1.0  # looser floor, more money


def test_compare_cli_writes_the_folder_and_the_differences_add_up(tmp_path):
    result = run_cli("compare", ANNUAL, QUARTER, "--variant", "budget.total=26M", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "compare"
    assert {p.name for p in folder.iterdir()} == {"compare.csv", "compare_regions.csv", "compare_channels.csv",
                                                  "compare.xlsx", "compare.html"}
    table = pd.read_csv(folder / "compare.csv").set_index("metric")
    assert list(table.columns) == ["annual-plan-fy2027", "q3-weekly", "annual-plan-fy2027 [budget.total=26M]"]
    regions = pd.read_csv(folder / "compare_regions.csv")
    first, third = "annual-plan-fy2027", "annual-plan-fy2027 [budget.total=26M]"
    diff = regions[f"{third} - {first}: revenue"].sum()
    assert diff == pytest.approx(float(table.loc["revenue", third]) - float(table.loc["revenue", first]), rel=1e-9)
    channels = pd.read_csv(folder / "compare_channels.csv")
    assert channels[f"{first}: spend"].sum() == pytest.approx(float(table.loc["marketing_spend", first]))
    assert "Budget options" in result.stdout


def test_compare_rejects_a_bad_variant_with_the_override_named(tmp_path):
    result = run_cli("compare", ANNUAL, "--variant", "regions[nowhere].growth_floor=1%", "--out", tmp_path)
    assert result.returncode == 2
    assert "--set regions[nowhere].growth_floor: no item 'nowhere'" in result.stderr
    assert not (tmp_path / "compare").exists()


# --- frontier -----------------------------------------------------------------------------


def test_frontier_is_non_decreasing_and_shadow_prices_match_the_slopes():
    budgets = list(np.linspace(0.3e6, 2.4e6, 15))  # saturates near 1.3M: both regimes
    table = frontier(lp_scenario(), budgets)
    assert (table.status == "optimal").all()
    objective = table.objective.to_numpy()
    assert np.all(np.diff(objective) >= -1e-6 * budgets[-1])
    price = table.budget_shadow_price.to_numpy()
    slopes = np.diff(objective) / np.diff(budgets)
    # concave in the budget: the slope between neighbours lies between the two end prices
    tol = 2e-3
    assert np.all(slopes <= price[:-1] + tol) and np.all(slopes >= price[1:] - tol)
    assert price[0] > price[-1]


def test_warm_frontier_equals_rebuilding_each_point_within_the_curve_tolerance():
    scenario = lp_scenario()
    budgets = [0.5e6, 1e6, 2e6]
    warm = frontier(scenario, budgets, warm=True)
    cold = frontier(scenario, budgets, warm=False)
    bound = 2 * 0.0005 * 3 * 2 * 14e6  # cells x periods x tolerance x f(hi), generously
    assert np.allclose(warm.objective, cold.objective, atol=bound)
    assert (warm.status == cold.status).all()


def test_frontier_marks_infeasible_budgets_and_where_extra_budget_stops_paying(tmp_path):
    result = run_cli("frontier", QUARTER, "--budget", "4M..10M", "--points", "4", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "q3-weekly-frontier"
    table = pd.read_csv(folder / "frontier.csv")
    assert table.status.iloc[0] == "infeasible" and table.status.iloc[-1] == "optimal"
    assert table.extra_budget_pays.iloc[-1] in (False, "False")
    assert Image.open(folder / "frontier.png").format == "PNG"


def test_frontier_budget_range_errors_are_user_errors(tmp_path):
    result = run_cli("frontier", QUARTER, "--budget", "40M..20M", "--out", tmp_path)
    assert result.returncode == 2 and "needs 0 < LOW < HIGH" in result.stderr
    result = run_cli("frontier", QUARTER, "--budget", "lots", "--out", tmp_path)
    assert result.returncode == 2 and "--budget" in result.stderr


# --- workbook and report ------------------------------------------------------------------


@pytest.fixture(scope="module")
def annual_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return solve(load_scenario(ANNUAL)).write(out)


def _table(ws) -> pd.DataFrame:
    """A workbook sheet's table: the machine-name row (row 2) over the filtered range (no totals)."""
    rows = list(ws.values)
    last = int(ws.auto_filter.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return pd.DataFrame(rows[2:last], columns=rows[1])


def test_workbook_matches_the_csv_tables(annual_run):
    wb = load_workbook(annual_run / "plan.xlsx")
    assert {"summary", "allocation", "revenue by period", "spend by period", "headcount", "constraints"} <= set(wb.sheetnames)
    for sheet in ("allocation", "headcount", "constraints"):
        ws = wb[sheet]
        assert ws.freeze_panes == "A3"
        frame = _table(ws)
        csv = pd.read_csv(annual_run / f"{sheet}.csv")
        assert list(frame.columns)[: len(csv.columns)] == list(csv.columns)
        for column in csv.columns:
            if pd.api.types.is_numeric_dtype(csv[column]):
                assert np.allclose(frame[column].astype(float), csv[column].astype(float), equal_nan=True)
            else:
                assert list(frame[column].astype(str)) == list(csv[column].astype(str))
    pivot = _table(wb["revenue by period"])
    assert pivot.total.sum() == pytest.approx(pd.read_csv(annual_run / "allocation.csv").revenue.sum())


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        assert tag != "script"

    def handle_data(self, data):
        self.text.append(data)


def test_report_parses_and_every_image_is_a_png(annual_run):
    page = (annual_run / "report.html").read_text()
    parser = _Collector()
    parser.feed(page)
    assert len(parser.images) >= 4
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()
    text = " ".join(parser.text)
    assert "Binding constraints" in text and "reserve_min" in text


def test_report_command_regenerates_workbook_and_page(annual_run):
    (annual_run / "report.html").unlink()
    result = run_cli("report", annual_run)
    assert result.returncode == 0, result.stderr
    assert (annual_run / "report.html").exists()
    assert run_cli("report", annual_run.parent / "nothing-here").returncode == 2


def test_hostile_ids_stay_text_in_csv_xlsx_and_html(tmp_path):
    evil_region, evil_channel = "<script>alert(1)</script>", "=HYPERLINK(\"http://x\",\"y\")"
    d = lp_scenario().to_dict()
    d["regions"][0]["id"] = evil_region
    d["channels"][0]["id"] = evil_channel
    for cell in d["response"]:
        cell["region"] = evil_region if cell["region"] == "east" else cell["region"]
        cell["channel"] = evil_channel if cell["channel"] == "online" else cell["channel"]
    folder = solve(Scenario.from_dict(d)).write(tmp_path)
    page = (folder / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    _Collector().feed(page)  # no script tag anywhere
    csv_text = (folder / "allocation.csv").read_text()
    assert re.search(r"(^|,)\"?'=HYPERLINK", csv_text, re.MULTILINE)
    ws = load_workbook(folder / "plan.xlsx")["allocation"]
    channels = [c for c in ws["B"][1:] if c.value == evil_channel]
    assert channels and all(c.data_type == "s" for c in channels)
    check_run(folder)  # the checker reads the neutralised ids back


def test_option_names_stay_unique_even_when_a_scenario_is_named_like_a_repeat():
    from allocator.compare import option_names

    assert option_names([], ["x", "x (2)", "x", "x"]) == ["x", "x (2)", "x (3)", "x (4)"]
