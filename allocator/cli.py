"""The command line: a thin layer over the API. Exit 0 a plan, 1 no plan, 2 invalid input.

A traceback appears only with ``--debug``; every user mistake is a message naming file, line
and field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from allocator.api import solve
from allocator.plan import Plan
from allocator.scenario import ScenarioError, load_scenario
from allocator.scenario.amounts import format_amount
from allocator.scenario.errors import Problem

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
        try:
            changes[path.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            changes[path.strip()] = raw
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
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written.")
        raise typer.Exit(130) from None
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
    time_limit: Annotated[float | None, typer.Option(help="Seconds before the solver stops.")] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap at which to stop.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: PATH=VALUE (repeatable).")] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Solve a scenario and write its run folder."""

    def go() -> tuple[Plan, Path]:
        if solver is not None and solver not in ("highs", "cbc"):
            raise ScenarioError([Problem("--solver", None, "", f"must be highs or cbc (got {solver!r})")])
        sc = load_scenario(scenario)
        changes = parse_sets(set_)
        if changes:
            sc = sc.with_changes(changes)
        plan = solve(sc, solver=solver, time_limit=time_limit, mip_gap=mip_gap)
        return plan, plan.write(out_dir)

    plan, folder = _guard(debug, go)
    print_summary(plan, folder)
    if not plan.has_plan:
        raise typer.Exit(EXIT_NO_PLAN)


def print_summary(plan: Plan, folder: Path) -> None:
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


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        sys.exit(EXIT_NO_PLAN)


if __name__ == "__main__":
    main()
