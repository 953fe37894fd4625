"""An independent check of a written run folder against every constraint of ``model.md``.

It rereads ``scenario.yaml``, ``summary.json`` and the CSV tables, recomputes every total, and
checks each constraint family from those tables alone: never from the model's variables.
It uses the exact curves (not the model's breakpoints), allowing the stated PWL tolerance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from allocator import load_scenario
from allocator.model import curves


class PlanViolation(AssertionError):
    pass


def check_run(folder: Path) -> dict:
    """Raise :class:`PlanViolation` listing every broken rule; return the summary when all hold."""
    folder = Path(folder)
    s = load_scenario(folder / "scenario.yaml")
    summary = json.loads((folder / "summary.json").read_text())
    alloc = _read(folder / "allocation.csv", ("region", "channel", "period"))
    heads = _read(folder / "headcount.csv", ("region", "period"))
    cons = _read(folder / "constraints.csv", ("name", "kind"))
    errors: list[str] = []
    B = s.budget.total
    tol = 1e-6 * B  # money tolerance: solver feasibility, far below any reported precision

    def need(ok: bool, message: str) -> None:
        if not ok:
            errors.append(message)

    periods = list(s.periods.names)
    n = len(periods)
    length = dict(zip(periods, s.periods.length or [1 / n] * n))
    season = dict(zip(periods, s.periods.seasonality or [length[p] for p in periods]))
    margins = {c.id: c.gross_margin for c in s.channels}
    cells = {(c.region, c.channel): c for c in s.response}
    cls = {r.id: r.class_ for r in s.regions}
    m = {k: (c.gross_margin if c.gross_margin is not None else margins[k[1]]) for k, c in cells.items()}

    need(len(alloc) == len(cells) * n, f"allocation has {len(alloc)} rows, expected {len(cells) * n}")
    need((alloc[["spend", "lift", "revenue"]] >= -tol).all().all(), "negative spend, lift or revenue")

    # a re-plan (docs/replan.md): the periods that are over hold the actuals the folder keeps
    over = set((summary.get("replan") or {}).get("past_periods", ()))
    if over:
        actual = pd.read_csv(folder / "actuals.csv", keep_default_na=False, dtype=str)
        fixed = {(r.metric, r.region, r.channel, r.period): float(r.value) for r in actual.itertuples()}
        for row in alloc[alloc.period.isin(over)].itertuples():
            for metric in ("spend", "revenue"):
                want = fixed.get((metric, row.region, row.channel, row.period))
                need(want is not None and abs(getattr(row, metric) - want) <= tol,
                     f"{metric} of {row.region}/{row.channel}/{row.period} is not its actual {want}")
        for row in heads[heads.period.isin(over)].itertuples():
            for metric in ("core", "temp"):
                want = fixed.get((metric, row.region, "", row.period), 0.0)
                need(getattr(row, metric) == want, f"{metric} of {row.region}/{row.period} is not its actual {want}")

    # 0. carryover: effective spend a_t = sum_k d^k x_{t-k} / sum_k d^k, prior spend before the horizon
    channel_of = {c.id: c for c in s.channels}
    for key, cell in cells.items():
        sub = alloc[(alloc.region == key[0]) & (alloc.channel == key[1])].set_index("period").loc[periods]
        expected = _adstock(cell, channel_of[key[1]], sub.spend.to_numpy(dtype=float))
        for p, want, got in zip(periods, expected, sub.effective_spend):
            need(abs(got - want) <= tol + 1e-7 * abs(want), f"effective spend of {key}/{p} is {got}, the adstock gives {want}")

    # 1. response: revenue <= s_t b + lift, lift <= exact curve at the effective spend (+ tolerance);
    # a past period's revenue is its actual, whatever the curve says
    for row in alloc.itertuples():
        cell = cells[(row.region, row.channel)]
        st = season[row.period]
        hi = cell.spend.max if cell.spend.max is not None else B
        hi = max([hi, *_prior(cell, channel_of[row.channel])])
        slack = s.solver.pwl_tolerance * float(curves.value(cell.curve, [hi])[0]) + tol
        exact = st * float(curves.value(cell.curve, [row.effective_spend / st])[0]) if st > 0 else 0.0
        need(row.lift <= exact + slack, f"lift above the curve in {row.region}/{row.channel}/{row.period}")
        need(row.lift >= exact - slack - tol, f"lift far below the curve in {row.region}/{row.channel}/{row.period}")
        need(row.period in over or row.revenue <= st * cell.base + row.lift + tol,
             f"revenue above base + lift in {row.region}/{row.channel}/{row.period}")

    # 2. annual spend bounds per cell
    spend_cell = alloc.groupby(["region", "channel"]).spend.sum()
    for key, cell in cells.items():
        hi = cell.spend.max if cell.spend.max is not None else B
        need(cell.spend.min - tol <= spend_cell[key] <= hi + tol, f"spend of {key} outside its bounds")

    # 2b. per-period spend bounds (spend.periods), but in a re-plan's periods that are over
    spend_at = dict(zip(zip(alloc.region, alloc.channel, alloc.period), alloc.spend))
    for key, cell in cells.items():
        for p, bound in cell.spend.periods.items():
            x = spend_at[(*key, p)]
            need(p in over or bound.min - tol <= x, f"spend of {key} in {p} below its period minimum")
            need(p in over or bound.max is None or x <= bound.max + tol, f"spend of {key} in {p} above its period maximum")

    # 12b. change limits against the reference plan (change_limits.csv: the reference spend per row)
    if (folder / "change_limits.csv").exists():
        limits = pd.read_csv(folder / "change_limits.csv", keep_default_na=False, na_values=[""],
                             dtype={"region": str, "channel": str, "period": str})
        for row in limits.itertuples():
            rule = s.reallocation.limits[int(row.limit)]
            need(row.period not in over, f"a change limit on {row.region}/{row.channel} in {row.period}, which is over")
            x = spend_at[(row.region, row.channel, row.period)]
            if rule.max_increase is not None:
                need(math.isclose(row.max, (1 + rule.max_increase) * row.reference, rel_tol=1e-12, abs_tol=1e-9),
                     f"change limit {row.limit} max of {row.region}/{row.channel}/{row.period} misreported")
                need(x <= (1 + rule.max_increase) * row.reference + tol,
                     f"spend of {row.region}/{row.channel}/{row.period} above change limit {row.limit}")
            if rule.max_decrease is not None:
                need(x >= (1 - rule.max_decrease) * row.reference - tol,
                     f"spend of {row.region}/{row.channel}/{row.period} below change limit {row.limit}")
    elif s.reallocation is not None:
        need(False, "a scenario with change limits but no change_limits.csv")

    # 3-5. staffing: flow, hire limits, integrality, capacity, people cost, temp share
    people = 0.0
    sf = s.sales_force
    revenue_rt = alloc.groupby(["region", "period"]).revenue.sum()
    if sf is not None:
        temp_periods = set(sf.temp_staff.periods) if sf.temp_staff else set()
        temp_cost = sf.temp_staff.cost_per_head if sf.temp_staff else 0.0
        temp_cap = sf.temp_staff.revenue_capacity if sf.temp_staff else 0.0
        for region in cls:
            previous = sf.current.get(region, 0)
            rows = heads[heads.region == region].set_index("period").loc[periods]
            limit = sf.max_hires_per_period
            limit = limit.get(region) if isinstance(limit, dict) else limit
            for p, h in rows.iterrows():
                for col in ("core", "hires", "releases", "temp"):
                    need(float(h[col]) == int(h[col]) and h[col] >= 0, f"{col} not a whole number >= 0 in {region}/{p}")
                need(h.core == previous + h.hires - h.releases, f"headcount flow broken in {region}/{p}")
                # a period that is over holds the actual heads, whatever the limit and releases
                need(p in over or limit is None or h.hires <= limit, f"hires above the limit in {region}/{p}")
                need(p in over or sf.allow_release or h.releases == 0, f"releases without allow_release in {region}/{p}")
                need(p in temp_periods or h.temp == 0, f"temp staff outside temp periods in {region}/{p}")
                capacity = sf.revenue_capacity * length[p] * h.core + temp_cap * h.temp
                need(math.isclose(h.capacity, capacity, rel_tol=1e-9, abs_tol=1e-6), f"capacity misreported in {region}/{p}")
                need(p in over or revenue_rt.get((region, p), 0.0) <= capacity + tol,
                     f"revenue above capacity in {region}/{p}")
                people += (sf.cost_per_head * length[p] * h.core + sf.hire_cost * h.hires
                           + sf.release_cost * h.releases + temp_cost * h.temp)
                previous = h.core
        temp_spend = temp_cost * heads.temp.sum()
        share = sf.temp_staff.share_of_people_cost if sf.temp_staff else None
        if share is not None:
            need(share.min * people - tol <= temp_spend <= share.max * people + tol, "temp-staff share of people cost broken")
    else:
        need(heads.empty, "headcount rows without a sales force")

    # 6-7. budget and reserve
    spend = alloc.spend.sum()
    reserve = summary["reserve"]
    # budget.unlocks met in a re-plan: up to their amount more, spent (with people cost) in their regions
    unlocked = 0.0
    for u in (summary.get("replan") or {}).get("unlocks", ()):
        if u["unlocked"]:
            ahead = ~alloc.period.isin(over)  # spent in the periods left
            own = alloc[alloc.region.isin(u["regions"]) & ahead].spend.sum()
            unlocked += min(u["amount"], own + _people_of(heads[~heads.period.isin(over)], sf, length, u["regions"]))
    need(spend + people + reserve <= B + unlocked + tol, "budget exceeded")
    low, high = s.budget.reserve.min, s.budget.reserve.max
    stochastic = bool(summary.get("stochastic"))  # a stochastic plan sizes its reserve in its own range
    if stochastic and s.stochastic is not None and s.stochastic.reserve is not None:
        low, high = s.stochastic.reserve.min, s.stochastic.reserve.max
    need(low * B - tol <= reserve <= high * B + tol, "reserve outside its bounds")

    # 8-10. growth floors, potential, company revenue floor
    revenue_r = alloc.groupby("region").revenue.sum()
    for r in s.regions:
        g = r.growth_floor if r.growth_floor is not None else s.targets.growth_floor.get(r.class_)
        if g is not None and r.last_year_revenue is not None:
            need(revenue_r.get(r.id, 0.0) >= (1 + g) * r.last_year_revenue - tol, f"growth floor of {r.id} broken")
        if r.potential is not None:
            need(revenue_r.get(r.id, 0.0) <= r.potential + tol, f"potential of {r.id} exceeded")
    if s.targets.revenue is not None:
        need(alloc.revenue.sum() >= s.targets.revenue - tol, "company revenue floor broken")

    # 11. ROI floors, per cell and per channel
    alloc["m"] = [m[(a, b)] for a, b in zip(alloc.region, alloc.channel)]
    for key, cell in cells.items():
        if cell.min_roi is not None:
            sub = alloc[(alloc.region == key[0]) & (alloc.channel == key[1])]
            need((sub.m * sub.lift).sum() >= (1 + cell.min_roi) * sub.spend.sum() - tol, f"ROI floor of {key} broken")
    for c in s.channels:
        if c.min_roi is not None:
            sub = alloc[alloc.channel == c.id]
            need((sub.m * sub.lift).sum() >= (1 + c.min_roi) * sub.spend.sum() - tol, f"ROI floor of channel {c.id} broken")

    # 12. share policies
    for policy in s.policies:
        part = _quantity(policy.share, policy.where, alloc, heads, s, length, cls)
        base = _quantity(policy.share, policy.of, alloc, heads, s, length, cls)
        ptol = tol if policy.share != "headcount" else 1e-6
        if policy.min is not None:
            need(part >= policy.min * base - ptol, f"policy {policy.name!r} below its min")
        if policy.max is not None:
            need(part <= policy.max * base + ptol, f"policy {policy.name!r} above its max")

    # totals
    objective = (alloc.m * alloc.revenue).sum() - spend - people
    for key, value in (("revenue", alloc.revenue.sum()), ("marketing_spend", spend), ("people_cost", people),
                       ("pwl_objective", objective)):
        need(math.isclose(summary[key], value, rel_tol=1e-9, abs_tol=1e-3), f"summary {key} {summary[key]} != {value}")
    # the headline margin is the plan's on the exact curves; the certificate brackets the optimum
    need(summary["objective"] == summary["exact_curve_margin"], "objective is not the exact-curve margin")
    if summary.get("exact_curve_bound") is not None:
        need(summary["exact_curve_gap"] >= 0.0, "negative exact-curve gap")
        need(summary["exact_curve_bound"] >= summary["objective"] - 1e-9 * abs(summary["objective"]),
             "exact-curve bound below the plan's exact margin")
    need(abs(summary["unallocated"] - max(0.0, B - spend - people - reserve)) <= tol, "unallocated misreported")
    if spend > 0:
        roi = (alloc.m * alloc.lift).sum() / spend - 1
        need(math.isclose(summary["marketing_roi"], roi, rel_tol=1e-9, abs_tol=1e-12), "marketing_roi misreported")
    need(summary["status"] in ("optimal", "feasible"), f"status {summary['status']}")
    # one more unit of budget: the budget row, less the reserve it must hold, plus default spend bounds
    price = dict(zip(cons.name, cons.shadow_price))
    if stochastic:  # the plan of record is priced with its first stage held: no prices are written
        need(bool(cons.shadow_price.isna().all()) and summary["budget_shadow_price"] is None,
             "a stochastic plan writes no shadow prices")
        price = dict.fromkeys(price, 0.0)
    expected = (price["budget"] - s.budget.reserve.min * price.get("reserve_min", 0.0)
                + s.budget.reserve.max * price.get("reserve_max", 0.0)
                + sum(price.get(f"spend_max[{r}/{c}]", 0.0) for (r, c), cell in cells.items() if cell.spend.max is None))
    need(stochastic or math.isclose(expected, summary["budget_shadow_price"], rel_tol=1e-9, abs_tol=1e-12),
         f"budget shadow price {summary['budget_shadow_price']} is not the one constraints.csv implies ({expected})")
    need(set(cons.columns) == {"name", "kind", "binding", "slack", "shadow_price"}, "constraints.csv columns")
    need(bool((cons.slack >= 0).all()), "negative slack in constraints.csv")
    need(stochastic or bool((cons[cons.slack > 1e-3 * B].shadow_price.abs() < 1e-9).all()),
         "non-binding row with a shadow price")
    if errors:
        raise PlanViolation(f"{folder}: " + "; ".join(errors))
    return summary


def _prior(cell, channel) -> list[float]:
    """The cell's spend in the periods before the horizon, most recent first (one amount: each)."""
    carry = cell.carryover or channel.carryover
    if carry is None or cell.prior_spend is None:
        return []
    if isinstance(cell.prior_spend, tuple):
        return list(cell.prior_spend) + [0.0] * (carry.max_lag - len(cell.prior_spend))
    return [cell.prior_spend] * carry.max_lag


