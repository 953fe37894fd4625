"""Amounts and shares as planners write them (``spec/scenario.md``, Amounts).

Each form is checked twice: by the parser on the value YAML hands it, and through a whole
scenario file, since YAML 1.1 reads ``3e7`` as text and ``30_000_000`` as an integer.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.scenario import ScenarioError, load_scenario
from allocator.scenario.amounts import AmountError, format_amount, parse_amount, parse_share
from tests.test_validation import SPEC_EXAMPLE

TOTAL_LINE = "  total: 30M                          # marketing + people + reserve"
MARGIN = "{id: online,  gross_margin: 40%, min_roi: 0.2}"


def scenario_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SPEC_EXAMPLE
    assert old in text
    path = tmp_path / "scenario.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("30000000", 30_000_000),
        ("30_000_000", 30_000_000),
        ("30,000,000", 30_000_000),
        ("3.0e7", 30_000_000),
        ("3e7", 30_000_000),  # a string to YAML 1.1
        ("3.0e+7", 30_000_000),  # a float to YAML 1.1
        ("30M", 30_000_000),
        ("30m", 30_000_000),
        ("30 M", 30_000_000),
        ("'30M'", 30_000_000),
        ("300k", 300_000),
        ("300K", 300_000),
        ("1.2B", 1_200_000_000),
        ("250万", 2_500_000),
        ("1.2亿", 120_000_000),
        ("0.5M", 500_000),
        ("2.01M", 2_010_000),  # 2.01 * 1e6 would be 2009999.9999999998
    ],
)
def test_amount_forms_in_a_scenario_file(tmp_path, written, amount):
    path = scenario_with(tmp_path, TOTAL_LINE, f"  total: {written}")
    assert load_scenario(path).budget.total == amount


@pytest.mark.parametrize("written", ["5%", "0.05", "'5%'", "5 %", "5.0%", "5e-2"])
def test_share_forms_in_a_scenario_file(tmp_path, written):
    path = scenario_with(tmp_path, MARGIN, f"{{id: online, gross_margin: {written}}}")
    assert load_scenario(path).channels[0].gross_margin == 0.05


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (30000000, 30e6),
        (3.0e7, 30e6),
        ("3e7", 30e6),
        ("30_000_000", 30e6),
        ("1.2亿", 1.2e8),
        ("250万", 2.5e6),
        ("-5M", -5e6),  # the sign is for the field to judge
        (".5k", 500.0),
        ("1_000.5", 1000.5),
    ],
)
def test_parse_amount(raw, value):
    assert parse_amount(raw) == value


@pytest.mark.parametrize(("raw", "value"), [("5%", 0.05), (0.05, 0.05), ("0.05", 0.05), ("14.3%", 0.143), ("100%", 1.0)])
def test_parse_share(raw, value):
    assert parse_share(raw) == value


@pytest.mark.parametrize(
    "raw",
    ["30MM", "M30", "30 million", "1,5M", "30,00", "1__000", "1_", "_1", "30%", "", "k", "1.2.3", "--5", "0x10",
     "1:30", "inf", "nan", True, None, [30], {"M": 30}],
)
def test_parse_amount_rejects_other_forms(raw):
    with pytest.raises(AmountError, match="must be an amount such as 30M"):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["5 percent", "%5", "5%%", "five", "5M", True, None])
def test_parse_share_rejects_other_forms(raw):
    with pytest.raises(AmountError, match="must be a share such as 5% or 0.05"):
        parse_share(raw)


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf"), "1e400", "1e999999999999", 10**400])
def test_amounts_must_be_finite(raw):
    with pytest.raises(AmountError, match="must be a finite number"):
        parse_amount(raw)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("30MM", "must be an amount such as 30M, 300k, 250万 or 3e7 (got '30MM')"),
        ("1,5M", "must be an amount such as 30M, 300k, 250万 or 3e7 (got '1,5M')"),
        ("1:30", "must be an amount such as 30M, 300k, 250万 or 3e7 (got '1:30')"),  # not 90 (YAML 1.1 base 60)
        ("-30M", "must be > 0 (got '-30M')"),
        ("0", "must be > 0 (got 0)"),
        (".inf", "must be a finite number (got inf)"),
    ],
)
def test_bad_amounts_are_reported_with_the_field_path(tmp_path, written, message):
    path = scenario_with(tmp_path, TOTAL_LINE, f"  total: {written}")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:10 budget.total: {message}"]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("5x", "must be a share such as 5% or 0.05 (got '5x')"),
        ("-5%", "must be between 0% and 100% (got '-5%')"),
        ("1.5", "must be between 0% and 100% (got 1.5)"),
    ],
)
def test_bad_shares_are_reported_with_the_field_path(tmp_path, written, message):
    path = scenario_with(tmp_path, MARGIN, f"{{id: online, gross_margin: {written}}}")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:23 channels[0].gross_margin: {message}"]


# --- properties -----------------------------------------------------------------------------

POWERS = {"": 0, "k": 3, "K": 3, "M": 6, "m": 6, "B": 9, "b": 9, "万": 4, "亿": 8}
decimals = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


@given(number=decimals, suffix=st.sampled_from(sorted(POWERS)))
def test_a_number_with_a_suffix_parses_back_to_the_number(number, suffix):
    exact = Fraction(number) * 10 ** POWERS[suffix]
    assert parse_amount(f"{number}{suffix}") == float(exact)  # the float nearest the written value


@given(st.integers(min_value=0, max_value=10**15))
def test_whole_numbers_parse_back_in_every_grouping(n):
    assert parse_amount(n) == parse_amount(str(n)) == parse_amount(f"{n:_}") == parse_amount(f"{n:,}") == float(n)


@given(st.floats(min_value=0, max_value=1e13, allow_nan=False))
def test_a_formatted_amount_parses_back_within_its_rounding(value):
    shown = format_amount(value)
    unit = next((f for f, s in ((1e9, "B"), (1e6, "M"), (1e3, "k")) if shown.endswith(s)), 1.0)
    assert abs(parse_amount(shown) - value) <= 0.05 * unit * (1 + 1e-9)


@given(percent=st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False))
def test_a_percentage_parses_back_to_its_fraction(percent):
    assert parse_share(f"{percent}%") == float(Fraction(percent) / 100)
    assert parse_share(f"{percent}%") == parse_share(str(Decimal(percent) / 100))


@given(st.text(max_size=20))
def test_any_text_is_an_amount_or_a_planner_message(text):
    try:
        value = parse_amount(text)
    except AmountError as exc:
        assert "(got " in str(exc)
    else:
        assert value == value and abs(value) != float("inf")
