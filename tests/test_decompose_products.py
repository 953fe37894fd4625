"""Product targets: tier shares 40/30/30, explicit shares for new products, last year's monthly mix."""

from pathlib import Path

import pandas as pd
import pytest

from allocator.decompose.config import Products
from allocator.decompose.products import last_year, product_units


def months(units: dict[str, int], month: str = "2027-07") -> pd.DataFrame:
    return pd.DataFrame([(r, "online", "Q3", month, n) for r, n in units.items()],
                        columns=["region", "channel", "period", "month", "units"])


def catalogue(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["product", "tier", "share"]).astype({"share": float})


TIERED = catalogue([("S1", "star", None), ("S2", "star", None), ("P1", "potential", None),
                    ("L1", "long_tail", None), ("L2", "long_tail", None), ("L3", "long_tail", None)])


def test_tiers_take_40_30_30_percent_split_equally_inside_a_tier():
    frame, missing = product_units(months({"east": 100_000}), TIERED, Products(file="p.csv"), None)
    assert not missing
    assert dict(zip(frame["product"], frame.units)) == {
        "S1": 20_000, "S2": 20_000, "P1": 30_000, "L1": 10_000, "L2": 10_000, "L3": 10_000}


def test_a_new_product_takes_its_explicit_share_first_and_the_tiers_share_the_rest():
    products = pd.concat([TIERED, catalogue([("N1", "potential", 0.10)])], ignore_index=True)
    frame, _ = product_units(months({"east": 100_000}), products, Products(file="p.csv"), None)
    assert dict(zip(frame["product"], frame.units)) == {
        "S1": 18_000, "S2": 18_000, "P1": 27_000, "L1": 9_000, "L2": 9_000, "L3": 9_000, "N1": 10_000}


def test_history_splits_a_month_by_the_same_month_last_year():
    # The playbook's shop: November's 400k split by last November's sales of each line.
    history = pd.DataFrame({"month": ["2026-11", "2026-11", "2026-11", "2026-10"],
                            "product": ["A", "B", "C", "A"], "revenue": [150_000, 100_000, 50_000, 999_999]})
    products = catalogue([("A", "", None), ("B", "", None), ("C", "", None)])
    cfg = Products(file="p.csv", split="history", history="h.csv")
    frame, missing = product_units(months({"east": 400_000}, "2027-11"), products, cfg, history)
    assert not missing
    # 400000 x (1/2, 1/3, 1/6) = 200000, 133333.33, 66666.67: the unit left goes to C (.67 > .33)
    assert frame.units.tolist() == [200_000, 133_333, 66_667]
    assert frame.units.sum() == 400_000


def test_history_by_region_uses_each_regions_own_mix_and_reports_missing_months():
    history = pd.DataFrame({"month": ["2026-07"] * 4, "product": ["A", "B", "A", "B"],
                            "region": ["east", "east", "north", "north"], "revenue": [3.0, 1.0, 1.0, 1.0]})
    products = catalogue([("A", "", None), ("B", "", None)])
    cfg = Products(file="p.csv", split="history", history="h.csv")
    frame, _ = product_units(months({"east": 1000, "north": 1000}), products, cfg, history)
    assert frame.set_index(["region", "product"]).units.to_dict() == {
        ("east", "A"): 750, ("east", "B"): 250, ("north", "A"): 500, ("north", "B"): 500}
    _, missing = product_units(months({"east": 1000}, "2027-08"), products, cfg, history)
    assert missing == ["2026-08 (region east), needed for 2027-08"]


def test_same_month_last_year_handles_january():
    assert last_year("2027-01") == "2026-01"


@pytest.mark.parametrize("by, scope", [("region", ["region"]), ("region_channel", ["region", "channel"])])
def test_products_hang_under_the_region_or_the_region_and_channel(by, scope):
    parents = pd.concat([months({"east": 600}), months({"east": 400}).assign(channel="offline")])
    frame, _ = product_units(parents, TIERED, Products(file="p.csv", by=by), None)
    sums = frame.groupby(scope).units.sum()
    assert sums.sum() == 1000 and len(sums) == (1 if by == "region" else 2)


def test_a_product_without_history_needs_an_explicit_share(tmp_path: Path):
    from allocator.decompose.config import DecompositionConfig
    from allocator.decompose.errors import ConfigSource, DecompositionError
    from allocator.decompose.inputs import Context, load_inputs

    (tmp_path / "products.csv").write_text("product,tier,share\nA,star,\nNEW,potential,\n", encoding="utf-8")
    (tmp_path / "history.csv").write_text("month,product,revenue\n2026-07,A,100\n2026-07,GONE,5\n", encoding="utf-8")
    config = DecompositionConfig.model_validate({"calendar": {"start": "2027-07-01", "period": "quarter"},
                                                 "products": {"file": "products.csv", "split": "history",
                                                              "history": "history.csv"}})
    with pytest.raises(DecompositionError) as info:
        load_inputs(config, tmp_path, ConfigSource(), Context(("east",), ("online",), None))
    shown = [str(p) for p in info.value.problems]
    assert f"{tmp_path}/products.csv:3 share: product 'NEW' has no history; give it an explicit share (a new product)" in shown
    assert any(s.startswith(f"{tmp_path}/history.csv:3 product: unknown product 'GONE'") for s in shown)
