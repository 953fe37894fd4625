"""Warm re-solves on the one planning model: N budget points of a scenario against one solve.

    .venv/bin/python benchmarks/bench_warm.py [--scenario benchmarks/generated/medium-lp.yaml] [--points 50]

Builds the model once (at the largest budget: cells whose spend bound defaults to the budget get
breakpoints reaching that far), then for each budget calls ``PlanningModel.update`` and
``solve`` (HiGHS from the last basis) and the sweep row's totals (``plan.totals``): what a sweep
point does in ``allocator sweep``/``frontier`` (``engine=serial``). It prints one cold solve (HiGHS
run of a freshly passed model), the points' total and per-phase medians, and their ratio. The
scenario's growth and revenue floors are lifted, as in ``bench_sweep.py``, so the budget binds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    from allocator import load_scenario
    from allocator.model.build import build_model
    from allocator.model.data import planning_data
    from allocator.plan import totals
    from allocator.sensitivity.resolve import with_ceilings

    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default=str(HERE / "generated" / "medium-lp.yaml"))
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--low", type=float, default=0.3)
    parser.add_argument("--high", type=float, default=0.6)
    args = parser.parse_args()
    if not Path(args.scenario).exists():
        import generate

        sys.argv = [sys.argv[0], "--sizes", "medium", "--lp"]
        generate.main()
    base = load_scenario(args.scenario)
    if base.targets.revenue is not None or base.targets.growth_floor:
        base = base.with_changes({"targets.revenue": None, "targets.growth_floor": {}})
    budgets = np.linspace(args.low, args.high, args.points) * base.budget.total
    top = base.with_changes({"budget.total": float(budgets[-1])})
    ceilings = {(c.region, c.channel): c.hi for c in planning_data(top).cells}

    start = time.perf_counter()
    cold = build_model(with_ceilings(planning_data(base), ceilings))
    build = time.perf_counter() - start
    cpu = time.process_time()
    solution = cold.solve()
    one, one_cpu = solution.seconds, time.process_time() - cpu
    print(f"{args.scenario}: {cold.ncols:,} columns, {cold.nrows:,} rows; build {build:.2f} s, "
          f"one cold solve {one:.3f} s wall, {one_cpu:.3f} s CPU ({solution.status}); load {os.getloadavg()[0]:.1f}")

    phases: dict[str, list[float]] = {"data": [], "update": [], "solve": [], "totals": []}
    start, cpu = time.perf_counter(), time.process_time()
    objectives = []
    for budget in budgets:
        t = time.perf_counter()
        data = with_ceilings(planning_data(base.with_changes({"budget.total": float(budget)})), ceilings)
        phases["data"].append(time.perf_counter() - t)
        t = time.perf_counter()
        cold.update(data)
        phases["update"].append(time.perf_counter() - t)
        s = cold.solve()
        phases["solve"].append(s.seconds)
        t = time.perf_counter()
        objectives.append(totals(cold, s)["objective"])
        phases["totals"].append(time.perf_counter() - t)
    total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{args.points} warm points: {total:.2f} s wall = {total / one:.1f}x one solve, {total_cpu:.2f} s CPU = "
          f"{total_cpu / one_cpu:.1f}x its CPU; load {os.getloadavg()[0]:.1f}; per point (median wall): "
          + ", ".join(f"{k} {statistics.median(v) * 1000:.1f} ms" for k, v in phases.items()))
    print(f"objective from {objectives[0]:,.0f} to {objectives[-1]:,.0f}; non-decreasing: "
          f"{bool(np.all(np.diff(objectives) >= -1e-6 * abs(objectives[-1])))}")


if __name__ == "__main__":
    main()
