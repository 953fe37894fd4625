"""The CSV inputs of a ``decomposition:`` section, read and checked against the scenario.

Paths are relative to ``base_dir`` (the folder of the scenario or config file). Every problem
in every file is collected and raised at once as a :class:`DecompositionError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from allocator.decompose import csvio
from allocator.decompose.calendar import weekday_shares_from_sample
from allocator.decompose.config import SHARE_TOLERANCE, STAGES, WEEKDAYS, DecompositionConfig, Loc
from allocator.decompose.csvio import Column
from allocator.decompose.errors import ConfigSource, DecompositionError
from allocator.scenario.amounts import format_share
from allocator.scenario.checks import did_you_mean
from allocator.scenario.errors import Problem

ROSTER_COLUMNS = ["rep", "region", "tier", "capacity", "period_capacity", "start", "end", "line"]


@dataclass
class Inputs:
    """What the CSVs hold, as tidy frames (``None`` where the section does not ask for it)."""

    weekday_shares: dict[str, float] | None = None
    products: pd.DataFrame | None = None  # product, tier, share (NaN unless explicit)
    history: pd.DataFrame | None = None  # month, product, revenue[, region][, channel]
    roster: pd.DataFrame | None = None  # ROSTER_COLUMNS (capacity per plan horizon, or per period)
    funnel: pd.DataFrame | None = None  # source, share, STAGES..., deal_value
    files: dict[Loc, Path] = field(default_factory=dict)  # every CSV read, by its place in the section

    def name(self, loc: Loc) -> str:
        """The CSV at ``loc`` as messages show it."""
        return os.path.normpath(self.files[loc])


@dataclass(frozen=True)
class Context:
    """What the CSVs are checked against."""

    regions: tuple[str, ...]
    channels: tuple[str, ...]
    default_capacity: float | None  # sales_force.revenue_capacity (per plan horizon), if any


def display_path(base_dir: Path, ref: str) -> str:
    return os.path.normpath(base_dir / ref)


def load_inputs(config: DecompositionConfig, base_dir: Path, source: ConfigSource, context: Context) -> Inputs:
    """Read every CSV the section names; raise with every problem of every file."""
    inputs = Inputs()
    problems: list[Problem] = []
    readers = {
        ("calendar", "weekdays", "history"): _weekday_history,
        ("products", "file"): _products,
        ("products", "history"): _history,
        ("reps", "roster"): _roster,
        ("funnel", "file"): _funnel_file,
    }
    for loc, ref in config.csv_paths().items():
        path = base_dir / ref
        inputs.files[loc] = path
        try:
            readers[loc](path, display_path(base_dir, ref), config, context, inputs)
        except DecompositionError as exc:
            problems += exc.problems
    weekdays = config.calendar.weekdays
    if weekdays is not None and weekdays.shares is not None:
        total = sum(weekdays.shares.values())
        inputs.weekday_shares = {d: v / total for d, v in weekdays.shares.items()}
    elif weekdays is not None and weekdays.sample is not None:
        inputs.weekday_shares = weekday_shares_from_sample(weekdays.sample)
    if config.funnel is not None and config.funnel.sources is not None:
        inputs.funnel = pd.DataFrame([s.model_dump() for s in config.funnel.sources])
        inputs.funnel["deal_value"] = inputs.funnel["deal_value"].fillna(config.funnel.deal_value or 0.0)
    if config.products is not None and inputs.products is not None and not problems:
        problems += _product_problems(config, inputs, source)
    if problems:
        raise DecompositionError(problems)
    return inputs


def _unknown(what: str, value: object, known: tuple[str, ...] | list[str]) -> str:
    hint = did_you_mean(str(value), known) or f" (known: {', '.join(map(str, known))})"
    return f"unknown {what} {value!r}{hint}"


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise DecompositionError(problems)


def _weekday_history(path: Path, file: str, config, context, inputs: Inputs) -> None:
    table = csvio.read_table(path, [Column("date", csvio.date), Column("amount", csvio.amount)], file)
    _raise(csvio.duplicates(table, ("date",), "date"))
    if not table.rows:
        _raise([Problem(file, None, "", "has no rows")])
    frame = pd.DataFrame([r.values for r in table.rows])
    frame["weekday"] = [WEEKDAYS[d.weekday()] for d in frame["date"]]
    means = frame.groupby("weekday")["amount"].mean()
    missing = [d for d in WEEKDAYS if d not in means.index]
    if missing:
        _raise([Problem(file, None, "date", f"needs every weekday at least once (missing {', '.join(missing)})")])
    if means.sum() <= 0:
        _raise([Problem(file, None, "amount", "all amounts are 0")])
    inputs.weekday_shares = weekday_shares_from_sample([means[d] for d in WEEKDAYS])


def _products(path: Path, file: str, config: DecompositionConfig, context, inputs: Inputs) -> None:
    by_tier = config.products.split == "tiers"
    columns = [Column("product", csvio.text), Column("tier", csvio.text, required=by_tier, blank_ok=not by_tier),
               Column("share", csvio.share, required=False, blank_ok=True)]
    table = csvio.read_table(path, columns, file)
    problems = csvio.duplicates(table, ("product",), "product")
    tiers = list(config.products.tiers)
    for row in table.rows:
        if by_tier and row["share"] is None and row["tier"] not in tiers:
            problems.append(Problem(file, row.line, "tier", _unknown("tier", row["tier"], tiers)))
    if not table.rows:
        problems.append(Problem(file, None, "", "has no products"))
    _raise(problems)
    inputs.products = pd.DataFrame(
        [(r["product"], r["tier"] or "", r["share"], r.line) for r in table.rows],
        columns=["product", "tier", "share", "line"],
    ).astype({"share": float})


def _history(path: Path, file: str, config, context: Context, inputs: Inputs) -> None:
    columns = [Column("month", csvio.month), Column("product", csvio.text), Column("revenue", csvio.amount),
               Column("region", csvio.text, required=False), Column("channel", csvio.text, required=False)]
    table = csvio.read_table(path, columns, file)
    problems = csvio.duplicates(table, tuple(c for c in ("month", "product", "region", "channel") if table.has(c)),
                                "history row")
    for row in table.rows:
        if table.has("region") and row["region"] not in context.regions:
            problems.append(Problem(file, row.line, "region", _unknown("region", row["region"], context.regions)))
        if table.has("channel") and row["channel"] not in context.channels:
            problems.append(Problem(file, row.line, "channel", _unknown("channel", row["channel"], context.channels)))
    if table.has("channel") and config.products.by == "region":
        problems.append(Problem(file, 1, "channel", "products are split by region (products.by: region); "
                                                    "drop this column or set by: region_channel"))
    _raise(problems)
    frame = pd.DataFrame([r.values for r in table.rows], columns=list(table.columns))
    frame.attrs["lines"] = [r.line for r in table.rows]
    inputs.history = frame


def _roster(path: Path, file: str, config: DecompositionConfig, context: Context, inputs: Inputs) -> None:
    columns = [Column("rep", csvio.text), Column("region", csvio.text), Column("tier", csvio.text),
               Column("capacity", csvio.positive_amount, required=False, blank_ok=True),
               Column("period_capacity", csvio.positive_amount, required=False, blank_ok=True),
               Column("start", csvio.date, required=False, blank_ok=True),
               Column("end", csvio.date, required=False, blank_ok=True)]
    table = csvio.read_table(path, columns, file, keep_going=True)
    problems = list(table.problems) + csvio.duplicates(table, ("rep",), "rep")
    tiers = list(config.reps.multipliers)
    for row in table.rows:
        if row["region"] is not None and row["region"] not in context.regions:
            problems.append(Problem(file, row.line, "region", _unknown("region", row["region"], context.regions)))
        if row["tier"] is not None and row["tier"] not in tiers:
            problems.append(Problem(file, row.line, "tier", _unknown("tier", row["tier"], tiers) + " (reps.multipliers)"))
        if row["capacity"] is not None and row["period_capacity"] is not None:
            problems.append(Problem(file, row.line, "period_capacity", "give capacity or period_capacity, not both"))
        bad = {p.path for p in table.problems if p.line == row.line}
        if (row["capacity"] is None and row["period_capacity"] is None and context.default_capacity is None
                and not bad & {"capacity", "period_capacity"}):
            problems.append(Problem(file, row.line, "capacity", "is needed (the scenario has no "
                                                                "sales_force.revenue_capacity to default to)"))
        if row["start"] is not None and row["end"] is not None and row["end"] < row["start"]:
            problems.append(Problem(file, row.line, "end", f"is before start ({row['end']} < {row['start']})"))
    if not table.rows:
        problems.append(Problem(file, None, "", "has no reps"))
    _raise(problems)
    inputs.roster = pd.DataFrame(
        [(r["rep"], r["region"], r["tier"],
          r["capacity"] if r["capacity"] is not None or r["period_capacity"] is not None else context.default_capacity,
          r["period_capacity"], r["start"], r["end"], r.line) for r in table.rows],
        columns=ROSTER_COLUMNS,
    ).astype({"capacity": float, "period_capacity": float})


def _funnel_file(path: Path, file: str, config: DecompositionConfig, context, inputs: Inputs) -> None:
    columns = [Column("source", csvio.text), Column("share", csvio.share)]
    columns += [Column(stage, csvio.positive_share) for stage in STAGES]
    columns.append(Column("deal_value", csvio.positive_amount, required=False, blank_ok=True))
    table = csvio.read_table(path, columns, file)
    problems = csvio.duplicates(table, ("source",), "source")
    for row in table.rows:
        if row["deal_value"] is None and config.funnel.deal_value is None:
            problems.append(Problem(file, row.line, "deal_value", "is needed (no funnel.deal_value to default to)"))
    total = sum(r["share"] for r in table.rows)
    if table.rows and abs(total - 1.0) > SHARE_TOLERANCE:
        problems.append(Problem(file, None, "share", f"shares of the sources must sum to 100% (sum to {format_share(total)})"))
    if not table.rows:
        problems.append(Problem(file, None, "", "has no sources"))
    _raise(problems)
    frame = pd.DataFrame([r.values for r in table.rows], columns=["source", "share", *STAGES, "deal_value"])
    frame["deal_value"] = frame["deal_value"].astype(float).fillna(config.funnel.deal_value or 0.0)
    inputs.funnel = frame


def _product_problems(config: DecompositionConfig, inputs: Inputs, source: ConfigSource) -> list[Problem]:
    """Checks across the product list, the tiers and the history."""
    products, cfg = inputs.products, config.products
    file = inputs.name(("products", "file"))
    problems = []
    explicit = float(products["share"].fillna(0).sum())
    if explicit > 1.0 + 1e-9:
        problems.append(Problem(file, None, "share", f"explicit shares sum to {format_share(explicit)}, above 100%"))
    if cfg.split == "tiers":
        open_tiers = set(products.loc[products["share"].isna(), "tier"])
        for tier, value in cfg.tiers.items():
            if value > 0 and tier not in open_tiers:
                problems.append(source.problem(("products", "tiers", tier),
                                               f"tier {tier!r} has {format_share(value)} but no product without an explicit share in {file}"))
    elif inputs.history is not None:
        known = set(products["product"])
        history, lines = inputs.history, inputs.history.attrs.get("lines", [])
        hfile = inputs.name(("products", "history"))
        for product, line in zip(history["product"], lines):
            if product not in known:
                problems.append(Problem(hfile, line, "product", _unknown("product", product, sorted(known))
                                        + f"; add it to {file} or remove its rows"))
        seen = set(history["product"])
        for product, value, line in zip(products["product"], products["share"], products["line"]):
            if product not in seen and pd.isna(value):
                problems.append(Problem(file, int(line), "share", f"product {product!r} has no history; "
                                                                  "give it an explicit share (a new product)"))
    return problems
