"""The risk of a fixed plan: hold its spend and headcount, draw curves and bases, and report the
spread of realised revenue and margin (docs/uncertainty.md).

>>> from allocator import load_scenario                                   # doctest: +SKIP
>>> from allocator.uncertainty import risk
>>> report = risk(None, load_scenario("scenarios/annual_plan_uncertain.yaml"), samples=2000)
>>> report.summary.loc["margin", ["mean", "p5", "cvar_5"]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocator.model.data import PlanningData, planning_data
from allocator.plan import Plan
from allocator.scenario import Scenario
from allocator.uncertainty import curves
from allocator.uncertainty.evaluate import BINDING, FixedPlan, Outcome, fixed_plan, realise
from allocator.uncertainty.sampling import Draws, check_run_options, draw, uncertainty_of

STAT_KEYS = ("mean", "p5", "p50", "p95", "cvar_5")
CVAR_LEVEL = 0.05
EVPI_SAMPLES = 20  # re-optimised draws: each is a full solve, so a small subsample
FAN_LEVELS = (5, 25, 50, 75, 95)

Progress = Callable[[int, int], None]


class NoPlanError(Exception):
    """The scenario has no plan to hold fixed (infeasible, or the solver stopped first)."""


def cvar(values: np.ndarray, level: float = CVAR_LEVEL) -> float:
    """Mean of the worst ``level`` share of ``values`` (lower tail), the boundary sample weighted
    by the share of it that falls inside (Rockafellar-Uryasev on equally likely samples)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    k = level * len(ordered)
    whole = int(np.floor(k))
    total = ordered[:whole].sum() + (k - whole) * (ordered[whole] if whole < len(ordered) else 0.0)
    return float(total / k)


def statistics(values: np.ndarray) -> dict[str, float]:
    """``mean``, ``p5``, ``p50``, ``p95`` (linear interpolation between samples) and ``cvar_5``."""
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"mean": float(np.mean(values)), "p5": float(p5), "p50": float(p50), "p95": float(p95),
            "cvar_5": cvar(values)}


@dataclass
class RiskReport:
    """Tables of a risk evaluation; ``info`` holds the scalars (``to_json`` is ``risk.json``)."""

    samples: pd.DataFrame  # one row per sample: revenue, margin, revenue per region, capacity binding
    summary: pd.DataFrame  # index margin, revenue; columns mean, p5, p50, p95, cvar_5
    regions: pd.DataFrame  # per region: floor, miss probability, capacity-binding probability
    periods: pd.DataFrame  # cumulative revenue by period: plan and percentiles (the fan chart)
    evpi: pd.DataFrame  # per re-optimised draw: fixed-plan margin, re-optimised margin, gain
    info: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        regions = self.regions.set_index("region")
        return {
            **{k: self.info[k] for k in ("scenario", "samples", "seed", "distribution")},
            "margin": self.summary.loc["margin"].to_dict(),
            "revenue": self.summary.loc["revenue"].to_dict(),
            "growth_floor_miss": regions.p_miss_floor.dropna().to_dict(),
            "capacity_binds": {"any": self.info["p_capacity_binds"], **regions.p_capacity_binds.to_dict()},
            **{k: self.info[k] for k in ("revenue_target_miss", "deterministic_margin", "plan_objective",
                                         "evpi", "evpi_stderr", "evpi_draws", "evpi_failed")},
        }


def risk(
    plan: Plan | None,
    scenario: Scenario | None = None,
    samples: int | None = None,
    seed: int | None = None,
    *,
    evpi_samples: int = EVPI_SAMPLES,
    progress: Progress | None = None,
) -> RiskReport:
    """Hold ``plan`` fixed (``None``: solve ``scenario`` first) and evaluate it on sampled curves.

    ``scenario`` defaults to the plan's; its ``uncertainty:`` section says how the curves vary,
    ``samples`` and ``seed`` default to that section's. The expected value of perfect information
    re-optimises the first ``evpi_samples`` draws (0: skip).
    """
    from allocator.api import solve

    if plan is None and scenario is None:
        raise TypeError("risk() needs a plan, a scenario, or both")
    check_run_options(samples, seed)
    scenario = scenario if scenario is not None else plan.scenario
    uncertainty_of(scenario)
    if plan is None:
        plan = solve(scenario)
    if not plan.has_plan:
        raise NoPlanError(f"no plan to hold fixed: the scenario is {plan.status}")
    data = planning_data(scenario)
    fixed = fixed_plan(plan.allocation, plan.headcount, plan.summary.get("people_cost"), data)
    draws = draw(scenario, samples, seed)
    outcome = realise(data, fixed, draws)
    nominal = realise(data, fixed, _nominal(draws))
    evpi = _evpi(scenario, data, draws, outcome, min(evpi_samples, draws.samples), progress)
    return _report(scenario, data, plan, draws, outcome, float(nominal.margin[0]), evpi)


def _nominal(draws: Draws) -> Draws:
    ones = {name: np.ones((1, len(draws.cells))) for name in draws.factors}
    return Draws(draws.cells, ones, 1, draws.seed, draws.distribution)


