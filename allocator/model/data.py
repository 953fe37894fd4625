"""The numbers the model needs, derived once from a validated scenario (defaults applied)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from allocator.model import carryover
from allocator.model.curves import Curve
from allocator.scenario import Scenario
from allocator.scenario.schema import Filter, Policy


@dataclass(frozen=True)
class Cell:
    region: str
    channel: str
    base: float  # annual revenue at zero spend
    curve: Curve
    margin: float
    lo: float
    hi: float
    min_roi: float | None
    follows_budget: bool = False  # no spend.max: the bound is budget.total and moves with it
    curve_hi: float | None = None  # the spend breakpoints are built for, when above hi (a sweep's ceiling)
    period_bounds: tuple[tuple[str, float, float | None], ...] = ()  # spend.periods: (period, min, max)
    # carryover (allocator/model/carryover.py): adstock weights w_0..w_L (empty: none) and the
    # spend of each of the L periods before the horizon, most recent first
    carryover: tuple[float, ...] = ()
    prior_spend: tuple[float, ...] = ()


@dataclass(frozen=True)
class Staffing:
    cost: float  # per core rep per year
    capacity: float  # revenue per core rep per year
    current: dict[str, int]
    max_hires: dict[str, int | None]
    hire_cost: float
    allow_release: bool
    release_cost: float
    temp_periods: tuple[str, ...]
    temp_cost: float
    temp_capacity: float
    temp_share: tuple[float, float] | None


@dataclass(frozen=True)
class SampleSet:
    """The sample blocks of a two-stage stochastic plan (``allocator/model/samples.py``).

    ``cells[w]`` are the cells of sample ``w`` (drawn bases and curves, the same order and bounds);
    periods ``[:first]`` come before the checkpoint. A CVaR at ``cvar_level`` is held above
    ``min_cvar`` (currency) or weighed into the objective with ``risk_weight``.
    """

    cells: tuple[tuple[Cell, ...], ...]
    first: int
    cvar_level: float | None = None
    min_cvar: float | None = None
    risk_weight: float = 0.0
    premium: float = 0.0  # each unit bought after the checkpoint costs 1 + premium (paid from the reserve)
    # S-shaped cells on the concave part only (docs/uncertainty.md): the caller fixes their segments
    # (``allocator/stochastic/restrict.py``), so the sample blocks add no shared gates for them
    concave_part_only: bool = False


@dataclass(frozen=True)
class Past:
    """The periods of a re-plan that are over, fixed to their actuals (``allocator/model/past.py``).

    ``periods`` are the scenario's first periods, in order; ``spend`` and ``revenue`` hold every
    cell in each of them, ``core`` and ``temp`` every region (with a sales force).
    """

    periods: tuple[str, ...]
    spend: Mapping[tuple[str, str, str], float]
    revenue: Mapping[tuple[str, str, str], float]
    core: Mapping[tuple[str, str], int] = field(default_factory=dict)
    temp: Mapping[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeBound:
    """``low <= x_rct <= high`` from change limit ``entry`` against the reference plan (``None``: open)."""

    region: str
    channel: str
    period: str
    entry: int
    reference: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Unlocked:
    """Budget unlocked by ``budget.unlocks[entry]``: up to ``amount`` more, spent only in ``regions``."""

    entry: int
    regions: tuple[str, ...]
    amount: float


@dataclass(frozen=True)
class PlanningData:
    """A scenario as sets and numbers. ``cells`` keeps the scenario's order."""

    scenario: Scenario
    periods: tuple[str, ...]
    length: dict[str, float]
    season: dict[str, float]
    regions: tuple[str, ...]
    region_class: dict[str, str]
    channels: tuple[str, ...]
    cells: tuple[Cell, ...]
    margin: dict[tuple[str, str], float]
    budget: float
    reserve: tuple[float, float]
    growth_floor: dict[str, float]  # region -> g, only regions with last-year revenue and a floor
    last_year: dict[str, float]
    potential: dict[str, float]
    revenue_target: float | None
    channel_roi: dict[str, float]
    staffing: Staffing | None
    policies: tuple[Policy, ...]
    tolerance: float
    reach_scale: float = 1.0  # how far past budget.total the curves of budget-bound cells reach
    # exact-curve refinement (allocator/exact.py): extra annual-spend breakpoints per cell, and
    # whether every interpolant is raised onto the curve's upper envelope (the certificate model)
    extra_points: Mapping[tuple[str, str], tuple[float, ...]] = field(default_factory=dict)
    overestimate: bool = False
    samples: SampleSet | None = None  # a two-stage stochastic plan: one block per sample (model/samples.py)
    past: Past | None = None  # a re-plan: the periods that are over, fixed to their actuals
    change_bounds: tuple[ChangeBound, ...] = ()  # reallocation.limits against the reference plan
    unlocked: tuple[Unlocked, ...] = ()  # budget.unlocks whose condition the actuals meet (a re-plan)

    def is_past(self, period: str) -> bool:
        """Whether ``period`` is over in a re-plan (its spend, revenue and heads are the actuals)."""
        return self.past is not None and period in self.past.periods

    def matches(self, flt: Filter | None, region: str, period: str, channel: str | None = None) -> bool:
        """Whether a (region, period[, channel]) item passes a policy filter (``None`` passes all)."""
        if flt is None:
            return True
        # the region's class is read only when the filter asks for it (what a family reads is recorded)
        region_class = self.region_class[region] if flt.region_class is not None else ""
        return flt.selects(region, region_class, period, channel)


