"""The MIP suite: every shape of ``mip_shapes.py`` solved by the allocator and by the baseline.

    .venv/bin/python benchmarks/mip_suite.py [--quick] [--shapes realistic,weekly] [--limit S]
                                             [--variants baseline,allocator,best] [--json FILE]

For every shape it writes the scenario YAML into ``benchmarks/generated/`` and solves it, each
solve in a fresh process, to a relative gap of 1e-4 within the time limit (120 s, ``--quick``
30 s):

* ``allocator``: ``allocator.solve(load_scenario(path), time_limit=..., mip_gap=1e-4)``, the API
  as a user gets it (HiGHS, one thread, the allocator's own options) with the exact-curve
  refinement off (``exact_gap: 1``: the MIP is timed, as the baseline's). The only addition is that
  HiGHS's log is switched on into a file (``HighsRunner.run`` wrapped) so that the gap can be
  read at 30 / 60 / 120 s from one run; the log does not change HiGHS's path.
* ``baseline``: ``baseline_milp.build`` + ``scipy.optimize.milp`` (HiGHS defaults; on this
  2-core machine HiGHS's default is one thread, and its MIP search is serial anyway).
* further variants of ``mip_research.py`` by name (``best``: the recommended formulation).

It prints one markdown table: per shape and solver the size, the time to the 1e-4 gap (build +
solve, in process; ``>`` the limit when not reached), the gap at 30 / 60 / 120 s from the HiGHS
log, the plan's margin, and whether the optima agree: ``same`` when both closed the gap and
the margins agree within it, ``consistent`` when each margin is at most the other's bound,
``DIFFERENT`` otherwise (a baseline that models something else is useless).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GAP = 1e-4
CHECKPOINTS = (30.0, 60.0, 120.0)


def run_child(who: str, scenario: str, limit: float) -> dict:
    """Solve ``scenario`` in this process as ``who`` (allocator, baseline or a research variant)."""
    import baseline_milp as bm

    from allocator import load_scenario

    s = load_scenario(scenario)
    cpu = _cpu()
    if who == "allocator":
        out = _allocator(s, limit)
    elif who == "baseline":
        start = time.perf_counter()
        m = bm.build(s)
        built = time.perf_counter() - start
        r = bm.solve_scipy(m, limit, GAP)
        out = _result(r.status, r.margin, r.gap, built, r.seconds, r.trajectory, m.A.shape[1], int(m.integer.sum()))
    else:
        import mip_research

        out = mip_research.run_variant(who, s, limit, GAP)
    out["cpu"] = _cpu() - cpu  # build + solve: this process and its children (CBC)
    return out


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _result(status, margin, gap, build, solve, trajectory, columns, integers, **extra) -> dict:
    return {"status": status, "margin": margin, "gap": gap, "build": build, "solve": solve,
            "trajectory": trajectory, "columns": columns, "integers": integers, **extra}


def _allocator(s, limit: float) -> dict:
    import importlib

    from baseline_milp import parse_log

    from allocator import solve

    asolve = importlib.import_module("allocator.solve")  # the module (``allocator.solve`` is also the API function)

    log = Path(tempfile.mkstemp(suffix=".log")[1])
    runner = getattr(asolve, "HighsRunner", None)
    shape = {}
    if runner is not None and hasattr(runner, "run"):
        original = runner.run

        def logged(self, *args, **kwargs):
            self.highs.setOptionValue("output_flag", True)
            self.highs.setOptionValue("log_to_console", False)
            self.highs.setOptionValue("log_file", str(log))
            shape.setdefault("columns", int(self.highs.getNumCol()))
            shape.setdefault("integers", int(sum(self.form.integer)) if hasattr(self, "form") else None)
            return original(self, *args, **kwargs)

        runner.run = logged
    # the MIP alone, as the baseline: exact-curve refinement (docs/exact-curves.md) off
    s = s.model_copy(update={"solver": s.solver.model_copy(update={"exact_gap": 1.0})})
    start = time.perf_counter()
    plan = solve(s, time_limit=limit, mip_gap=GAP)
    seconds = time.perf_counter() - start
    timings = getattr(plan, "timings", {}) or {}
    text = log.read_text(errors="replace") if log.exists() else ""
    log.unlink(missing_ok=True)
    build = float(timings.get("build", 0.0))
    return _result(str(plan.status), plan.objective, plan.summary.get("mip_gap"), build, seconds - build,
                   parse_log(text), shape.get("columns"), shape.get("integers"))


def solve_in_child(who: str, scenario: Path, limit: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--child", who, str(scenario), str(limit), str(out)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit * 4 + 600)
        wall = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            return {"status": "error", "error": (proc.stderr or proc.stdout)[-2000:], "wall": wall}
        result = json.loads(out.read_text())
    result["wall"] = wall
    return result


def gap_at(result: dict, t: float, limit: float) -> float | None:
    """The gap at ``t`` seconds of the HiGHS run: the last log line by then, the final gap once it
    finished (or at the time limit); ``None`` before the first line."""
    if result.get("status") == "error":
        return None
    if result["solve"] <= t or t >= limit:
        return result["gap"]
    seen = [g for s, g in result["trajectory"] if s <= t]
    return seen[-1] if seen else None


def time_to_gap(result: dict, limit: float) -> float | None:
    if result.get("status") != "optimal" or result["gap"] is None or result["gap"] > GAP * (1 + 1e-6):
        return None
    return result["build"] + result["solve"]


def agreement(a: dict, b: dict) -> str:
    """Whether two solves of one model agree: ``same``, ``consistent`` or ``DIFFERENT``."""
    if "margin" not in a or "margin" not in b or a["margin"] is None or b["margin"] is None:
        return "n/a"
    ma, mb = a["margin"], b["margin"]
    scale = max(abs(ma), abs(mb), 1.0)
    ga, gb = (a["gap"] or 0.0), (b["gap"] or 0.0)
    if ga <= GAP * 1.0001 and gb <= GAP * 1.0001 and abs(ma - mb) <= (GAP + 1e-7) * scale:
        return "same"
    if mb <= ma + ga * abs(ma) + 1e-7 * scale and ma <= mb + gb * abs(mb) + 1e-7 * scale:
        return "consistent"
    return "DIFFERENT"


def _fmt_gap(g) -> str:
    if g is None:
        return "-"
    return "0" if g == 0 else f"{g:.1e}"


def table(rows: list[dict], limit: float) -> str:
    marks = [t for t in CHECKPOINTS if t <= limit] or [limit]
    head = ("| shape | solver | columns | integers | status | time to 1e-4 s | cpu s | "
            + " | ".join(f"gap @{t:.0f} s" for t in marks) + " | margin | vs baseline |")
    lines = [head, "|" + "---|" * 5 + "--:|" * (2 + len(marks)) + "--:|---|"]
    for row in rows:
        r = row["result"]
        t = time_to_gap(r, limit)
        when = f"{t:.1f}" if t is not None else f"> {limit:.0f}"
        if r.get("status") == "error":
            lines.append(f"| {row['shape']} | {row['who']} | | | error | | | " + " | ".join("" for _ in marks) + " | | |")
            continue
        gaps = " | ".join(_fmt_gap(gap_at(r, m, limit)) for m in marks)
        margin = f"{r['margin']:,.0f}" if r.get("margin") is not None else "-"
        lines.append(f"| {row['shape']} | {row['who']} | {r.get('columns') or ''} | {r.get('integers') or ''} | "
                     f"{r['status']} | {when} | {r.get('cpu', 0):.1f} | {gaps} | {margin} | {row.get('agree', '')} |")
    return "\n".join(lines)


def merged(files: list[Path]) -> list[dict]:
    """Rows of earlier runs (the last result per shape and solver), compared with the baseline."""
    found: dict[tuple[str, str], dict] = {}
    for path in files:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            found[(row["shape"], row["who"])] = row["result"]
    shapes = list(dict.fromkeys(shape for shape, _ in found))
    rows = []
    for shape in shapes:
        base = found.get((shape, "baseline"))
        for (s, who), result in found.items():
            if s == shape:
                agree = agreement(result, base) if base is not None and who != "baseline" else ""
                rows.append({"shape": shape, "who": who, "result": result, "agree": agree})
    return rows


def matrix(rows: list[dict]) -> str:
    """Solvers x shapes: ``t s`` (CPU s) when the gap closed, else the final gap (CPU s)."""
    shapes = list(dict.fromkeys(r["shape"] for r in rows))
    solvers = list(dict.fromkeys(r["who"] for r in rows))
    cell = {(r["shape"], r["who"]): r["result"] for r in rows}
    lines = ["| solver | " + " | ".join(shapes) + " |", "|---|" + "--:|" * len(shapes)]
    for who in solvers:
        out = []
        for shape in shapes:
            r = cell.get((shape, who))
            if r is None or r.get("status") == "error":
                out.append("")
                continue
            t = time_to_gap(r, 0.0)
            cpu = r.get("cpu", 0.0)
            out.append(f"**{t:.1f} s** ({cpu:.1f})" if t is not None else f"{_fmt_gap(r.get('gap'))} ({cpu:.1f})")
        lines.append(f"| {who} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="30 s per solve instead of 120 s")
    ap.add_argument("--limit", type=float, default=None, help="time limit per solve, seconds")
    ap.add_argument("--shapes", default=None, help="comma-separated shape names (default: all)")
    ap.add_argument("--variants", default="allocator,baseline", help="allocator, baseline, research variants")
    ap.add_argument("--json", type=Path, default=None, help="also write every result here")
    ap.add_argument("--child", nargs=4, metavar=("WHO", "SCENARIO", "LIMIT", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--matrix", action="store_true", help="with --merge: one row per solver, one column per shape")
    ap.add_argument("--merge", nargs="+", type=Path, default=None,
                    help="print one table from the .partial.jsonl files of earlier runs (no solving)")
    args = ap.parse_args()
    if args.merge:
        rows = merged(args.merge)
        print(matrix(rows) if args.matrix else table(rows, args.limit or 120.0))
        return
    if args.child:
        who, scenario, limit, out = args.child
        Path(out).write_text(json.dumps(run_child(who, scenario, float(limit))))
        return
    import mip_shapes

    limit = args.limit or (30.0 if args.quick else 120.0)
    names = args.shapes.split(",") if args.shapes else None
    paths = mip_shapes.write(names=names)
    who_list = args.variants.split(",")
    rows = []
    started = time.perf_counter()
    for shape, path in paths.items():
        results = {}
        for who in who_list:
            print(f"[{time.perf_counter() - started:6.0f} s] {shape}: {who} (limit {limit:.0f} s) ...", file=sys.stderr, flush=True)
            results[who] = solve_in_child(who, path, limit)
            if args.json:  # one line per solve as it ends, so that a cut-short run keeps its figures
                with args.json.with_suffix(".partial.jsonl").open("a") as f:
                    f.write(json.dumps({"shape": shape, "who": who, "result": results[who]}, default=str) + "\n")
        base = results.get("baseline")
        for who in who_list:
            agree = agreement(results[who], base) if base is not None and who != "baseline" else ""
            rows.append({"shape": shape, "who": who, "result": results[who], "agree": agree})
    load = os.getloadavg()
    print(table(rows, limit))
    print(f"\n{len(rows)} solves in {time.perf_counter() - started:.0f} s; limit {limit:.0f} s per solve, gap {GAP:g}; "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores; "
          f"Python {platform.python_version()}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
