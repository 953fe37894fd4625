"""Write a run folder whole or not at all, never over an earlier run (``spec/scenario.md``)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import yaml


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(_json_safe(value), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_run(plan, out_dir: Path) -> Path:
    """Write into a hidden temporary sibling, then rename it to ``<scenario>`` (or ``-2``, ``-3``...)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = plan.scenario.scenario
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=out_dir))
    try:
        write_files(plan, tmp)
        return _claim(tmp, out_dir, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_files(plan, folder: Path) -> None:
    write_json(folder / "summary.json", plan.summary)
    scenario_text = yaml.safe_dump(plan.scenario.to_dict(), sort_keys=False, allow_unicode=True)
    (folder / "scenario.yaml").write_text(scenario_text, encoding="utf-8")
    if plan.has_plan:
        plan.allocation.to_csv(folder / "allocation.csv", index=False)
        plan.headcount.to_csv(folder / "headcount.csv", index=False)
        plan.constraints.to_csv(folder / "constraints.csv", index=False)
    if plan.diagnosis is not None:
        write_json(folder / "diagnosis.json", plan.diagnosis)


def _claim(tmp: Path, out_dir: Path, name: str) -> Path:
    for n in range(1, 10_000):
        target = out_dir / (name if n == 1 else f"{name}-{n}")
        if target.exists():
            continue
        try:
            os.rename(tmp, target)
        except OSError:
            continue  # taken meanwhile (a concurrent run): try the next name
        return target
    raise RuntimeError(f"no free run folder name for {name!r} in {out_dir}")
