"""``allocator risk``: a thin command over :func:`allocator.uncertainty.risk`.

``register(app)`` adds it to a typer app (``allocator/cli.py`` calls it). Exit 0 with a report,
1 when there is no plan to hold fixed, 2 for invalid input; a traceback only with ``--debug``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.uncertainty.assess import EVPI_SAMPLES


def _cli():
    """The main CLI module, imported when the command runs (it imports this module to register)."""
    from allocator import cli

    return cli


def risk(
    target: Annotated[Path, typer.Argument(help="A run folder (its plan is held fixed) or a scenario file (solved first).")],
    samples: Annotated[int | None, typer.Option(help="Samples to draw (default: the uncertainty section's, else 10000).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the uncertainty section's, else 0).")] = None,
    evpi_samples: Annotated[int, typer.Option(help="Draws to re-optimise for the value of perfect information (0: skip).")] = EVPI_SAMPLES,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: PATH=VALUE (repeatable), e.g. uncertainty.spread.max_lift=30%.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the run folder when TARGET is a scenario.")] = Path("runs"),
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Hold a plan's spend and headcount fixed, draw curves and bases, and report the spread of
    revenue and margin: risk.csv, risk.json, risk.html and two PNGs in the run folder."""
    from allocator.sensitivity.commands import Reporter
    from allocator.uncertainty.assess import NoPlanError

    cli = _cli()

    def go():
        from allocator.scenario import Problem, ScenarioError

        if evpi_samples < 0:
            raise ScenarioError([Problem("--evpi-samples", None, "", f"must be >= 0 (got {evpi_samples})")])
        changes = cli.parse_sets(set_)
        try:
            with Reporter(cli.err, "re-optimising draws") as progress:
                if target.is_dir():
                    return _from_run(target, changes, samples, seed, evpi_samples, progress)
                return _from_scenario(target, changes, samples, seed, evpi_samples, progress, out_dir)
        except NoPlanError as exc:  # not a user mistake, not a bug: exit 1 as `allocator run` does
            return exc

    result = cli._guard(debug, go)
    if isinstance(result, NoPlanError):
        cli.err.print(f"{result}; nothing was written.", markup=False)
        raise typer.Exit(cli.EXIT_NO_PLAN)
    print_risk(*result)


def _from_run(folder: Path, changes, samples, seed, evpi_samples, progress):
    from allocator.plan import Plan
    from allocator.scenario import Problem, ScenarioError
    from allocator.uncertainty.assess import risk as assess
    from allocator.uncertainty.files import write_risk

    if not (folder / "summary.json").is_file():
        raise ScenarioError([Problem(str(folder), None, "", "not a run folder (no summary.json)")])
    plan = Plan.read(folder)
    scenario = plan.scenario.with_changes(changes) if changes else plan.scenario
    report = assess(plan, scenario, samples, seed, evpi_samples=evpi_samples, progress=progress)
    return report, write_risk(report, folder)


def _from_scenario(path: Path, changes, samples, seed, evpi_samples, progress, out_dir: Path):
    from allocator.api import solve
    from allocator.decompose import check_inputs, decompose_plan
    from allocator.output import write_files, write_folder
    from allocator.uncertainty.assess import risk as assess
    from allocator.uncertainty.files import write_risk
    from allocator.uncertainty.sampling import check_run_options, uncertainty_of

    cli = _cli()
    scenario = cli.load_scenario(path)
    if changes:
        scenario = scenario.with_changes(changes)
    uncertainty_of(scenario)  # fail before solving
    check_run_options(samples, seed)
    check_inputs(scenario)
    plan = solve(scenario)
    report = assess(plan, scenario, samples, seed, evpi_samples=evpi_samples, progress=progress)
    plan.extra_tables.update(decompose_plan(plan))
    written = {}

    def fill(folder: Path) -> None:
        write_files(plan, folder)
        written.update(write_risk(report, folder))

    folder = write_folder(out_dir, scenario.scenario, fill)
    return report, {key: folder / p.name for key, p in written.items()}


def print_risk(report, written: dict[str, Path]) -> None:
    from rich.table import Table

    from allocator.scenario.amounts import format_amount

    cli = _cli()
    info = report.info
    table = Table(title=f"{info['scenario']}: {info['samples']:,} samples, seed {info['seed']}")
    table.add_column("")
    for key in report.summary.columns:
        table.add_column(key.replace("_", " "), justify="right")
    for name, row in report.summary.iterrows():
        table.add_row(name, *[format_amount(round(v)) for v in row])
    cli.out.print(table)
    for row in report.regions.itertuples():
        if row.p_miss_floor == row.p_miss_floor and row.p_miss_floor is not None:
            cli.out.print(f"{row.region}: misses its growth floor in {row.p_miss_floor:.1%} of samples, "
                          f"capacity binds in {row.p_capacity_binds:.1%}", highlight=False, markup=False)
    if info["evpi"] is not None:
        cli.out.print(f"value of perfect information: {format_amount(round(info['evpi']))} "
                      f"({_stderr(info)}{info['evpi_draws']} re-optimised draws)",
                      highlight=False)
    cli.out.print(f"written: {written['json']}, {written['csv']}, {written['html']}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``risk`` to ``app``."""
    app.command()(risk)


def _stderr(info: dict) -> str:
    from allocator.scenario.amounts import format_amount

    return "" if info["evpi_stderr"] is None else f"+/- {format_amount(round(info['evpi_stderr']))}, "
