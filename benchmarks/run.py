"""Benchmark ``allocator run`` against a highspy-direct reference on synthetic scenarios.

    .venv/bin/python benchmarks/run.py [--sizes small,medium,large,realistic] [--variants mip,lp]
                                       [--repeat N] [--rins N] [--profile] [--json FILE]

For every size (``benchmarks/generate.py``: about 2k, 50k and 500k model columns, and a
30 regions x 6 channels x 12 months plan) and variant (``mip``: the scenario as written, with
integer headcount and S-curve binaries; ``lp``: no sales force and concave curves only), it writes
the scenario YAML into ``benchmarks/generated/`` and then, ``--repeat`` times, in fresh processes:

* ``allocator run SCENARIO --out TMP`` with per-phase timers (``child.py allocator``),
* the reference: the same model built as numpy arrays and passed to HiGHS once
  (``child.py reference``, ``reference.py``),

recording wall time and peak RSS of each process (``os.wait4``). ``--at REV`` benchmarks the
allocator of a git revision (exported with ``git archive``) instead of the working tree. After the first repetition it
checks that the two models are the same arrays (c, bounds, integrality, matrix, row bounds) and
compares the objectives. It prints markdown tables (medians over the repetitions) and the targets.

``--duals`` times the allocator's shadow-price re-solve of each LP variant against a warm
re-solve of the same HiGHS instance. ``--rins N`` also re-measures the RINS/RENS setting of ``allocator/solve.py`` on
``scenarios/annual_plan.yaml`` (N solves each way). ``--profile`` adds a cProfile run per size
and prints where the allocator's time goes, grouped by library.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

DEFAULT_RINS = ROOT / "scenarios" / "annual_plan.yaml"
EXACT_GAP: list = [None]  # --exact-gap
TARGETS = {  # (size, what, limit) -- from the issue; not to be changed here
    "medium": "allocator end to end within 2x of the reference",
    "large": "allocator end to end under 20 s",
    "realistic": "allocator end to end under 5 s",
}


class Tree:
    """Which allocator code the children import: the working tree, or ``--at REV`` exported there."""

    path: Path | None = None  # None: the installed (editable) package, i.e. the working tree
    rev: str | None = None


def export_tree(rev: str, tmp: Path) -> None:
    """``git archive REV allocator scenarios`` into ``tmp/tree``; children import it first."""
    tree = tmp / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev, "allocator", "scenarios"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    Tree.path = tree
    Tree.rev = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()


def spawn(args: list[str]) -> tuple[float, float, int]:
    """Run ``python child.py ...``; return (wall seconds, peak RSS MiB, exit status)."""
    env = dict(os.environ)
    if Tree.path is not None:
        env["PYTHONPATH"] = str(Tree.path) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(HERE / "child.py"), *args], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.stderr.write(err.read().decode(errors="replace")[-4000:])
            raise RuntimeError(f"child.py {' '.join(args)} failed with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024.0, proc.returncode


def run_child(mode: str, scenario: Path, tmp: Path, tag: str, dump: bool, extra=()) -> dict:
    result = tmp / f"{tag}.json"
    args = [mode, str(scenario), str(result), *extra]
    if mode == "allocator":
        args += ["--out", str(tmp / "runs")]
    if dump:
        args += ["--dump", str(tmp / f"{tag}.npz")]
    wall, rss, _ = spawn(args)
    out = json.loads(result.read_text())
    out["wall"], out["rss_wait4_mib"] = wall, rss
    if Tree.path is not None and not out.get("allocator_file", "").startswith(str(Tree.path)):
        raise RuntimeError(f"the child imported {out.get('allocator_file')}, not the exported tree {Tree.path}")
    return out


def compare_models(a_path: Path, b_path: Path) -> str:
    """'identical', or what differs between the allocator's and the reference's arrays."""
    a, b = np.load(a_path), np.load(b_path)
    if len(a["c"]) != len(b["c"]) or len(a["row_lo"]) != len(b["row_lo"]):
        return f"shape differs: {len(a['c'])}x{len(a['row_lo'])} vs {len(b['c'])}x{len(b['row_lo'])}"
    diffs = []
    for key in ("c", "lb", "ub", "integer", "row_lo", "row_hi"):
        if not np.array_equal(a[key], b[key]):
            diffs.append(key)
    if not (np.array_equal(a["indptr"], b["indptr"]) and np.array_equal(a["indices"], b["indices"])):
        diffs.append("matrix pattern")
    elif not np.array_equal(a["data"], b["data"]):
        d = float(np.max(np.abs(a["data"] - b["data"])))
        diffs.append(f"matrix values (max |diff| {d:.1e})")
    return "identical" if not diffs else "differs: " + ", ".join(diffs)


def med(runs: list[dict], *path, default=None):
    vals = []
    for r in runs:
        v = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if v is not None:
            vals.append(v)
    return statistics.median(vals) if vals else default


def fmt(x, digits=2) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def fmt_obj(x) -> str:
    return "-" if x is None else f"{x:,.6f}"


def bench_case(size: str, lp: bool, repeat: int, tmp: Path, with_reference: bool) -> dict:
    label = f"{size}-lp" if lp else size
    path = generate.write(size, lp=lp)
    if EXACT_GAP[0] is not None:  # the same scenario with another solver.exact_gap (1: no refinement)
        import yaml

        data = yaml.safe_load(path.read_text())
        data.setdefault("solver", {})["exact_gap"] = EXACT_GAP[0]
        path = path.with_name(f"{path.stem}-gap{EXACT_GAP[0]:g}.yaml")
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        label += f" (exact_gap {EXACT_GAP[0]:g})"
    alloc, ref = [], []
    verdict = "not checked"
    for i in range(repeat):
        order = ("allocator", "reference") if i % 2 == 0 else ("reference", "allocator")
        for mode in order:
            if mode == "reference" and not with_reference:
                continue
            out = run_child(mode, path, tmp, f"{label}-{mode}-{i}", dump=(i == 0))
            (alloc if mode == "allocator" else ref).append(out)
            print(f"  {label} {mode} run {i + 1}/{repeat}: {out['wall']:.1f} s wall, "
                  f"{out.get('status', out.get('plan_status'))}", file=sys.stderr, flush=True)
        if i == 0 and with_reference:
            verdict = compare_models(tmp / f"{label}-allocator-0.npz", tmp / f"{label}-reference-0.npz")
    return {"size": size, "variant": "lp" if lp else "mip", "label": label, "scenario": str(path.relative_to(ROOT)),
            "allocator": alloc, "reference": ref, "model_check": verdict}


def summarise(case: dict) -> dict:
    a, r = case["allocator"], case["reference"]
    s = {
        "label": case["label"], "size": case["size"], "variant": case["variant"],
        "columns": a[0].get("columns"), "rows": a[0].get("rows"), "integers": a[0].get("integers"),
        "nonzeros": a[0].get("nonzeros"),
        "status": a[0].get("status", a[0].get("plan_status")), "gap": med(a, "mip_gap"),
        "wall": med(a, "wall"), "rss": med(a, "rss_wait4_mib"), "rss_import": med(a, "rss_after_import_mib"),
        "cli_total": med(a, "times", "cli_total"),
        "objective": a[0].get("objective_model"), "plan_objective": a[0].get("plan_objective"),
        "model_check": case["model_check"], "runs": len(a),
    }
    for k in ("import", "load", "build", "data", "build_model", "linear_form", "pass", "solver", "duals",
              "run_other", "tabulate", "decompose", "write"):
        s[k] = med(a, "times", k, default=0.0)
    s["best_cli_total"] = min(x["times"].get("cli_total", float("inf")) for x in a)
    s["best_model_only"] = min(sum(x["times"].get(k, 0.0) for k in ("build", "linear_form", "pass", "solver", "duals",
                                                                     "run_other", "tabulate")) for x in a)
    s["best_write"] = min(x["times"].get("write", 0.0) for x in a)
    s["best_build"] = min(x["times"].get("build", 0.0) for x in a)
    s["cpu"] = min(x.get("cpu_total", float("nan")) for x in a)
    s["startup"] = s["wall"] - s["cli_total"] - s["import"]  # interpreter start, child.py, exit
    s["other"] = s["cli_total"] - sum(s[k] for k in ("load", "build", "linear_form", "pass", "solver", "duals",
                                                   "run_other", "tabulate", "decompose", "write"))
    s["model_only"] = sum(s[k] for k in ("build", "linear_form", "pass", "solver", "duals", "run_other", "tabulate"))
    if r:
        s.update(
            ref_status=r[0]["status"], ref_gap=med(r, "mip_gap"), ref_wall=med(r, "wall"), ref_rss=med(r, "rss_wait4_mib"),
            ref_load=med(r, "times", "load"), ref_build=med(r, "times", "build"), ref_pass=med(r, "times", "pass"),
            ref_solver=med(r, "times", "solver"), ref_run=med(r, "times", "run"), ref_extract=med(r, "times", "extract"),
            ref_total=med(r, "times", "total"), ref_objective=r[0]["objective_model"], ref_margin=r[0]["margin"],
            ref_import=med(r, "times", "import"), ref_rss_import=med(r, "rss_after_import_mib"),
        )
        s["ref_best_total"] = min(x["times"]["total"] for x in r)
        s["ref_best_load"] = min(x["times"]["load"] for x in r)
        s["ref_best_build"] = min(x["times"]["build"] for x in r)
        s["ref_cpu"] = min(x.get("cpu_total", float("nan")) for x in r)
        s["best_ratio_model"] = s["best_model_only"] / s["ref_best_total"]
        s["best_ratio_e2e"] = s["best_cli_total"] / (s["ref_best_total"] + s["ref_best_load"])
        s["ratio_model"] = s["model_only"] / s["ref_total"]
        s["ratio_e2e"] = s["cli_total"] / (s["ref_total"] + s["ref_load"])
        if s["objective"] is not None and s["ref_objective"] is not None:
            s["rel_diff"] = abs(s["objective"] - s["ref_objective"]) / max(1.0, abs(s["ref_objective"]))
    return s


def status_text(status, gap) -> str:
    if status is None:
        return "-"
    status = str(status).lower()
    if gap is not None and gap > 0:
        return f"{status} (gap {gap:.1e})"
    return status


def print_tables(rows: list[dict]) -> None:
    print("\n### End to end: `allocator run` vs highspy direct (medians, seconds)\n")
    print("| case | columns | rows | integers | allocator status | allocator `run` wall | in-process (load..write) "
          "| model only | reference (build+solve) | ratio in-process / ref+load | ratio model / ref "
          "| peak RSS MiB alloc / ref | objective alloc / ref | rel. diff | same model | runs |")
    print("|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")
    for s in rows:
        ref = s.get("ref_total")
        print(f"| {s['label']} | {s['columns']:,} | {s['rows']:,} | {s['integers']:,} | {status_text(s['status'], s['gap'])} "
              f"| {fmt(s['wall'])} | {fmt(s['cli_total'])} | {fmt(s['model_only'])} | {fmt(ref)} "
              f"| {fmt(s.get('ratio_e2e'))}x | {fmt(s.get('ratio_model'))}x "
              f"| {fmt(s['rss'], 0)} / {fmt(s.get('ref_rss'), 0)} "
              f"| {fmt_obj(s['objective'])} / {fmt_obj(s.get('ref_objective'))} | "
              f"{'-' if s.get('rel_diff') is None else format(s['rel_diff'], '.1e')} | {s['model_check']} | {s['runs']} |")

    print("\n### Where the allocator's time goes (medians, seconds)\n")
    print("| case | interpreter start + exit | imports | load | build (data + arrays) | linear_form | passModel | HiGHS run "
          "| duals re-solve | tabulate | decompose | write | other | in-process (load..write) | wall "
          "| RSS after imports MiB |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for s in rows:
        print(f"| {s['label']} | {fmt(s['startup'])} | {fmt(s['import'])} | {fmt(s['load'])} | {fmt(s['build'])} "
              f"| {fmt(s['linear_form'])} | {fmt(s['pass'])} | {fmt(s['solver'])} | {fmt(s['duals'])} "
              f"| {fmt(s['tabulate'])} | {fmt(s['decompose'])} | {fmt(s['write'])} | {fmt(s['other'] + s['run_other'])} "
              f"| {fmt(s['cli_total'])} | {fmt(s['wall'])} | {fmt(s['rss_import'], 0)} |")

    if any("ref_total" in s for s in rows):
        print("\n### The reference (medians, seconds)\n")
        print("| case | status | imports | load | build arrays | passModel | HiGHS run | extract | total (build..extract) "
              "| wall | RSS after imports MiB |")
        print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for s in rows:
            if "ref_total" not in s:
                continue
            print(f"| {s['label']} | {status_text(s['ref_status'], s['ref_gap'])} | {fmt(s['ref_import'])} "
                  f"| {fmt(s['ref_load'])} | {fmt(s['ref_build'])} | {fmt(s['ref_pass'])} | {fmt(s['ref_solver'])} "
                  f"| {fmt(s['ref_extract'])} | {fmt(s['ref_total'])} | {fmt(s['ref_wall'])} | {fmt(s['ref_rss_import'], 0)} |")

    print("\n### Best of the repeats (seconds; CPU: whole process, imports included)\n")
    print("| case | in-process (load..write) | model only | write | build | reference (build+solve) | reference build "
          "| in-process / ref+load | model / ref | CPU alloc / ref process |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for s in rows:
        if "ref_best_total" in s:
            print(f"| {s['label']} | {fmt(s['best_cli_total'])} | {fmt(s['best_model_only'])} | {fmt(s['best_write'])} "
                  f"| {fmt(s['best_build'])} | {fmt(s['ref_best_total'])} | {fmt(s['ref_best_build'])} "
                  f"| {fmt(s['best_ratio_e2e'])}x | {fmt(s['best_ratio_model'])}x | {fmt(s['cpu'])} / {fmt(s['ref_cpu'])} |")

    print("\n### Targets\n")
    for s in rows:
        if s["size"] == "medium" and "ratio_e2e" in s:
            ok = s["ratio_e2e"] <= 2.0
            print(f"- {s['label']}: {TARGETS['medium']}: {s['ratio_e2e']:.2f}x in-process "
                  f"({s['cli_total']:.2f} s vs {s['ref_total'] + s['ref_load']:.2f} s), model only {s['ratio_model']:.2f}x "
                  f"-> {'met' if ok else 'MISSED'}")
        elif s["size"] in ("large", "realistic"):
            limit = 20.0 if s["size"] == "large" else 5.0
            verdict = "met" if s["wall"] < limit else f"MISSED by {s['wall'] - limit:.1f} s ({s['wall'] / limit:.1f}x)"
            print(f"- {s['label']}: {TARGETS[s['size']]}: {s['wall']:.1f} s wall ({s['cli_total']:.1f} s in-process) "
                  f"-> {verdict}")


def rins_experiment(repeat: int, tmp: Path, scenario: Path) -> dict:
    out = tmp / "rins.json"
    spawn(["rins", str(scenario), str(out), "--repeat", str(repeat)])
    data = json.loads(out.read_text())
    shown = scenario.relative_to(Tree.path) if Tree.path and scenario.is_relative_to(Tree.path) else scenario
    print(f"\n### RINS/RENS sub-MIP heuristics on {shown} "
          f"({data['columns']} columns, {data['integers']} integer; HiGHS run time, one thread)\n")
    print("| RINS/RENS | runs | median s | min s | max s | status | objective (model units) | gap | B&B nodes |")
    print("|---|--:|--:|--:|--:|---|--:|--:|--:|")
    for on in (False, True):
        runs = [r for r in data["runs"] if r["rins_rens"] == on]
        secs = [r["seconds"] for r in runs]
        print(f"| {'on (HiGHS default)' if on else 'off (allocator)'} | {len(runs)} | {statistics.median(secs):.2f} "
              f"| {min(secs):.2f} | {max(secs):.2f} | {runs[0]['status']} | {runs[0]['objective']:.6f} "
              f"| {statistics.median(r['mip_gap'] for r in runs):.1e} | {statistics.median(r['nodes'] for r in runs):.0f} |")
    return data


def duals_experiment(sizes: list[str], tmp: Path) -> list[dict]:
    print("\n### Shadow prices of the LP variants: fresh re-solve (allocator) vs warm re-solve\n")
    print("| case | columns | LP solve s | allocator `_duals` (new HiGHS model) s | warm: `changeColCost(reserve, 0)` + `run` s "
          "| warm simplex iterations | max abs diff of duals |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    out = []
    for size in sizes:
        path = generate.write(size, lp=True)
        result = tmp / f"{size}-duals.json"
        spawn(["duals", str(path), str(result)])
        d = json.loads(result.read_text())
        out.append(d)
        print(f"| {size}-lp | {d['columns']:,} | {d['solve']:.2f} | {d['fresh']:.2f} | {d['warm']:.3f} "
              f"| {d['warm_iterations']} | {d['max_abs_diff']:.1e} |", flush=True)
    return out


PROFILE_GROUPS = [
    ("HiGHS (solver)", ("highspy",)),
    ("PuLP", ("/pulp/",)),
    ("allocator.model (build)", ("allocator/model/",)),
    ("allocator.solve (linear_form, passModel)", ("allocator/solve.py",)),
    ("allocator.plan (tabulate)", ("allocator/plan.py",)),
    ("allocator.report / output (write)", ("allocator/report/", "allocator/output.py")),
    ("matplotlib", ("matplotlib",)),
    ("openpyxl", ("openpyxl",)),
    ("pandas", ("pandas",)),
    ("numpy / scipy", ("numpy", "scipy")),
    ("scenario load (yaml, pydantic, allocator.scenario)", ("yaml", "pydantic", "allocator/scenario/")),
]


def profile_case(size: str, lp: bool, tmp: Path) -> None:
    import pstats

    label = f"{size}-lp" if lp else size
    path = generate.write(size, lp=lp)
    prof = tmp / f"{label}.prof"
    run_child("allocator", path, tmp, f"{label}-profile", dump=False, extra=["--profile", str(prof)])
    stats = pstats.Stats(str(prof))
    total = 0.0
    groups: dict[str, float] = {}
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        total += tt
        where = f"{file}:{func}"
        group = next((g for g, keys in PROFILE_GROUPS if any(k in where for k in keys)), "other")
        groups[group] = groups.get(group, 0.0) + tt
        rows.append((tt, ct, nc, f"{Path(file).name}:{line}({func})" if file != "~" else func))
    print(f"\n### Profile of `allocator run` on {label} (cProfile, own time by library; profiler overhead included)\n")
    print("| library | own time s | share |")
    print("|---|--:|--:|")
    for g, t in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"| {g} | {t:.2f} | {t / total:.0%} |")
    print(f"\nTop functions by own time ({label}):\n")
    print("| own s | cumulative s | calls | function |")
    print("|--:|--:|--:|---|")
    for tt, ct, nc, name in sorted(rows, reverse=True)[:15]:
        print(f"| {tt:.2f} | {ct:.2f} | {nc:,} | `{name}` |")


def machine() -> str:
    import importlib.metadata as md

    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = ", ".join(f"{p} {md.version(p)}" for p in ("highspy", "PuLP", "numpy", "scipy", "pandas", "pydantic"))
    if Tree.rev is not None:
        return (f"{os.cpu_count()} cores ({cpu}), {mem} RAM, Python {platform.python_version()}, {versions}; "
                f"allocator at commit {Tree.rev} (exported with git archive)")
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "allocator"], cwd=ROOT, capture_output=True,
                               text=True).stdout.split("\n")
        dirty = [line[3:] for line in dirty if line.strip()]
    except OSError:
        rev, dirty = "?", []
    return (f"{os.cpu_count()} cores ({cpu}), {mem} RAM, Python {platform.python_version()}, {versions}; "
            f"allocator at {rev}" + (f" (uncommitted changes in {', '.join(dirty)})" if dirty else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="small,medium,large,realistic")
    ap.add_argument("--variants", default="mip,lp", help="mip, lp or both (comma-separated)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case (medians are reported)")
    ap.add_argument("--no-reference", action="store_true", help="time the allocator only")
    ap.add_argument("--rins", type=int, default=0, metavar="N",
                    help="also solve scenarios/annual_plan.yaml N times with RINS/RENS off and on")
    ap.add_argument("--rins-scenario", type=Path, default=DEFAULT_RINS)
    ap.add_argument("--profile", action="store_true", help="also profile one allocator run per case")
    ap.add_argument("--duals", action="store_true",
                    help="also time the shadow-price re-solve against a warm re-solve (LP variants)")
    ap.add_argument("--json", type=Path, help="write every measurement to this file")
    ap.add_argument("--exact-gap", type=float, help="set solver.exact_gap in the scenarios (1: no exact-curve "
                    "refinement, the model the reference builds, solved once)")
    ap.add_argument("--at", metavar="REV", help="benchmark the allocator of this git revision (e.g. HEAD) instead of "
                    "the working tree, which others may be editing")
    args = ap.parse_args()

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in generate.SIZES]
    if unknown:
        ap.error(f"unknown size(s) {unknown}; known: {', '.join(generate.SIZES)}")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    EXACT_GAP[0] = args.exact_gap
    started = time.perf_counter()
    load_start = os.getloadavg()
    cases, rows = [], []
    with tempfile.TemporaryDirectory(prefix="allocator-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.at:
            export_tree(args.at, tmp)
            if args.rins_scenario == DEFAULT_RINS:
                args.rins_scenario = Tree.path / "scenarios" / "annual_plan.yaml"
        print(f"machine: {machine()}", flush=True)
        for size in sizes:
            for variant in variants:
                print(f"{size} {variant} ...", file=sys.stderr, flush=True)
                case = bench_case(size, variant == "lp", args.repeat, tmp, not args.no_reference)
                cases.append(case)
                rows.append(summarise(case))
        print_tables(rows)
        rins = rins_experiment(args.rins, tmp, args.rins_scenario.resolve()) if args.rins else None
        duals = duals_experiment(sizes, tmp) if args.duals else None
        if args.profile:
            for size in sizes:
                for variant in variants:
                    profile_case(size, variant == "lp", tmp)
    print(f"\n(total benchmark time {time.perf_counter() - started:.0f} s; load average at start "
          f"{load_start[0]:.1f}, at end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "summary": rows, "cases": cases, "rins": rins,
                                         "duals": duals},
                                        indent=1, default=float))


if __name__ == "__main__":
    main()
