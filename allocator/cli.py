"""The command line: a thin layer over the API. Exit 0 a plan, 1 no plan, 2 invalid input.

A traceback appears only with ``--debug``; every user mistake is a message naming file, line
and field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from allocator import progress, runtime
from allocator.cli_common import (  # noqa: F401 (cli.parse_sets and the rest stay importable from here)
    EXIT_BUG,
    EXIT_INVALID,
    EXIT_NO_PLAN,
    EXIT_PLAN,
    _cell,
    _check_solver,
    _fail_invalid,
    _guard,
    err,
    out,
    parse_sets,
)
from allocator.decompose.commands import register as register_decomposition
from allocator.fit.commands import register as register_fit
from allocator.output import check_out_dir
from allocator.replanning.commands import register as register_replan
from allocator.runtime import QUIET_HELP, TIME_LIMIT_HELP, parse_time_limit
from allocator.scenario import ScenarioError, load_scenario
from allocator.scenario.errors import Problem
from allocator.sensitivity.commands import register as register_sensitivity
from allocator.uncertainty.commands import register as register_risk

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Turn a sales plan into an optimisation problem and solve it.")
def _show_version(value: bool) -> None:
    if value:
        from allocator import __version__

        out.print(f"allocator {__version__}", highlight=False, markup=False)
        raise typer.Exit(EXIT_PLAN)


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Turn a sales plan into an optimisation problem and solve it."""


@app.command()
def validate(scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
             debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False) -> None:
    """Check scenario files; print every problem as file:line path: message."""
    problems = []
    for path in scenarios:
        try:
            loaded = _guard(debug, lambda path=path: _load_and_check(path))
            out.print(f"ok: {path}", highlight=False, markup=False)
            for note in loaded.notes:  # defaults that change the plan, never taken in silence
                out.print(f"  note: {note}", markup=False, highlight=False)
        except typer.Exit as exc:
            if exc.exit_code != EXIT_INVALID:
                raise
            problems.append(path)
    if problems:
        raise typer.Exit(EXIT_INVALID)


def _load_and_check(path: Path):
    """The scenario, and the files it names that ``validate`` can check without solving."""
    scenario = load_scenario(path)
    if scenario.reallocation is not None and scenario.reallocation.reference is not None:
        from allocator.replanning.rules import read_reference

        read_reference(scenario)  # its file exists and every row names a cell and period of the scenario
    return scenario


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="The scenario file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for run folders.")] = Path("runs"),
    solver: Annotated[str | None, typer.Option(
        help="highs (default), cbc, or a solver PuLP drives when installed (glpk, gurobi, cplex, scip, ...).")] = None,
    time_limit: Annotated[float | None, typer.Option(help=TIME_LIMIT_HELP, parser=parse_time_limit)] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap at which to stop.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: PATH=VALUE (repeatable).")] = None,
    write_model: Annotated[Path | None, typer.Option(
        help="Also write the exact model solved to this .mps or .lp file (for another solver).")] = None,
    quiet: Annotated[bool, typer.Option(help=QUIET_HELP)] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
    stochastic: Annotated[bool | None, typer.Option(
        "--stochastic/--deterministic",
        help="Size the reserve with a two-stage stochastic plan (default: when the scenario has a "
             "`stochastic:` section; docs/uncertainty.md).")] = None,
    samples: Annotated[int | None, typer.Option(help="Samples of a stochastic plan (default: the section's, else 50).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of a stochastic plan's samples (default: the section's).")] = None,
) -> None:
    """Solve a scenario and write its run folder (Ctrl-C: stop and write the best plan so far)."""

    from allocator.api import check_model_path
    from allocator.api import run as run_plan  # the solver stack loads only for commands that solve
    from allocator.output import ReportError

    def go():
        _check_solver(solver, time_limit, mip_gap)
        check_model_path(write_model)
        sc = load_scenario(scenario)
        changes = parse_sets(set_)
        if changes:
            sc = sc.with_changes(changes)
        for note in sc.notes:  # defaults that change the plan, never taken in silence
            out.print(f"note: {note}", markup=False, highlight=False)
        check_out_dir(out_dir)  # an unwritable --out is found before minutes of solving
        with progress.show_on(err, quiet), runtime.keep_best_plan():
            plan = run_plan(sc, solver=solver, time_limit=time_limit, mip_gap=mip_gap, write_model=write_model,
                            overrides=changes, stochastic=stochastic, samples=samples,
                            seed=seed)  # checks the decomposition's inputs first
        _mark_interrupted(plan)
        if plan.status in ("not_solved", "error"):
            return plan, None, {}  # no plan and nothing to diagnose: a failed run leaves nothing
        try:
            return plan, plan.write(out_dir), {}
        except ReportError as exc:  # the tables are written; a report could not be drawn
            return plan, exc.folder, exc.failures

    plan, folder, failed = _guard(debug, go)
    print_summary(plan, folder, time_limit)
    _report_failures(failed, debug)
    if runtime.interrupted():
        gap = plan.summary.get("mip_gap")
        err.print("interrupted: the best plan found so far was written" + (f" (MIP gap {gap:.2e})." if gap is not None else "."))
        raise typer.Exit(runtime.exit_code())
    if not plan.has_plan:
        raise typer.Exit(EXIT_NO_PLAN)


