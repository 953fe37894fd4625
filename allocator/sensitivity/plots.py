"""Pictures of sweeps and tornados (matplotlib, written as PNG; imported only where drawn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from allocator.scenario.amounts import format_amount  # noqa: E402


def _subplots(*grid, figsize, path=None, **options):
    """A figure and its axes. Written to ``path``: a figure of its own (no pyplot, no backend
    chosen). Without a path it is for showing: made by pyplot, on whatever backend the caller's
    session uses (a notebook's inline one); this module never switches the backend."""
    if path is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize)
    else:
        fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **options)


def money_axis(axis) -> None:
    """Amounts on ``axis`` (``ax.xaxis`` or ``ax.yaxis``) with as many digits as the ticks need
    (a margin that moves from 8.341M to 8.344M must not read 8.3M on every tick)."""

    def text(value: float, _pos) -> str:
        ticks = axis.get_ticklocs()
        span = float(np.max(ticks) - np.min(ticks)) if len(ticks) > 1 else abs(value)
        size = max(abs(float(t)) for t in ticks) if len(ticks) else abs(value)
        for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, "")):
            if size >= factor or factor == 1.0:
                step = span / max(len(ticks) - 1, 1) / factor
                digits = 0 if step <= 0 else max(0, int(np.ceil(-np.log10(step))))
                while step > 0 and digits < 6 and abs(step * 10**digits - round(step * 10**digits)) > 1e-6:
                    digits += 1  # a step of 0.25M needs two digits, or 34.75M reads 34.8M
                return f"{value / factor:.{min(digits, 6)}f}{suffix}"
        return str(value)

    axis.set_major_formatter(FuncFormatter(text))
MAX_LINES = 8  # more values of the second parameter than this: one line per value gets unreadable


def _axis_format(ax, path: str, values: pd.Series) -> None:
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and numeric.abs().max() > 1.5:
        money_axis(ax.xaxis)
    ax.set_xlabel(path)


def plot_sweep(table: pd.DataFrame, paths: list[str], currency: str = "", path: Path | None = None):
    """Expected margin and the budget's shadow price against the first parameter; one line per
    value of the second (the rest, if any, are fixed at their first value). Points without a plan
    are crosses on the bottom edge; a shaded band is each margin's solve tolerance (MIP gap x
    margin), and margins closer than that are not zoomed into a slope. Returns the figure (and
    writes it to ``path`` when given)."""
    first, second = paths[0], paths[1] if len(paths) > 1 else None
    frame = table
    for other in paths[2:]:
        frame = frame[frame[other] == frame[other].iloc[0]]
    groups = [(None, frame)]
    if second is not None and frame[second].nunique() <= MAX_LINES:
        groups = list(frame.groupby(second, sort=False))
    fig, (top, bottom) = _subplots(2, 1, figsize=(8, 6.5), path=path, sharex=True, height_ratios=[2, 1])
    for value, part in groups:
        label = None if value is None else f"{second} = {_short(value)}"
        ok = part[part.objective.notna()]
        line = top.plot(ok[first], ok.objective, marker="o", label=label)[0]
        tol = ok.objective.abs() * pd.to_numeric(ok.get("mip_gap", 0.0), errors="coerce").fillna(0.0)
        if (tol > 0).any():  # how far each margin may be from its optimum: not an effect
            top.fill_between(ok[first], ok.objective - tol, ok.objective + tol, color=line.get_color(), alpha=0.15)
        bottom.plot(ok[first], ok.budget_shadow_price, marker=".", color=line.get_color())
        bad = part[part.objective.isna()]
        if len(bad):  # on the bottom edge of the axes, not at some margin it never had
            top.scatter(bad[first], [0.03] * len(bad), marker="x", color=line.get_color(),
                        transform=top.get_xaxis_transform(), clip_on=False)
    _no_noise_zoom(top, frame)
    xs = pd.to_numeric(frame[first], errors="coerce")
    if xs.notna().all() and len(xs) > 1 and xs.max() > xs.min():  # the no-plan points are inside the x range
        pad = 0.04 * float(xs.max() - xs.min())
        top.set_xlim(float(xs.min()) - pad, float(xs.max()) + pad)
    if frame.objective.isna().any():
        top.scatter([], [], marker="x", color="#555", label="no plan (infeasible or failed), on the axis")
    unit = f" ({currency})" if currency else ""
    top.set_ylabel(f"expected margin{unit}")
    money_axis(top.yaxis)
    bottom.set_ylabel("margin per extra\nunit of budget")
    _axis_format(bottom, first, frame[first])
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=8)
    top.set_title(f"Sweep over {', '.join(paths)}")
    return _finish(fig, path)


