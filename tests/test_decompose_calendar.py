"""The calendar: weekday shares from the playbook's 87000 sample, holidays and closed days at zero,
months inside periods, and day targets that sum to their month and period."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from allocator.decompose.calendar import build_days, month_pieces, weekday_shares_from_sample
from allocator.decompose.config import Calendar, DecompositionConfig
from allocator.decompose.errors import ConfigSource, DecompositionError
from allocator.decompose.inputs import Context, load_inputs
from allocator.decompose.targets import day_units, month_units

DATA = Path(__file__).parent / "data" / "decompose"
SAMPLE = [9654, 9687, 11654, 10625, 11687, 17110, 16583]  # Monday..Sunday over three weeks, total 87000
PLAYBOOK_SHARES = {"mon": 11.1, "tue": 11.1, "wed": 13.4, "thu": 12.2, "fri": 13.4, "sat": 19.7, "sun": 19.1}


def test_weekday_shares_from_the_87000_sample_are_the_playbooks():
    assert sum(SAMPLE) == 87000
    shares = weekday_shares_from_sample(SAMPLE)
    assert {d: round(100 * s, 1) for d, s in shares.items()} == PLAYBOOK_SHARES
    assert shares["mon"] == pytest.approx(9654 / 87000) and shares["sat"] == pytest.approx(17110 / 87000)


def test_weekday_shares_from_three_weeks_of_daily_history_are_the_same():
    config = DecompositionConfig.model_validate(
        {"calendar": {"start": "2027-07-05", "period": "week", "weekdays": {"history": "daily_sales_87000.csv"}}})
    inputs = load_inputs(config, DATA, ConfigSource(), Context(("east",), ("online",), None))
    assert {d: round(100 * s, 1) for d, s in inputs.weekday_shares.items()} == PLAYBOOK_SHARES


def calendar(**fields) -> Calendar:
    return Calendar.model_validate({"start": "2027-09-27", "period": "week", **fields})


def test_holidays_and_closed_weekdays_weigh_nothing():
    cal = calendar(holidays=["2027-10-01..2027-10-03"], closed_weekdays=["sun"])
    days = build_days(cal, ["W1", "W2"], weekday_shares_from_sample(SAMPLE)).set_index("date")
    assert not days.loc[dt.date(2027, 10, 1), "working"] and days.loc[dt.date(2027, 10, 2), "weight"] == 0
    assert days.loc[dt.date(2027, 10, 10), "weight"] == 0  # a Sunday
    assert days.loc[dt.date(2027, 10, 9), "weight"] == pytest.approx(17110 / 87000)  # a Saturday


def test_a_week_across_a_month_end_is_two_month_pieces_weighted_by_working_days():
    cal = calendar(holidays=["2027-10-01"])
    days = build_days(cal, ["W1"], None)  # Mon 27 Sep .. Sun 3 Oct
    pieces = month_pieces(days, cal)
    assert pieces[["month", "working_days"]].values.tolist() == [["2027-09", 4], ["2027-10", 2]]


def test_day_targets_follow_the_weekday_profile_give_holidays_zero_and_sum_to_their_period():
    cal = calendar(holidays=["2027-10-01"])
    days = build_days(cal, ["W1", "W2"], weekday_shares_from_sample(SAMPLE))
    periods = pd.DataFrame({"region": ["east", "east"], "channel": ["online"] * 2, "period": ["W1", "W2"],
                            "units": [87000, 10001]})
    months = month_units(periods, month_pieces(days, cal))
    assert months.groupby("period").units.sum().tolist() == [87000, 10001]
    daily = day_units(months, days).set_index("date")
    assert daily.loc[dt.date(2027, 10, 1), "units"] == 0
    assert daily.groupby("period").units.sum().tolist() == [87000, 10001]
    assert (daily.groupby(["period", "month"]).units.sum().to_numpy() == months.units.to_numpy()).all()
    # W2 has no holiday: 10001 x 9654/87000 = 1109.77, ... floors sum to 9997, and the 4 units left
    # go to the largest remainders: Saturday (.86), Monday (.77), Wednesday (.69), Tuesday (.56)
    week2 = daily[daily.period == "W2"].units.tolist()
    assert week2 == [1110, 1114, 1340, 1221, 1343, 1967, 1906]


def run(calendar: dict, revenue: dict[str, float], tmp_path=None):
    from types import SimpleNamespace

    from allocator.decompose import decompose

    periods = tuple(revenue)
    scenario = SimpleNamespace(periods=SimpleNamespace(names=periods, length=None), regions=[SimpleNamespace(id="east")],
                               channels=[SimpleNamespace(id="online")], sales_force=None, source="<test>")
    allocation = pd.DataFrame({"region": "east", "channel": "online", "period": list(periods),
                               "revenue": list(revenue.values())})
    return decompose(allocation, scenario, DecompositionConfig.model_validate({"calendar": calendar}), Path("."))


def test_month_shares_split_a_quarter_30_30_40():
    tables = run({"start": "2027-01-01", "period": "quarter", "month_shares": ["30%", "30%", "40%"]},
                 {"Q1": 1_000_000})
    assert tables["targets_month"].target.tolist() == [300_000, 300_000, 400_000]


def test_month_shares_must_match_the_months_of_every_period():
    with pytest.raises(DecompositionError) as info:
        run({"start": "2027-09-27", "period": "week", "month_shares": ["100%"]}, {"W1": 1000, "W2": 1000})
    (problem,) = info.value.problems
    assert problem.path == "decomposition.calendar.month_shares"
    assert problem.message == "period W1 covers 2 month(s) (2027-09, 2027-10) but month_shares has 1 value(s)"


def test_explicit_period_dates_place_each_period():
    tables = run({"period_dates": {"H1": ["2027-01-01", "2027-06-30"], "H2": ["2027-07-01", "2027-12-31"]}},
                 {"H1": 181_000, "H2": 0})
    month = tables["targets_month"]
    assert month[month.period == "H1"].month.tolist() == [f"2027-0{m}" for m in range(1, 7)]
    assert month[month.period == "H1"].target.tolist() == [31_000, 28_000, 31_000, 30_000, 31_000, 30_000]
    assert (month[month.period == "H2"].target == 0).all()


def test_a_period_without_a_working_day_cannot_carry_a_target():
    with pytest.raises(DecompositionError) as info:
        run({"start": "2027-10-01", "period": "week", "holidays": ["2027-10-01..2027-10-07"]}, {"W1": 5000})
    (problem,) = info.value.problems
    assert problem.path == "decomposition.calendar"
    assert problem.message.startswith("period W1 has no working day") and "target of 5.0k" in problem.message
