"""What planners and finance see: the workbook read back with openpyxl, the report's sections,
the terminal's words, the unallocated-budget explanation, and user text shown as written."""

import dataclasses
import hashlib
import io

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook
from rich.console import Console

from allocator import Scenario, load_scenario, solve
from allocator.report import words
from allocator.report.html import render
from allocator.report.tables import summary_by_period
from allocator.solve import Status
from tests.conftest import SCENARIOS, run_cli

ANNUAL = SCENARIOS / "annual_plan.yaml"
ALL_SHEETS = {"summary", "by period", "vs last year (region)", "vs last year (channel)", "allocation",
              "revenue by period", "spend by period", "headcount", "hires by region", "constraints", "inputs",
              "curves", "provenance"}


def idle(reserve: str, name: str = "idle", currency: str = "CNY") -> Scenario:
    """Marketing that never pays (1 of revenue per 1 of spend at a 40% margin: spend 0) and a
    fixed reserve, so the unallocated share is known in closed form: 1 - reserve."""
    return Scenario.from_dict({
        "scenario": name, "currency": currency,
        "periods": {"names": ["H1", "H2"]},
        "budget": {"total": "10M", "reserve": {"min": reserve, "max": reserve}},
        "regions": [{"id": "east", "last_year_revenue": "4M"}],
        "channels": [{"id": "online", "gross_margin": "40%"}],
        "response": [{"region": "east", "channel": "online", "base": "5M", "curve": {"type": "linear", "roas": 1.0}}],
    })


@pytest.fixture(scope="module")
def rich_run(tmp_path_factory):
    """The annual plan with twice its budget, through the CLI: about half the budget stays unallocated."""
    out = tmp_path_factory.mktemp("runs")
    result = run_cli("run", ANNUAL, "--out", out, "--set", "budget.total=60M")
    assert result.returncode == 0, result.stderr
    return out / "annual-plan-fy2027", result


# --- the workbook ---------------------------------------------------------------------------


