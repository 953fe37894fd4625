"""Re-plan the rest of the year with the actuals so far (``allocator replan``, ``docs/replan.md``).

The periods up to ``as_of`` are fixed to the actuals (``allocator/model/past.py``); the rest of
the year is optimised again on the same planning model, so the budget left is ``budget.total``
less what was spent, and every floor and policy counts actuals plus plan. The plan carries
``changes`` (per cell and period: the original plan, the actuals and the new plan) and, in its
summary, ``replan``: what moved and why, in words.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from allocator.model.data import planning_data
from allocator.plan import Plan
from allocator.replanning.actuals import Actuals, read_actuals
from allocator.replanning.changes import change_table, explain
from allocator.scenario import Scenario
from allocator.scenario.errors import Problem, ScenarioError


def check_replan_options(scenario: Scenario, solver: str | None) -> None:
    """What a re-plan does not support is refused, never done half-right."""
    problems = []
    if scenario.stochastic is not None:
        problems.append(Problem("stochastic", None, "", "a re-plan is deterministic: remove the `stochastic:` "
                                "section (or plan its rest with `allocator run --stochastic`)"))
    if solver is not None and solver not in ("highs", "cbc"):
        problems.append(Problem("--solver", None, "", f"a re-plan runs on highs or cbc (got {solver!r})"))
    if problems:
        raise ScenarioError(problems)


def replan(scenario: Scenario, actuals: Actuals | str | Path, as_of: str | None = None, original: Plan | None = None,
           solver: str | None = None, time_limit: float | None = None, mip_gap: float | None = None,
           overrides: dict | None = None) -> Plan:
    """The rest of the year re-optimised with the periods up to ``as_of`` fixed to ``actuals``.

    ``actuals`` is the CSV's path (read with :func:`read_actuals`, ``as_of`` a period name or a
    date) or :class:`Actuals` already read. ``original`` is the plan being revised (default: the
    scenario solved as it stands). The plan's ``extra_tables`` hold ``changes`` and ``actuals``,
    and, as ``allocator run``'s do, the decomposition of the new plan (its months, weeks and days
    from now on are the new targets) and the provenance (``overrides``: ``--set`` changes applied).
    """
    from allocator.api import finish_run, solve, solve_data
    from allocator.decompose import check_inputs
    from allocator.report.provenance import NAME, file_sha256

    check_replan_options(scenario, solver)
    check_inputs(scenario)  # the decomposition's CSV inputs, read and checked before solving
    if not isinstance(actuals, Actuals):
        if as_of is None:
            raise ScenarioError([Problem("--as-of", None, "", "is needed: the last period (or a date) the actuals cover")])
        actuals = read_actuals(actuals, scenario, as_of)
    if original is None:  # the plan made before any actuals: the reallocation rules are for revising it
        start = scenario if scenario.reallocation is None else scenario.model_copy(update={"reallocation": None})
        original = solve(start, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
    _check_original(scenario, original)
    reference = realised = None
    if scenario.reallocation is not None:  # change limits hold against the original plan (or the file)
        from allocator.replanning.rules import read_reference, realised_roi

        realised = realised_roi(scenario, actuals.past)
        if scenario.reallocation.reference is not None:
            reference = read_reference(scenario)
        else:
            a = original.allocation
            reference = {(r, c, p): float(x) for r, c, p, x in zip(a.region, a.channel, a.period, a.spend)}
    from allocator.replanning.rules import unlocked_budgets

    unlocked, found = unlocked_budgets(scenario, actuals)
    data = planning_data(scenario, past=actuals.past, reference=reference, realised_roi=realised, unlocked=unlocked)
    kept = getattr(getattr(original, "model", None), "data", None)
    if kept is not None and kept.cells == data.cells and kept.periods == data.periods:
        # the original's refined breakpoints: the same interpolant, so equal actuals give the same plan
        data = dataclasses.replace(data, extra_points=kept.extra_points)
    plan = solve_data(scenario, data, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
    plan.extra_tables["actuals"] = actuals_table(actuals)
    if plan.has_plan:
        plan.extra_tables["changes"] = change_table(original, plan, actuals)
    plan.summary["replan"] = explain(scenario, original, plan, actuals, found)
    finish_run(plan, overrides, solver, time_limit, mip_gap)
    facts = plan.extra_tables.get(NAME)
    if facts is not None:  # where the actuals came from, beside the scenario's provenance
        more = [("actuals file", str(actuals.file)), ("actuals sha256", file_sha256(actuals.file)),
                ("actuals as of", actuals.as_of)]
        plan.extra_tables[NAME] = pd.concat([facts, pd.DataFrame(more, columns=facts.columns)], ignore_index=True)
    return plan


def _check_original(scenario: Scenario, original: Plan) -> None:
    if not original.has_plan:
        raise ScenarioError([Problem("--from", None, "", f"the original plan has no plan to revise "
                                     f"(status {original.status})")])
    want = {(c.region, c.channel, p) for c in scenario.response for p in scenario.periods.names}
    a = original.allocation
    have = set(zip(a.region, a.channel, a.period))
    if have != want:
        extra = sorted(have - want)[:3] or sorted(want - have)[:3]
        raise ScenarioError([Problem("--from", None, "", "the original plan's cells and periods are not the "
                                     f"scenario's (e.g. {', '.join('/'.join(k) for k in extra)})")])


def actuals_table(actuals: Actuals) -> pd.DataFrame:
    """``actuals.csv`` of the run folder: the actuals as fixed, one row per value and period."""
    past = actuals.past
    rows = [(p, r, c, metric, source[(r, c, p)]) for metric, source in (("spend", past.spend), ("revenue", past.revenue))
            for (r, c, p) in source]
    rows += [(p, r, "", metric, float(source[(r, p)])) for metric, source in (("core", past.core), ("temp", past.temp))
             for (r, p) in source]
    rows += [(p, r, "", "collection_rate", v) for (r, p), v in actuals.collection_rate.items()]
    return pd.DataFrame(rows, columns=["period", "region", "channel", "metric", "value"])

