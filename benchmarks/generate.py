"""Synthetic planning scenarios for the benchmarks, written as ordinary scenario YAML files.

Every scenario is drawn from a seeded random generator, so a size always produces the same file.
The draws follow the planning playbooks rather than uniform noise:

* regions of class mature / growth / emerging (about 40/35/25%) with log-normal last-year revenue,
  class growth floors (3% / 8% / 15%), a market potential on a third of them;
* channels with gross margins of 25-45%; the first channel (``online``) has a channel margin-ROI
  floor of 20%;
* about 90% of region x channel pairs are response cells; base revenue is 85% of the region's last
  year split over its channels; curves are mostly concave (hill with shape <= 1, exp, log, a few
  linear-with-cap and concave points), with a few S-shaped hill curves (shape 1.6-2.4) and
  S-shaped points curves; annual spend caps of 2-4x the curve's half-saturation scale, a minimum
  spend on some cells;
* a sales force with integer headcount (current heads enough for last year's revenue, at most
  two hires per region and period), temporary staff in the peak periods (2-15% of people cost);
* a 5-8% reserve, ">= 60% of marketing in growth and emerging markets", a company revenue floor.

The ``lp`` variant of a size is the same draw without the ``sales_force`` section and with every
curve concave (S-shaped curves get shape 1, S-shaped points are made concave), so the model has
no integer column at all.

    .venv/bin/python benchmarks/generate.py --out benchmarks/generated      # writes every size
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "generated"


@dataclass(frozen=True)
class Size:
    regions: int
    channels: int
    periods: str  # quarter | month | fortnight | week
    time_limit: float  # seconds, written into the scenario's solver section
    seed: int


# Dimensions chosen so that the model reaches about 2k / 50k / 500k columns with the allocator's
# default pwl_tolerance (0.001); run.py prints the actual count from linear_form(model).
SIZES: dict[str, Size] = {
    "small": Size(regions=5, channels=4, periods="quarter", time_limit=60, seed=11),
    "medium": Size(regions=10, channels=6, periods="fortnight", time_limit=30, seed=12),
    "large": Size(regions=30, channels=10, periods="week", time_limit=60, seed=13),
    "realistic": Size(regions=30, channels=6, periods="month", time_limit=30, seed=14),
}

CHANNELS = [
    ("online", 0.42), ("offline", 0.36), ("partner", 0.28), ("search", 0.40), ("social", 0.38),
    ("tv", 0.33), ("radio", 0.30), ("print", 0.27), ("events", 0.35), ("email", 0.45),
    ("affiliate", 0.31), ("retail-media", 0.34), ("outdoor", 0.29), ("sponsorship", 0.32),
    ("catalogue", 0.26), ("telesales", 0.37),
]

MONTH = np.array([7.0, 6.5, 7.5, 8.0, 8.5, 8.0, 7.5, 7.5, 8.5, 9.0, 11.0, 11.0])
QUARTER_NAMES = ["Q1", "Q2", "Q3", "Q4"]
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

KAPPA = 4_000_000.0  # annual revenue one core rep closes
COST_PER_HEAD = 300_000.0


def periods(kind: str) -> tuple[list[str], np.ndarray]:
    """Period names and seasonality (shares of demand; lengths are equal)."""
    if kind == "quarter":
        season = MONTH.reshape(4, 3).sum(axis=1)
        names = QUARTER_NAMES
    elif kind == "month":
        season = MONTH.copy()
        names = MONTH_NAMES
    elif kind in ("fortnight", "week"):
        n = 26 if kind == "fortnight" else 52
        mid = (np.arange(n) + 0.5) / n * 12.0  # position in months
        season = np.interp(mid, np.arange(12) + 0.5, MONTH, period=12)
        season *= 1.0 + 0.04 * np.sin(np.arange(n) * 2.1)  # a little week-to-week noise
        names = [f"{'F' if n == 26 else 'W'}{i + 1:02d}" for i in range(n)]
    else:
        raise ValueError(kind)
    season = np.round(season / season.sum(), 6)
    season[-1] = round(1.0 - season[:-1].sum(), 6)
    return names, season


def _money(x: float) -> float:
    """Round to whole currency units (keeps the YAML readable)."""
    return float(round(x))


def scenario(name: str, size: Size, lp: bool = False) -> dict:
    """One synthetic scenario as plain data (ready for yaml.safe_dump)."""
    rng = np.random.default_rng(size.seed)
    names, season = periods(size.periods)
    T = len(names)
    peak = sorted(np.argsort(season)[-max(1, round(T / 6)):])  # top sixth of periods: temp staff

    classes = rng.choice(["mature", "growth", "emerging"], size=size.regions, p=[0.40, 0.35, 0.25])
    classes[:3] = ["mature", "growth", "emerging"][: min(3, size.regions)]
    last_year = np.exp(rng.normal(np.log(20e6), 0.6, size=size.regions))
    floors = {"mature": 0.03, "growth": 0.08, "emerging": 0.15}
    regions = []
    for i in range(size.regions):
        r = {"id": f"r{i + 1:03d}", "class": str(classes[i]), "last_year_revenue": _money(last_year[i])}
        if i % 3 == 1:
            r["potential"] = _money(1.6 * last_year[i])
        regions.append(r)

    channels = []
    for j in range(size.channels):
        cid, margin = CHANNELS[j]
        c = {"id": cid, "gross_margin": margin}
        if j == 0:
            c["min_roi"] = 0.2
        channels.append(c)

    response = []
    marketing_pool = 0.0
    for i, region in enumerate(regions):
        present = rng.random(size.channels) < 0.9
        present[rng.integers(size.channels)] = True
        shares = rng.dirichlet(np.full(size.channels, 2.0)) * present
        shares /= shares.sum()
        for j in np.flatnonzero(present):
            scale = last_year[i] * shares[j]
            roas0 = rng.uniform(3.0, 6.0)  # lift per unit of spend at (near) zero spend
            kind = rng.choice(["hill", "exp", "log", "linear", "points", "s-hill", "s-points"],
                              p=[0.36, 0.26, 0.20, 0.04, 0.08, 0.03, 0.03])
            lift = scale * rng.uniform(0.5, 0.8)
            if kind == "s-hill" and lp:
                kind = "hill"
            if kind == "s-points" and lp:
                kind = "points"
            if kind == "hill":
                half = lift / roas0
                curve = {"type": "hill", "max_lift": _money(lift), "half_saturation": _money(half),
                         "shape": round(float(rng.uniform(0.6, 1.0)), 2)}
                reach = half
            elif kind == "s-hill":
                half = lift / roas0 * 1.5
                curve = {"type": "hill", "max_lift": _money(lift), "half_saturation": _money(half),
                         "shape": round(float(rng.uniform(1.6, 2.4)), 2)}
                reach = half
            elif kind == "exp":
                k = lift / roas0
                curve = {"type": "exp", "max_lift": _money(lift), "scale": _money(k)}
                reach = k
            elif kind == "log":
                k = lift / roas0 * 0.6
                curve = {"type": "log", "scale_lift": _money(roas0 * k), "scale": _money(k)}
                reach = k * 1.5
            elif kind == "linear":
                cap = lift / roas0
                curve = {"type": "linear", "roas": round(roas0 * 0.8, 3), "cap": _money(cap)}
                reach = cap
            else:  # points: concave, or S-shaped (a threshold before the response takes off)
                step = lift / roas0 * 0.8
                if kind == "points":
                    ys = np.array([0.0, 0.45, 0.72, 0.88, 0.97, 1.0]) * lift
                else:
                    ys = np.array([0.0, 0.08, 0.45, 0.80, 0.95, 1.0]) * lift
                xs = np.array([0.0, 1.0, 2.0, 3.0, 4.5, 6.0]) * step
                curve = {"type": "points", "points": [[_money(x), _money(y)] for x, y in zip(xs, ys)]}
                reach = step * 2.0
            cell = {"region": region["id"], "channel": channels[j]["id"], "base": _money(0.85 * scale),
                    "curve": curve, "spend": {"max": _money(reach * rng.uniform(2.0, 4.0))}}
            if rng.random() < 0.08:
                cell["spend"]["min"] = _money(0.1 * reach)
            if rng.random() < 0.05:
                cell["min_roi"] = -0.3  # margin must pay back 70% of the spend
            marketing_pool += reach
            response.append(cell)

    heads = {r["id"]: int(np.ceil(last_year[i] / KAPPA)) for i, r in enumerate(regions)}
    people = COST_PER_HEAD * sum(heads.values()) * 1.15
    budget = (marketing_pool * 1.1 + (0.0 if lp else people)) / (1.0 - 0.065)
    data = {
        "scenario": name,
        "description": f"synthetic benchmark: {size.regions} regions x {size.channels} channels x {T} "
                       f"{size.periods}s{' (LP variant: no sales force, concave curves)' if lp else ''}",
        "currency": "CNY",
        "periods": {"names": names, "seasonality": [float(s) for s in season]},
        "budget": {"total": _money(budget), "reserve": {"min": 0.05, "max": 0.08}},
        "targets": {
            "revenue": _money(1.02 * float(last_year.sum())),
            "growth_floor": dict(floors),
        },
        "regions": regions,
        "channels": channels,
        "response": response,
    }
    if not lp:
        data["sales_force"] = {
            "cost_per_head": COST_PER_HEAD,
            "revenue_capacity": KAPPA,
            "current": heads,
            "max_hires_per_period": 2,
            "hire_cost": 40_000.0,
            "allow_release": False,
            "temp_staff": {
                "periods": [names[t] for t in peak],
                "cost_per_head": _money(COST_PER_HEAD / T * 1.5),
                "revenue_capacity": _money(KAPPA / T * 0.6),
                "share_of_people_cost": {"min": 0.02, "max": 0.15},
            },
        }
    data["policies"] = [
        {"name": "growth markets get 60% of marketing", "share": "marketing_spend",
         "where": {"region_class": ["growth", "emerging"]}, "min": 0.6},
    ]
    data["solver"] = {"name": "highs", "time_limit": size.time_limit, "mip_gap": 0.0001}
    return data


def write(name: str, lp: bool = False, out: Path = GENERATED) -> Path:
    """Write the scenario of size ``name`` (``lp``: the LP variant) and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    label = f"{name}-lp" if lp else name
    data = scenario(f"bench-{label}", SIZES[name], lp=lp)
    path = out / f"{label}.yaml"
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
    path.write_text(f"# generated by benchmarks/generate.py ({label}); do not edit\n" + text, encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(SIZES), help="comma-separated: " + ",".join(SIZES))
    ap.add_argument("--lp", action="store_true", help="also write the LP variants")
    ap.add_argument("--out", type=Path, default=GENERATED)
    args = ap.parse_args()
    for name in args.sizes.split(","):
        print(write(name, out=args.out))
        if args.lp:
            print(write(name, lp=True, out=args.out))


if __name__ == "__main__":
    main()
