"""The run folder of a re-plan: the run folder of ``allocator run`` plus ``changes.csv`` and
``actuals.csv``, named ``<scenario>-replan-<as-of>`` (``-2``, ``-3``... when taken)."""

from __future__ import annotations

from pathlib import Path

from allocator.output import write_run


def folder_name(plan) -> str:
    return f"{plan.scenario.scenario}-replan-{plan.summary['replan']['as_of']}"


def write_replan(plan, out_dir: str | Path = "runs") -> Path:
    """Write the re-plan's run folder whole or not at all; its path."""
    return write_run(plan, Path(out_dir), folder_name(plan))
