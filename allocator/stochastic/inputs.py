"""The planning data of a stochastic plan: the scenario's data with one drawn copy of the cells
per sample (``PlanningData.samples``), the reserve range it is sized in, and a common grid."""

from __future__ import annotations

from dataclasses import replace

from allocator.model.data import Cell, PlanningData, SampleSet, planning_data
from allocator.scenario import Problem, Scenario, ScenarioError
from allocator.stochastic.schema import MAX_STOCHASTIC_SAMPLES, Stochastic, checkpoint_of
from allocator.uncertainty.curves import varied
from allocator.uncertainty.sampling import Draws, draw, uncertainty_of


def section(scenario: Scenario) -> Stochastic:
    """The scenario's ``stochastic:`` section, or its defaults (``--stochastic`` on a scenario without one)."""
    return scenario.stochastic if scenario.stochastic is not None else Stochastic()


def check_stochastic(scenario: Scenario, samples: int | None = None, seed: int | None = None) -> None:
    """Everything a stochastic run needs, checked before any solve (an input error otherwise)."""
    problems = []
    if samples is not None and not 1 <= samples <= MAX_STOCHASTIC_SAMPLES:
        problems.append(Problem("--samples", None, "", f"must be between 1 and {MAX_STOCHASTIC_SAMPLES:,} "
                                f"for a stochastic plan (got {samples})"))
    if seed is not None and seed < 0:
        problems.append(Problem("--seed", None, "", f"must be >= 0 (got {seed})"))
    carrying = [f"channels[{c.id}].carryover" for c in scenario.channels if c.carryover is not None]
    carrying += [f"response[{c.region}/{c.channel}].carryover" for c in scenario.response if c.carryover is not None]
    if carrying:  # carryover ties periods together: not in the sample blocks yet
        shown = ", ".join(carrying[:3]) + (f" and {len(carrying) - 3} more" if len(carrying) > 3 else "")
        problems.append(Problem(scenario.source, None, "carryover", f"a stochastic plan cannot model carryover yet "
                                f"({shown}): remove `carryover:` or run without --stochastic"))
    if len(scenario.periods.names) < 2:
        problems.append(Problem(scenario.source, None, "periods.names", "a stochastic plan needs at least two "
                                "periods: one before the checkpoint, one after"))
    if problems:
        raise ScenarioError(problems)
    uncertainty_of(scenario)  # an input error naming the file when there is no `uncertainty:` section


def reserve_range(scenario: Scenario) -> tuple[float, float]:
    r = section(scenario).reserve or scenario.budget.reserve
    return float(r.min), float(r.max)


def drawn_cells(data: PlanningData, draws: Draws, rows: range) -> tuple[tuple[Cell, ...], ...]:
    """The cells of samples ``rows``: drawn base and curve parameters, bounds and margins as planned."""
    out = []
    for k in rows:
        cells = []
        for i, cell in enumerate(data.cells):
            factors = draws.one(k, i)
            curve = type(cell.curve).model_validate(varied(cell.curve, factors)) if factors else cell.curve
            cells.append(replace(cell, base=cell.base * float(draws.factors["base"][k, i]), curve=curve))
        out.append(tuple(cells))
    return tuple(out)


def stochastic_data(scenario: Scenario, samples: int | None = None, seed: int | None = None, *,
                    draws: Draws | None = None, rows: range | None = None, risk: bool = True) -> PlanningData:
    """The scenario's planning data with ``samples`` drawn sample blocks (default: the section's),
    drawn with ``seed`` (default: the section's, else the uncertainty section's). ``draws`` and
    ``rows`` give the samples instead (an evaluation batch); ``risk=False`` drops the CVaR rule."""
    from allocator.model.samples import common_points

    check_stochastic(scenario, samples, seed)
    st = section(scenario)
    if draws is None:
        draws = draw(scenario, samples or st.samples, seed_of(scenario, seed))
    rows = rows if rows is not None else range(draws.samples)
    data = planning_data(scenario)
    data = replace(data, reserve=reserve_range(scenario))
    cells = drawn_cells(data, draws, rows)
    rule = st.risk if risk else None
    first = data.periods.index(checkpoint_of(st, data.periods)) + 1
    sample_set = SampleSet(cells, first, cvar_level=rule.cvar_level if rule else None,
                           min_cvar=rule.min_cvar_margin if rule else None,
                           risk_weight=rule.risk_weight or 0.0 if rule else 0.0, premium=st.recourse_premium)
    return replace(data, extra_points=common_points(data, cells), samples=sample_set)


def seed_of(scenario: Scenario, seed: int | None = None) -> int:
    if seed is not None:
        return seed
    st = section(scenario)
    return st.seed if st.seed is not None else uncertainty_of(scenario).seed
