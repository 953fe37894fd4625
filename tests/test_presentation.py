"""Presentation of tornados, sweeps, frontiers, tracking and decomposition: nothing silently
dropped, no solver noise shown as an effect, and output that fits the terminal."""

import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console

from allocator.report import budget_frontier
from allocator.sensitivity.plots import plot_sweep, plot_tornado
from allocator.sensitivity.tornado import COLUMNS, _row, rank
from tests.conftest import ROOT, SCENARIOS, run_cli


def _tornado_table() -> pd.DataFrame:
    """Base margin 10M; 'cost per rep' moves it by 640k at -20% and has no plan at +20%."""
    rows = [
        ("a", "online gross margin", 0.4, 0.32, 0.48, 9.0e6, 11.0e6, 2.0e6, "optimal", "optimal", ""),
        ("b", "[bold]cost per rep", 80e3, 64e3, 96e3, 10.64e6, np.nan, np.nan, "optimal", "infeasible", "high"),
        ("c", "revenue per rep", 1e6, 0.8e6, 1.2e6, 9.8e6, 10.1e6, 0.3e6, "optimal", "optimal", ""),
        ("d", "east max lift", 5e6, 4e6, 6e6, np.nan, np.nan, np.nan, "infeasible", "infeasible", "both"),
        ("e", "tiny", 1.0, 0.8, 1.2, 10.0e6 - 10, 10.0e6 + 10, 20.0, "optimal", "optimal", ""),
    ]
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table


def test_a_side_without_a_plan_is_recorded_and_ranked_by_its_other_side():
    low, high = {"status": "optimal", "objective": 10.64e6, "x": 64e3}, {"status": "infeasible", "objective": None}
    row = dict(zip(COLUMNS, _row("x", "cost per rep", 80e3, low, high)))
    assert row["no_plan"] == "high" and np.isnan(row["swing"])
    ranked = rank(_tornado_table(), 10e6)
    # no plan either way first, then by swing, the one-sided input by its known move (640k)
    assert list(ranked.param) == ["d", "a", "b", "c", "e"]


def test_the_tornado_plot_draws_every_no_plan_side_hatched_and_counts_the_rest():
    table = rank(_tornado_table(), 10e6)
    table.attrs.update(base_objective=10e6, delta=0.2)
    fig = plot_tornado(table, "CNY", top=4)
    ax = fig.axes[0]
    hatched = [p for p in ax.patches if p.get_hatch() == "///" and p.get_width() > 0]
    assert len(hatched) == 3  # d (both sides) and b (+20%)
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("no plan at +20%") == 2 and texts.count("no plan at −20%") == 1
    assert "1 more in tornado.csv" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()][::-1] == ["east max lift", "online gross margin",
                                                                   "[bold]cost per rep", "revenue per rep"]


def test_the_tornado_table_says_no_plan_and_how_many_more_are_in_the_file(monkeypatch):
    from allocator import cli
    from allocator.sensitivity.commands import _print_tornado

    table = rank(_tornado_table(), 10e6)
    table.attrs.update(base_objective=10e6, delta=0.2)
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buffer, width=200))
    _print_tornado(cli, table, top=4)
    text = buffer.getvalue()
    assert "[bold]cost per rep" in text  # user text is not rich markup
    assert text.count("no plan") >= 3 and "1 more in tornado.csv" in text


def test_frontier_changes_within_the_tolerance_are_not_effects():
    table = pd.DataFrame({"budget": [1e6, 2e6, 3e6, 4e6], "status": ["optimal"] * 4,
                          "objective": [8.341e6, 8.340645e6, 9.0e6, np.nan], "budget_shadow_price": [0.5, 0.0, 0.0, np.nan]})
    change = budget_frontier.changes(table, 1e-4)  # tolerance ~834 per point
    assert np.isnan(change[0]) and change[1] == 0.0  # a 355 drop is solver noise
    assert change[2] == pytest.approx(9.0e6 - 8.340645e6)
    rows = budget_frontier.rows(table, 1e-4)
    assert rows[1][3] == "≈ 0" and rows[2][3].startswith("+") and rows[3][2] == "-"
    assert budget_frontier.changes(table, 0.0)[1] == pytest.approx(-355.0)  # an exact solve shows it


