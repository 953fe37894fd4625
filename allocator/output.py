"""Write a run folder whole or not at all, never over an earlier run (``spec/scenario.md``)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
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
    """Write a run folder ``out_dir/<scenario>`` (or ``-2``, ``-3``...) whole or not at all."""
    return write_folder(out_dir, plan.scenario.scenario, lambda folder: write_files(plan, folder))


def write_folder(out_dir: Path, name: str, fill) -> Path:
    """Let ``fill(folder)`` write into a hidden temporary sibling, then rename it to a free name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=out_dir))
    try:
        fill(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a run folder is an ordinary folder
        return _claim(tmp, out_dir, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_file(path: Path, write) -> None:
    """Write ``path`` through a temporary sibling and an atomic rename (for regenerated reports)."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


FORMULA_STARTS = ("=", "+", "-", "@")


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (read back by ``restore``)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV with user text made safe for spreadsheets (ids like ``=cmd()`` stay text)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    safe.to_csv(path, index=False)


def read_csv(path: Path, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={c: str for c in text_columns})
    for column in text_columns:
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: restore(v) if isinstance(v, str) else v)
    return frame


def write_files(plan, folder: Path) -> None:
    """Every file of a run folder: the spec's tables, then the workbook and the HTML report."""
    from allocator.decompose import keep_inputs
    from allocator.report import write_report, write_workbook

    write_json(folder / "summary.json", plan.summary)
    scenario_text = yaml.safe_dump(plan.scenario.to_dict(), sort_keys=False, allow_unicode=True)
    (folder / "scenario.yaml").write_text(scenario_text, encoding="utf-8")
    if plan.has_plan:
        write_csv(plan.allocation, folder / "allocation.csv")
        write_csv(plan.headcount, folder / "headcount.csv")
        write_csv(plan.constraints, folder / "constraints.csv")
    if plan.diagnosis is not None:
        write_json(folder / "diagnosis.json", plan.diagnosis)
    for name, table in plan.extra_tables.items():
        write_csv(table, folder / f"{name}.csv")
    keep_inputs(folder, plan.scenario)  # the decomposition's inputs, so `allocator decompose` can redo it
    write_workbook(plan, folder / "plan.xlsx")
    write_report(plan, folder / "report.html")


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