def _last_filtered_row(ws) -> int:
    return int(ws.auto_filter.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _table(ws) -> pd.DataFrame:
    rows = list(ws.values)
    return pd.DataFrame(rows[2:_last_filtered_row(ws)], columns=rows[1])


def _totals(ws) -> dict:
    rows = list(ws.values)
    return dict(zip(rows[1], rows[_last_filtered_row(ws)]))


def test_every_sheet_has_labels_a_filter_frozen_headers_and_prints_one_page_wide(rich_run):
    folder, _ = rich_run
    wb = load_workbook(folder / "plan.xlsx")
    assert ALL_SHEETS <= set(wb.sheetnames)
    for ws in wb.worksheets:
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A2:"), ws.title
        assert ws.freeze_panes == "A3", ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_rows == "$1:$2", ws.title  # both header rows on every printed page
        assert ws["A1"].font.bold and ws["A2"].font.italic, ws.title  # labels over machine names
    labels = [c.value for c in wb["allocation"][1]]
    assert "Marketing spend (CNY)" in labels and "Revenue target (CNY)" in labels
    assert [c.value for c in wb["allocation"][2]][:4] == ["region", "channel", "period", "spend"]


def test_amounts_carry_the_currency_and_shares_are_percentages(rich_run):
    folder, _ = rich_run
    wb = load_workbook(folder / "plan.xlsx")
    ws = wb["allocation"]
    header = [c.value for c in ws[2]]
    spend, roi = header.index("spend") + 1, header.index("marginal_roi") + 1
    assert '"CNY"' in ws.cell(row=3, column=spend).number_format
    assert ws.cell(row=3, column=roi).number_format.endswith("%")
    change = [c.value for c in wb["vs last year (region)"][2]].index("change_pct") + 1
    assert wb["vs last year (region)"].cell(row=3, column=change).number_format.endswith("%")
    shadow = [c.value for c in wb["constraints"][2]].index("shadow_price") + 1
    assert "CNY" not in wb["constraints"].cell(row=3, column=shadow).number_format  # a ratio, not an amount


def test_totals_rows_sit_below_the_filter_and_add_up_to_the_plan(rich_run):
    folder, _ = rich_run
    wb = load_workbook(folder / "plan.xlsx")
    summary = yaml.safe_load((folder / "summary.json").read_text())
    allocation = pd.read_csv(folder / "allocation.csv")
    headcount = pd.read_csv(folder / "headcount.csv")
    totals = _totals(wb["allocation"])
    assert totals["region"] == "total" and wb["allocation"].cell(row=_last_filtered_row(wb["allocation"]) + 1, column=1).font.bold
    assert totals["spend"] == pytest.approx(allocation.spend.sum()) and totals["revenue"] == pytest.approx(allocation.revenue.sum())
    by_period = _totals(wb["by period"])
    assert by_period["expected_margin"] == pytest.approx(summary["objective"], rel=1e-9)
    assert by_period["people_cost"] == pytest.approx(summary["people_cost"], rel=1e-9)
    assert by_period["marketing_spend"] == pytest.approx(summary["marketing_spend"], rel=1e-9)
    assert by_period["reserve"] == pytest.approx(summary["reserve"])
    assert _totals(wb["hires by region"])["hires"] == headcount.hires.sum()
    assert _totals(wb["headcount"])["hires"] == headcount.hires.sum()
    # plan against last year, region by region, from the CSV and the scenario file
    last = {r.id: r.last_year_revenue for r in load_scenario(ANNUAL).regions}
    vs = _table(wb["vs last year (region)"]).set_index("region")
    planned = allocation.groupby("region").revenue.sum()
    for region, row in vs.iterrows():
        assert row.plan_revenue == pytest.approx(planned[region])
        assert row.change_pct == pytest.approx(planned[region] / last[region] - 1)
    assert set(vs.index) == set(last)


def test_inputs_curves_and_provenance_say_where_the_plan_came_from(rich_run):
    folder, _ = rich_run
    wb = load_workbook(folder / "plan.xlsx")
    inputs = _table(wb["inputs"])
    assert inputs.loc[inputs["item"] == "total budget", "value"].item() == pytest.approx(60e6)
    assert {"budget", "targets", "regions", "channels", "policies", "sales force", "solver"} <= set(inputs.section)
    curves = _table(wb["curves"])
    assert len(curves) == len(load_scenario(ANNUAL).response) and curves.in_words.str.len().min() > 10
    facts = dict(_table(wb["provenance"]).values)
    assert facts["overrides (--set)"] == "budget.total=60M"
    assert facts["scenario file sha256"] == hashlib.sha256(ANNUAL.read_bytes()).hexdigest()
    assert facts["allocator version"] == __import__("allocator").__version__
    assert facts["solver"] == "highs" and facts["MIP gap tolerance"]
    assert (folder / "provenance.csv").exists()


# --- words: terminal, report, workbook ------------------------------------------------------


def test_the_terminal_says_expected_margin_and_optimality_in_words(rich_run):
    _, result = rich_run
    assert "expected margin" in result.stdout and "of the best possible" in result.stdout
    assert "objective" not in result.stdout and "MIP gap" not in result.stdout
    assert "margin per extra 1 CNY of budget" in result.stdout


def test_the_report_has_every_finance_section(rich_run):
    folder, _ = rich_run
    page = (folder / "report.html").read_text()
    for section in ("By period", "Plan against last year", "By region", "By channel", "Hires by region",
                    "Binding constraints", "Inputs and assumptions", "Response curves in words", "Provenance"):
        assert f">{section}</h" in page, section
    assert "id=unallocated" in page and "left unallocated" in page
    assert "expected margin" in page and "of the best possible" in page and "<td>MIP gap</td>" not in page
    assert "margin per extra 1 CNY of sales capacity" in page  # every shadow price has its unit
    assert "<div class=wide>" in page  # wide tables scroll inside the page


def test_percent_up_never_flatters_and_gap_words_name_the_time_limit():
    assert words.percent_up(9.28e-05) == "0.01%"
    assert words.percent_up(0.0123) == "2%"
    assert words.percent_up(0.0) == "0%"
    assert words.gap_words("optimal", 9.28e-05) == "within 0.01% of the best possible"
    assert "time limit" in words.gap_words("feasible", 0.02) and "2%" in words.gap_words("feasible", 0.02)
    assert words.gap_words("infeasible", None) == "-"


def _printed(monkeypatch, plan, **kwargs) -> tuple[str, str]:
    from allocator import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=stdout, width=200, soft_wrap=True))
    monkeypatch.setattr(cli, "err", Console(file=stderr, width=200, soft_wrap=True))
    cli.print_summary(plan, __import__("pathlib").Path("runs/x"), **kwargs)
    return stdout.getvalue(), stderr.getvalue()


def test_a_plan_stopped_by_its_time_limit_says_so_with_its_gap(monkeypatch):
    plan = solve(idle("98%"))
    stopped = dataclasses.replace(plan, status=Status.FEASIBLE,
                                  summary={**plan.summary, "status": "feasible", "mip_gap": 0.003})
    stdout, stderr = _printed(monkeypatch, stopped, time_limit=30)
    assert "stopped by the time limit" in stdout and "0.3%" in stdout
    assert "time limit (30 s)" in stderr and "within 0.3% of the best possible" in stderr
    assert "time limit" in render(stopped)


# --- unallocated budget ---------------------------------------------------------------------


