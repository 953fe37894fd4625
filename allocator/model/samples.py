"""The sample blocks of a two-stage stochastic plan (docs/uncertainty.md, "Reserve sizing").

The model's own families are the first stage: spend in every period (before the checkpoint it is
final, after it it is the plan the reserve adds to), the hiring plan, temp staff and the reserve
``Z``, with every floor, policy and bound on the planned quantities. Each sample ``w`` (drawn
bases and curves, ``data.samples.cells[w]``) adds a block built by the same family functions,
run on the sample's cells with the sample's coordinate appended to every row label:

- response: ``y^w <= s_t b^w + lift^w``. Before the checkpoint the spend is the first stage's
  own segment columns, read with the sample's chord slopes on their breakpoints (a common grid:
  ``common_points`` refines it until every drawn curve meets ``pwl_tolerance`` on it). After the
  checkpoint the sample has its own segments ``d^w`` on its own curve, and a recourse row
  ``sum d^w = planned + v^w`` with ``v^w >= 0``: what it buys with the reserve there, each unit
  at ``1 + premium`` (late buys lose upfront terms; ``stochastic.recourse_premium``);
- spend bounds and marketing-spend policies on the sample's spend, sales capacity with the
  first-stage heads, potential;
- reserve use ``(1 + premium) sum v^w <= Z``.

The sample's margin ``M^w = sum m y^w - spend^w - premium sum v^w - P`` (``margin_terms`` on the
sample, plus the premium) makes the
objective: the mean over samples (sample average approximation), optionally with the
Rockafellar-Uryasev CVaR rows ``u^w >= eta - M^w`` as a floor or a weight.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from allocator.model import curves, families, response, staffing
from allocator.model.kinds import EQ, GE, LE, RowKind

if TYPE_CHECKING:
    from allocator.model.build import PlanningModel, Terms

SCOPED = ("data", "segments", "revenue", "response_rows", "breakpoints", "cell_segments",
          "filter_cache", "cell_spend", "spend_all")
MAX_REFINE_ROUNDS = 8


@dataclass
class SampleBlock:
    """Where sample ``w``'s quantities sit: its revenue and recourse columns and its margin terms."""

    revenue: dict  # (region, channel, period) -> y^w
    recourse: dict  # (region, channel, period) after the checkpoint -> v^w
    segments: dict  # (region, channel, period) -> (columns, slopes) of the sample's spend
    margin: Terms  # M^w in model units


@dataclass
class RiskColumns:
    eta: int  # value at risk at the optimum
    tail: np.ndarray  # u^w, the shortfall of each sample below eta
    level: float


def sample_data(data, w: int):
    """The planning data of sample ``w``: its cells, no refinement, no samples of its own, and the
    policies on marketing spend (they hold in every sample: the reserve spent after the checkpoint
    obeys them too; with no reserve spent they hold as planned, so no draw makes them infeasible)."""
    spend_policies = tuple(p for p in data.policies if p.share == "marketing_spend")
    return replace(data, cells=data.samples.cells[w], extra_points={}, overestimate=False, samples=None,
                   policies=spend_policies)


@contextmanager
def _scope(model: PlanningModel, data, w: int):
    """Run family functions on sample ``w``: its data and its own response dictionaries; every row
    added gets ``("sample", w)`` after its coordinates. The first stage's are restored after."""
    saved = {name: getattr(model, name) for name in (*SCOPED, "scope_label", "scope_name")}
    model.data = data
    model.segments, model.revenue, model.response_rows, model.breakpoints = {}, {}, {}, {}
    model.cell_segments, model.filter_cache, model.cell_spend = {}, {}, {}
    model.scope_label, model.scope_name = ("sample", w), f"[sample {w}]"
    try:
        yield saved
    finally:
        for name, value in saved.items():
            setattr(model, name, value)