def _no_noise_zoom(ax, frame: pd.DataFrame) -> None:
    """Margins that differ by less than the solve tolerance are drawn flat, not magnified."""
    ok = frame[frame.objective.notna()]
    if len(ok) < 2 or "mip_gap" not in ok:
        return
    tol = float((ok.objective.abs() * pd.to_numeric(ok.mip_gap, errors="coerce").fillna(0.0)).max())
    if tol > 0 and float(ok.objective.max() - ok.objective.min()) < 10 * tol:
        middle = float(ok.objective.mean())
        ax.set_ylim(middle - 5 * tol, middle + 5 * tol)


def _short(value) -> str:
    if isinstance(value, float) and abs(value) < 1.5:
        return f"{value:.0%}" if value * 100 == round(value * 100) else f"{value:.2%}"
    if isinstance(value, (int, float)):
        return format_amount(value)
    return str(value)


def plot_tornado(table: pd.DataFrame, currency: str = "", path: Path | None = None, top: int = 15):
    """Bars from the base margin to the margin with each input at -delta and +delta, largest
    effect on top. A side without a plan is a hatched bar labelled "no plan" (never a missing bar,
    which would read as "no effect"); inputs beyond ``top`` are counted in the title. Returns the
    figure (and writes it to ``path`` when given)."""
    base = table.attrs.get("base_objective")
    delta = table.attrs.get("delta", 0.2)
    rows = table.head(top).iloc[::-1]
    fig, ax = _subplots(figsize=(9, 0.45 * len(rows) + 1.9), path=path)
    y = np.arange(len(rows))
    if base is not None and len(rows):
        low = rows.objective_low.to_numpy(float) - base
        high = rows.objective_high.to_numpy(float) - base
        known = np.abs(np.concatenate([low, high]))
        known = known[np.isfinite(known)]
        reach = float(known.max()) if len(known) and known.max() > 0 else max(abs(base) * 0.01, 1.0)
        half = 0.38  # each input gets two half rows: -delta above, +delta below
        ax.barh(y + 0.2, np.nan_to_num(low), left=base, height=half, color="#c0504d", label=f"input −{delta:.0%}")
        ax.barh(y - 0.2, np.nan_to_num(high), left=base, height=half, color="#4f81bd", label=f"input +{delta:.0%}")
        hatched = {"facecolor": "white", "edgecolor": "#555", "hatch": "///", "linewidth": 0.8}
        for offset, values, sign in ((0.2, low, "−"), (-0.2, high, "+")):
            for k in np.flatnonzero(~np.isfinite(values)):  # the whole half row: no plan, not "no effect"
                ax.barh(y[k] + offset, 2 * reach, left=base - reach, height=half, **hatched)
                ax.annotate(f"no plan at {sign}{delta:.0%}", (base, y[k] + offset), ha="center", va="center",
                            fontsize=7, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            ax.add_patch(Rectangle((0, 0), 0, 0, label="no plan (infeasible) at this side", **hatched))
        ax.axvline(base, color="#333", linewidth=1)
    ax.set_yticks(y, [_clip(str(v)) for v in rows.label])
    money_axis(ax.xaxis)
    ax.set_xlabel(f"expected margin ({currency})" if currency else "expected margin")
    more = f"; {len(table) - top} more in tornado.csv" if len(table) > top else ""
    ax.set_title(f"What moves the margin most (each input ±{delta:.0%} alone{more})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _finish(fig, path)


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def plot_change(table: pd.DataFrame, names: tuple[str, str] = ("before", "after"), currency: str = "",
                path: Path | None = None, top: int = 12):
    """Spend and revenue change per cell (a table from ``change.allocation_change``)."""
    rows = table.head(top).iloc[::-1]
    labels = rows[[c for c in ("region", "channel") if c in rows]].astype(str).agg("/".join, axis=1)
    fig, axes = _subplots(1, 2, figsize=(10, 0.4 * len(rows) + 1.8), path=path, sharey=True)
    for ax, measure, color in zip(axes, ("spend", "revenue"), ("#4f81bd", "#9bbb59")):
        ax.barh(np.arange(len(rows)), rows[f"{measure}_change"], color=color)
        ax.axvline(0, color="#333", linewidth=1)
        money_axis(ax.xaxis)
        ax.set_xlabel(f"{measure} change ({currency})" if currency else f"{measure} change")
    axes[0].set_yticks(np.arange(len(rows)), labels)
    fig.suptitle(f"From {names[0]} to {names[1]}: what moved")
    return _finish(fig, path)


def _finish(fig, path):
    """Lay the figure out; save and close it when a path is given, else hand it back to show."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