def _mark_interrupted(plan) -> None:
    """An interrupted solve: its best plan is written with ``interrupted: true``; without one, nothing."""
    plan.summary["interrupted"] = runtime.interrupted()
    if runtime.interrupted() and not plan.has_plan:
        raise runtime.interruption()


def _report_failures(failed: dict[str, str], debug: bool) -> None:
    """Reports that could not be drawn (the plan's tables are written): named, then exit 3."""
    for name, why in failed.items():
        err.print(f"internal error: {name} could not be drawn ({why}); the plan's tables are written.",
                  markup=False)
    if failed:
        err.print("`allocator report FOLDER --debug` shows the traceback.")
        raise typer.Exit(EXIT_BUG)


def print_summary(plan, folder: Path | None, time_limit: float | None = None) -> None:
    """The plan in plain words (the machine names stay in summary.json); user text escaped."""
    from rich.markup import escape

    from allocator.report import words

    s = plan.summary
    currency = plan.scenario.currency
    budget = float(plan.scenario.budget.total)
    status = words.STATUS_WORDS.get(str(s["status"]), str(s["status"]))
    table = Table(title=f"{escape(str(s['scenario']))}: {status}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    if plan.has_plan:
        for key in ("objective", "exact_curve_margin", "revenue", "marketing_spend", "people_cost",
                    "reserve", "unallocated"):
            shown = words.money(s[key], currency)
            name = words.label(key)
            if s.get("stochastic") and key in ("objective", "exact_curve_margin"):  # the plan as written
                name = "margin if the reserve is not spent" + (" (exact curves)" if key != "objective" else "")
            if key == "unallocated" and s[key] is not None and budget > 0:
                shown += f" ({s[key] / budget:.1%})"
            table.add_row(name, escape(shown))
        roi = s["marketing_roi"]
        table.add_row("marketing ROI (margin)", "-" if roi is None else f"{roi:.1%}")
        price = s["budget_shadow_price"]
        table.add_row(escape(words.label("budget_shadow_price", currency)), "-" if price is None else f"{price:.3f}")
        table.add_row("optimality", words.gap_words(str(s["status"]), s["mip_gap"]))
        bound, gap = s.get("exact_curve_bound"), s.get("exact_curve_gap")
        if bound is not None and gap is not None:
            table.add_row("best possible on the exact curves", escape(words.money(bound, currency)))
            table.add_row("exact-curve gap", f"{gap:.2e}")
    table.add_row("solver", f"{escape(str(s['solver']))} ({s['solve_seconds']:.2f} s)")
    out.print(table)
    sentence = words.time_limit_sentence(s, time_limit or plan.scenario.solver.time_limit)
    note = words.unallocated_note(plan)
    if note is not None:
        err.print("\n".join(note.lines()), markup=False, highlight=False, style="yellow")
    if plan.diagnosis is not None:
        err.print("No plan satisfies every constraint: " + plan.diagnosis["explanation"], markup=False)
    elif not plan.has_plan and s.get("solver_message"):
        err.print(f"The solver refused the model: {s['solver_message']}.", markup=False)
    elif sentence is not None:
        err.print(sentence, markup=False, highlight=False)
    from allocator.stochastic.report import sentences

    for line in sentences(s, currency, budget):  # a stochastic run: the reserve and its value in words
        out.print(line, markup=False, highlight=False)
    if folder is None:
        out.print("nothing written (no plan).", highlight=False)
    else:
        out.print(f"written: {folder}", highlight=False, markup=False)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run folder written by `allocator run`.")],
           debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False) -> None:
    """Regenerate plan.xlsx and report.html of a run folder."""
    from allocator.output import draw_reports, read_run, replace_file

    def go() -> dict[str, str]:
        plan = read_run(run_dir)  # a damaged or foreign folder is exit 2, named
        return draw_reports(plan, run_dir, replace_file, strict=debug)  # each on its own; a failure is named

    failed = _guard(debug, go)
    written = [run_dir / name for name in ("plan.xlsx", "report.html") if name not in failed]
    if written:
        out.print(f"written: {', '.join(map(str, written))}", highlight=False)
    _report_failures(failed, debug)


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files, one option each.")],
    variant: Annotated[list[str] | None, typer.Option(
        help="An option derived from the first scenario: 'PATH=VALUE;PATH=VALUE' (repeatable).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override for every option (repeatable).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the comparison folder.")] = Path("runs"),
    solver: Annotated[str | None, typer.Option(help="highs (default) or cbc.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per option, or none.", parser=parse_time_limit)] = None,
    quiet: Annotated[bool, typer.Option(help=QUIET_HELP)] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Solve budget options and write them side by side (compare.csv, .xlsx, .html)."""
    from rich.markup import escape

    from allocator.compare import check_currencies, compare_table, option_names, solve_options
    from allocator.report import words
    from allocator.report.comparison import write_comparison

    def go():
        _check_solver(solver, time_limit)
        common = parse_sets(set_)
        loaded = [load_scenario(p) for p in scenarios]
        options = [s.with_changes(common) if common else s for s in loaded]
        labels = [s.scenario for s in options]
        for text in variant or []:
            changes = parse_sets([part for part in text.split(";") if part.strip()])
            options.append(options[0].with_changes(changes))
            labels.append(f"{options[0].scenario} [{text}]")
        names = option_names(options, labels)
        currency = check_currencies(options, names)
        check_out_dir(out_dir)
        with progress.show_on(err, quiet):
            plans = solve_options(options, solver, time_limit)
        return plans, names, write_comparison(plans, names, out_dir, currency)

    plans, names, folder = _guard(debug, go)
    table = compare_table(plans, names)
    view = Table(title="Budget options")
    view.add_column("metric", style="bold")
    for name in names:
        view.add_column(escape(name), justify="right", overflow="fold")  # variant text as written: `[central]` is not markup
    currency = plans[0].scenario.currency
    for metric, row in table.iterrows():
        view.add_row(escape(words.label(metric, currency)), *[escape(_cell(metric, v)) for v in row])
    out.print(view)
    out.print(f"written: {folder}", highlight=False, markup=False)


def parse_range(text: str, points: int) -> list[float]:
    """``20M..40M`` and a point count -> evenly spaced budgets."""
    from allocator.scenario.amounts import AmountError, parse_amount
    from allocator.warm import budgets_between

    low, sep, high = text.partition("..")
    try:
        if not sep:
            raise AmountError("must look like LOW..HIGH, e.g. 20M..40M")
        a, b = parse_amount(low), parse_amount(high)
    except AmountError as exc:
        raise ScenarioError([Problem("--budget", None, text, str(exc))]) from None
    if not 0 < a < b:
        raise ScenarioError([Problem("--budget", None, text, "needs 0 < LOW < HIGH")])
    if points < 2:
        raise ScenarioError([Problem("--points", None, str(points), "needs at least 2 points")])
    from allocator.sensitivity.grid import MAX_POINTS

    if points > MAX_POINTS:  # each point is a solve; a typo here must not allocate a billion budgets
        raise ScenarioError([Problem("--points", None, str(points), f"at most {MAX_POINTS} points")])
    return budgets_between(a, b, points)


@app.command()
def frontier(
    scenario: Annotated[Path, typer.Argument(help="The scenario file.")],
    budget: Annotated[str, typer.Option(help="Budget range LOW..HIGH, e.g. 20M..40M.")],
    points: Annotated[int, typer.Option(help="Number of budgets in the range.")] = 11,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: PATH=VALUE (repeatable).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the frontier folder.")] = Path("runs"),
    solver: Annotated[str | None, typer.Option(help="highs (default, warm re-solves) or cbc (rebuilds).")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per point, or none.", parser=parse_time_limit)] = None,
    rebuild: Annotated[bool, typer.Option(help="Rebuild the model at every point instead of re-solving it.")] = False,
    quiet: Annotated[bool, typer.Option(help=QUIET_HELP)] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Solve over a range of total budgets: frontier.csv and frontier.png."""
    from allocator.frontier import frontier as run_frontier
    from allocator.report import budget_frontier
    from allocator.sensitivity.commands import Reporter

    def go():
        _check_solver(solver, time_limit)
        budgets = parse_range(budget, points)
        sc = load_scenario(scenario)
        changes = parse_sets(set_)
        if changes:
            sc = sc.with_changes(changes)
        name = solver or sc.solver.name
        check_out_dir(out_dir)
        with progress.show_on(err, quiet), Reporter(err, "frontier") as report:
            done = iter(range(1, len(budgets) + 1))
            report(0, len(budgets))
            table = run_frontier(sc, budgets, solver=name, warm=not rebuild, time_limit=time_limit,
                                 progress=lambda: report(next(done), len(budgets)))
        return table, sc, budget_frontier.write_frontier(table, sc, out_dir)

    table, sc, folder = _guard(debug, go)
    gap, currency = sc.solver.mip_gap, sc.currency
    view = Table(title="Budget frontier")
    for column in ("budget", "status", "expected margin", "change", f"margin per extra 1 {currency or 'unit'}"):
        view.add_column(column, justify="right")
    for row in budget_frontier.rows(table, gap):
        view.add_row(*row)
    out.print(view)
    out.print("change: from the previous budget; changes within the solve tolerance (MIP gap) show as ≈ 0. "
              "Margin per extra unit: the budget's shadow price at that point.", highlight=False)
    out.print(f"written: {folder}", highlight=False, markup=False)


register_decomposition(app)
register_sensitivity(app)
register_fit(app)
register_risk(app)
register_replan(app)


def main() -> None:
    runtime.handle_signals()  # SIGTERM like Ctrl-C: every command unwinds and removes what it started
    try:
        app()
        code = EXIT_PLAN
    except BrokenPipeError:
        code = EXIT_NO_PLAN
    except KeyboardInterrupt as exc:  # outside a command's guard (the command line was still starting)
        err.print("interrupted; nothing was written.")
        code = runtime.exit_code(exc)
    except SystemExit as exc:
        code = exc.code
    if runtime.received() is None and not runtime.abandoned():
        sys.exit(code)
    runtime.end_interrupted(EXIT_BUG if not isinstance(code, int) else runtime.exit_code() if code == 1 else code)


if __name__ == "__main__":
    main()
