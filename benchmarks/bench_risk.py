"""Risk of a fixed plan: 10,000 samples of the annual example (figures in docs/uncertainty.md).

    .venv/bin/python benchmarks/bench_risk.py                       # 10,000 samples, 3 repeats, 3 EVPI draws
    .venv/bin/python benchmarks/bench_risk.py --samples 100000 --evpi 0

The plan is solved once (not in the figures). Timed phases, best of ``--repeats``:

* ``draw``: the sampled factors of every parameter of every cell (``allocator.uncertainty.draw``);
* ``realise``: demand on the drawn curves and the highest-margin-first sale within capacity and
  potential, for every sample (``allocator.uncertainty.evaluate.realise``);
* ``risk()``: the whole evaluation without EVPI (draw, realise, statistics, tables);
* ``write``: risk.csv, risk.json, two PNGs and risk.html (``write_risk``).

Then ``--evpi`` re-optimised draws (each a full solve of a scenario with drawn parameters),
timed one by one: that is where ``allocator risk``'s time goes.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from allocator import load_scenario, solve
from allocator.model.data import planning_data
from allocator.uncertainty import draw, risk, write_risk
from allocator.uncertainty.assess import drawn_scenario
from allocator.uncertainty.evaluate import fixed_plan, realise

ROOT = Path(__file__).resolve().parent.parent


def best(repeats: int, action) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "annual_plan_uncertain.yaml")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--evpi", type=int, default=3, help="re-optimised draws to time")
    args = parser.parse_args()

    s = load_scenario(args.scenario)
    start = time.perf_counter()
    plan = solve(s)
    solve_seconds = time.perf_counter() - start
    data = planning_data(s)
    fixed = fixed_plan(plan.allocation, plan.headcount, plan.summary["people_cost"], data)

    t_draw, draws = best(args.repeats, lambda: draw(s, args.samples))
    t_realise, _ = best(args.repeats, lambda: realise(data, fixed, draws))
    t_risk, report = best(args.repeats, lambda: risk(plan, s, args.samples, evpi_samples=0))
    with tempfile.TemporaryDirectory() as folder:
        t_write, _ = best(1, lambda: write_risk(report, folder))
    evpi = []
    for k in range(args.evpi):
        start = time.perf_counter()
        solve(drawn_scenario(s, draws, k))
        evpi.append(time.perf_counter() - start)

    print(f"{args.scenario.name}: {len(s.response)} cells x {len(s.periods.names)} periods, "
          f"{args.samples:,} samples; python {platform.python_version()}, {platform.machine()}")
    print(f"  solve (once)      {solve_seconds:8.3f} s")
    print(f"  draw              {t_draw:8.3f} s")
    print(f"  realise           {t_realise:8.3f} s")
    print(f"  risk() (no EVPI)  {t_risk:8.3f} s")
    print(f"  write files       {t_write:8.3f} s")
    if evpi:
        print(f"  EVPI re-solve     {statistics.median(evpi):8.3f} s median of {len(evpi)} "
              f"(min {min(evpi):.3f}, max {max(evpi):.3f})")
    print(f"  margin: mean {report.summary.loc['margin', 'mean']:,.0f}, P5 {report.summary.loc['margin', 'p5']:,.0f}, "
          f"CVaR 5% {report.summary.loc['margin', 'cvar_5']:,.0f}")


if __name__ == "__main__":
    main()
