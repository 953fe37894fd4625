"""The command line: a thin layer over the API. Exit 0 a plan, 1 no plan, 2 invalid input.

A traceback appears only with ``--debug``; every user mistake is a message naming file, line
and field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from allocator import progress, runtime
from allocator.decompose import check_inputs, decompose_plan
from allocator.decompose.commands import register as register_decomposition
from allocator.runtime import QUIET_HELP, TIME_LIMIT_HELP, parse_time_limit
from allocator.scenario import ScenarioError, load_scenario
from allocator.scenario.amounts import format_amount
from allocator.scenario.errors import Problem
from allocator.scenario.yaml_io import read_value
from allocator.sensitivity.commands import register as register_sensitivity

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Turn a sales plan into an optimisation problem and solve it.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_PLAN, EXIT_NO_PLAN, EXIT_INVALID, EXIT_BUG = 0, 1, 2, 3


def parse_sets(items: list[str] | None) -> dict[str, object]:
    """``["budget.total=35M", ...]`` -> ``{"budget.total": "35M"}`` (values read as YAML scalars)."""
    changes: dict[str, object] = {}
    problems = []
    for item in items or []:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            problems.append(Problem("--set", None, item, "must look like PATH=VALUE, e.g. budget.total=35M"))
            continue
        changes[path.strip()] = read_value(raw)  # read as a scenario file reads it (no YAML 1.1 surprises)
    if problems:
        raise ScenarioError(problems)
    return changes


def _fail_invalid(exc: ScenarioError) -> None:
    for problem in exc.problems:
        err.print(str(problem), markup=False, highlight=False)
    err.print(f"{len(exc.problems)} problem(s) found.", style="red")
    raise typer.Exit(EXIT_INVALID)


def _guard(debug: bool, action):
    """Run ``action``; user mistakes become messages, bugs become one line unless ``--debug``."""
    try:
        return action()
    except ScenarioError as exc:
        if debug:
            raise
        _fail_invalid(exc)
    except typer.Exit:
        raise
    except OSError as exc:  # an output folder that cannot be written: the user's to fix
        if debug:
            raise
        err.print(f"cannot write: {exc}", markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (runtime.handle_signals): folders were removed
        err.print("interrupted; nothing was written.")
        raise typer.Exit(runtime.exit_code(exc)) from None
    except Exception as exc:  # a bug or an environment failure, not a user mistake
        if debug:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False)
        err.print("Nothing was written. Run again with --debug for the traceback.")
        raise typer.Exit(EXIT_BUG) from None


@app.command()
def validate(scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
             debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False) -> None:
    """Check scenario files; print every problem as file:line path: message."""
    problems = []
    for path in scenarios:
        try:
            _guard(debug, lambda path=path: load_scenario(path))
            out.print(f"ok: {path}", highlight=False)
        except typer.Exit as exc:
            if exc.exit_code != EXIT_INVALID:
                raise
            problems.append(path)
    if problems:
        raise typer.Exit(EXIT_INVALID)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="The scenario file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for run folders.")] = Path("runs"),
    solver: Annotated[str | None, typer.Option(help="highs (default) or cbc.")] = None,
    time_limit: Annotated[float | None, typer.Option(help=TIME_LIMIT_HELP, parser=parse_time_limit)] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap at which to stop.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: PATH=VALUE (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option(help=QUIET_HELP)] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Solve a scenario and write its run folder (Ctrl-C: stop and write the best plan so far)."""

    from allocator.api import solve  # the solver stack loads only for commands that solve

    def go():
        _check_solver(solver, time_limit, mip_gap)
        sc = load_scenario(scenario)
        changes = parse_sets(set_)
        if changes:
            sc = sc.with_changes(changes)
        check_inputs(sc)  # the decomposition's CSV inputs, read and checked before solving
        with progress.show_on(err, quiet), runtime.keep_best_plan():
            plan = solve(sc, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
        _mark_interrupted(plan)
        plan.extra_tables.update(decompose_plan(plan))  # months, weeks, days, products, reps, funnel
        return plan, plan.write(out_dir)

    plan, folder = _guard(debug, go)
    print_summary(plan, folder)
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


def print_summary(plan, folder: Path) -> None:
    s = plan.summary
    currency = plan.scenario.currency

    def money(v: float | None) -> str:
        return "-" if v is None else f"{format_amount(v)} {currency}".strip()

    table = Table(title=f"{s['scenario']}: {s['status']}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    if plan.has_plan:
        for key in ("objective", "exact_curve_margin", "revenue", "marketing_spend", "people_cost",
                    "reserve", "unallocated"):
            table.add_row(key.replace("_", " "), money(s[key]))
        roi = s["marketing_roi"]
        table.add_row("marketing ROI (margin)", "-" if roi is None else f"{roi:.1%}")
        price = s["budget_shadow_price"]
        table.add_row("margin per extra unit of budget", "-" if price is None else f"{price:.3f}")
        table.add_row("MIP gap", f"{s['mip_gap']:.2e}")
    table.add_row("solver", f"{s['solver']} ({s['solve_seconds']:.2f} s)")
    out.print(table)
    if plan.diagnosis is not None:
        err.print("No plan satisfies every constraint: " + plan.diagnosis["explanation"], markup=False)
    elif not plan.has_plan:
        err.print("The solver stopped before finding any plan; raise --time-limit.", markup=False)
    out.print(f"written: {folder}", highlight=False)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run folder written by `allocator run`.")],
           debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False) -> None:
    """Regenerate plan.xlsx and report.html of a run folder."""
    from allocator.output import replace_file
    from allocator.report import write_report, write_workbook

    def go() -> None:
        if not (run_dir / "summary.json").is_file():
            raise ScenarioError([Problem(str(run_dir), None, "", "not a run folder (no summary.json)")])
        from allocator.plan import Plan

        plan = Plan.read(run_dir)
        replace_file(run_dir / "plan.xlsx", lambda tmp: write_workbook(plan, tmp))
        replace_file(run_dir / "report.html", lambda tmp: write_report(plan, tmp))

    _guard(debug, go)
    out.print(f"written: {run_dir / 'plan.xlsx'}, {run_dir / 'report.html'}", highlight=False)


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
    from allocator.compare import compare_table, option_names, solve_options
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
        with progress.show_on(err, quiet):
            plans = solve_options(options, solver, time_limit)
        return plans, names, write_comparison(plans, names, out_dir, options[0].currency)

    plans, names, folder = _guard(debug, go)
    table = compare_table(plans, names)
    view = Table(title="Budget options")
    view.add_column("metric", style="bold")
    for name in names:
        view.add_column(name, justify="right")
    for metric, row in table.iterrows():
        view.add_row(metric.replace("_", " "), *[_cell(metric, v) for v in row])
    out.print(view)
    out.print(f"written: {folder}", highlight=False)


def _cell(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, str):
        return value
    if metric == "marketing_roi":
        return f"{value:.1%}"
    if metric == "budget_shadow_price":
        return f"{value:.3f}"
    if metric in ("headcount", "temp_staff"):
        return f"{value:.1f}"
    return format_amount(value)


def _check_solver(solver: str | None, time_limit: float | None = None, mip_gap: float | None = None) -> None:
    from allocator.api import check_options

    check_options(solver, time_limit, mip_gap)


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
    from allocator.frontier import write_frontier

    def go():
        _check_solver(solver, time_limit)
        budgets = parse_range(budget, points)
        sc = load_scenario(scenario)
        changes = parse_sets(set_)
        if changes:
            sc = sc.with_changes(changes)
        name = solver or sc.solver.name
        with progress.show_on(err, quiet):
            table = run_frontier(sc, budgets, solver=name, warm=not rebuild, time_limit=time_limit)
        return table, write_frontier(table, sc, out_dir)

    table, folder = _guard(debug, go)
    view = Table(title="Budget frontier")
    for column in ("budget", "status", "objective", "budget_shadow_price"):
        view.add_column(column.replace("_", " "), justify="right")
    for row in table.itertuples():
        view.add_row(format_amount(row.budget), row.status, _cell("objective", row.objective),
                     _cell("budget_shadow_price", row.budget_shadow_price))
    out.print(view)
    out.print(f"written: {folder}", highlight=False)


register_decomposition(app)
register_sensitivity(app)


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
