"""Tracking a hand-made plan: two weeks (P1: Mon 1 .. Sun 14 March 2027), weekdays 100, Saturdays
200, Sundays closed, for east, north and west; actuals up to Wednesday 10 March.

By hand, as of 10 March: week 2027-W09 is due in full (700), week W10 is due Mon-Wed (300), the
month and the period are due 1000 of 1400. East sold 700 + 230: W09 100% green, W10 76.7% red,
month 93% amber. North sold 600 + 320: W09 85.7% amber, W10 106.7% green, month 92% amber. West
sold nothing: red.
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest

from allocator.decompose.commands import register
from allocator.decompose.config import Tracking
from allocator.decompose.errors import DecompositionError
from allocator.decompose.tracking import read_actuals, read_targets, track
from tests.conftest import typer_harness

DATA = Path(__file__).parent / "data" / "decompose" / "tracking"
AS_OF = dt.date(2027, 3, 10)


@pytest.fixture
def tables():
    return read_targets(DATA)


def rows(result, level, dim="region"):
    part = result[(result.level == level) & (result.rep == "") & (result["product"] == "")]
    return {(r.bucket, getattr(r, dim)): r for r in part.itertuples(index=False)}


def test_red_amber_green_by_week_month_and_period(tables):
    result = track(tables, read_actuals(DATA / "actuals.csv", tables), AS_OF, Tracking())
    week, month, period = rows(result, "week"), rows(result, "month"), rows(result, "period")
    assert {k: r.status for k, r in week.items()} == {
        ("2027-W09", "east"): "green", ("2027-W10", "east"): "red",
        ("2027-W09", "north"): "amber", ("2027-W10", "north"): "green",
        ("2027-W09", "west"): "red", ("2027-W10", "west"): "red"}
    east = week[("2027-W10", "east")]
    assert (east.target, east.target_to_date, east.actual) == (700, 300, 230)  # the 500 on 11 March is after as-of
    assert east.achievement == pytest.approx(230 / 300) and east.gap == 70
    assert east.remaining_days == 3  # Thursday, Friday, Saturday; Sunday is closed
    assert east.needed_per_day == pytest.approx((700 - 230) / 3)
    assert {k: r.status for k, r in month.items()} == {
        ("2027-03", "east"): "amber", ("2027-03", "north"): "amber", ("2027-03", "west"): "red"}
    assert month[("2027-03", "north")].achievement == pytest.approx(0.92)
    assert period[("P1", "east")].target_to_date == 1000 and period[("P1", "east")].actual == 930


def test_thresholds_are_configurable(tables):
    result = track(tables, read_actuals(DATA / "actuals.csv", tables), AS_OF, Tracking(red_below=0.5, amber_below=0.9))
    assert rows(result, "month")[("2027-03", "north")].status == "green"  # 92% >= 90%
    assert rows(result, "week")[("2027-W10", "east")].status == "amber"  # 76.7% >= 50%


def test_a_bucket_nothing_is_due_in_yet_is_green_and_later_buckets_are_left_out(tables):
    result = track(tables, read_actuals(DATA / "actuals.csv", tables), dt.date(2027, 3, 7), Tracking())
    week = rows(result, "week")
    assert set(week) == {("2027-W09", r) for r in ("east", "north", "west")}  # W10 has not begun


def test_reps_are_tracked_against_their_quota_pro_rata_by_their_regions_day_targets(tables):
    result = track(tables, read_actuals(DATA / "actuals_reps.csv", tables), AS_OF, Tracking())
    e1 = result[result.rep == "E1"].iloc[0]
    # quota 1540 (1400 + 10% stretch); east is due 1000 of 1400 by 10 March: 1100 due, 930 sold
    assert (e1.level, e1.bucket, e1.target) == ("period", "P1", 1540)
    assert e1.target_to_date == pytest.approx(1100) and e1.actual == 930
    assert e1.status == "amber"


def test_bad_actuals_are_reported_with_their_csv_line(tables):
    with pytest.raises(DecompositionError) as info:
        read_actuals(DATA / "actuals_bad.csv", tables)
    file = DATA / "actuals_bad.csv"
    assert {str(p) for p in info.value.problems} == {
        f"{file}:3: duplicate actuals row (date 2027-03-01, region east, rep E1; first on line 2)",
        f"{file}:4 date: must be a date like 2027-07-05 (got '2027-03-32')",
        f"{file}:5 region: unknown region 'eastt'; did you mean `east`?",
        f"{file}:6 rep: rep 'E1' sells in east, not north",
        f"{file}:7 rep: unknown rep 'N2' (known: E1, N1)",
        f"{file}:8 amount: must be >= 0 (got '-10')",
        f"{file}:9 date: 2027-04-01 is outside the plan's calendar (2027-03-01 .. 2027-03-14)",
    }


@pytest.fixture
def cli():
    return typer_harness(register)


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("targets_day.csv", "rep_quotas.csv"):
        shutil.copy(DATA / name, folder / name)
    return folder


def test_track_prints_the_current_buckets_and_writes_a_new_folder_each_time(run_dir, cli):
    result = cli("track", run_dir, DATA / "actuals.csv", "--as-of", "2027-03-10")
    assert result.exit_code == 0, result.output
    assert "tracking as of 2027-03-10" in result.output and "red" in result.output
    written = run_dir / "tracking-2027-03-10"
    assert sorted(p.name for p in written.iterdir()) == ["actuals.csv", "tracking.csv"]
    again = cli("track", run_dir, DATA / "actuals.csv")  # as-of defaults to the last actual: 11 March
    assert again.exit_code == 0, again.output
    assert (run_dir / "tracking-2027-03-11" / "tracking.csv").exists()
    third = cli("track", run_dir, DATA / "actuals.csv", "--as-of", "2027-03-10")
    assert third.exit_code == 0 and (run_dir / "tracking-2027-03-10-2").exists()


@pytest.mark.parametrize("as_of, message", [
    ("10/03/2027", "--as-of: must be a date like 2027-07-05 (got '10/03/2027')"),
    ("2027-05-01", "--as-of: 2027-05-01 is outside the plan's calendar (2027-03-01 .. 2027-03-14)"),
])
def test_a_bad_as_of_date_exits_2(run_dir, cli, as_of, message):
    result = cli("track", run_dir, DATA / "actuals.csv", "--as-of", as_of)
    assert result.exit_code == 2 and message in result.output
    assert not [p for p in run_dir.iterdir() if p.name.startswith(("tracking", "."))]


def test_bad_actuals_exit_2_with_the_csv_lines_and_write_nothing(run_dir, cli):
    result = cli("track", run_dir, DATA / "actuals_bad.csv")
    assert result.exit_code == 2 and "actuals_bad.csv:8 amount: must be >= 0" in result.output
    assert "7 problem(s) found." in result.output
    assert not [p for p in run_dir.iterdir() if p.name.startswith(("tracking", "."))]


def test_a_folder_without_decomposed_targets_exits_2(tmp_path, cli):
    result = cli("track", tmp_path, DATA / "actuals.csv")
    assert result.exit_code == 2 and "has no targets_day.csv" in result.output
