"""Defaults a planner should see: values the scenario left out that change the plan.

Validation accepts them (they are documented in ``docs/scenario-format.md``), and ``allocator
validate`` and ``allocator run`` print each as a note, so a left-out value never plans in silence.
"""

from __future__ import annotations

from allocator.scenario.schema import ScenarioModel


def default_notes(s: ScenarioModel) -> list[str]:
    """One line per default taken that moves money or targets, in file order."""
    notes = []
    if "periods" not in s.model_fields_set:
        notes.append("periods: not given, so one period `FY` covers the whole plan")
    channel = {c.id: c for c in s.channels}
    for i, cell in enumerate(s.response):
        if "base" not in cell.model_fields_set:
            notes.append(f"response[{i}] ({cell.region}/{cell.channel}): no `base`, so its revenue without "
                         "marketing is taken as 0")
        own = channel.get(cell.channel)
        carry = cell.carryover if cell.carryover is not None else own.carryover if own is not None else None
        if carry is not None and carry.decay > 0 and carry.max_lag > 0 and cell.prior_spend is None:
            notes.append(f"response[{i}] ({cell.region}/{cell.channel}): carryover without `prior_spend`, so no "
                         "spend before the horizon carries into its first periods")
        if carry is not None and (carry.decay == 0 or carry.max_lag == 0) and cell.prior_spend is not None:
            notes.append(f"response[{i}] ({cell.region}/{cell.channel}): `prior_spend` has no effect: its carryover "
                         "has decay 0 or max_lag 0 (no carryover)")
    section = s.reallocation
    if section is not None and section.reference is None:
        notes.append("reallocation: no `reference` plan file, so its change limits hold only in "
                     "`allocator replan` (against the original plan)")
    return notes
