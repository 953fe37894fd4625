"""The ``decompose`` and ``track`` commands; ``register(app)`` adds them to the allocator CLI.

Exit status: 0 done, 2 invalid input (every problem as ``file:line field: message``), 3 a bug
(one line; the traceback only with ``--debug``). Both commands write a new folder under the run
(``decomposition``, ``tracking-<date>``; ``-2``, ``-3``... when taken), whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from allocator.cli_common import _guard, out
from allocator.decompose.config import DecompositionConfig, Tracking, parse_date
from allocator.decompose.errors import ConfigSource, DecompositionError, load_config
from allocator.decompose.run import decompose_run, new_folder, stored_config, write_decomposition
from allocator.decompose.tracking import check_as_of, default_as_of, read_actuals, read_targets, track
from allocator.output import write_csv
from allocator.scenario import load_scenario
from allocator.scenario.amounts import format_amount
from allocator.scenario.errors import Problem

STATUS_STYLE = {"red": "bold red", "amber": "bold yellow", "green": "green"}


def register(app: typer.Typer) -> None:
    """Add ``decompose`` and ``track`` to ``app``."""
    app.command("decompose")(decompose_command)
    app.command("track")(track_command)


def _run_folder(run_dir: Path) -> None:
    if not run_dir.is_dir():
        message = ("run folder not found: `allocator run SCENARIO` writes it first (for the example, "
                   "`allocator run scenarios/quarter_12_weeks.yaml` writes runs/q3-weekly)")
        raise DecompositionError([Problem(str(run_dir), None, "", message)])


def _config_for(run_dir: Path, config: Path | None) -> tuple[DecompositionConfig, ConfigSource, Path]:
    """``--config FILE`` (paths relative to it), else the copy the run keeps, else its scenario's section."""
    if config is not None:
        cfg, source = load_config(config)
        return cfg, source, config.parent
    stored = stored_config(run_dir)
    if stored is not None:
        return stored
    scenario_path = run_dir / "scenario.yaml"
    scenario = load_scenario(scenario_path) if scenario_path.exists() else None
    section = getattr(scenario, "decomposition", None)
    if section is None:
        message = "has no decomposition config; pass --config FILE (a YAML file with a `decomposition:` section)"
        raise DecompositionError([Problem(str(run_dir), None, "", message)])
    return section, ConfigSource(getattr(scenario, "_data", None), str(scenario_path)), run_dir


def decompose_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `allocator run`.")],
    config: Annotated[Path | None, typer.Option("--config", help="YAML file with a `decomposition:` section "
                                                "(default: the one the run was decomposed with).")] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Decompose an existing plan again (no re-solve) into a new folder under the run."""

    def go() -> tuple[Path, tuple[dict[str, pd.DataFrame], float]]:
        _run_folder(run_dir)
        cfg, source, base_dir = _config_for(run_dir, config)
        tables = decompose_run(run_dir, cfg, base_dir, source)
        stretch = cfg.reps.stretch if getattr(cfg, "reps", None) is not None else 0.0
        return write_decomposition(run_dir, tables, cfg, base_dir), (tables, stretch)

    folder, (tables, stretch) = _guard(debug, go)
    print_decomposition(tables, stretch)
    out.print(f"written: {folder}", highlight=False, markup=False)


def print_decomposition(tables: dict[str, pd.DataFrame], stretch: float = 0.0) -> None:
    """Rows and total per table; rep quotas say that they include the stretch buffer."""
    from rich.markup import escape

    table = Table(title="decomposition")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("total", justify="right")
    table.add_column("note")
    for name, frame in tables.items():
        column = "quota" if name == "rep_quotas" else "leads" if name == "funnel" else "target"
        total = frame[column].sum() if column in frame.columns else float("nan")
        shown = f"{int(total):,} leads" if name == "funnel" else format_amount(float(total))
        note = ""
        if name == "rep_quotas" and stretch:
            note = f"includes the {stretch:.0%} stretch: quotas sum to {1 + stretch:.0%} of the targets"
        table.add_row(escape(name), f"{len(frame):,}", shown, note)
    out.print(table)


def _as_of(raw: str | None) -> dt.date | None:
    if raw is None:
        return None
    try:
        return parse_date(raw)
    except ValueError as exc:
        raise DecompositionError([Problem("--as-of", None, "", str(exc))]) from None


def track_command(
    run_dir: Annotated[Path, typer.Argument(help="A run (or decomposition) folder with targets_day.csv.")],
    actuals: Annotated[Path, typer.Argument(help="CSV: date, region, amount[, channel][, product][, rep].")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date to track to (default: the last date in "
                                              "the actuals).")] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Compare actuals with the decomposed targets; write tracking.csv into a new folder under the run."""

    def go() -> tuple[Path, pd.DataFrame, dt.date]:
        _run_folder(run_dir)
        tables = read_targets(run_dir)
        stored = stored_config(run_dir)
        thresholds = stored[0].tracking if stored is not None else Tracking()
        sold = read_actuals(actuals, tables)
        day = _as_of(as_of) or default_as_of(sold, tables["targets_day"])
        check_as_of(day, tables["targets_day"])
        result = track(tables, sold, day, thresholds)

        def fill(folder: Path) -> None:
            write_csv(result, folder / "tracking.csv")
            shutil.copyfile(actuals, folder / "actuals.csv")

        return new_folder(run_dir, f"tracking-{day}", fill), result, day

    folder, result, day = _guard(debug, go)
    print_tracking(result, day)
    out.print(f"written: {folder / 'tracking.csv'}", highlight=False, markup=False)


def _pct(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def print_tracking(result: pd.DataFrame, as_of: dt.date) -> None:
    """The current week, month and period of every region (reps and products are in the file)."""
    current = result[(result["rep"] == "") & (result["product"] == "")
                     & (result["first"] <= as_of) & (result["last"] >= as_of)]
    table = Table(title=f"tracking as of {as_of}", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    with_channel = (current["channel"] != "").any()
    rows = []
    for row in current.itertuples(index=False):
        cells = [f"{row.level} {row.bucket}", row.region] + ([row.channel] if with_channel else [])
        needed = "-" if math.isnan(row.needed_per_day) else format_amount(row.needed_per_day)
        cells += [format_amount(row.target_to_date), format_amount(row.actual), _pct(row.achievement),
                  format_amount(row.gap), needed]
        rows.append(([escape(c) for c in cells], row.status))
    names = ["bucket", "region"] + (["channel"] if with_channel else [])
    for k, name in enumerate([*names, "due", "actual", "achieved", "gap", "per day"]):  # sized to fit, never cut
        width = max([len(name)] + [len(cells[k]) for cells, _ in rows])
        table.add_column(name, justify="left" if k < len(names) else "right", no_wrap=True,
                         min_width=min(width, 20))
    table.add_column("status", justify="right", no_wrap=True, min_width=6)
    for cells, status in rows:
        table.add_row(*cells, f"[{STATUS_STYLE[status]}]{status}[/]")
    out.print(table)
    out.print("due: the target to date; gap: due - actual; per day: needed on each working day left "
              "to reach the bucket's target.", highlight=False)
    behind = result[(result["status"] == "red") & ((result["rep"] != "") | (result["product"] != ""))]
    if len(behind):
        out.print(f"{len(behind)} rep/product row(s) are red; see tracking.csv.")
