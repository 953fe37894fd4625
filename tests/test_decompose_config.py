"""The `decomposition:` section: every mistake named by file, line and field; valid sections round-trip."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from allocator.decompose import DecompositionConfig, DecompositionError, cross_check, load_config
from allocator.decompose.calendar import period_spans

DATA = Path(__file__).parent / "data" / "decompose"
INVALID = sorted((DATA / "invalid").glob("*.yaml"))


def expected_error(path: Path) -> str:
    """Each invalid file says on its first line what it must produce: ``# error: LINE PATH: MESSAGE``
    (the start of the message: once the section is part of the scenario schema, unknown keys and
    choices also get a "did you mean")."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# error: "), path
    line, _, rest = first[len("# error: "):].partition(" ")
    return f"{path}:{line} {rest}"


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_each_invalid_section_gets_its_file_line_field_message(path):
    with pytest.raises(DecompositionError) as info:
        load_config(path)
    expected = expected_error(path)
    assert any(str(p).startswith(expected) for p in info.value.problems), info.value


def test_every_problem_of_a_section_is_reported_at_once(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(
        "decomposition:\n"
        "  calendar:\n"
        "    start: 2027-13-01\n"
        "    period: weekly\n"
        "  rounding: {unit: -5}\n"
        "  reps: {roster: r.csv, multipliers: {top: 0}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DecompositionError) as info:
        load_config(path)
    shown = "\n".join(str(p) for p in info.value.problems)
    assert f"{path}:3 decomposition.calendar.start: must be a date" in shown
    assert f"{path}:4 decomposition.calendar.period:" in shown and "weekly" in shown
    assert f"{path}:5 decomposition.rounding.unit:" in shown
    assert f"{path}:6 decomposition.reps.multipliers.top: must be > 0" in shown


def test_a_valid_section_fills_the_playbook_defaults():
    config = DecompositionConfig.model_validate({"calendar": {"start": "2027-01-01", "period": "quarter"},
                                                 "products": {"file": "p.csv"}, "reps": {"roster": "r.csv"}})
    assert config.products.tiers == {"star": 0.40, "potential": 0.30, "long_tail": 0.30}
    assert config.reps.multipliers == {"top": 1.5, "middle": 1.1, "new": 0.8}
    assert config.tracking.red_below == 0.80
    assert config.rounding.unit == 1


def test_weekday_names_may_be_english_or_chinese_and_shares_may_be_rounded_percentages():
    shares = {"周一": "11.1%", "Tuesday": "11.1%", "wed": "13.4%", "THU": "12.2%", "fri": "13.4%",
              "星期六": "19.7%", "sun": "19.1%"}
    config = DecompositionConfig.model_validate(
        {"calendar": {"start": "2027-01-04", "period": "week", "weekdays": {"shares": shares},
                      "closed_weekdays": ["周日"]}})
    assert list(config.calendar.weekdays.shares) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert config.calendar.closed_weekdays == ("sun",)


def test_a_section_survives_the_round_trip_through_the_resolved_scenario_yaml():
    config = load_config(Path("scenarios/decomposition/decomposition.yaml"))[0]
    dumped = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert DecompositionConfig.model_validate(dumped) == config


def test_periods_follow_each_other_from_the_start_date():
    cal = DecompositionConfig.model_validate({"calendar": {"start": "2027-01-31", "period": "month"}}).calendar
    spans = period_spans(cal, ["M1", "M2", "M3"])
    assert spans["M1"] == (dt.date(2027, 1, 31), dt.date(2027, 2, 27))
    assert spans["M2"] == (dt.date(2027, 2, 28), dt.date(2027, 3, 30))
    quarters = DecompositionConfig.model_validate({"calendar": {"start": "2027-01-01", "period": "quarter"}}).calendar
    assert period_spans(quarters, ["Q1", "Q2"])["Q2"] == (dt.date(2027, 4, 1), dt.date(2027, 6, 30))


def test_explicit_period_dates_must_name_the_scenarios_periods():
    config = DecompositionConfig.model_validate(
        {"calendar": {"period_dates": {"Q1": ["2027-01-01", "2027-03-31"], "Q5": ["2027-04-01", "2027-06-30"]}}})
    scenario = SimpleNamespace(decomposition=config, periods=SimpleNamespace(names=("Q1", "Q2")))
    problems = cross_check(scenario)
    assert (("decomposition", "calendar", "period_dates", "Q5"), "unknown period 'Q5' (periods: Q1, Q2)") in problems
    assert (("decomposition", "calendar", "period_dates"), "needs dates for every period (missing Q2)") in problems


def test_a_scenario_without_the_section_has_nothing_to_check():
    assert cross_check(SimpleNamespace(periods=SimpleNamespace(names=("Q1",)))) == []
