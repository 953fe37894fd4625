"""Reserve sizing: 50 samples of the annual example (figures in docs/uncertainty.md).

    .venv/bin/python benchmarks/bench_stochastic.py                     # 50 samples, the whole run too
    .venv/bin/python benchmarks/bench_stochastic.py --exact-mip 120     # and the unrestricted MIP, 120 s

Timed phases, wall and CPU (``time.process_time``), with the load average before and after:

* ``draw``: samples and the common grid (``stochastic_data``);
* ``deterministic``: the scenario's own model (the plan VSS compares against);
* ``build``: the planning model with one block per sample, S-shaped cells on their concave part;
* ``solve``: the stochastic plan (relaxed LP, then rounded headcount: every step an LP);
* ``run``: ``solve_stochastic`` end to end (all of the above, the plan of record, the reserve
  curve at 4 levels, and ``evaluation_samples`` fresh draws for VSS).

``--exact-mip S`` also solves the same samples without the restriction and with whole heads and
every gate binary (HiGHS branch and bound), for at most S seconds: the reason for the restriction.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

from allocator import load_scenario
from allocator.model.build import build_model
from allocator.plan import tabulate
from allocator.solve import solve_model
from allocator.stochastic import stages
from allocator.stochastic.inputs import stochastic_data
from allocator.stochastic.solve import solve_stage, solve_stochastic

ROOT = Path(__file__).resolve().parent.parent


def timed(label: str, action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<14} {wall:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "annual_plan_uncertain.yaml")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--exact-mip", type=float, default=0.0, help="seconds for the unrestricted MIP (0: skip)")
    parser.add_argument("--no-run", action="store_true", help="skip the end-to-end run")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    s = load_scenario(args.scenario)
    data = timed("draw", lambda: stochastic_data(s, args.samples, args.seed))
    plain = build_model(replace(data, samples=None, extra_points={}))
    det = timed("deterministic", lambda: solve_model(plain, "highs", 120, s.solver.mip_gap))
    spending = stages.spending(tabulate(plain, det), data)
    restricted = replace(data, samples=replace(data.samples, concave_part_only=True))

    def build():
        model = build_model(restricted)
        stages.concave_part(model, spending)
        return model

    model = timed("build", build)
    print(f"  {model.ncols:,} columns, {model.nrows:,} rows, {len(data.samples.cells)} samples")
    stage = timed("solve", lambda: solve_stage(model, None))
    print(f"  expected margin {stage.margins.mean():,.0f}, reserve {stage.first.reserve:,.0f}, "
          f"gap to the relaxation {stage.gap:.2e}")
    if not args.no_run:
        plan = timed("run", lambda: solve_stochastic(s, args.samples, args.seed))
        keys = ("reserve", "expected_margin", "p5_margin", "vss", "vss_stderr", "mip_gap")
        print("  " + ", ".join(f"{k} {plan.summary[k]:,.4g}" for k in keys))
        print("  phases (wall): " + ", ".join(f"{k} {v:.1f} s" for k, v in plan.timings.items()))
    if args.exact_mip:
        full = build_model(data)  # every gate binary, shared and nominal; heads whole
        print(f"  exact MIP: {full.ncols:,} columns, {int(full.form.integer.sum())} integer")
        exact = timed("exact MIP", lambda: full.solve(time_limit=args.exact_mip, mip_gap=s.solver.mip_gap))
        print(f"  status {exact.status}, objective {exact.objective * full.unit:,.0f}, gap {exact.mip_gap:.2e}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
