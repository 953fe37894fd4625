"""Properties over random targets, calendars and rosters: every level of every table sums exactly
to its parent after rounding, no target is negative, and days nobody sells on get nothing."""

import datetime as dt
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.decompose import DecompositionConfig, decompose
from allocator.decompose.config import WEEKDAYS

CELL = ["region", "channel", "period"]


def sums(frame: pd.DataFrame, keys: list[str], column: str = "target") -> dict:
    return frame.groupby(keys, sort=True)[column].sum().to_dict()


def check_tables(tables: dict[str, pd.DataFrame], allocation: pd.DataFrame, config: DecompositionConfig) -> None:
    """Re-check written tables against each other and the plan, independently of how they were made."""
    unit = int(config.rounding.unit)
    month, week, day = tables["targets_month"], tables["targets_week"], tables["targets_day"]
    for frame in (month, week, day):
        assert (frame.target >= 0).all() and (frame.target % unit == 0).all()
    assert day.target.sum() == round(allocation.revenue.clip(lower=0).sum() / unit) * unit
    assert sums(day, CELL + ["month"]) == sums(month, CELL + ["month"])
    assert sums(day, CELL + ["week"]) == sums(week, CELL + ["week"])
    assert sums(day, CELL) == sums(month, CELL) == sums(week, CELL)
    exact = allocation.set_index(CELL).revenue.clip(lower=0)
    period = pd.Series(sums(day, CELL))
    assert (np.abs(period - exact.reindex(period.index)) <= 4 * unit + 1e-6 * exact.sum()).all()
    assert (day.loc[~day.working.astype(bool), "target"] == 0).all()
    region_period = pd.Series(sums(day, ["region", "period"]))
    if "product_targets" in tables:
        products = tables["product_targets"]
        assert (products.target >= 0).all() and (products.target % unit == 0).all()
        assert sums(products, ["region", "period", "month"]) == sums(month, ["region", "period", "month"])
    if "rep_quotas" in tables:
        quotas = tables["rep_quotas"]
        assert (quotas.quota >= 0).all() and (quotas.quota % unit == 0).all()
        stretched = (region_period // unit * (1 + config.reps.stretch)).round().astype(int) * unit
        assert pd.Series(sums(quotas, ["region", "period"], "quota")).to_dict() == stretched.to_dict()
        assert (quotas.quota <= quotas.capacity * (1 + config.reps.stretch) + 2 * unit + 1e-6).all()
    if "funnel" in tables:
        funnel = tables["funnel"]
        assert sums(funnel, ["region", "period"]) == region_period.to_dict()
        stages = funnel[["leads", "opportunities", "drafts", "orders", "deliveries"]].to_numpy()
        assert (np.diff(stages, axis=1) <= 0).all() and (stages >= 0).all()
        assert (funnel.deliveries * funnel.deal_value >= funnel.target - 1e-6).all()


@st.composite
def cases(draw):
    regions = [f"r{i}" for i in range(draw(st.integers(1, 3)))]
    channels = [f"c{i}" for i in range(draw(st.integers(1, 2)))]
    periods = [f"P{i}" for i in range(draw(st.integers(1, 4)))]
    start = draw(st.dates(dt.date(2026, 1, 1), dt.date(2028, 12, 31)))
    calendar = {
        "start": start.isoformat(),
        "period": draw(st.sampled_from(["week", "month", "quarter"])),
        "closed_weekdays": draw(st.lists(st.sampled_from(WEEKDAYS), max_size=3, unique=True)),
        "holidays": [d.isoformat() for d in draw(st.lists(st.dates(start, start + dt.timedelta(days=380)), max_size=3))],
        "month_profile": draw(st.sampled_from(["working_days", "weighted_days"])),
        "weekdays": {"sample": draw(st.lists(st.integers(1, 20_000), min_size=7, max_size=7))},
    }
    revenue = draw(st.lists(st.floats(0, 5e7, allow_nan=False), min_size=len(regions) * len(channels) * len(periods),
                            max_size=len(regions) * len(channels) * len(periods)))
    allocation = pd.DataFrame([(r, c, p) for r in regions for c in channels for p in periods], columns=CELL)
    allocation["revenue"] = revenue
    roster = ["rep,region,tier,start"]
    for r in regions:
        for k in range(draw(st.integers(1, 4))):
            starts = "" if k == 0 else draw(st.sampled_from(["", (start + dt.timedelta(days=draw(st.integers(-60, 200)))).isoformat()]))
            roster.append(f"{r}-{k},{r},{draw(st.sampled_from(['top', 'middle', 'new']))},{starts}")
    products = ["product,tier,share", "A,star,", "B,potential,", "C,long_tail,"]
    products += [f"X{i},{draw(st.sampled_from(['star', 'potential', 'long_tail']))},{s}"
                 for i, s in enumerate(draw(st.lists(st.sampled_from(["", "5%", "10%"]), max_size=3)))]
    config = {
        "calendar": calendar,
        "rounding": {"unit": draw(st.sampled_from([1, 10, 100, 1000]))},
        "products": {"file": "products.csv", "by": draw(st.sampled_from(["region", "region_channel"]))},
        "reps": {"roster": "roster.csv", "stretch": draw(st.sampled_from([0, 0.05, 0.1])),
                 "ramp": draw(st.sampled_from([[], [0.5], [0.25, 0.5, 0.75]]))},
        "funnel": {"deal_value": draw(st.sampled_from([1000, 50_000, 150_000])),
                   "sources": [{"source": "walk-in", "share": 0.7, "lead_to_opportunity": 0.85,
                                "opportunity_to_draft": 0.3, "draft_to_order": 0.4, "order_to_delivery": 0.95},
                               {"source": "referral", "share": 0.3, "lead_to_opportunity": 0.6,
                                "opportunity_to_draft": 0.6, "draft_to_order": 0.6, "order_to_delivery": 0.95}]},
    }
    scenario = SimpleNamespace(periods=SimpleNamespace(names=tuple(periods), length=None),
                               regions=[SimpleNamespace(id=r) for r in regions],
                               channels=[SimpleNamespace(id=c) for c in channels],
                               sales_force=SimpleNamespace(revenue_capacity=1e12), source="<property>")
    return scenario, allocation, DecompositionConfig.model_validate(config), "\n".join(roster), "\n".join(products)


@settings(max_examples=40, deadline=None)
@given(case=cases())
def test_every_level_of_every_table_sums_exactly_to_its_parent(case):
    scenario, allocation, config, roster, products = case
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "roster.csv").write_text(roster + "\n", encoding="utf-8")
        (Path(folder) / "products.csv").write_text(products + "\n", encoding="utf-8")
        tables = decompose(allocation, scenario, config, Path(folder))
    check_tables(tables, allocation, config)


@settings(max_examples=200, deadline=None)
@given(total=st.floats(0, 1e6), pairs=st.lists(st.tuples(st.floats(0.1, 3), st.floats(0, 5e5)), min_size=1, max_size=12))
def test_capacity_caps_hold_and_the_excess_is_re_spread_in_proportion(total, pairs):
    from allocator.decompose.reps import capped_split

    weights, caps = (np.array(x) for x in zip(*pairs))
    shares, left = capped_split(total, weights, caps)
    assert (shares <= caps + 1e-6).all() and (shares >= 0).all()
    assert abs(shares.sum() + left - total) <= 1e-6 * max(1.0, total)
    if caps.sum() >= total * (1 + 1e-9):
        assert left <= 1e-6 * max(1.0, total)
    free = shares < caps - 1e-6  # reps below their cap all got the same share per unit of weight
    if free.sum() > 1:
        ratio = shares[free] / weights[free]
        assert np.allclose(ratio, ratio[0], rtol=1e-6, atol=1e-6)
