"""The ``fit`` command; ``register(app)`` adds it to the allocator CLI.

Exit status: 0 written, 2 invalid input or a cell that cannot be fitted (every problem as
``file:line field: message``; nothing written), 3 a bug (one line; the traceback with ``--debug``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from allocator.cli_common import _guard, err, out

DEFAULT_CURVES = "hill,exp,log"  # curvefit.FIT_CURVES (not imported here: scipy loads only for a fit)


def register(app: typer.Typer) -> None:
    """Add ``fit`` to ``app``."""
    app.command("fit")(fit_command)


def fit_command(
    history: Annotated[Path, typer.Argument(help="History CSV (region, channel, period, spend, revenue) or "
                                                 "marketing-mix response points (region, channel, spend, response).")],
    out_file: Annotated[Path, typer.Option("--out", help="The response-model file to write, e.g. models/fitted.yaml.")],
    curves: Annotated[str, typer.Option(help="Curve types to try, comma-separated.")] = DEFAULT_CURVES,
    carryover: Annotated[bool, typer.Option(help="Fit a geometric carryover (adstock) decay too.")] = False,
    max_lag: Annotated[int, typer.Option(help="Periods of carryover with --carryover.")] = 3,
    periods_per_horizon: Annotated[float | None, typer.Option(
        help="Input periods in the plan's horizon (default: a history's number of periods; 1 for response points).")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="Response points as 'points' (default) or fitted 'hill' curves.")] = None,
    partial: Annotated[bool, typer.Option(help="Write the cells that fit even if some cannot be fitted.")] = False,
    force: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Fit response curves from a spend/revenue history (or import a marketing-mix model's curves)."""

    from allocator.fit.fitting import fit_file
    from allocator.fit.model_file import check_target

    def go() -> None:
        check_target(out_file, force)
        kinds = tuple(k.strip() for k in curves.split(",") if k.strip())
        with err.status("reading the history") as status:
            def progress(done: int, total: int, cell: str) -> None:
                status.update(f"fitting {cell} ({done + 1} of {total} cells)")

            report = fit_file(history, kinds, carryover, max_lag, periods_per_horizon, as_, progress)
        _print(report)
        report.write(out_file, force, partial)

    _guard(debug, go)
    out.print(f"written: {out_file}", highlight=False)


def _print(report) -> None:
    table = Table(title=f"Fitted from {report.source} ({report.periods_per_horizon:g} periods per horizon)")
    for column in ("cell", "curve", "R^2", "MAPE", "held-out", "points", "spend per period", "note"):
        table.add_column(column, justify="left" if column in ("cell", "curve", "note") else "right")

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1%}"

    for r in report.rows:
        table.add_row(r.cell, r.curve, "-" if r.r2 is None else f"{r.r2:.3f}", pct(r.mape), pct(r.held_out),
                      str(r.points), r.spend, r.note)
    out.print(table)
