"""The lead funnel, checked by hand: deliveries from the target, then each earlier stage rounded up."""

from types import SimpleNamespace

import pandas as pd

from allocator.decompose import DecompositionConfig, decompose
from allocator.decompose.funnel import ceil_whole, needed

RATES = {"lead_to_opportunity": "85%", "opportunity_to_draft": "30%", "draft_to_order": "40%",
         "order_to_delivery": "95%"}


def run(sources, revenue: float, deal_value=None):
    config = DecompositionConfig.model_validate({
        "calendar": {"start": "2027-01-01", "period": "quarter"},
        "funnel": {"sources": sources, **({"deal_value": deal_value} if deal_value else {})}})
    scenario = SimpleNamespace(periods=SimpleNamespace(names=("Q1",), length=None), regions=[SimpleNamespace(id="east")],
                               channels=[SimpleNamespace(id="online")], sales_force=None, source="<test>")
    allocation = pd.DataFrame({"region": ["east"], "channel": ["online"], "period": ["Q1"], "revenue": [revenue]})
    return decompose(allocation, scenario, config, ".")["funnel"]


def test_one_source_at_85_30_40_95_percent_by_hand():
    # 1.5M at 150k a deal = 10 deliveries; 10 / 95% = 10.5 -> 11 orders; 11 / 40% = 27.5 -> 28 drafts;
    # 28 / 30% = 93.3 -> 94 opportunities; 94 / 85% = 110.6 -> 111 leads
    (row,) = run([{"source": "walk-in", "share": "100%", **RATES}], 1_500_000, "150k").to_dict("records")
    assert {k: row[k] for k in ("deliveries", "orders", "drafts", "opportunities", "leads")} == {
        "deliveries": 10, "orders": 11, "drafts": 28, "opportunities": 94, "leads": 111}
    assert row["target"] == 1_500_000


def test_sources_share_the_deals_and_each_has_its_own_rates_and_deal_value():
    sources = [{"source": "walk-in", "share": "60%", **RATES, "deal_value": "100k"},
               {"source": "referral", "share": "40%", "lead_to_opportunity": "60%", "opportunity_to_draft": "60%",
                "draft_to_order": "60%", "order_to_delivery": "95%", "deal_value": "150k"}]
    table = run(sources, 1_200_000).set_index("source")
    # value per deal: 60% x 100k + 40% x 150k = 120k, so 10 deals: 6 walk-in (600k), 4 referral (600k)
    assert table.target.to_dict() == {"walk-in": 600_000, "referral": 600_000}
    # walk-in: 6 -> 6.3 -> 7 orders -> 17.5 -> 18 drafts -> 60 opportunities -> 70.6 -> 71 leads
    assert table.loc["walk-in", ["deliveries", "orders", "drafts", "opportunities", "leads"]].tolist() == [6, 7, 18, 60, 71]
    # referral: 4 -> 4.2 -> 5 orders -> 8.3 -> 9 drafts -> 15 opportunities -> 25 leads
    assert table.loc["referral", ["deliveries", "orders", "drafts", "opportunities", "leads"]].tolist() == [4, 5, 9, 15, 25]


def test_each_stage_is_rounded_up_from_the_whole_number_after_it_ignoring_float_dust():
    assert 21 / 0.7 > 30  # 30.000000000000004 in floating point
    assert ceil_whole(21 / 0.7) == 30
    assert needed(21, {"order_to_delivery": 1.0, "draft_to_order": 0.7, "opportunity_to_draft": 1.0,
                       "lead_to_opportunity": 1.0}) == {"deliveries": 21, "orders": 21, "drafts": 30,
                                                        "opportunities": 30, "leads": 30}


def test_a_zero_target_needs_no_leads():
    (row,) = run([{"source": "walk-in", "share": "100%", **RATES}], 0, "150k").to_dict("records")
    assert row["leads"] == row["deliveries"] == 0
