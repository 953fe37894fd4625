"""Decomposing a real run folder: the example config on the 12-week plan, the `decompose` command
(new folders, never overwritten, nothing half-written), and the `allocator run` hook."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from allocator import load_scenario, solve
from allocator.decompose import decompose_into, decompose_run, load_config
from allocator.decompose.commands import register
from allocator.decompose.run import INPUTS_FOLDER
from tests.conftest import typer_harness
from tests.test_decompose_properties import check_tables

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "decomposition"
CONFIG = EXAMPLE / "decomposition.yaml"
TABLES = ["funnel.csv", "product_targets.csv", "rep_quotas.csv", "targets_day.csv", "targets_month.csv",
          "targets_week.csv"]


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory) -> Path:
    """The 12-week example solved once; tests copy it so that each starts from a clean run."""
    # the example scenario without its own decomposition section: these tests bring the config
    scenario = load_scenario(ROOT / "scenarios" / "quarter_12_weeks.yaml").with_changes({"decomposition": None})
    return solve(scenario).write(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def run_dir(plan_folder, tmp_path) -> Path:
    return Path(shutil.copytree(plan_folder, tmp_path / "q3-weekly"))


@pytest.fixture
def cli():
    return typer_harness(register)


def test_the_example_config_decomposes_the_12_week_plan_and_every_level_adds_up(run_dir):
    config, source = load_config(CONFIG)
    tables = decompose_run(run_dir, config, EXAMPLE, source)
    allocation = pd.read_csv(run_dir / "allocation.csv")
    check_tables(tables, allocation, config)
    day = tables["targets_day"]
    assert day.loc[day.date.astype(str) == "2027-09-15", "target"].eq(0).all()  # Mid-Autumn Festival
    assert sorted(tables["targets_week"].week.unique())[0] == "2027-W27"  # W01 starts Monday 5 July
    quotas = tables["rep_quotas"]
    starter = quotas[quotas.rep == "S12"].set_index("period").availability
    assert starter["W04"] == 0 and 0 < starter["W05"] < starter["W10"] < 1  # starts in W05, ramping up
    stretch = quotas.groupby(["region", "period"]).quota.sum() / day.groupby(["region", "period"]).target.sum()
    assert ((stretch - 1.1).abs() < 1e-3).all()  # 10% stretch, to the rounding unit


def test_decompose_writes_a_new_folder_each_time_and_never_overwrites(run_dir, cli):
    first = cli("decompose", run_dir, "--config", CONFIG)
    assert first.exit_code == 0, first.output
    folder = run_dir / "decomposition"
    assert sorted(p.name for p in folder.iterdir()) == sorted(TABLES + [INPUTS_FOLDER])
    before = (folder / "targets_day.csv").read_text()
    second = cli("decompose", run_dir)  # no --config: the copy the first one kept is not in the run itself
    assert second.exit_code == 2 and "pass --config FILE" in second.output
    third = cli("decompose", run_dir, "--config", folder / INPUTS_FOLDER / "decomposition.yaml")
    assert third.exit_code == 0, third.output
    assert (run_dir / "decomposition-2" / "targets_day.csv").read_text() == before
    assert (folder / "targets_day.csv").read_text() == before
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_invalid_config_exits_2_with_file_line_field_and_writes_nothing(run_dir, cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.read_text().replace("period: week ", "period: weekly "), encoding="utf-8")
    result = cli("decompose", run_dir, "--config", bad)
    assert result.exit_code == 2
    assert f"{bad}:9 decomposition.calendar.period:" in result.output and "weekly" in result.output
    assert "Traceback" not in result.output
    assert not (run_dir / "decomposition").exists()


def test_a_roster_that_cannot_carry_the_plan_exits_2_naming_the_region_and_writes_nothing(run_dir, cli, tmp_path):
    for path in EXAMPLE.iterdir():
        shutil.copy(path, tmp_path / path.name)
    roster = (tmp_path / "roster.csv").read_text().splitlines()
    (tmp_path / "roster.csv").write_text("\n".join(line for line in roster if not line.startswith("NT")) + "\n")
    result = cli("decompose", run_dir, "--config", tmp_path / "decomposition.yaml")
    assert result.exit_code == 2
    assert f"{tmp_path / 'roster.csv'}: region north cannot carry its target in W" in result.output
    assert "short by" in result.output and "headcount.csv" in result.output
    assert not (run_dir / "decomposition").exists()


def test_bad_csv_input_names_the_csv_line(run_dir, cli, tmp_path):
    for path in EXAMPLE.iterdir():
        shutil.copy(path, tmp_path / path.name)
    with open(tmp_path / "funnel.csv", "a", encoding="utf-8") as f:
        f.write("events,5%,50%,50%,50%,120%,\n")
    result = cli("decompose", run_dir, "--config", tmp_path / "decomposition.yaml")
    assert result.exit_code == 2
    assert f"{tmp_path / 'funnel.csv'}:8 order_to_delivery: must be between 0% and 100% (got '120%')" in result.output


def test_debug_shows_the_error_itself(run_dir, cli, tmp_path):
    result = cli("decompose", run_dir, "--config", tmp_path / "missing.yaml", "--debug")
    assert result.exit_code != 0 and "file not found" in str(result.exception)


def test_a_run_without_a_plan_has_nothing_to_decompose(run_dir, cli):
    (run_dir / "allocation.csv").unlink()
    result = cli("decompose", run_dir, "--config", CONFIG)
    assert result.exit_code == 2 and "the run found no plan to decompose" in result.output


class WithSection:
    """A loaded scenario with a `decomposition:` section, as the schema will hold it once wired in."""

    def __init__(self, scenario, config, source):
        self._scenario, self.decomposition, self.source = scenario, config, source

    def __getattr__(self, name):
        return getattr(self._scenario, name)


def test_the_run_hook_adds_the_tables_and_the_inputs_to_the_folder_being_written(run_dir):
    config, _ = load_config(CONFIG)
    scenario = WithSection(load_scenario(run_dir / "scenario.yaml"), config, str(CONFIG))
    tables = decompose_into(run_dir, scenario)
    assert sorted(f"{name}.csv" for name in tables) == TABLES
    assert all((run_dir / name).exists() for name in TABLES)
    kept, _ = load_config(run_dir / INPUTS_FOLDER / "decomposition.yaml")
    assert kept.reps.roster == "roster.csv" and (run_dir / INPUTS_FOLDER / "roster.csv").exists()
    # the run now keeps its inputs, so `decompose RUN` needs no --config
    again = decompose_run(run_dir, kept, run_dir / INPUTS_FOLDER)
    assert again["rep_quotas"].equals(tables["rep_quotas"])


def test_the_run_hook_does_nothing_without_a_section(run_dir):
    assert decompose_into(run_dir, load_scenario(run_dir / "scenario.yaml")) == {}


def _scenario_text() -> str:
    """The 12-week example without its own decomposition section, models path made absolute."""
    text = (ROOT / "scenarios" / "quarter_12_weeks.yaml").read_text().split("\ndecomposition:", 1)[0]
    return text.replace("../models", str(ROOT / "models"))


def test_a_scenario_with_a_bad_section_is_invalid_with_file_line_and_field(tmp_path):
    from allocator.scenario import ScenarioError

    text = _scenario_text()
    section = CONFIG.read_text().split("decomposition:\n", 1)[1].replace("period: week ", "period: weekly ")
    path = tmp_path / "with_section.yaml"
    path.write_text(text + "\ndecomposition:\n" + section, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert any(p.path == "decomposition.calendar.period" and p.line for p in info.value.problems)


def test_allocator_run_decompose_and_track_end_to_end(tmp_path):
    from tests.conftest import run_cli

    for path in EXAMPLE.iterdir():
        shutil.copy(path, tmp_path / path.name)
    text = _scenario_text()
    scenario = tmp_path / "q3.yaml"
    scenario.write_text(text + "\n" + CONFIG.read_text(), encoding="utf-8")
    result = run_cli("run", scenario, "--out", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "q3-weekly"
    assert all((run / name).exists() for name in TABLES) and (run / INPUTS_FOLDER / "roster.csv").exists()
    again = run_cli("decompose", run)  # the run keeps its inputs: no --config needed
    assert again.returncode == 0, again.stderr
    assert (run / "decomposition" / "rep_quotas.csv").read_text() == (run / "rep_quotas.csv").read_text()
    day = pd.read_csv(run / "targets_day.csv")
    actuals = day[day.date <= "2027-07-07"].groupby(["date", "region"]).target.sum().mul(0.9).round()
    actuals.rename("amount").reset_index().to_csv(tmp_path / "actuals.csv", index=False)
    tracked = run_cli("track", run, tmp_path / "actuals.csv")
    assert tracked.returncode == 0, tracked.stderr
    table = pd.read_csv(run / "tracking-2027-07-07" / "tracking.csv")
    assert set(table.status) == {"amber"}  # 90% everywhere: below 100%, above 80%
