"""``allocator sweep`` and ``allocator tornado``: thin commands over :mod:`allocator.sensitivity`.

``register(app)`` adds both to a typer app (``allocator/cli.py`` calls it). They share the main
CLI's rules: exit 0 when the sweep ran (each point's status is in the table), 2 for invalid
input, and a traceback only with ``--debug``. Output goes into a new folder that is written whole
or not at all and never over an earlier one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from allocator.output import check_out_dir
from allocator.runtime import QUIET_HELP, parse_time_limit

SWEEP_HELP = ("PATH=LO..HI:N (N evenly spaced values, e.g. budget.total=20M..40M:11) or PATH=V1,V2,V3 "
              "(e.g. targets.growth_floor.growth=20%,30%,40%); repeatable")
ENGINE_HELP = "local (processes on this machine, default), dask (a Dask cluster) or serial (this process)."


def _cli():
    """What the commands share with the main CLI (consoles, ``--set``, the error guard)."""
    from allocator import cli_common

    return cli_common


class Reporter:
    """Progress on stderr: a live bar on a terminal, a plain line every tenth of the way otherwise
    (CI logs, pipes), so nothing breaks and nothing floods when stderr is not a terminal."""

    def __init__(self, console, what: str):
        self.console, self.what = console, what
        self.bar = self.task = None
        self.last = -1
        self.start = time.perf_counter()

    def __enter__(self) -> Reporter:
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn(self.what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                console=self.console, transient=True)
            self.bar.__enter__()
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task(self.what, total=total)
            self.bar.update(self.task, completed=done)
            return
        step = 10 * done // max(total, 1)
        if step != self.last and (done == total or step > self.last):
            self.last = step
            self.console.print(f"{self.what}: {done}/{total} points ({time.perf_counter() - self.start:.1f} s)",
                               highlight=False)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _progress_console(cli, quiet: bool):
    """stderr, or with ``--quiet`` a console that prints nothing."""
    if not quiet:
        return cli.err
    from rich.console import Console

    return Console(stderr=True, quiet=True)


def _engine(engine: str | None, scheduler: str | None) -> str:
    return engine or ("dask" if scheduler else "local")


def _load(scenario: Path, set_: list[str] | None):
    cli = _cli()
    sc = cli.load_scenario(scenario)
    changes = cli.parse_sets(set_)
    return sc.with_changes(changes) if changes else sc


def register(app: typer.Typer) -> None:
    """Add ``sweep`` and ``tornado`` to ``app``."""
    app.command()(sweep)
    app.command()(tornado)


def sweep(
    scenario: Annotated[Path, typer.Argument(help="The scenario file.")],
    param: Annotated[list[str], typer.Option("--param", help=SWEEP_HELP)],
    zip_: Annotated[bool, typer.Option("--zip", help="Take the parameters' values side by side, not every combination.")] = False,
    engine: Annotated[str | None, typer.Option(help=ENGINE_HELP)] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: all cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler, e.g. tcp://host:8786 (implies --engine dask).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the sweep folder.")] = Path("runs"),
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override for every point: PATH=VALUE (repeatable).")] = None,
    solver: Annotated[str | None, typer.Option(help="highs (default, warm re-solves) or cbc (rebuilds).")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per point, or none.", parser=parse_time_limit)] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap per point.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Rebuild the model at every point instead of re-solving it.")] = False,
    explain: Annotated[bool, typer.Option(help="Diagnose infeasible points (slower when many are).")] = True,
    quiet: Annotated[bool, typer.Option(help=QUIET_HELP)] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Solve a scenario over a grid of overrides: sweep.csv and sweep.png in a new folder."""
    from allocator.sensitivity.grid import parse_params
    from allocator.sensitivity.sweep import sweep as run_sweep

    cli = _cli()

    def go():
        cli._check_solver(solver, time_limit, mip_gap)
        grid = parse_params(param, zip=zip_)
        sc = _load(scenario, set_)
        check_out_dir(out_dir)
        with Reporter(_progress_console(cli, quiet), "sweep") as progress:
            table = run_sweep(sc, grid, zip=zip_, engine=_engine(engine, scheduler), workers=workers,
                              scheduler=scheduler, solver=solver, time_limit=time_limit, mip_gap=mip_gap,
                              warm=not rebuild, explain=explain, progress=progress)
        return table, list(grid), write_sweep(table, list(grid), sc, out_dir)

    table, paths, folder = cli._guard(debug, go)
    _print_sweep(cli, table, paths)
    cli.out.print(f"written: {folder}", highlight=False, markup=False)


def write_sweep(table, paths: list[str], scenario, out_dir: Path) -> Path:
    from allocator.output import write_csv, write_folder
    from allocator.sensitivity.plots import plot_sweep

    def fill(folder: Path) -> None:
        write_csv(table, folder / "sweep.csv")
        plot_sweep(table, paths, scenario.currency, folder / "sweep.png")

    return write_folder(out_dir, f"{scenario.scenario}-sweep", fill)


