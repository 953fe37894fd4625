"""The scenario schema (``spec/scenario.md``): frozen pydantic models, unknown keys forbidden.

Field-level rules live here; rules that relate sections to each other are in ``checks.py``.
Every message is written for a planner: it says what the value must be and what it was.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from allocator.decompose.config import DecompositionConfig
from allocator.scenario.amounts import AmountError, format_amount, format_share, parse_amount, parse_share
from allocator.scenario.errors import shown
from allocator.scenario.types import (
    Amount,
    FrozenDict,
    Growth,
    Name,
    PositiveAmount,
    PositiveNumber,
    PositiveShare,
    Roi,
    Share,
    Strict,
    Text,
    amount_validator,
    fail,
    share_validator,
)
from allocator.stochastic.schema import Stochastic
from allocator.uncertainty.schema import Uncertainty

SUM_TOLERANCE = 1e-6


# --- curves -------------------------------------------------------------------------------


class HillCurve(Strict):
    type: Literal["hill"]
    max_lift: PositiveAmount
    half_saturation: PositiveAmount
    shape: PositiveNumber = 1.0


class ExpCurve(Strict):
    type: Literal["exp"]
    max_lift: PositiveAmount
    scale: PositiveAmount


class LogCurve(Strict):
    type: Literal["log"]
    scale_lift: PositiveAmount
    scale: PositiveAmount


class LinearCurve(Strict):
    type: Literal["linear"]
    roas: Annotated[float, amount_validator(0.0, strict=False)]
    cap: PositiveAmount | None = None


class PointsCurve(Strict):
    type: Literal["points"]
    points: tuple[tuple[Amount, Amount], ...] = Field(min_length=2)

    @field_validator("points", mode="before")
    @classmethod
    def _pairs(cls, raw: object) -> object:
        if isinstance(raw, (list, tuple)):
            for i, point in enumerate(raw):
                if not isinstance(point, (list, tuple)) or len(point) != 2:
                    raise fail(f"each point must be [spend, lift] (got {shown(point)})", at=(i,))
        return raw

    @field_validator("points")
    @classmethod
    def _shape(cls, points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        if points[0] != (0.0, 0.0):
            spend, lift = (format_amount(v) for v in points[0])
            raise fail(f"the first point must be [0, 0] (got [{spend}, {lift}])", at=(0,))
        for i in range(1, len(points)):
            (x0, y0), (x1, y1) = points[i - 1], points[i]
            if x1 <= x0:
                raise fail(f"spend must increase from point to point ({format_amount(x1)} after {format_amount(x0)})", at=(i,))
            if y1 < y0:
                raise fail(f"lift must not fall as spend grows ({format_amount(y1)} after {format_amount(y0)})", at=(i,))
        return points


Curve = Annotated[
    HillCurve | ExpCurve | LogCurve | LinearCurve | PointsCurve, Field(discriminator="type")
]
CURVE_TYPES = ("hill", "exp", "log", "linear", "points")


# --- sections -----------------------------------------------------------------------------


class Periods(Strict):
    names: tuple[Name, ...] = Field(min_length=1)
    seasonality: tuple[Share, ...] | None = None
    length: tuple[PositiveShare, ...] | None = None

    @field_validator("names")
    @classmethod
    def _unique(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        _check_unique(names, "period name", "periods.names")
        return names

    @field_validator("seasonality", "length")
    @classmethod
    def _sums_to_one(cls, values, info):
        if values is None:
            return values
        names = info.data.get("names")
        if names is not None and len(values) != len(names):
            raise fail(f"has {len(values)} values but there are {len(names)} periods")
        total = sum(values)
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise fail(f"must sum to 100% (sums to {format_share(total)})")
        return values


class Reserve(Strict):
    min: Share = 0.0
    max: Share = 0.0

    @model_validator(mode="after")
    def _ordered(self) -> Reserve:
        if self.min > self.max:
            raise fail(f"must not exceed max ({format_share(self.min)} > {format_share(self.max)})", at=("min",))
        if self.max >= 1.0:
            raise fail(f"must be below 100% (got {format_share(self.max)})", at=("max",))
        return self


BUDGET_RANGE = (1e-6, 1e15)  # money is scaled by total / 1000: beyond these, solver numbers overflow or vanish


def _budget_in_range(total: float) -> float:
    low, high = BUDGET_RANGE
    if not low <= total <= high:
        raise fail(f"must be between {low:g} and {high:g} (got {total:g}); the model scales every amount by it")
    return total


def _share_or_amount(raw: object) -> object:
    """``5%`` (a share of ``budget.total``) or an amount (``1.2M``), kept as written."""
    try:
        value = parse_share(raw) if isinstance(raw, str) and raw.strip().endswith("%") else parse_amount(raw)
    except AmountError as exc:
        raise fail(str(exc)) from None
    if not value > 0:
        raise fail(f"must be > 0 (got {shown(raw)})")
    return raw if isinstance(raw, str) else float(raw)


def _listed(value):
    """One name stands for a list of one (a filter's fields)."""
    return value if value is None or isinstance(value, (list, tuple, dict)) else [value]


class RegionFilter(Strict):
    """Regions by id and by class (``None``: all)."""

    region: tuple[Name, ...] | None = None
    region_class: tuple[Name, ...] | None = None

    @field_validator("region", "region_class", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return _listed(value)

    def selects(self, region: str, region_class: str, period: str | None = None, channel: str | None = None) -> bool:
        """Whether the filter passes an item of ``region`` (of ``region_class``)."""
        return ((self.region is None or region in self.region)
                and (self.region_class is None or region_class in self.region_class))


class UnlockFilter(RegionFilter):
    pass


class _Range(Strict):
    """A ``min``/``max`` pair of shares: at least one given, in order (the fields are the subclass's)."""

    @model_validator(mode="after")
    def _has_a_bound(self):
        if self.min is None and self.max is None:
            raise fail("needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise fail(f"must not exceed max ({format_share(self.min)} > {format_share(self.max)})", at=("min",))
        return self

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` is in the range (to rounding); an unknown value (``None``) is not."""
        if value is None:
            return False
        return (self.min is None or value >= self.min - 1e-12) and (self.max is None or value <= self.max + 1e-12)


class RateRange(_Range):
    min: Share | None = None
    max: Share | None = None


class UnlockCondition(Strict):
    collection_rate: RateRange


class Unlock(Strict):
    """More budget for ``where``'s regions once the actuals meet ``if`` (``docs/replan.md``)."""

    where: UnlockFilter = UnlockFilter()
    if_: UnlockCondition = Field(alias="if")
    amount: Annotated[str | float, BeforeValidator(_share_or_amount)]

    def value(self, total: float) -> float:
        """The amount in currency: a share of ``total``, or the amount given."""
        if isinstance(self.amount, str) and self.amount.strip().endswith("%"):
            return parse_share(self.amount) * total
        return parse_amount(self.amount)


class Budget(Strict):
    total: Annotated[PositiveAmount, AfterValidator(_budget_in_range)]
    reserve: Reserve = Reserve()
    unlocks: tuple[Unlock, ...] = ()


class Targets(Strict):
    revenue: Amount | None = None
    growth_floor: Annotated[dict[Name, Growth], AfterValidator(FrozenDict)] = FrozenDict()


class Region(Strict):
    id: Name
    class_: Name = Field("default", alias="class")
    last_year_revenue: Amount | None = None
    potential: Amount | None = None
    growth_floor: Growth | None = None


MAX_LAG = 104  # two years of weekly periods: a longer memory is not a plan's business


def _decay(raw: object) -> float:
    try:
        value = parse_share(raw)
    except AmountError as exc:
        raise fail(str(exc)) from None
    if not 0.0 <= value < 1.0:
        raise fail(f"must be >= 0 and below 1 (got {shown(raw)}); the share of a period's spend still working a period later")
    return value


class Carryover(Strict):
    """Geometric adstock (``docs/model.md``, Carryover): the spend of a period keeps working for
    ``max_lag`` more periods, ``decay`` times as strongly each period."""

    decay: Annotated[float, BeforeValidator(_decay)]
    max_lag: Annotated[int, Field(ge=0, le=MAX_LAG, strict=True)]


def _prior_spend(raw: object) -> object:
    """One amount (each of the ``max_lag`` periods before the horizon) or a list, most recent first."""
    items = raw if isinstance(raw, (list, tuple)) else None
    values = []
    for i, item in enumerate(items if items is not None else [raw]):
        at = (i,) if items is not None else ()
        try:
            value = parse_amount(item)
        except AmountError as exc:
            raise fail(str(exc), at=at) from None
        if value < 0:
            raise fail(f"must be >= 0 (got {shown(item)})", at=at)
        values.append(value)
    return tuple(values) if items is not None else values[0]


PriorSpend = Annotated[float | tuple[float, ...], BeforeValidator(_prior_spend)]


class Channel(Strict):
    id: Name
    gross_margin: Share
    min_roi: Roi | None = None
    carryover: Carryover | None = None  # every cell of the channel, unless the cell says otherwise


class PeriodSpend(Strict):
    """A cell's spend bounds in one period (a new channel's test budget: ``{W1: {max: 50k}}``)."""

    min: Amount = 0.0
    max: Amount | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PeriodSpend:
        if self.max is not None and self.min > self.max:
            raise fail(f"must not exceed max ({format_amount(self.min)} > {format_amount(self.max)})", at=("min",))
        return self


class SpendBounds(Strict):
    min: Amount = 0.0
    max: Amount | None = None
    periods: Annotated[dict[Name, PeriodSpend], AfterValidator(FrozenDict)] = FrozenDict()

    @model_validator(mode="after")
    def _ordered(self) -> SpendBounds:
        if self.max is not None and self.min > self.max:
            raise fail(f"must not exceed max ({format_amount(self.min)} > {format_amount(self.max)})", at=("min",))
        return self


class ResponseCell(Strict):
    region: Name
    channel: Name
    base: Amount = 0.0
    curve: Curve
    spend: SpendBounds = SpendBounds()
    gross_margin: Share | None = None
    min_roi: Roi | None = None
    carryover: Carryover | None = None  # overrides the channel's
    prior_spend: PriorSpend | None = None  # spend per period before the horizon (needs carryover)

    @property
    def key(self) -> tuple[str, str]:
        return (self.region, self.channel)


class ShareRange(Strict):
    min: Share = 0.0
    max: Share = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> ShareRange:
        if self.min > self.max:
            raise fail(f"must not exceed max ({format_share(self.min)} > {format_share(self.max)})", at=("min",))
        return self


class TempStaff(Strict):
    periods: tuple[Name, ...] = Field(min_length=1)
    cost_per_head: Amount
    revenue_capacity: Amount
    share_of_people_cost: ShareRange | None = None


HeadCount = Annotated[int, Field(ge=0, strict=True)]


class SalesForce(Strict):
    cost_per_head: Amount
    revenue_capacity: PositiveAmount
    current: Annotated[dict[Name, HeadCount], AfterValidator(FrozenDict)] = FrozenDict()
    max_hires_per_period: HeadCount | Annotated[dict[Name, HeadCount], AfterValidator(FrozenDict)] | None = None
    hire_cost: Amount = 0.0
    allow_release: bool = False
    release_cost: Amount = 0.0
    temp_staff: TempStaff | None = None


class Filter(RegionFilter):
    channel: tuple[Name, ...] | None = None
    period: tuple[Name, ...] | None = None

    @field_validator("channel", "period", mode="before")
    @classmethod
    def _one_or_many_more(cls, value):
        return _listed(value)

    def selects(self, region: str, region_class: str, period: str | None = None, channel: str | None = None) -> bool:
        """Whether the filter passes a (region, period, channel) item; a coordinate not given passes."""
        return (super().selects(region, region_class)
                and (self.period is None or period is None or period in self.period)
                and (self.channel is None or channel is None or channel in self.channel))


class RoiRange(_Range):
    min: Roi | None = None
    max: Roi | None = None


class ChangeFilter(Filter):
    """Which cells and periods a change limit holds for; ``realised_roi`` reads a re-plan's actuals."""

    realised_roi: RoiRange | None = None


class ChangeLimit(Strict):
    """Spend per cell and period may move at most this far from the reference plan."""

    where: ChangeFilter = ChangeFilter()
    max_increase: Annotated[float, share_validator(0.0, None)] | None = None
    max_decrease: Share | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> ChangeLimit:
        if self.max_increase is None and self.max_decrease is None:
            raise fail("needs `max_increase`, `max_decrease` or both")
        return self


class Reallocation(Strict):
    """Change limits against a reference plan (``docs/replan.md``): the original plan in a re-plan,
    or ``reference``, a plan file (``region, channel, period, spend``; an ``allocation.csv`` will do)."""

    reference: Text | None = None
    limits: tuple[ChangeLimit, ...] = Field(min_length=1)


Quantity = Literal["marketing_spend", "revenue", "people_cost", "headcount"]


class Policy(Strict):
    name: Name
    share: Quantity
    where: Filter
    of: Filter | None = None
    min: Share | None = None
    max: Share | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> Policy:
        if self.min is None and self.max is None:
            raise fail("needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise fail(f"must not exceed max ({format_share(self.min)} > {format_share(self.max)})", at=("min",))
        return self


def _none_means_unlimited(value: object) -> object:
    """``time_limit: none`` (or null) means no time limit; a number is seconds."""
    return None if isinstance(value, str) and value.strip().lower() == "none" else value


DEFAULT_TIME_LIMIT = 120.0  # seconds: no run hangs by default (docs/decisions.md)


class Solver(Strict):
    name: Literal["highs", "cbc"] = "highs"
    time_limit: Annotated[PositiveNumber | None, BeforeValidator(_none_means_unlimited)] = DEFAULT_TIME_LIMIT
    mip_gap: Share = 1e-4
    pwl_tolerance: Annotated[float, share_validator(1e-6, 0.5)] = 1e-3  # finer costs minutes before any solve
    exact_gap: Share = 1e-6  # refine the interpolant until the plan is this close to the exact-curve bound


MAX_NAME_BYTES = 200  # 255 (most file systems) less `.` ... `.XXXXXXXX.partial`, `-frontier` and `-9999`


class ScenarioModel(Strict):
    scenario: Annotated[Name, Field(max_length=120)]
    description: Text = ""
    currency: Text = ""
    periods: Periods = Field(default_factory=lambda: Periods(names=("FY",)))  # one period (docs/decisions.md)
    budget: Budget
    targets: Targets = Targets()
    regions: tuple[Region, ...] = Field(min_length=1)
    channels: tuple[Channel, ...] = Field(min_length=1)
    response: tuple[ResponseCell, ...] = ()
    response_model: str | None = None
    sales_force: SalesForce | None = None
    policies: tuple[Policy, ...] = ()
    reallocation: Reallocation | None = None  # docs/replan.md
    solver: Solver = Solver()
    decomposition: DecompositionConfig | None = None  # docs/decomposition.md
    uncertainty: Uncertainty | None = None  # docs/uncertainty.md
    stochastic: Stochastic | None = None  # docs/uncertainty.md, reserve sizing

    @field_validator("scenario")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        bad = sorted({c for c in name if c in "/\\" or ord(c) < 32})
        if bad:
            chars = ", ".join("`/`" if c == "/" else "`\\`" if c == "\\" else repr(c) for c in bad)
            raise fail(f"is used as a folder name, so it cannot contain {chars} (got {shown(name)})")
        if name.strip() in ("", ".", "..") or name != name.strip():
            raise fail(f"is used as a folder name, so it cannot be {shown(name)}")
        if len(name.encode("utf-8")) > MAX_NAME_BYTES:  # file systems allow 255 bytes, less our suffixes
            raise fail(f"is used as a folder name, so it must fit in {MAX_NAME_BYTES} bytes of UTF-8 "
                       f"(got {len(name.encode('utf-8'))})")
        return name

    @field_validator("regions", "channels")
    @classmethod
    def _unique_ids(cls, items, info):
        _check_unique([item.id for item in items], f"{info.field_name[:-1]} id", info.field_name, "id")
        return items

    @field_validator("policies")
    @classmethod
    def _unique_names(cls, items):
        _check_unique([item.name for item in items], "policy name", "policies", "name")
        return items


def _check_unique(values, what: str, list_path: str, field: str | None = None) -> None:
    """Fail at the second use of a value, naming the first."""
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in seen:
            at = (i, field) if field else (i,)
            raise fail(f"{what} {value!r} appears more than once (also {list_path}[{seen[value]}])", at=at)
        seen[value] = i
