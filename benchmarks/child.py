"""One measured run in a fresh process; ``run.py`` starts it and reads the JSON it writes.

    python benchmarks/child.py allocator SCENARIO RESULT.json [--out DIR] [--dump A.npz] [--profile P.prof]
    python benchmarks/child.py reference SCENARIO RESULT.json [--dump B.npz]
    python benchmarks/child.py rins SCENARIO RESULT.json [--repeat N]
    python benchmarks/child.py duals SCENARIO RESULT.json

``allocator`` runs the real command line, ``allocator run SCENARIO --out DIR`` (``allocator.cli.main``),
with timing wrappers around the functions it calls, looked up by name at call time so that the
allocator's own code is left as it is: ``load_scenario`` (load), ``planning_data`` + ``build_model``
(build), ``linear_form`` (PuLP rows to arrays), ``HighsRunner.__init__`` (passModel),
``HighsRunner.run`` (the HiGHS run, read from ``Highs.getRunTime``, and ``_duals``, the re-solve for
shadow prices), ``tabulate``, the decomposition step (``check_inputs``, ``decompose_plan``) and ``Plan.write``. A wrapper whose target is missing is skipped.

``reference`` loads the scenario with ``allocator.load_scenario`` and then builds and solves the
model with ``benchmarks/reference.py`` (numpy arrays, one ``Highs.passModel``).

``rins`` solves the scenario's model (from ``linear_form``) with the allocator's HiGHS options,
alternately with RINS/RENS off (as in ``allocator/solve.py``) and on (the HiGHS default).

``duals`` (an LP) times the allocator's shadow-price re-solve against a warm re-solve.

``--dump`` writes the model arrays (and the solution) for ``run.py`` to compare the two models.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
HERE = Path(__file__).resolve().parent


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Timer:
    def __init__(self) -> None:
        self.t: dict[str, float] = {}
        self.captured: dict[str, object] = {}

    def add(self, name: str, seconds: float) -> None:
        self.t[name] = self.t.get(name, 0.0) + seconds

    def wrap(self, owner, attr: str, name: str, capture: str | None = None, after=None) -> None:
        """Replace ``owner.attr`` by a timed version (no-op when it does not exist)."""
        fn = getattr(owner, attr, None)
        if fn is None:
            return
        timer = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            finally:
                timer.add(name, time.perf_counter() - start)
            if capture is not None and capture not in timer.captured:
                timer.captured[capture] = result
            if after is not None:
                after(args, result)
            return result

        setattr(owner, attr, timed)


def run_allocator(args) -> dict:
    timer = Timer()
    start = time.perf_counter()
    import allocator.cli as cli

    # by sys.modules: the package attribute ``allocator.solve`` is the API function, not the module
    api, plan_mod, solve_mod = (sys.modules[f"allocator.{m}"] for m in ("api", "plan", "solve"))

    timer.add("import", time.perf_counter() - start)
    rss_after_import = _rss_mib()

    def after_run(call_args, solution):
        runner = call_args[0]
        if "solver" not in timer.t:
            timer.add("solver", float(runner.highs.getRunTime()))
            timer.captured["solution"] = solution

    def after_write(call_args, _result):
        timer.captured.setdefault("plan", call_args[0])

    timer.wrap(cli, "load_scenario", "load")
    timer.wrap(cli, "check_inputs", "decompose")  # present once the decomposition step is in `run`
    timer.wrap(cli, "decompose_plan", "decompose")
    decompose = sys.modules.get("allocator.decompose")
    if decompose is not None and not hasattr(cli, "check_inputs"):  # `run` calls api.run, which imports them
        timer.wrap(decompose, "check_inputs", "decompose")
        timer.wrap(decompose, "decompose_plan", "decompose")
    timer.wrap(api, "planning_data", "data")
    timer.wrap(api, "build_model", "build_model")
    timer.wrap(solve_mod, "linear_form", "linear_form", capture="form")
    runner = getattr(solve_mod, "HighsRunner", None)
    if runner is not None:
        timer.wrap(runner, "__init__", "pass",  # the arrays HiGHS receives (built by build_model now)
                   after=lambda call_args, _r: timer.captured.setdefault("form", call_args[1]))
        timer.wrap(runner, "run", "run", after=after_run)
        timer.wrap(runner, "_duals", "duals")
    timer.wrap(solve_mod, "solve_cbc", "cbc", capture="solution")
    timer.wrap(api, "tabulate", "tabulate")
    timer.wrap(api, "diagnose", "diagnose")
    timer.wrap(plan_mod.Plan, "write", "write", after=after_write)

    argv = ["allocator", "run", str(args.scenario), "--out", str(args.out)]
    sys.argv = argv
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    start = time.perf_counter()
    code = 0
    stdout = sys.stdout
    try:
        sys.stdout = open(os.devnull, "w")  # the summary table; the result goes to the JSON file
        if profiler is not None:
            profiler.enable()
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        if profiler is not None:
            profiler.disable()
        sys.stdout.close()
        sys.stdout = stdout
    timer.add("cli_total", time.perf_counter() - start)
    if profiler is not None:
        profiler.dump_stats(args.profile)

    t = timer.t
    t["build"] = t.get("data", 0.0) + t.get("build_model", 0.0)
    if "run" in t:
        t["run_other"] = t["run"] - t.get("solver", 0.0) - t.get("duals", 0.0)
    form = timer.captured.get("form")
    solution = timer.captured.get("solution")
    plan = timer.captured.get("plan")
    out = {
        "kind": "allocator",
        "allocator_file": sys.modules["allocator"].__file__,
        "exit_code": code,
        "times": t,
        "in_process_total": time.perf_counter() - T0,
        "cpu_total": time.process_time(),  # CPU seconds of the whole process (imports included)
        "rss_after_import_mib": rss_after_import,
        "rss_peak_mib": _rss_mib(),
    }
    if form is not None:
        out.update(columns=len(form.c), rows=len(form.row_lo), nonzeros=int(form.matrix.nnz),
                   integers=int(form.integer.sum()))
    if solution is not None:
        out.update(status=str(solution.status), objective_model=float(solution.objective),
                   mip_gap=float(solution.mip_gap))
    if plan is not None:
        out.update(plan_status=str(plan.status), plan_objective=plan.summary.get("objective"))
    if args.dump and form is not None:
        import numpy as np

        m = form.matrix.copy()
        m.sort_indices()
        values = solution.values if solution is not None else np.zeros(0)
        np.savez(args.dump, c=form.c, lb=form.lb, ub=form.ub, integer=form.integer, indptr=m.indptr,
                 indices=m.indices, data=m.data, row_lo=form.row_lo, row_hi=form.row_hi, values=values)
    return out


def run_reference(args) -> dict:
    t: dict[str, float] = {}
    start = time.perf_counter()
    import numpy as np

    sys.path.insert(0, str(HERE))
    import reference

    from allocator import load_scenario

    t["import"] = time.perf_counter() - start
    rss_after_import = _rss_mib()
    start = time.perf_counter()
    scenario = load_scenario(args.scenario)
    t["load"] = time.perf_counter() - start
    start = time.perf_counter()
    arrays = reference.build_arrays(scenario)
    t["build"] = time.perf_counter() - start
    options = scenario.solver
    result = reference.solve(arrays, options.time_limit, options.mip_gap)
    t["pass"], t["run"], t["solver"], t["extract"] = result["pass"], result["run"], result["solver"], result["extract"]
    t["total"] = t["build"] + t["pass"] + t["run"] + t["extract"]
    out = {
        "kind": "reference",
        "allocator_file": sys.modules["allocator"].__file__,
        "times": t,
        "in_process_total": time.perf_counter() - T0,
        "cpu_total": time.process_time(),
        "rss_after_import_mib": rss_after_import,
        "rss_peak_mib": _rss_mib(),
        "columns": len(arrays.c),
        "rows": len(arrays.row_lo),
        "nonzeros": len(arrays.data),
        "integers": int(arrays.integer.sum()),
        "status": result["status"],
        "objective_model": result["objective"],
        "margin": result["margin"],
        "mip_gap": result["mip_gap"],
    }
    if args.dump:
        np.savez(args.dump, c=arrays.c, lb=arrays.lb, ub=arrays.ub, integer=arrays.integer, indptr=arrays.indptr,
                 indices=arrays.indices, data=arrays.data, row_lo=arrays.row_lo, row_hi=arrays.row_hi,
                 values=result["values"])
    return out


def run_rins(args) -> dict:
    from allocator import load_scenario
    from allocator.model.build import build_model
    from allocator.model.data import planning_data
    from allocator.solve import HighsRunner, linear_form

    scenario = load_scenario(args.scenario)
    form = linear_form(build_model(planning_data(scenario)))
    options = scenario.solver
    runs = []
    for i in range(args.repeat):
        for rins in ((False, True) if i % 2 == 0 else (True, False)):
            runner = HighsRunner(form)  # the allocator's options (RINS/RENS off) ...
            h = runner.highs
            h.setOptionValue("mip_heuristic_run_rins", rins)  # ... or the HiGHS default (on)
            h.setOptionValue("mip_heuristic_run_rens", rins)
            h.setOptionValue("time_limit", float(options.time_limit) if options.time_limit else 1e30)
            h.setOptionValue("mip_rel_gap", float(options.mip_gap))
            h.run()
            info = h.getInfo()
            runs.append({"rins_rens": rins, "seconds": h.getRunTime(), "status": h.modelStatusToString(h.getModelStatus()),
                         "objective": info.objective_function_value, "mip_gap": info.mip_gap,
                         "nodes": info.mip_node_count})
    return {"kind": "rins", "columns": len(form.c), "integers": int(form.integer.sum()), "runs": runs,
            "time_limit": options.time_limit, "mip_gap": options.mip_gap}


def run_duals(args) -> dict:
    """Shadow prices of a solved LP: the allocator's fresh re-solve (``HighsRunner._duals``: a new
    HiGHS model with the reserve's tie-break weight removed) against a warm re-solve of the same
    HiGHS instance after ``changeColCost(reserve, 0)``."""
    import numpy as np

    from allocator import load_scenario
    from allocator.model.build import build_model
    from allocator.model.data import planning_data
    from allocator.solve import HighsRunner, linear_form

    scenario = load_scenario(args.scenario)
    form = linear_form(build_model(planning_data(scenario)))
    runner = HighsRunner(form)
    h = runner.highs
    h.setOptionValue("time_limit", 1e30)
    start = time.perf_counter()
    h.run()
    solve = time.perf_counter() - start
    values = np.asarray(h.getSolution().col_value)
    start = time.perf_counter()
    fresh = runner._duals(values)
    fresh_s = time.perf_counter() - start
    start = time.perf_counter()
    h.changeColCost(form.tie_break, 0.0)
    h.run()
    warm = np.asarray(h.getSolution().row_dual)
    warm_s = time.perf_counter() - start
    return {"kind": "duals", "columns": len(form.c), "integers": int(form.integer.sum()), "solve": solve,
            "fresh": fresh_s, "warm": warm_s, "warm_iterations": h.getInfo().simplex_iteration_count,
            "max_abs_diff": float(np.nanmax(np.abs(fresh - warm)))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["allocator", "reference", "rins", "duals"])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("result", type=Path)
    ap.add_argument("--out", type=Path, default=Path("runs"))
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    modes = {"allocator": run_allocator, "reference": run_reference, "rins": run_rins, "duals": run_duals}
    result = modes[args.mode](args)
    args.result.write_text(json.dumps(result, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