def test_frontier_legend_covers_neither_the_curve_nor_the_stops_paying_label():
    table = pd.DataFrame({"budget": np.linspace(20e6, 40e6, 5), "status": ["optimal"] * 5,
                          "objective": [30e6, 33e6, 34e6, 34e6, 34e6], "budget_shadow_price": [0.6, 0.3, 0.0, 0.0, 0.0]})
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = budget_frontier.plot_frontier(table, "CNY")
    canvas = FigureCanvasAgg(fig)  # the figure has no pyplot canvas of its own (no backend switch)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    ax = fig.axes[0]
    (label,) = [t for t in ax.texts if t.get_text() == "extra budget stops paying"]
    assert not legend.overlaps(label.get_window_extent(renderer))
    assert not legend.overlaps(ax.get_window_extent(renderer))


def test_sweep_no_plan_points_sit_on_the_axis_edge_inside_the_range():
    table = pd.DataFrame({"budget.total": [5e6, 6e6, 7e6], "status": ["infeasible", "optimal", "optimal"],
                          "objective": [np.nan, 8.34e6, 8.3404e6], "budget_shadow_price": [np.nan, 0.0, 0.0],
                          "mip_gap": [np.nan, 1e-4, 1e-4]})
    fig = plot_sweep(table, ["budget.total"], "CNY")
    top = fig.axes[0]
    (crosses,) = [c for c in top.collections if len(c.get_offsets()) and c.get_offsets()[0][0] == 5e6]
    assert crosses.get_offsets()[0][1] == pytest.approx(0.03)  # axes fraction: the bottom edge
    assert top.get_xlim()[0] < 5e6
    low, high = top.get_ylim()
    assert high - low >= 5 * 8.34e6 * 1e-4  # 400 of noise is not zoomed into a slope


def test_frontier_command_shows_progress(tmp_path):
    scenario = yaml.safe_load((SCENARIOS / "quarter_12_weeks.yaml").read_text())
    result = run_cli("frontier", SCENARIOS / "quarter_12_weeks.yaml", "--budget", "6M..7M", "--points", "2",
                     "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "frontier: 2/2 points" in result.stderr
    assert "expected margin" in result.stdout and "objective" not in result.stdout
    written = pd.read_csv(tmp_path / f"{scenario['scenario']}-frontier" / "frontier.csv")
    assert {"margin_change", "tolerance"} <= set(written.columns)


@pytest.fixture(scope="module")
def q3_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = run_cli("run", SCENARIOS / "quarter_12_weeks.yaml", "--out", out)
    assert result.returncode == 0, result.stderr
    return out / "q3-weekly"


def test_track_fits_80_columns_without_cutting_numbers(q3_run):
    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-m", "allocator", "track", str(q3_run),
                             str(SCENARIOS / "decomposition" / "actuals_sample.csv"), "--as-of", "2027-07-25"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if "2027" in line and "tracking" not in line]
    assert table and all("…" not in line and len(line) <= 80 for line in table)
    tracking = pd.read_csv(next(q3_run.glob("tracking-*")) / "tracking.csv")
    assert any(f"{v / 1e3:.1f}k" in result.stdout for v in tracking.actual if 1e3 <= v < 1e6)


def test_decomposition_says_rep_quotas_include_the_stretch(q3_run):
    result = run_cli("decompose", q3_run)
    assert result.returncode == 0, result.stderr
    assert "includes the 10% stretch" in result.stdout


def test_decompose_and_track_say_to_run_the_plan_first(tmp_path):
    result = run_cli("track", tmp_path / "runs" / "q3-weekly", SCENARIOS / "decomposition" / "actuals_sample.csv")
    assert result.returncode == 2 and "allocator run" in result.stderr


def test_report_and_compare_pages_fit_1280_px_in_a_real_browser(tmp_path):
    """Only where Chromium is installed (benchmarks/browser_check.py; the tests never need one)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("browser_check", ROOT / "benchmarks" / "browser_check.py")
    browser_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(browser_check)
    if browser_check.browser() is None:
        pytest.skip("no Chromium on this machine")
    from allocator import load_scenario, solve
    from allocator.compare import option_names
    from allocator.report.comparison import write_comparison

    base = load_scenario(SCENARIOS / "quarter_12_weeks.yaml")
    options = [base, base.with_changes({"budget.total": "7M", "regions[north].growth_floor": "20%"})]
    plans = [solve(s) for s in options]
    run = plans[0].write(tmp_path)
    names = option_names(options, [base.scenario, f"{base.scenario} [budget.total=7M;regions[north].growth_floor=20%]"])
    folder = write_comparison(plans, names, tmp_path, base.currency)
    for page in (run / "report.html", folder / "compare.html"):
        result = browser_check.check(page, tmp_path / "shots")
        assert result["ok"], (page.name, result)
        assert result["images"] >= 1 and (tmp_path / "shots").is_dir()
