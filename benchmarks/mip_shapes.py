"""The scenario shapes of the MIP suite (``mip_suite.py``), written as ordinary scenario YAML.

Each shape starts from a seeded draw of ``generate.py`` and changes what makes it a shape. Apart
from ``realistic`` they are small (4 regions) so that the baseline closes a 1e-4 gap within
minutes on a loaded 2-core machine and times to the gap can be compared:

* ``realistic``: the 30 regions x 6 channels x 12 months case of ``generate.py``, unchanged;
* ``s-curves``: 4 x 5 x 12 months, 60% of the cells S-shaped (hill, shape 1.6-2.6);
* ``releases``: 4 x 5 x 12, releases allowed (cost 50k), mature regions over-staffed by 40%;
* ``temp-share``: 4 x 5 x 12, temp staff in the three peak months at 10-15% of people cost
  (temp staff closes revenue at 2.5x the cost of a core rep, so the 10% floor binds);
* ``policies``: 4 x 5 x 12, growth and emerging markets hold 5 points more of the head-years
  than today, mature markets at most 5 points less of the people cost than today;
* ``weekly``: 3 x 4 x 52 weeks, temp staff in the nine peak weeks;
* ``issue16``: the kind of case measured in issue 16 (there 6 regions), 4 x 6 x 12 months, 30% S-shaped curves, releases,
  temp staff in three months at 10-15% of people cost, head-count and people-cost policies and
  the 60% growth-market rule.

    .venv/bin/python benchmarks/mip_shapes.py            # writes benchmarks/generated/mip-*.yaml
"""

from __future__ import annotations

from pathlib import Path

import generate
import numpy as np
import yaml
from generate import SIZES, Size

HERE = Path(__file__).resolve().parent
OUT = HERE / "generated"


def _s_curves(data: dict, share: float, seed: int) -> None:
    """Make ``share`` of the response cells S-shaped hill curves of a similar size."""
    rng = np.random.default_rng(seed)
    for cell in data["response"]:
        if rng.random() >= share:
            continue
        scale = cell["base"] / 0.85
        lift = scale * rng.uniform(0.5, 0.8)
        half = lift / rng.uniform(3.0, 6.0) * 1.5
        cell["curve"] = {"type": "hill", "max_lift": float(round(lift)), "half_saturation": float(round(half)),
                         "shape": round(float(rng.uniform(1.6, 2.6)), 2)}
        cell["spend"] = {"max": float(round(half * rng.uniform(2.0, 3.0)))}


def _peak_months(data: dict, count: int) -> list[str]:
    names = data["periods"]["names"]
    season = np.asarray(data["periods"]["seasonality"])
    return [names[i] for i in sorted(np.argsort(season)[-count:])]


def _temp_share(data: dict, months: int, low: float, high: float) -> None:
    sf = data["sales_force"]
    T = len(data["periods"]["names"])
    sf["temp_staff"] = {"periods": _peak_months(data, months), "cost_per_head": float(round(generate.COST_PER_HEAD / T * 1.5)),
                        "revenue_capacity": float(round(generate.KAPPA / T * 0.6)),
                        "share_of_people_cost": {"min": low, "max": high}}


def _releases(data: dict, over: float) -> None:
    sf = data["sales_force"]
    sf["allow_release"] = True
    sf["release_cost"] = 50_000.0
    for r in data["regions"]:
        if r["class"] == "mature":
            sf["current"][r["id"]] = int(np.ceil(sf["current"][r["id"]] * over))


def _staff_policies(data: dict) -> None:
    """Head-count and people-cost share rules 5 points away from today's shares (they bind)."""
    heads = data["sales_force"]["current"]
    cls = {r["id"]: r["class"] for r in data["regions"]}
    total = sum(heads.values())
    growth = sum(h for r, h in heads.items() if cls[r] != "mature") / total
    mature = 1.0 - growth
    data["policies"] += [
        {"name": "growth markets hold their share of the sales force", "share": "headcount",
         "where": {"region_class": ["growth", "emerging"]}, "min": round(growth + 0.05, 3)},
        {"name": "mature markets cost less", "share": "people_cost",
         "where": {"region_class": ["mature"]}, "max": round(mature - 0.05, 3)},
    ]


def shapes() -> dict[str, dict]:
    """Every shape as scenario data (ready for ``yaml.safe_dump``)."""
    out = {"realistic": generate.scenario("mip-realistic", SIZES["realistic"])}
    month = Size(regions=4, channels=5, periods="month", time_limit=120, seed=21)

    data = generate.scenario("mip-s-curves", month)
    _s_curves(data, 0.6, seed=121)
    out["s-curves"] = data

    data = generate.scenario("mip-releases", Size(4, 5, "month", 120, seed=22))
    _releases(data, 1.4)
    out["releases"] = data

    data = generate.scenario("mip-temp-share", Size(4, 5, "month", 120, seed=23))
    _temp_share(data, 3, 0.10, 0.15)
    out["temp-share"] = data

    data = generate.scenario("mip-policies", Size(4, 5, "month", 120, seed=24))
    _staff_policies(data)
    out["policies"] = data

    out["weekly"] = generate.scenario("mip-weekly", Size(3, 4, "week", 120, seed=25))

    data = generate.scenario("mip-issue16", Size(4, 6, "month", 120, seed=26))
    _s_curves(data, 0.3, seed=126)
    _releases(data, 1.2)
    _temp_share(data, 3, 0.10, 0.15)
    _staff_policies(data)
    out["issue16"] = data
    for data in out.values():
        data["description"] += " (MIP suite shape)"
        data.pop("solver", None)  # the suite sets the gap and the time limit
    return out


def write(out: Path = OUT, names: list[str] | None = None) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in shapes().items():
        if names and name not in names:
            continue
        path = out / f"mip-{name}.yaml"
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
        path.write_text(f"# generated by benchmarks/mip_shapes.py ({name}); do not edit\n" + text, encoding="utf-8")
        paths[name] = path
    return paths


if __name__ == "__main__":
    for name, path in write().items():
        print(name, path)
