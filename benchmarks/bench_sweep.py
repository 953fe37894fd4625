"""A 50-point budget sweep on a medium scenario, solved five ways (figures in docs/sensitivity.md).

    .venv/bin/python benchmarks/bench_sweep.py                      # medium-lp, 50 points, 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --scenario scenarios/annual_plan.yaml --points 12 --keep-floors

Variants, all through ``allocator.sensitivity.sweep`` except the reference ``frontier``:

* ``rebuild``: sequential, every point built and solved afresh (``allocator.solve``), as by hand;
* ``warm``: sequential, one model built, every point a warm re-solve (``engine="serial"``);
* ``local``: the local engine, ``--workers`` processes, each re-solving its own built model, and
  ``local (rebuild)``: the same processes rebuilding every point (what parallelism alone buys);
* ``dask``: a Dask ``LocalCluster`` of ``--workers`` processes started for the sweep (included in
  the time), and ``dask (running)``: the same on a cluster that was already up;
* ``frontier``: ``allocator.frontier.frontier`` (``allocator/warm.py``: warm, full tables per point).

The default scenario is ``benchmarks/generated/medium-lp.yaml`` (10 regions x 6 channels x 26
fortnights, 45,807 columns, an LP) with its growth floors and revenue floor lifted: as generated,
those floors force nearly all the spend and the budget binds only between 38% and 39% of
``budget.total``, so a budget sweep would be flat. Budgets run from ``--low`` to ``--high`` times
``budget.total``. The generated MIP (``medium.yaml``) needs over a minute per point and is not swept.
The scenario is written by ``benchmarks/generate.py`` when it is missing (``generated/`` is not in git).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from allocator import load_scenario
from allocator.frontier import frontier
from allocator.model import curves
from allocator.model.data import planning_data
from allocator.sensitivity import points, sweep
from allocator.sensitivity.resolve import error_bound, with_ceilings
from allocator.sensitivity.sweep import ceilings

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "generated" / "medium-lp.yaml"


def timed(fn):
    curves._breakpoints.cache_clear()  # every variant places its breakpoints itself
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run(args) -> dict:
    if args.scenario == DEFAULT and not DEFAULT.exists():  # generated files are not in git
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--sizes", "medium", "--lp"], check=True)
    base = load_scenario(args.scenario)
    if not args.keep_floors:
        base = base.with_changes({"targets.revenue": None, "targets.growth_floor": {}})
    budgets = [float(b) for b in np.linspace(args.low, args.high, args.points) * base.budget.total]
    grid = {"budget.total": budgets}
    tables = {}
    tables["rebuild"], t_rebuild = timed(lambda: sweep(base, grid, engine="serial", warm=False, explain=False))
    results = {"rebuild": t_rebuild}
    tables["warm"], results["warm"] = timed(lambda: sweep(base, grid, engine="serial", explain=False))
    tables["local"], results["local"] = timed(lambda: sweep(base, grid, engine="local", workers=args.workers,
                                                            explain=False))
    tables["local (rebuild)"], results["local (rebuild)"] = timed(
        lambda: sweep(base, grid, engine="local", workers=args.workers, warm=False, explain=False))
    tables["dask"], results["dask"] = timed(lambda: sweep(base, grid, engine="dask", workers=args.workers,
                                                          explain=False))
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        tables["dask (running)"], results["dask (running)"] = timed(
            lambda: sweep(base, grid, engine="dask", scheduler=client, explain=False))
    reference, results["frontier"] = timed(lambda: frontier(base, budgets, warm=True))
    tables["frontier"] = reference.rename(columns={"budget": "budget.total"})

    fresh = tables["rebuild"].objective.to_numpy()
    built = with_ceilings(planning_data(base.with_changes({"budget.total": budgets[0]})), ceilings(base, points(grid)))
    bounds = np.array([error_bound(built, planning_data(base.with_changes({"budget.total": b}))) for b in budgets])
    rows = []
    for name, table in tables.items():
        diff = np.abs(table.objective.to_numpy() - fresh)
        rows.append({
            "variant": name,
            "total_s": results[name],
            "per_point_s": results[name] / len(budgets),
            "speedup": t_rebuild / results[name],
            "warm_points": int((table.method == "warm").sum()) if "method" in table else None,
            "statuses_equal": bool((table.status.to_numpy() == tables["rebuild"].status.to_numpy()).all()),
            "max_rel_diff": float(np.nanmax(diff / np.abs(fresh))),
            "within_bound": bool(np.all(diff <= bounds + 1e-7 * np.abs(fresh))),
        })
    binding = int((tables["rebuild"].budget_shadow_price > 1e-9).sum())
    return {"scenario": str(args.scenario), "floors_lifted": not args.keep_floors, "points": len(budgets),
            "budgets": [budgets[0], budgets[-1]], "budget_binding_points": binding, "workers": args.workers,
            "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores", "rows": rows,
            "median_point_s": {name: float(t.seconds.median()) for name, t in tables.items() if "seconds" in t}}


def markdown(result: dict) -> str:
    lines = [f"{result['points']} budgets {result['budgets'][0] / 1e6:.1f}M..{result['budgets'][1] / 1e6:.1f}M on "
             f"{Path(result['scenario']).name}{' (floors lifted)' if result['floors_lifted'] else ''}; "
             f"the budget binds at {result['budget_binding_points']} of them; {result['workers']} workers; "
             f"{result['machine']}.", "",
             "| variant | total s | s / point | speed-up vs rebuild | warm points | statuses equal | max rel. diff "
             "vs rebuild | within documented bound |",
             "|---|--:|--:|--:|--:|---|--:|---|"]
    for r in result["rows"]:
        warm = "-" if r["warm_points"] is None else str(r["warm_points"])
        lines.append(f"| {r['variant']} | {r['total_s']:.1f} | {r['per_point_s']:.3f} | {r['speedup']:.1f}x | {warm} "
                     f"| {'yes' if r['statuses_equal'] else 'no'} | {r['max_rel_diff']:.1e} "
                     f"| {'yes' if r['within_bound'] else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--low", type=float, default=0.06, help="first budget, times budget.total")
    parser.add_argument("--high", type=float, default=0.30, help="last budget, times budget.total")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-floors", action="store_true", help="sweep the scenario as it is")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = run(args)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
