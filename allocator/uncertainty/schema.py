"""The ``uncertainty:`` section of a scenario (or of a response-model file): how far each curve
parameter and base may be off, as a coefficient of variation (docs/uncertainty.md).

A leaf of the scenario schema: it builds on ``allocator.scenario.types`` only, so that
``allocator.scenario.schema`` can import it. ``cross_check`` relates it to the response cells.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from allocator.scenario.amounts import format_share
from allocator.scenario.types import Name, Share, Strict, fail, share_validator

# Which parameters each curve type has (``lift`` and ``spend`` scale a points curve's two axes).
CURVE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "hill": ("max_lift", "half_saturation", "shape"),
    "exp": ("max_lift", "scale"),
    "log": ("scale_lift", "scale"),
    "linear": ("roas", "cap"),
    "points": ("lift", "spend"),
}
PARAMETERS = ("base", *dict.fromkeys(p for names in CURVE_PARAMETERS.values() for p in names))
MAX_SAMPLES = 100_000
MAX_SPREAD = 5.0

Spread = Annotated[float, share_validator(0.0, MAX_SPREAD)]


class Spreads(Strict):
    """Relative spread (coefficient of variation) per parameter; a parameter left out does not vary."""

    base: Spread | None = None
    max_lift: Spread | None = None
    half_saturation: Spread | None = None
    shape: Spread | None = None
    scale: Spread | None = None
    scale_lift: Spread | None = None
    roas: Spread | None = None
    cap: Spread | None = None
    lift: Spread | None = None
    spend: Spread | None = None

    def given(self) -> dict[str, float]:
        return {name: value for name in PARAMETERS if (value := getattr(self, name)) is not None}


class CellSpreads(Strict):
    region: Name
    channel: Name
    spread: Spreads


class Correlation(Strict):
    """Correlation between the draws of one parameter in two cells of the same channel / region."""

    channel: Share = 0.0
    region: Share = 0.0

    @model_validator(mode="after")
    def _at_most_one(self) -> Correlation:
        if self.channel + self.region > 1.0 + 1e-12:
            total = format_share(self.channel + self.region)
            raise fail(f"channel and region correlation must sum to at most 100% (sum to {total})", at=("region",))
        return self


class Uncertainty(Strict):
    distribution: Literal["lognormal", "truncnormal"] = "lognormal"
    spread: Spreads = Spreads()
    cells: tuple[CellSpreads, ...] = ()
    correlation: Correlation = Correlation()
    samples: Annotated[int, Field(ge=1, le=MAX_SAMPLES, strict=True)] = 10_000
    seed: Annotated[int, Field(ge=0, strict=True)] = 0

    def spread_of(self, region: str, channel: str) -> dict[str, float]:
        """The spreads of one cell: its own entry over the section's ``spread``."""
        merged = self.spread.given()
        for entry in self.cells:
            if (entry.region, entry.channel) == (region, channel):
                merged.update(entry.spread.given())
        return merged


def cross_check(s) -> list[tuple[tuple[object, ...], str]]:
    """Problems of the ``uncertainty:`` section against the response cells, as (loc, message)."""
    from allocator.scenario.checks import did_you_mean

    u = getattr(s, "uncertainty", None)
    if not isinstance(u, Uncertainty):  # absent, or (in a partly parsed scenario) not valid itself
        return []
    try:
        cells = {(c.region, c.channel): c for c in s.response if isinstance(c.curve.type, str)}
    except (AttributeError, TypeError):  # response cells that did not parse: nothing to check against
        return []
    names = [f"{r}/{c}" for r, c in cells]
    problems = []
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(u.cells):
        key = (entry.region, entry.channel)
        at = ("uncertainty", "cells", i)
        if key in seen:
            problems.append((at, f"cell {entry.region}/{entry.channel} is listed twice (also uncertainty.cells[{seen[key]}])"))
        seen.setdefault(key, i)
        cell = cells.get(key)
        if cell is None:
            label = f"{entry.region}/{entry.channel}"
            problems.append((at, f"no response cell {label}{did_you_mean(label, names)}"))
            continue
        kind = cell.curve.type
        for name in entry.spread.given():
            if name == "base":
                continue
            if name not in CURVE_PARAMETERS[kind]:
                known = ", ".join(("base", *CURVE_PARAMETERS[kind]))
                problems.append(((*at, "spread", name), f"a {kind} curve has no `{name}` (it can vary: {known})"))
            elif name == "cap" and cell.curve.cap is None:
                problems.append(((*at, "spread", name), f"the curve of {entry.region}/{entry.channel} has no cap"))
    return problems