def _adstock(cell, channel, spend: np.ndarray) -> np.ndarray:
    """The effective spend of each period, from the spend written and the scenario's carryover."""
    carry = cell.carryover or channel.carryover
    if carry is None:
        return spend
    before = _prior(cell, channel) or [0.0] * carry.max_lag
    history = list(reversed(before)) + list(spend)  # oldest first
    weights = [carry.decay ** k for k in range(carry.max_lag + 1)]
    out = []
    for t in range(len(spend)):
        now = t + carry.max_lag
        out.append(sum(w * history[now - k] for k, w in enumerate(weights)) / sum(weights))
    return np.array(out)


def _read(path: Path, text: tuple[str, ...]) -> pd.DataFrame:
    """A CSV as written for spreadsheets: text that looked like a formula carries a leading ``'``."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={c: str for c in text})
    for column in text:
        frame[column] = [v[1:] if v[:1] == "'" and v[1:2] in ("=", "+", "-", "@") else v for v in frame[column]]
    return frame


def _quantity(kind, flt, alloc, heads, s, length, cls) -> float:
    def keep(frame, with_channel: bool) -> pd.Series:
        mask = np.ones(len(frame), dtype=bool)
        if flt is None:
            return pd.Series(mask, index=frame.index)
        if flt.region:
            mask &= frame.region.isin(flt.region).to_numpy()
        if flt.region_class:
            mask &= frame.region.map(cls).isin(flt.region_class).to_numpy()
        if flt.period:
            mask &= frame.period.isin(flt.period).to_numpy()
        if with_channel and flt.channel:
            mask &= frame.channel.isin(flt.channel).to_numpy()
        return pd.Series(mask, index=frame.index)

    if kind == "marketing_spend":
        return float(alloc.spend[keep(alloc, True)].sum())
    if kind == "revenue":
        return float(alloc.revenue[keep(alloc, True)].sum())
    sf = s.sales_force
    if sf is None:
        return 0.0
    h = heads[keep(heads, False)]
    if kind == "headcount":
        return float((h.period.map(length) * h.core).sum())
    temp_cost = sf.temp_staff.cost_per_head if sf.temp_staff else 0.0
    return float((sf.cost_per_head * h.period.map(length) * h.core + sf.hire_cost * h.hires
                  + sf.release_cost * h.releases + temp_cost * h.temp).sum())


def _people_of(heads, sf, length, regions) -> float:
    """People cost of ``regions`` from the headcount table."""
    if sf is None or heads.empty:
        return 0.0
    temp = sf.temp_staff.cost_per_head if sf.temp_staff else 0.0
    h = heads[heads.region.isin(regions)]
    return float(sum(sf.cost_per_head * length[p] * c + sf.hire_cost * n + sf.release_cost * o + temp * e
                     for p, c, n, o, e in zip(h.period, h.core, h.hires, h.releases, h.temp)))
