"""Exact-curve refinement warm on the live models against a rebuild every round, side by side.

    .venv/bin/python benchmarks/bench_refine.py [--repeat N] [SCENARIO ...]

For each scenario (default: the two examples of ``docs/exact-curves.md``) and each of N repeats,
``allocator.solve`` runs twice in this process, alternating: ``warm`` (the rounds change the two
live models in place, ``allocator/model/restructure.py``) and ``rebuild`` (``PlanningModel.update``
refused, so every round builds and passes a new model, as before). Printed per run: the first
solve's and the refinement's wall seconds, the refinement's CPU seconds (``time.process_time``),
rounds, the plan's exact-curve margin and gap, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import allocator.api as api
from allocator import load_scenario, solve
from allocator.model.build import PlanningModel
from allocator.model.kinds import RebuildReason, RebuildRequired

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "scenarios" / "annual_plan.yaml", ROOT / "scenarios" / "quarter_12_weeks.yaml"]


def refuse(self, data):
    raise RebuildRequired(RebuildReason.BREAKPOINTS, "rebuild every round (benchmark)")


def one(path: Path, mode: str) -> dict:
    cpu = {}
    refine = api.refine_plan

    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return refine(*args, **kwargs)
        finally:
            cpu["refine"] = time.process_time() - start

    saved = PlanningModel.update
    api.refine_plan = timed
    if mode == "rebuild":
        PlanningModel.update = refuse
    try:
        plan = solve(load_scenario(path))
    finally:
        api.refine_plan, PlanningModel.update = refine, saved
    s, t = plan.summary, plan.timings
    return {"solve": t["solve"], "refine": t.get("refine", 0.0), "cpu": cpu.get("refine", 0.0),
            "rounds": s.get("exact_rounds"), "objective": s["objective"], "gap": s.get("exact_curve_gap"),
            "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("scenarios", nargs="*", type=Path, default=EXAMPLES)
    args = ap.parse_args()
    for path in args.scenarios:
        runs = {"warm": [], "rebuild": []}
        for _ in range(args.repeat):
            for mode in runs:
                r = one(path, mode)
                runs[mode].append(r)
                print(f"{path.name} {mode:7s} solve {r['solve']:.2f} s  refine {r['refine']:.2f} s (cpu {r['cpu']:.2f})  "
                      f"rounds {r['rounds']}  objective {r['objective']:,.2f}  exact gap {r['gap']:.2e}  "
                      f"load {r['load']:.1f}", flush=True)
        med = {m: (statistics.median(r["refine"] for r in v), statistics.median(r["cpu"] for r in v))
               for m, v in runs.items()}
        print(f"{path.name}: median refinement warm {med['warm'][0]:.2f} s (cpu {med['warm'][1]:.2f}), rebuild "
              f"{med['rebuild'][0]:.2f} s (cpu {med['rebuild'][1]:.2f}): {med['rebuild'][1] / med['warm'][1]:.1f}x "
              "less CPU warm\n", flush=True)


if __name__ == "__main__":
    main()
