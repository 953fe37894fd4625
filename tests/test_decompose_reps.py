"""Rep quotas: tier multipliers, stretch, capacity caps with the excess re-spread, ramp-up of
mid-year starters, and a clear error when a region's reps cannot carry its target."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from allocator.decompose import DecompositionConfig, DecompositionError, decompose
from allocator.decompose.reps import capped_split

DATA = Path(__file__).parent / "data" / "decompose"


def scenario(periods, regions=("east",), capacity=1e9):
    return SimpleNamespace(periods=SimpleNamespace(names=tuple(periods), length=None),
                           regions=[SimpleNamespace(id=r) for r in regions],
                           channels=[SimpleNamespace(id="online")],
                           sales_force=SimpleNamespace(revenue_capacity=capacity), source="<test>")


def allocation(revenue: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame([(r, "online", p, v) for (r, p), v in revenue.items()],
                        columns=["region", "channel", "period", "revenue"])


def quotas(tmp_path, roster: str, revenue, periods, reps: dict, capacity=1e9, **calendar) -> pd.DataFrame:
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    config = DecompositionConfig.model_validate({
        "calendar": {"start": "2027-01-01", "period": "quarter", **calendar},
        "reps": {"roster": "roster.csv", **reps}})
    regions = sorted({r for r, _ in revenue})
    tables = decompose(allocation(revenue), scenario(periods, regions, capacity), config, tmp_path)
    return tables["rep_quotas"]


def test_quotas_follow_the_tier_multipliers_top_1_5_middle_1_1_new_0_8_times_the_mean():
    # roster_mean_one.csv: 1 top, 5 middle, 5 new, so the mean multiplier is (1.5 + 5.5 + 4) / 11 = 1
    config = DecompositionConfig.model_validate({"calendar": {"start": "2027-01-01", "period": "quarter"},
                                                 "reps": {"roster": "roster_mean_one.csv"}})
    tables = decompose(allocation({("east", "Q1"): 1_100_000}), scenario(["Q1"]), config, DATA)
    by_rep = tables["rep_quotas"].set_index("rep").quota
    mean = by_rep.mean()
    assert mean == 100_000
    assert by_rep["T1"] == 150_000 == 1.5 * mean
    assert (by_rep[[f"M{i}" for i in range(1, 6)]] == 110_000).all()
    assert (by_rep[[f"N{i}" for i in range(1, 6)]] == 80_000).all()
    assert by_rep.sum() == 1_100_000


def test_a_10_percent_stretch_makes_quotas_sum_to_110_percent_of_the_target():
    config = DecompositionConfig.model_validate({"calendar": {"start": "2027-01-01", "period": "quarter"},
                                                 "reps": {"roster": "roster_mean_one.csv", "stretch": "10%"}})
    tables = decompose(allocation({("east", "Q1"): 1_100_000}), scenario(["Q1"]), config, DATA)
    by_rep = tables["rep_quotas"].set_index("rep").quota
    assert by_rep.sum() == 1_210_000
    assert by_rep["T1"] == 165_000 and by_rep["M1"] == 121_000 and by_rep["N1"] == 88_000


def test_water_filling_caps_a_rep_at_capacity_and_re_spreads_the_excess():
    shares, left = capped_split(150.0, np.array([1.0, 1.0, 1.0]), np.array([30.0, 100.0, 100.0]))
    assert shares.tolist() == [30.0, 60.0, 60.0] and left == 0
    shares, left = capped_split(150.0, np.array([1.5, 1.0, 1.0]), np.array([40.0, 50.0, 100.0]))
    assert shares.tolist() == [40.0, 50.0, 60.0] and left == 0  # a cap can push the next one over its cap
    _, left = capped_split(150.0, np.array([1.0, 1.0]), np.array([50.0, 60.0]))
    assert left == 40.0


def test_capacity_caps_quotas_in_the_pipeline_and_the_rest_carry_the_excess(tmp_path):
    roster = "rep,region,tier,capacity\nA,east,top,100k\nB,east,middle,400k\nC,east,middle,400k\n"
    q = quotas(tmp_path, roster, {("east", "Q1"): 400_000, ("east", "Q2"): 400_000}, ["Q1", "Q2"], {})
    q1 = q[q.period == "Q1"].set_index("rep")
    # capacity is per plan horizon (two quarters here): A carries at most 50k a quarter
    assert q1.capacity.tolist() == [50_000, 200_000, 200_000]
    assert q1.quota.tolist() == [50_000, 175_000, 175_000]
    assert (q1.quota <= q1.capacity).all()


def test_a_mid_year_starter_ramps_up_month_by_month(tmp_path):
    roster = "rep,region,tier,start\nOLD,east,middle,\nNEW,east,middle,2027-07-01\n"
    revenue = {("east", p): 1_000_000 for p in ("Q1", "Q2", "Q3", "Q4")}
    q = quotas(tmp_path, roster, revenue, ["Q1", "Q2", "Q3", "Q4"], {"ramp": ["25%", "50%", "75%"]})
    new = q[q.rep == "NEW"].set_index("period")
    assert new.availability["Q1"] == new.availability["Q2"] == 0 and new.quota["Q1"] == 0
    # Q3: July at 25%, August at 50%, September at 75%, weighted by their days
    q3 = (31 * 0.25 + 31 * 0.50 + 30 * 0.75) / 92
    assert new.availability["Q3"] == pytest.approx(q3)
    assert new.quota["Q3"] == round(1_000_000 * q3 / (1 + q3))
    assert new.availability["Q4"] == 1 and new.quota["Q4"] == 500_000
    assert (q.groupby("period").quota.sum() == 1_000_000).all()


def test_a_starter_in_the_middle_of_a_period_counts_from_the_start_date_and_a_leaver_to_the_end(tmp_path):
    roster = "rep,region,tier,start,end\nA,east,middle,,\nB,east,middle,2027-02-15,\nC,east,middle,,2027-01-31\n"
    q = quotas(tmp_path, roster, {("east", "Q1"): 900_000}, ["Q1"], {})
    availability = q.set_index("rep").availability
    assert availability["B"] == pytest.approx((14 + 31) / 90)  # 15 Feb .. 31 Mar of 90 days
    assert availability["C"] == pytest.approx(31 / 90)
    assert q.quota.sum() == 900_000


def test_ramp_tiers_spare_temporary_staff_the_ramp(tmp_path):
    roster = "rep,region,tier,start\nNEW,east,new,2027-01-01\nTEMP,east,temp,2027-01-01\n"
    reps = {"multipliers": {"new": 1, "temp": 1}, "ramp": ["50%"], "ramp_tiers": ["new"]}
    q = quotas(tmp_path, roster, {("east", "Q1"): 900_000}, ["Q1"], reps).set_index("rep")
    assert q.availability["TEMP"] == 1 and q.availability["NEW"] == pytest.approx((31 * 0.5 + 59) / 90)


def test_a_region_whose_reps_cannot_carry_its_target_is_an_error_naming_region_and_shortfall(tmp_path):
    roster = "rep,region,tier,capacity\nA,east,top,400k\nB,east,new,400k\nC,north,top,10M\n"
    revenue = {("east", "Q1"): 500_000, ("north", "Q1"): 1_000_000, ("east", "Q2"): 100_000, ("north", "Q2"): 0}
    with pytest.raises(DecompositionError) as info:
        quotas(tmp_path, roster, revenue, ["Q1", "Q2"], {})
    (problem,) = info.value.problems
    assert problem.file.endswith("roster.csv")
    assert problem.message.startswith("region east cannot carry its target in Q1: its reps can carry 400.0k "
                                      "against a target of 500.0k, short by 100.0k (about 1 more rep at 200.0k each)")


def test_roster_mistakes_are_reported_with_their_csv_line(tmp_path):
    roster = "rep,region,tier,capacity,start\nA,east,top,1M,\nA,est,boss,-1,2027-02-30\n"
    with pytest.raises(DecompositionError) as info:
        quotas(tmp_path, roster, {("east", "Q1"): 1}, ["Q1"], {})
    shown = {str(p) for p in info.value.problems}
    file = tmp_path / "roster.csv"
    assert {f"{file}:3: duplicate rep (rep A; first on line 2)",
            f"{file}:3 region: unknown region 'est'; did you mean `east`?",
            f"{file}:3 tier: unknown tier 'boss' (known: top, middle, new) (reps.multipliers)",
            f"{file}:3 capacity: must be > 0 (got '-1')",
            f"{file}:3 start: must be a date like 2027-07-05 (got '2027-02-30')"} <= shown


def test_a_region_with_targets_and_no_reps_in_the_roster_is_an_error(tmp_path):
    with pytest.raises(DecompositionError) as info:
        quotas(tmp_path, "rep,region,tier\nA,east,top\n", {("east", "Q1"): 10, ("north", "Q1"): 500_000}, ["Q1"], {})
    (problem,) = info.value.problems
    assert problem.message == "region north has no reps in the roster but targets in Q1 (up to 500.0k)"
