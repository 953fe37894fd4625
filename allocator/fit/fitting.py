"""``allocator fit`` as a library: a history or a marketing-mix export in, a response model out.

>>> report = fit_file(Path("scenarios/history_retail.csv"), periods_per_horizon=12)  # doctest: +SKIP
>>> report.write(Path("models/fitted_retail.yaml"))                                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from allocator.fit.curvefit import FIT_CURVES, LOO_UP_TO, fit_cell, fit_points
from allocator.fit.inputs import CellsRefused, FitInputError, layout_of, read_history, read_points
from allocator.fit.model_file import ModelCell, horizon_curve, horizon_points, model_text, spend_range, write_model
from allocator.scenario.amounts import format_amount
from allocator.scenario.errors import Problem

AS_CHOICES = ("points", "hill")
MIN_HILL_R2 = 0.95
REFUSED = "a curve cannot be identified: give `curve:` by hand or more history"


@dataclass(frozen=True)
class Row:
    """One line of the terminal summary."""

    cell: str
    curve: str
    r2: float | None
    mape: float | None
    held_out: float | None
    points: int
    spend: str
    note: str = ""


@dataclass(frozen=True)
class FitReport:
    """What a fit produced: the model cells, the cells it refused, and a row per cell."""

    source: str
    periods_per_horizon: float
    header: tuple[str, ...]
    description: str
    cells: tuple[ModelCell, ...]
    refusals: tuple[Problem, ...] = ()
    rows: tuple[Row, ...] = field(default=())

    def text(self) -> str:
        header = list(self.header)
        if self.refusals:
            header.append("Not fitted (add these cells by hand, with a `curve:`):")
            header += [f"  {p.path}: {p.message}" for p in self.refusals]
        return model_text(list(self.cells), header, self.description)

    def write(self, out: Path, force: bool = False, partial: bool = False) -> None:
        """Write the model file; refused cells are an error unless ``partial`` (then listed in it)."""
        if self.refusals and not partial:
            raise CellsRefused(list(self.refusals))
        if not self.cells:
            raise FitInputError([*self.refusals, Problem(self.source, None, "", "no cell could be fitted; nothing written")])
        write_model(self.text(), out, force)


def check_options(curves: tuple[str, ...], periods_per_horizon: float | None, max_lag: int) -> None:
    problems = []
    for kind in curves:
        if kind not in FIT_CURVES:
            problems.append(Problem("--curves", None, "", f"unknown curve type {kind!r} (fit knows {', '.join(FIT_CURVES)})"))
    if not curves:
        problems.append(Problem("--curves", None, "", f"name at least one of {', '.join(FIT_CURVES)}"))
    if periods_per_horizon is not None and not (periods_per_horizon > 0 and np.isfinite(periods_per_horizon)):
        problems.append(Problem("--periods-per-horizon", None, "", f"must be > 0 (got {periods_per_horizon!r})"))
    if not 1 <= max_lag <= 52:
        problems.append(Problem("--max-lag", None, "", f"must be between 1 and 52 periods (got {max_lag})"))
    if problems:
        raise FitInputError(problems)


def fit_history(path: Path, curves: tuple[str, ...] = FIT_CURVES, carryover: bool = False, max_lag: int = 3,
                periods_per_horizon: float | None = None, display: str | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> FitReport:
    """Fit every cell of a history file; ``periods_per_horizon`` defaults to its number of periods.

    ``progress(done, total, cell)`` is called before each cell is fitted.
    """
    check_options(curves, periods_per_horizon, max_lag)
    file = display or str(path)
    history = read_history(path, file)
    p = periods_per_horizon or len({q for cell in history for q in cell.periods})
    lag = max_lag if carryover else None
    cells, refusals, rows = [], [], []
    for done, h in enumerate(history):
        if progress is not None:
            progress(done, len(history), h.label)
        fit = fit_cell(h.spend, h.revenue, curves, lag)
        lo, hi = float(h.spend.min()), float(h.spend.max())
        if fit.chosen is None:
            refusals.append(Problem(file, h.line, h.label, f"{fit.refusal}; {REFUSED}"))
            rows.append(Row(h.label, "-", None, None, None, len(h.spend), spend_range(lo, hi), "refused"))
            continue
        c = fit.chosen
        method = "leave-one-out" if len(h.spend) - (lag or 0) <= LOO_UP_TO else "10-fold"
        others = ", ".join(f"{o.kind} {o.cv_error:.2%}" + ("" if o.identified else " not identified")
                           for o in fit.candidates if o is not c)
        notes = [f"{h.label}: {c.kind} by {method} cross-validation (held-out error {c.cv_error:.2%} of mean "
                 f"revenue{'; ' + others if others else ''}; no curve {fit.constant_cv_error:.2%})",
                 f"fit: R^2 {c.r2:.3f}, MAPE {c.mape:.2%}, {len(h.spend)} periods {h.periods[0]}..{h.periods[-1]}, "
                 f"spend per period {spend_range(lo, hi)} (horizon {spend_range(lo * p, hi * p)})"]
        carry = None
        if c.decay is not None:
            carry = {"decay": float(c.decay), "max_lag": int(lag)}
            notes.append(f"carryover: decay {c.decay:.3f} per history period, max_lag {lag}; the curve is on the "
                         "normalised adstock (steady state); a plan with longer periods needs a smaller decay "
                         "(docs/fitting.md)")
        cells.append(ModelCell(h.region, h.channel, c.base * p, horizon_curve(c.kind, c.params, p), tuple(notes),
                               carry))
        note = f"decay {c.decay:.2f}" if c.decay is not None else ""
        rows.append(Row(h.label, c.kind, c.r2, c.mape, c.cv_error, len(h.spend), spend_range(lo, hi), note))
    name = Path(file).name
    header = (f"Response model fitted by `allocator fit` from {name}: {len(history)} cells.",
              f"Amounts are for the plan's horizon = {p:g} history periods: base and curve scaled from the per-period "
              "fit (base x P; spend and lift axes x P). See docs/fitting.md.",
              f"Curve types tried: {', '.join(curves)}" + (f"; geometric carryover up to {max_lag} lags." if carryover else "."))
    return FitReport(file, p, header, f"Fitted from {name} by allocator fit ({p:g} periods per horizon)",
                     tuple(cells), tuple(refusals), tuple(rows))


def import_points(path: Path, as_: str = "points", periods_per_horizon: float | None = None,
                  display: str | None = None) -> FitReport:
    """Response curves exported by a marketing-mix model, as ``points`` curves or fitted hill curves.

    The export's ``response`` is incremental revenue; a point at spend 0 with a response above 0
    is taken as the cell's base. ``periods_per_horizon`` (default 1: the export is for the whole
    horizon) scales a per-period export up to the horizon like a history fit.
    """
    if as_ not in AS_CHOICES:
        raise FitInputError([Problem("--as", None, "", f"must be points or hill (got {as_!r})")])
    check_options(FIT_CURVES, periods_per_horizon, 3)
    file = display or str(path)
    p = periods_per_horizon or 1
    cells, refusals, rows = [], [], []
    for pts in read_points(path, file):
        spend, response = pts.spend, pts.response
        base = 0.0
        if spend[0] == 0:
            base, response = float(response[0]), response - response[0]
        else:
            spend, response = np.insert(spend, 0, 0.0), np.insert(response, 0, 0.0)
        span = spend_range(float(spend[1]), float(spend[-1]))
        notes = [f"{pts.label}: {len(pts.spend)} exported points, spend {span} per export period"
                 + (f"; base {format_amount(base * p)} from the point at spend 0" if base else "; base not in the export: set it in the scenario")]
        if as_ == "points":
            curve = horizon_points(spend, response, p)
            rows.append(Row(pts.label, "points", None, None, None, len(pts.spend), span))
        else:
            if len(spend) < 4:
                refusals.append(Problem(file, pts.line, pts.label, "a hill curve needs at least 3 points above spend 0; "
                                        "import them as points (--as points)"))
                continue
            params, r2, gap = fit_points(spend, response)
            if r2 < MIN_HILL_R2:
                refusals.append(Problem(file, pts.line, pts.label, f"a hill curve does not follow these points (R^2 "
                                        f"{r2:.3f}); import them as points (--as points)"))
                rows.append(Row(pts.label, "-", r2, None, None, len(pts.spend), span, "refused"))
                continue
            notes.append(f"hill fitted to the points: R^2 {r2:.4f}, largest gap {gap:.2%} of the largest response")
            curve = horizon_curve("hill", params, p)
            rows.append(Row(pts.label, "hill", r2, None, None, len(pts.spend), span))
        cells.append(ModelCell(pts.region, pts.channel, base * p, curve, tuple(notes)))
    name = Path(file).name
    header = (f"Response curves imported by `allocator fit` from {name} (a marketing-mix export) as {as_} curves.",
              f"Amounts are for the plan's horizon = {p:g} export period(s) (docs/fitting.md).")
    return FitReport(file, p, header, f"Imported from {name} by allocator fit", tuple(cells), tuple(refusals), tuple(rows))


def fit_file(path: Path, curves: tuple[str, ...] = FIT_CURVES, carryover: bool = False, max_lag: int = 3,
             periods_per_horizon: float | None = None, as_: str | None = None,
             progress: Callable[[int, int, str], None] | None = None) -> FitReport:
    """A history is fitted, a marketing-mix export imported; the header tells which it is."""
    layout = layout_of(path)
    if layout == "history":
        if as_ is not None:
            raise FitInputError([Problem("--as", None, "", f"applies to marketing-mix response points; {path} is a history")])
        return fit_history(path, curves, carryover, max_lag, periods_per_horizon, progress=progress)
    if carryover:
        raise FitInputError([Problem("--carryover", None, "", f"needs a history; {path} holds response points")])
    return import_points(path, as_ or "points", periods_per_horizon)