def add_samples(model: PlanningModel) -> None:
    """Every sample's block, the shared gates the drawn curves need, and the objective."""
    from allocator.model.build import combine, margin_terms, scaled, terms

    data = model.data
    if model.spend_cols:  # refused with the inputs (allocator/stochastic/inputs.py): periods tie together
        raise ValueError("a stochastic plan cannot model carryover")
    st = data.samples
    first = set(data.periods[: st.first])
    shaped = s_shaped(data)
    slopes = _sample_slopes(model)
    shared = {k: s for k, s in slopes.items() if k[2] in first or k[:2] in shaped}
    if not st.concave_part_only:
        _shared_gates(model, shared)
    model.shared_slopes = shared
    model.sample_blocks = []
    for w in range(len(st.cells)):
        with _scope(model, sample_data(data, w), w) as stage:
            recourse = _sample_response(model, stage, first, shaped, {k: s[w] for k, s in slopes.items()})
            response.add_spend_bounds(model)
            if model.capacity_terms:  # a sales force: the first stage's heads close the sample's demand
                for region in data.regions:
                    members = [c for c in model.data.cells if c.region == region]
                    for period in data.periods:
                        staffing.add_capacity(model, region, period, members)
            families.add_potential(model)
            families.add_policies(model)  # marketing-spend shares, on the sample's spend
            used = np.fromiter(recourse.values(), dtype=np.int64, count=len(recourse))
            cost = np.full(len(used), 1.0 + st.premium)  # late buys cost more, out of the reserve
            use = (np.append(used, model.reserve), np.append(cost, -1.0))
            model.add_row(RowKind.RESERVE_USE, (), "reserve_use", use, LE, 0.0, model.unit)
            margin = combine(terms(margin_terms(model), (used, np.full(len(used), -st.premium))))
            block = SampleBlock(model.revenue, recourse, model.segments, margin)
        model.sample_blocks.append(block)
    n = len(model.sample_blocks)
    mean = terms(*[scaled(b.margin, 1.0 / n) for b in model.sample_blocks])
    model.risk = None
    if st.cvar_level is not None:
        model.risk = risk = _cvar_rows(model, st.cvar_level)
        cvar = terms((np.array([risk.eta]), np.array([1.0])), (risk.tail, np.full(n, -1.0 / (risk.level * n))))
        if st.min_cvar is not None:
            model.add_row(RowKind.CVAR, ("min",), "cvar_min", cvar, GE, st.min_cvar / model.unit, model.unit)
        else:
            mean = terms(scaled(mean, 1.0 - st.risk_weight), scaled(cvar, st.risk_weight))
    model.objective_parts = mean


def _cvar_rows(model: PlanningModel, level: float) -> RiskColumns:
    """``u^w >= eta - M^w``, ``u^w >= 0``: at the optimum ``eta - sum u / (a N)`` is the CVaR."""
    from allocator.model.build import combine, terms

    eta = model.var(-np.inf, np.inf)
    tail = model.vars(len(model.sample_blocks))
    for w, (u, block) in enumerate(zip(tail, model.sample_blocks)):
        t = combine(terms((np.array([u, eta]), np.array([1.0, -1.0])), block.margin))
        model.add_row(RowKind.CVAR, ("tail", w), f"cvar_tail[sample {w}]", t, GE, 0.0, model.unit)
    return RiskColumns(eta, tail, level)


def _drawn_slopes(cell, bp, season: float) -> np.ndarray:
    """Chord slopes of ``cell``'s (drawn) period curve on the breakpoints ``bp``."""
    xs = bp.spend / season
    lift = season * curves.value(cell.curve, xs)
    return np.diff(lift) / np.diff(bp.spend)


def s_shaped(data) -> set[tuple[str, str]]:
    """Cells whose curve, nominal or drawn, is not concave: after the checkpoint they keep their
    planned spend, read on the shared segments (no recourse spend: each sample would need its own
    binaries, which made 5 samples of the annual example take a minute; docs/uncertainty.md)."""
    out = set()
    for i, cell in enumerate(data.cells):
        if not curves.concave(cell.curve) or not all(curves.concave(c[i].curve) for c in data.samples.cells):
            out.add((cell.region, cell.channel))
    return out


def _sample_slopes(model: PlanningModel) -> dict:
    """Each sample's chord slopes ``(samples, segments)`` on the first stage's breakpoints (the
    common grid, on which every drawn curve meets ``pwl_tolerance``), per cell and period."""
    data = model.data
    out = {}
    for i, cell in enumerate(data.cells):
        for period in data.periods:
            k = (cell.region, cell.channel, period)
            bp = model.breakpoints[k]
            if bp is None:
                continue
            season = data.season[period]
            out[k] = np.array([_drawn_slopes(cells[i], bp, season) for cells in data.samples.cells])
    return out


def _rises(s: np.ndarray) -> np.ndarray:
    """Where a slope rises over the one before (as ``Breakpoints.concave_runs`` reads it)."""
    return s[..., 1:] > s[..., :-1] * (1 + 1e-9) + 1e-12


