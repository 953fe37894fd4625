"""Largest-remainder rounding: exact sums, no negatives, nothing for a child that weighs nothing."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.decompose.rounding import NoWeight, round_hierarchy, split


def test_leftover_units_go_to_the_largest_remainders():
    assert split(10, [1, 1, 1]).tolist() == [4, 3, 3]  # a tie goes to the earlier child
    assert split(100, [0.333, 0.333, 0.334]).tolist() == [33, 33, 34]
    assert split(7, [2, 0, 1]).tolist() == [5, 0, 2]


def test_a_child_of_weight_zero_gets_nothing_and_a_positive_total_needs_some_weight():
    assert split(5, [0, 3, 0]).tolist() == [0, 5, 0]
    assert split(0, [0, 0]).tolist() == [0, 0]
    with pytest.raises(NoWeight):
        split(1, [0, 0])


@settings(max_examples=300, deadline=None)
@given(total=st.integers(0, 10**9),
       weights=st.lists(st.floats(0, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=40))
def test_children_sum_exactly_to_the_parent_and_stay_within_one_unit_of_their_share(total, weights):
    w = np.array(weights)
    if w.sum() <= 0:
        w[0] = 1.0
    units = split(total, w)
    assert units.sum() == total
    assert (units >= 0).all()
    assert (units[w == 0] == 0).all()
    exact = total * w / w.sum()
    assert np.all(np.abs(units - exact) < 1 + 1e-6 * max(1, total))


def test_a_hierarchy_sums_at_every_level_from_the_rounded_company_total():
    frame = pd.DataFrame({"region": ["e", "e", "n", "n"], "channel": ["x", "y", "x", "y"],
                          "revenue": [1.4, 2.4, 3.3, 0.6]})
    units = round_hierarchy(frame, ["region", "channel"], "revenue", 1)
    # total 7.7 -> 8; regions 3.8 : 3.9 -> 4 : 4; east 1.4 : 2.4 -> 1 : 3; north 3.3 : 0.6 -> 3 : 1
    assert units.tolist() == [1, 3, 3, 1]


@settings(max_examples=100, deadline=None)
@given(revenue=st.lists(st.floats(0, 1e8, allow_nan=False), min_size=12, max_size=12),
       unit=st.sampled_from([1, 10, 100, 1000]))
def test_rounded_hierarchy_levels_each_sum_to_their_parent(revenue, unit):
    keys = [(r, c, p) for r in "ab" for c in "xy" for p in "123"]
    frame = pd.DataFrame(keys, columns=["region", "channel", "period"]).assign(revenue=revenue)
    frame["units"] = round_hierarchy(frame, ["region", "channel", "period"], "revenue", unit)
    assert frame.units.sum() == round(sum(revenue) / unit)
    for level in (["region"], ["region", "channel"]):
        exact = frame.groupby(level).revenue.sum() / unit
        got = frame.groupby(level).units.sum()
        assert (np.abs(got - exact) < 3).all()  # within a few units of the exact share
    assert (frame.units >= 0).all()
