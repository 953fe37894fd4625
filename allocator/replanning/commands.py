"""The ``replan`` command; ``register(app)`` adds it to the allocator CLI (``docs/replan.md``).

Exit status: 0 a plan, 1 no plan for the rest of the year (the diagnosis says why), 2 invalid
input (every problem as ``file:line field: message``), 3 a bug (one line; traceback with ``--debug``).
The run folder ``<scenario>-replan-<as-of>`` is written whole or not at all, never over another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator import progress, runtime
from allocator.cli_common import EXIT_NO_PLAN, _check_solver, _guard, err, out, parse_sets
from allocator.runtime import QUIET_HELP, TIME_LIMIT_HELP, parse_time_limit


def register(app: typer.Typer) -> None:
    """Add ``replan`` to ``app``."""
    app.command("replan")(replan_command)


def replan_command(
    scenario: Annotated[Path, typer.Argument(help="The scenario file.")],
    actuals: Annotated[Path, typer.Argument(help="Actuals CSV: period, region, channel, metric, value.")],
    as_of: Annotated[str, typer.Option("--as-of", help="The last period that is over (a name), or a date.")],
    from_: Annotated[Path | None, typer.Option("--from", help="Run folder of the original plan "
                                               "(default: solve the scenario as it stands).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for run folders.")] = Path("runs"),
    solver: Annotated[str | None, typer.Option(help="highs (default) or cbc.")] = None,
    time_limit: Annotated[float | None, typer.Option(help=TIME_LIMIT_HELP, parser=parse_time_limit)] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap at which to stop.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: PATH=VALUE (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option(help=QUIET_HELP)] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Re-plan the rest of the year with the actuals so far; writes changes.csv beside the plan."""
    from allocator.cli import print_summary
    from allocator.output import ReportError, check_out_dir, read_run
    from allocator.replanning.actuals import read_actuals
    from allocator.replanning.output import write_replan
    from allocator.replanning.replan import check_replan_options, replan
    from allocator.scenario import load_scenario

    def go():
        _check_solver(solver, time_limit, mip_gap)
        sc = load_scenario(scenario)
        changes = parse_sets(set_)
        if changes:
            sc = sc.with_changes(changes)
        check_replan_options(sc, solver)
        for note in sc.notes:
            out.print(f"note: {note}", markup=False, highlight=False)
        read = read_actuals(actuals, sc, as_of)  # every bad row is found before any solving
        original = read_run(from_) if from_ is not None else None
        check_out_dir(out_dir)
        with progress.show_on(err, quiet), runtime.keep_best_plan():
            plan = replan(sc, read, original=original, solver=solver, time_limit=time_limit, mip_gap=mip_gap,
                          overrides=changes)
        if plan.status in ("not_solved", "error"):
            return plan, None, {}
        try:
            return plan, write_replan(plan, out_dir), {}
        except ReportError as exc:
            return plan, exc.folder, exc.failures

    plan, folder, failed = _guard(debug, go)
    for line in plan.summary["replan"]["sentences"]:
        out.print(line, markup=False, highlight=False)
    print_summary(plan, folder, time_limit)
    from allocator.cli import _report_failures

    _report_failures(failed, debug)
    if not plan.has_plan:
        raise typer.Exit(EXIT_NO_PLAN)