def _shared_gates(model: PlanningModel, slopes: dict) -> None:
    """Gate the shared segments where some drawn curve rises and the first stage has no gate:
    each sample's lift is then read off segments filled in order, as its interpolant requires."""
    data = model.data
    index = {(c.region, c.channel): i for i, c in enumerate(data.cells)}
    for k, s in slopes.items():
        i = index[k[:2]]
        if all(curves.concave(cells[i].curve) for cells in data.samples.cells) or s.shape[1] < 2:
            continue
        bp = model.breakpoints[k]
        nominal = data.cells[i]
        gated = set()
        if not curves.concave(nominal.curve) and _rises(bp.slopes).any():
            gated = {r.start for r in bp.concave_runs()[1:]}
        drawn = set((np.flatnonzero(_rises(s).any(axis=0)) + 1).tolist())
        if not drawn - gated:
            continue
        starts = sorted({0} | gated | drawn)
        runs = [range(a, b) for a, b in zip(starts, [*starts[1:], s.shape[1]])]
        cols = model.segments[k][0]
        lengths = np.diff(bp.spend) / model.unit
        for before, run in zip(runs, runs[1:]):
            if run.start not in gated:
                response._gate(model, cols, lengths, before, run)


def _sample_response(model: PlanningModel, stage: dict, first: set, shaped: set, slopes: dict) -> dict:
    """Family 1 for one sample (the model is in its scope): revenue columns and response rows on
    the first stage's breakpoints with the sample's ``slopes``; after the checkpoint (concave
    cells) the sample's own segment columns and a recourse row. Returns the recourse columns."""
    data, unit = model.data, model.unit
    recourse = {}
    empty = np.zeros(0, dtype=np.int64)
    for cell in data.cells:
        label = response.cell_label(cell.region, cell.channel)
        for period in data.periods:
            k = (cell.region, cell.channel, period)
            season = data.season[period]
            planned, bp = stage["segments"][k][0], stage["breakpoints"][k]
            if bp is None:
                cols, g = empty, np.zeros(0)
            elif period in first or k[:2] in shaped:
                cols, g = planned, slopes[k]
            else:  # concave after the checkpoint: the sample's own segments, planned spend plus recourse
                g = slopes[k]
                cols = model.vars(len(g), 0.0, np.diff(bp.spend) / unit)
                recourse[k] = v = model.var()
                link = (np.concatenate([cols, planned, [v]]),
                        np.concatenate([np.ones(len(cols)), -np.ones(len(planned)), [-1.0]]))
                model.add_row(RowKind.RECOURSE, k, f"recourse[{label},{period}]", link, EQ, 0.0, unit)
            y = model.var()
            model.segments[k], model.revenue[k], model.breakpoints[k] = (cols, g), y, bp
            t = (np.append(np.int64(y), cols), np.append(1.0, -g))
            model.response_rows[k] = model.add_row(RowKind.RESPONSE, k, f"response[{label},{period}]", t, LE,
                                                   season * cell.base / unit, unit, region=cell.region,
                                                   period=period)
        parts = [model.segments[(cell.region, cell.channel, p)][0] for p in data.periods]
        model.cell_segments[(cell.region, cell.channel)] = np.concatenate(parts) if parts else empty
        model.cell_spend[(cell.region, cell.channel)] = model.cell_segments[(cell.region, cell.channel)]  # no carryover
    parts = list(model.cell_segments.values())
    model.spend_all = np.concatenate(parts) if parts else empty
    return recourse


def common_points(data, samples) -> dict[tuple[str, str], tuple[float, ...]]:
    """Extra annual breakpoints per cell so that every drawn curve (``samples[w][i]``) is within
    ``pwl_tolerance * f~(hi)`` of its chords on the shared grid: segments that fail are halved,
    until all pass (or ``MAX_REFINE_ROUNDS`` rounds). Only curves that vary are refined."""
    extra = {}
    for i, cell in enumerate(data.cells):
        drawn = [cells[i].curve for cells in samples]
        if all(c == cell.curve for c in drawn):
            continue
        bp = response.annual_breakpoints(data, cell)
        if bp is None:
            continue
        xs = bp.spend
        hi = response.curve_hi(cell)
        scale = np.array([float(curves.value(c, [hi])[0]) for c in drawn])[:, None]
        added: list[float] = []
        for _ in range(MAX_REFINE_ROUNDS):
            q = np.array([0.5])  # a smooth chord is furthest from its curve near the middle
            probe = (xs[:-1, None] + np.diff(xs)[:, None] * q).ravel()
            exact = np.array([curves.value(c, probe) for c in drawn])
            ends = np.array([curves.value(c, xs) for c in drawn])
            chord = np.array([np.interp(probe, xs, e) for e in ends])
            worst = (np.abs(exact - chord) / np.maximum(scale, 1e-300)).reshape(len(drawn), len(xs) - 1, len(q)).max(axis=(0, 2))
            bad = np.flatnonzero(worst > data.tolerance)
            if not len(bad):
                break
            mids = (xs[bad] + xs[bad + 1]) / 2
            added.extend(mids.tolist())
            xs = np.union1d(xs, mids)
        if added:
            extra[(cell.region, cell.channel)] = tuple(sorted(added))
    return extra