def _one(draws: Draws, k: int) -> Draws:
    return Draws(draws.cells, {n: f[k : k + 1] for n, f in draws.factors.items()}, 1, draws.seed, draws.distribution)


def drawn_scenario(scenario: Scenario, draws: Draws, k: int) -> Scenario:
    """The scenario with the bases and curve parameters of sample ``k`` (for re-optimising it)."""
    data = scenario.to_dict()
    data.pop("decomposition", None)  # margins only: the decomposition's input files play no part
    data.pop("uncertainty", None)
    data.pop("stochastic", None)  # one year, known: nothing to sample
    for i, (cell, raw) in enumerate(zip(scenario.response, data["response"])):
        raw["base"] = cell.base * float(draws.factors["base"][k, i])
        raw["curve"] = curves.varied(cell.curve, draws.one(k, i))
    return Scenario.from_dict(data, source=f"{scenario.source} (sample {k})")


def _evpi(scenario: Scenario, data: PlanningData, draws: Draws, outcome: Outcome, n: int,
          progress: Progress | None) -> pd.DataFrame:
    """Re-optimise samples ``0..n-1`` knowing their curves; evaluate each plan on its own draw."""
    from allocator.api import solve

    rows = []
    for k in range(n):
        drawn = drawn_scenario(scenario, draws, k)
        best = solve(drawn)
        margin = np.nan
        if best.has_plan:
            fixed: FixedPlan = fixed_plan(best.allocation, best.headcount, best.summary.get("people_cost"), data)
            margin = float(realise(data, fixed, _one(draws, k)).margin[0])
        rows.append((k, str(best.status), float(outcome.margin[k]), margin, margin - float(outcome.margin[k])))
        if progress is not None:
            progress(k + 1, n)
    return pd.DataFrame(rows, columns=["sample", "status", "plan_margin", "reoptimised_margin", "gain"])


def _report(scenario: Scenario, data: PlanningData, plan: Plan, draws: Draws, outcome: Outcome,
            nominal_margin: float, evpi: pd.DataFrame) -> RiskReport:
    region_of = np.array([data.regions.index(cell.region) for cell in data.cells])
    by_region = np.stack([outcome.sold[:, region_of == r, :].sum(axis=(1, 2)) for r in range(len(data.regions))], axis=1)
    revenue = outcome.revenue
    table = pd.DataFrame({"sample": np.arange(draws.samples), "revenue": revenue, "margin": outcome.margin})
    for r, region in enumerate(data.regions):
        table[f"revenue:{region}"] = by_region[:, r]
    table["capacity_binds"] = outcome.capacity_binds.any(axis=1)
    summary = pd.DataFrame([statistics(outcome.margin), statistics(revenue)], index=["margin", "revenue"],
                           columns=list(STAT_KEYS))
    rows = []
    for r, region in enumerate(data.regions):
        floor = (1 + data.growth_floor[region]) * data.last_year[region] if region in data.growth_floor else None
        miss = float(np.mean(by_region[:, r] < floor * (1 - BINDING))) if floor is not None else None
        p5, mean = np.percentile(by_region[:, r], 5), np.mean(by_region[:, r])
        rows.append((region, floor, miss, float(outcome.capacity_binds[:, r].mean()), float(mean), float(p5)))
    regions = pd.DataFrame(rows, columns=["region", "floor", "p_miss_floor", "p_capacity_binds", "revenue_mean", "revenue_p5"])
    target = data.revenue_target
    gains = evpi.gain.dropna().to_numpy()
    info = {
        "scenario": scenario.scenario,
        "samples": draws.samples,
        "seed": draws.seed,
        "distribution": draws.distribution,
        "p_capacity_binds": float(outcome.capacity_binds.any(axis=1).mean()),
        "revenue_target_miss": float(np.mean(revenue < target * (1 - BINDING))) if target is not None else None,
        "deterministic_margin": nominal_margin,
        "plan_objective": plan.summary.get("objective"),
        "evpi": float(gains.mean()) if len(gains) else None,
        "evpi_stderr": float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else None,
        "evpi_draws": int(len(evpi)),
        "evpi_failed": int(len(evpi) - len(gains)),
    }
    return RiskReport(table, summary, regions, _fan(data, outcome, plan), evpi, info)


def _fan(data: PlanningData, outcome: Outcome, plan: Plan) -> pd.DataFrame:
    """Cumulative company revenue after each period: the plan's targets and sample percentiles."""
    realised = np.cumsum(outcome.sold.sum(axis=1), axis=1)  # (samples, periods)
    planned = plan.allocation.groupby("period").revenue.sum().reindex(list(data.periods)).fillna(0.0).cumsum()
    frame = pd.DataFrame({"period": list(data.periods), "plan": planned.to_numpy()})
    for level, values in zip(FAN_LEVELS, np.percentile(realised, FAN_LEVELS, axis=0)):
        frame[f"p{level}"] = values
    return frame