def _print_sweep(cli, table, paths: list[str], limit: int = 30) -> None:
    from rich.markup import escape
    from rich.table import Table

    view = Table(title=f"Sweep: {len(table)} points")
    for column in paths:
        view.add_column(escape(column), justify="right", overflow="fold")
    for column in ("status", "expected margin", "margin per extra unit of budget", "method"):
        view.add_column(column, justify="right")
    for _, row in table.head(limit).iterrows():
        cells = [escape(_value(row[p])) for p in paths]
        view.add_row(*cells, str(row.status), cli._cell("objective", row.objective),
                     cli._cell("budget_shadow_price", row.budget_shadow_price), str(row.method or "-"))
    cli.out.print(view)
    if len(table) > limit:
        cli.out.print(f"... {len(table) - limit} more rows in sweep.csv", highlight=False)
    counts = table.status.value_counts()
    cli.out.print(", ".join(f"{n} {status}" for status, n in counts.items()), highlight=False)


def _value(value) -> str:
    from allocator.scenario.amounts import format_amount

    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1.5 else format_amount(value)
    return str(value)


def tornado(
    scenario: Annotated[Path, typer.Argument(help="The scenario file.")],
    delta: Annotated[float, typer.Option(help="Move each input by this share up and down, e.g. 0.2.")] = 0.2,
    param: Annotated[list[str] | None, typer.Option("--param", help="An input PATH to move (repeatable; default: curves, margins, sales force).")] = None,
    top: Annotated[int, typer.Option(help="Inputs shown in the plot and the table.")] = 15,
    engine: Annotated[str | None, typer.Option(help=ENGINE_HELP)] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: all cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler, e.g. tcp://host:8786 (implies --engine dask).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the tornado folder.")] = Path("runs"),
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override first: PATH=VALUE (repeatable).")] = None,
    solver: Annotated[str | None, typer.Option(help="highs (default) or cbc.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per point, or none.", parser=parse_time_limit)] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap per point.")] = None,
    quiet: Annotated[bool, typer.Option(help=QUIET_HELP)] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Move each uncertain input by ±delta alone: tornado.csv and tornado.png in a new folder."""
    from allocator.sensitivity.tornado import tornado as run_tornado

    cli = _cli()

    def go():
        cli._check_solver(solver, time_limit, mip_gap)
        sc = _load(scenario, set_)
        check_out_dir(out_dir)
        with Reporter(_progress_console(cli, quiet), "tornado") as progress:
            table = run_tornado(sc, params=param or None, delta=delta, engine=_engine(engine, scheduler),
                                workers=workers, scheduler=scheduler, solver=solver, time_limit=time_limit,
                                mip_gap=mip_gap, progress=progress)
        return table, write_tornado(table, sc, out_dir, top)

    table, folder = cli._guard(debug, go)
    _print_tornado(cli, table, top)
    cli.out.print(f"written: {folder}", highlight=False, markup=False)


def write_tornado(table, scenario, out_dir: Path, top: int = 15) -> Path:
    from allocator.output import write_csv, write_folder
    from allocator.sensitivity.plots import plot_tornado

    def fill(folder: Path) -> None:
        write_csv(table, folder / "tornado.csv")
        plot_tornado(table, scenario.currency, folder / "tornado.png", top=top)

    return write_folder(out_dir, f"{scenario.scenario}-tornado", fill)


def _print_tornado(cli, table, top: int) -> None:
    """The ``top`` inputs (a side without a plan says so), and how many more are in tornado.csv."""
    from rich.markup import escape
    from rich.table import Table

    base = table.attrs.get("base_objective")
    title = f"Tornado (±{table.attrs.get('delta', 0):.0%}); base margin {cli._cell('objective', base)}"
    view = Table(title=escape(title))
    view.add_column("input")
    for column in ("-delta", "+delta", "swing"):
        view.add_column(column, justify="right", no_wrap=True)

    def side(objective, status) -> str:
        if status in ("optimal", "feasible"):
            return cli._cell("objective", objective)
        return "no plan" if status == "infeasible" else f"no plan ({status})"

    for _, row in table.head(top).iterrows():
        swing = cli._cell("objective", row.swing) if row.swing == row.swing else "-"
        view.add_row(escape(str(row.label)), escape(side(row.objective_low, row.status_low)),
                     escape(side(row.objective_high, row.status_high)), escape(swing))
    cli.out.print(view)
    if len(table) > top:
        cli.out.print(f"{len(table) - top} more in tornado.csv (--top sets how many are shown)", highlight=False)
    if (table.no_plan != "").any():
        cli.out.print("no plan: with the input moved that way, no plan meets every constraint (swing -).",
                      highlight=False)