def planning_data(s: Scenario, past: Past | None = None, reference: Mapping | None = None,
                  realised_roi: Mapping | None = None, unlocked: tuple[Unlocked, ...] = ()) -> PlanningData:
    """The scenario's numbers; ``past`` fixes the periods that are over (``allocator.replan``).

    ``reference`` (spend per (region, channel, period)) is the plan ``reallocation.limits`` hold
    against (default: the ``reallocation.reference`` file); ``realised_roi`` per (region, channel)
    comes from a re-plan's actuals (``allocator/replanning/rules.py``), and so do the ``unlocked``
    budgets."""
    periods = tuple(s.periods.names)
    n = len(periods)
    length = s.periods.length or tuple(1.0 / n for _ in periods)
    season = s.periods.seasonality or length
    channel_margin = {c.id: c.gross_margin for c in s.channels}
    channel = {c.id: c for c in s.channels}
    carry = {c.key: carryover.of_cell(c, channel.get(c.channel)) for c in s.response}
    cells = tuple(
        Cell(
            region=c.region,
            channel=c.channel,
            base=c.base,
            curve=c.curve,
            margin=c.gross_margin if c.gross_margin is not None else channel_margin[c.channel],
            lo=c.spend.min,
            hi=c.spend.max if c.spend.max is not None else s.budget.total,
            min_roi=c.min_roi,
            follows_budget=c.spend.max is None,
            period_bounds=tuple((p, b.min, b.max) for p, b in c.spend.periods.items()),
            carryover=carry[c.key][0],
            prior_spend=carry[c.key][1],
        )
        for c in s.response
    )
    floors = {}
    for r in s.regions:
        g = r.growth_floor if r.growth_floor is not None else s.targets.growth_floor.get(r.class_)
        if g is not None and r.last_year_revenue is not None:
            floors[r.id] = g
    return PlanningData(
        scenario=s,
        periods=periods,
        length=dict(zip(periods, length)),
        season=dict(zip(periods, season)),
        regions=tuple(r.id for r in s.regions),
        region_class={r.id: r.class_ for r in s.regions},
        channels=tuple(c.id for c in s.channels),
        cells=cells,
        margin={(c.region, c.channel): c.margin for c in cells},
        budget=s.budget.total,
        reserve=(s.budget.reserve.min, s.budget.reserve.max),
        growth_floor=floors,
        last_year={r.id: r.last_year_revenue for r in s.regions if r.last_year_revenue is not None},
        potential={r.id: r.potential for r in s.regions if r.potential is not None},
        revenue_target=s.targets.revenue,
        channel_roi={c.id: c.min_roi for c in s.channels if c.min_roi is not None},
        staffing=_staffing(s, periods),
        policies=tuple(s.policies),
        tolerance=s.solver.pwl_tolerance,
        past=past,
        change_bounds=_change_bounds(s, past, reference, realised_roi),
        unlocked=tuple(unlocked),
    )


def _change_bounds(s: Scenario, past, reference, realised) -> tuple[ChangeBound, ...]:
    if s.reallocation is None:
        return ()
    from allocator.replanning.rules import change_bounds

    return change_bounds(s, past, reference, realised)


def _staffing(s: Scenario, periods: tuple[str, ...]) -> Staffing | None:
    sf = s.sales_force
    if sf is None:
        return None
    regions = [r.id for r in s.regions]
    if isinstance(sf.max_hires_per_period, dict):
        max_hires = {r: sf.max_hires_per_period.get(r) for r in regions}
    else:
        max_hires = {r: sf.max_hires_per_period for r in regions}
    temp = sf.temp_staff
    share = temp.share_of_people_cost if temp is not None else None
    return Staffing(
        cost=sf.cost_per_head,
        capacity=sf.revenue_capacity,
        current={r: sf.current.get(r, 0) for r in regions},
        max_hires=max_hires,
        hire_cost=sf.hire_cost,
        allow_release=sf.allow_release,
        release_cost=sf.release_cost,
        temp_periods=tuple(p for p in periods if temp is not None and p in temp.periods),
        temp_cost=temp.cost_per_head if temp is not None else 0.0,
        temp_capacity=temp.revenue_capacity if temp is not None else 0.0,
        temp_share=(share.min, share.max) if share is not None else None,
    )