def test_unallocated_budget_above_one_percent_is_explained_everywhere(monkeypatch):
    plan = solve(idle("98%"))  # spend 0, reserve 98%: 2% unallocated
    assert plan.summary["marketing_spend"] == pytest.approx(0.0, abs=1.0)
    note = words.unallocated_note(plan)
    assert note is not None and note.share == pytest.approx(0.02, rel=1e-6) and note.amount == pytest.approx(200e3, rel=1e-6)
    assert any("marginal ROI at or below 0" in r for r in note.reasons)
    _, stderr = _printed(monkeypatch, plan)
    assert "CNY (2% of the budget) is left unallocated" in stderr
    assert "id=unallocated" in render(plan)


def test_unallocated_budget_below_one_percent_is_not_flagged(monkeypatch):
    plan = solve(idle("99.5%"))  # 0.5% unallocated
    assert plan.summary["unallocated"] == pytest.approx(50e3, rel=1e-6)
    assert words.unallocated_note(plan) is None
    _, stderr = _printed(monkeypatch, plan)
    assert "unallocated" not in stderr and "id=unallocated" not in render(plan)


def test_the_explanation_names_the_binding_constraints_with_units(rich_run):
    plan = solve(load_scenario(ANNUAL).with_changes({"budget.total": "60M"}))
    note = words.unallocated_note(plan)
    assert note is not None and note.share > 0.3
    binding = note.binding
    assert len(binding) and set(binding.kind) >= {"capacity"}
    assert (binding.unit != "").all()
    assert any("sales capacity" in r for r in note.reasons)
    assert summary_by_period(plan).iloc[-1].expected_margin == pytest.approx(plan.objective, rel=1e-9)


# --- user text as written ---------------------------------------------------------------------


def test_rich_markup_in_a_scenario_name_is_printed_as_written(monkeypatch):
    plan = solve(idle("98%", name="[red]plan[bold]"))
    stdout, _ = _printed(monkeypatch, plan)
    assert "[red]plan[bold]" in stdout


def test_compare_shows_variant_text_as_written_and_refuses_mixed_currencies(tmp_path):
    base = tmp_path / "a.yaml"
    base.write_text(yaml.safe_dump(idle("98%").to_dict(), sort_keys=False))
    result = run_cli("compare", base, "--variant", "response[east/online].base=4M", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "[response[east/online].base=4M]" in result.stdout
    usd = tmp_path / "b.yaml"
    usd.write_text(yaml.safe_dump(idle("98%", name="usd", currency="USD").to_dict(), sort_keys=False))
    mixed = run_cli("compare", base, usd, "--out", tmp_path / "mixed")
    assert mixed.returncode == 2 and "different currencies" in mixed.stderr
    assert "CNY" in mixed.stderr and "USD" in mixed.stderr
    assert not (tmp_path / "mixed" / "compare").exists()


def test_version_flag_prints_the_package_version():
    from allocator import __version__

    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"allocator {__version__}"


def test_did_you_mean_stays_in_the_section_and_lists_its_keys_when_nothing_is_close():
    from allocator.scenario import ScenarioError

    d = idle("98%").to_dict()
    d["response"][0]["curve"]["rate"] = 3
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict(d)
    (message,) = [str(p) for p in caught.value.problems]
    assert "decomposition" not in message and "did you mean" not in message
    assert "valid keys here" in message and "`roas`" in message and "`cap`" in message
    d["response"][0]["curve"].pop("rate")
    d["response"][0]["curve"]["roa"] = 3
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict(d)
    assert "did you mean `roas`?" in str(caught.value.problems[0])


def test_percentages_and_amounts_in_the_summary_sheet(tmp_path):
    folder = solve(idle("98%")).write(tmp_path)
    ws = load_workbook(folder / "plan.xlsx")["summary"]
    rows = {r[3]: r for r in ws.iter_rows(min_row=3, values_only=True) if r[3]}
    assert rows["objective"][0] == "expected margin" and rows["unallocated"][2] == "2.0% of the budget"
    cells = {ws.cell(row=i, column=4).value: ws.cell(row=i, column=2) for i in range(3, ws.max_row + 1)}
    assert '"CNY"' in cells["revenue"].number_format and cells["budget_shadow_price"].number_format == "0.0000"
    assert cells["marketing_roi"].value is None  # nothing spent: no ROI, an empty cell rather than a made-up 0
    notes = [ws.cell(row=i, column=1).value for i in range(_last_filtered_row(ws) + 1, ws.max_row + 1)]
    assert any(n and "left unallocated" in n for n in notes)
    assert np.isclose(rows["unallocated"][1], 200e3)


def test_paths_with_brackets_are_printed_as_written(tmp_path):
    scenario = tmp_path / "[red]s.yaml"
    scenario.write_text(yaml.safe_dump(idle("98%").to_dict(), sort_keys=False))
    checked = run_cli("validate", scenario)
    assert checked.returncode == 0 and f"ok: {scenario}" in checked.stdout
    result = run_cli("run", scenario, "--out", tmp_path / "[bold]runs")
    assert result.returncode == 0, result.stderr
    assert f"written: {tmp_path / '[bold]runs' / 'idle'}" in result.stdout
