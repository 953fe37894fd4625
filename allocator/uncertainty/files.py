"""A risk report's files in a run folder: ``risk.csv``, ``risk.json``, ``risk_evpi.csv``, two
PNGs and ``risk.html``. A second report gets ``risk-2.*``, and so on: no file is ever replaced.
Every file is written to a hidden temporary folder first and then linked into place (a link
never replaces an existing file); ``risk.json`` comes last, so a report whose JSON exists is whole.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from pathlib import Path

from allocator.output import write_csv, write_json
from allocator.scenario.amounts import format_amount
from allocator.uncertainty import plots

MAX_REPORTS = 10_000


def names(n: int) -> dict[str, str]:
    """File names of the ``n``-th risk report of a run folder (``risk.*``, then ``risk-2.*``...)."""
    stem = "risk" if n == 1 else f"risk-{n}"
    return {"csv": f"{stem}.csv", "evpi": f"{stem}_evpi.csv", "histogram": f"{stem}_histogram.png",
            "fan": f"{stem}_fan.png", "html": f"{stem}.html", "json": f"{stem}.json"}


def write_risk(report, folder: str | Path) -> dict[str, Path]:
    """Write the report's files into ``folder`` under the first free ``risk[-n]`` names."""
    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".risk.", suffix=".partial", dir=folder))
    try:
        staged = {key: tmp / f"{key}.out" for key in names(1)}
        write_csv(report.samples, staged["csv"])
        write_csv(report.evpi, staged["evpi"])
        for key, draw in (("histogram", plots.histogram), ("fan", plots.fan)):
            draw(report).savefig(staged[key], format="png", dpi=110, metadata={"Software": None})
        write_json(staged["json"], report.to_json())
        for n in range(1, MAX_REPORTS):
            taken = _claim(staged, folder, names(n), report)
            if taken is not None:
                return taken
        raise RuntimeError(f"no free name for a risk report in {folder}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _claim(staged: dict[str, Path], folder: Path, wanted: dict[str, str], report) -> dict[str, Path] | None:
    if any((folder / name).exists() for name in wanted.values()):
        return None
    staged["html"].write_text(page(report, wanted), encoding="utf-8")
    done: list[Path] = []
    try:
        for key, name in wanted.items():  # json last
            os.link(staged[key], folder / name)
            done.append(folder / name)
    except FileExistsError:  # taken meanwhile (a concurrent report): give these back, try the next
        for path in done:
            path.unlink(missing_ok=True)
        return None
    except BaseException:
        for path in done:
            path.unlink(missing_ok=True)
        raise
    return {key: folder / name for key, name in wanted.items()}


def page(report, files: dict[str, str]) -> str:
    """A standalone HTML page: the summary, the regions, EVPI and the two pictures."""
    info = report.info
    e = html.escape

    def money(v) -> str:
        return "-" if v is None or v != v else e(format_amount(round(float(v))))

    def share(v) -> str:
        return "-" if v is None or v != v else f"{float(v):.1%}"

    stats = "".join(
        f"<tr><th>{e(name)}</th>" + "".join(f"<td>{money(report.summary.loc[name, k])}</td>" for k in report.summary.columns) + "</tr>"
        for name in report.summary.index
    )
    head = "".join(f"<th>{e(k)}</th>" for k in report.summary.columns)
    regions = "".join(
        f"<tr><th>{e(str(r.region))}</th><td>{money(r.floor)}</td><td>{share(r.p_miss_floor)}</td>"
        f"<td>{share(r.p_capacity_binds)}</td><td>{money(r.revenue_mean)}</td><td>{money(r.revenue_p5)}</td></tr>"
        for r in report.regions.itertuples()
    )
    if info["evpi"] is None:
        evpi = "<p>Expected value of perfect information: not estimated (no draw was re-optimised).</p>"
    else:
        failed = f", {info['evpi_failed']} without a plan" if info["evpi_failed"] else ""
        evpi = (f"<p>Expected value of perfect information: <b>{money(info['evpi'])}</b> "
                f"(standard error {money(info['evpi_stderr'])}), from {info['evpi_draws']} re-optimised draws"
                f"{failed}; "
                f"each draw in <code>{e(files['evpi'])}</code>.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Risk: {e(info['scenario'])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}}img{{max-width:100%}}</style></head>
<body><h1>Risk of the plan: {e(info['scenario'])}</h1>
<p>{info['samples']:,} samples ({e(info['distribution'])}, seed {info['seed']}); spend and headcount held at the plan's.
Margin with the curves as planned: {money(info['deterministic_margin'])}.
Capacity binds somewhere in {share(info['p_capacity_binds'])} of the samples;
the company revenue target is missed in {share(info['revenue_target_miss'])}.</p>
<table><tr><th></th>{head}</tr>{stats}</table>
<h2>Regions</h2>
<table><tr><th>region</th><th>growth floor</th><th>P(miss floor)</th><th>P(capacity binds)</th><th>mean revenue</th><th>P5 revenue</th></tr>{regions}</table>
{evpi}
<img src="{e(files['histogram'])}" alt="margin histogram"><img src="{e(files['fan'])}" alt="revenue fan chart">
<p>Every sample in <code>{e(files['csv'])}</code>; the figures in <code>{e(files['json'])}</code>.</p>
</body></html>
"""
