"""Write a run folder whole or not at all, never over an earlier run (``spec/scenario.md``)."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, stale folders stay
    fcntl = None  # type: ignore[assignment]


SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it: the same text, faster


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


class ReportError(Exception):
    """The plan's tables were written to ``folder``, but some reports could not be drawn.

    ``failures`` maps each missing file (``report.html``, ``plan.xlsx``) to the reason.
    """

    def __init__(self, folder: Path, failures: dict[str, str]):
        self.folder, self.failures = folder, failures
        reasons = "; ".join(f"{name}: {why}" for name, why in failures.items())
        super().__init__(f"the plan is written to {folder}, but not every report could be drawn ({reasons})")


def write_run(plan, out_dir: Path, name: str | None = None) -> Path:
    """Write a run folder ``out_dir/<name>`` (default: the scenario's name; or ``-2``, ``-3``...)
    whole or not at all.

    A report that cannot be drawn does not lose the plan: the tables are written, the folder is
    kept, and :class:`ReportError` (carrying the folder) says which report is missing and why.
    """
    failures: dict[str, str] = {}
    folder = write_folder(out_dir, name or plan.scenario.scenario, lambda tmp: failures.update(write_files(plan, tmp)))
    if failures:
        raise ReportError(folder, failures)
    return folder


def draw_reports(plan, folder: Path, write=None, strict: bool = False) -> dict[str, str]:
    """``plan.xlsx`` and ``report.html`` of ``plan`` in ``folder``; the ones that failed, with why.

    ``write(path, writer)`` writes one file (default: ``writer(path)``); ``report`` passes
    :func:`replace_file`. Each report is drawn on its own, so one failing keeps the other;
    ``strict`` lets the first failure raise instead (``--debug``: the traceback).
    """
    from allocator.report import write_report, write_workbook

    direct = write is None
    write = write or (lambda path, writer: writer(path))
    failures: dict[str, str] = {}
    for name, draw in (("plan.xlsx", write_workbook), ("report.html", write_report)):
        try:
            with plain_text():
                write(folder / name, lambda path, draw=draw: draw(plan, path))
        except (KeyboardInterrupt, SystemExit, OSError):
            raise  # interruptions and a full disk are not drawing failures
        except Exception as exc:  # a bug in drawing: keep the plan, name the report
            if strict:
                raise
            if direct:
                (folder / name).unlink(missing_ok=True)  # no half-drawn file beside the plan
            failures[name] = f"{type(exc).__name__}: {exc}"
    return failures


def plain_text():
    """Draw user text literally: ``$`` in an id or a currency is not matplotlib mathtext; and
    without font hinting, which costs a third of drawing a report's charts (they are mostly text)."""
    import matplotlib

    return matplotlib.rc_context({"text.parse_math": False, "text.hinting": "no_hinting"})


def write_folder(out_dir: Path, name: str, fill) -> Path:
    """Let ``fill(folder)`` write into a hidden temporary sibling, then rename it to a free name.

    The temporary folder is held under an advisory lock while it fills, so the next run can
    tell a folder left by a killed run (unlocked, removed) from one still being written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=PARTIAL, dir=out_dir))
    lock = _lock(tmp)
    try:
        with plain_text():
            fill(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a run folder is an ordinary folder
        return _claim(tmp, out_dir, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _unlock(lock)


def replace_file(path: Path, write) -> None:
    """Write ``path`` through a fresh private folder beside it and an atomic rename.

    ``write(tmp)`` writes a path inside a folder made by ``mkdtemp`` (created exclusively, mode
    0700), so a link planted in the run folder is never followed, and concurrent writers never
    share a temporary name. ``os.replace`` renames over ``path``: a link there is replaced, not
    followed. Used for reports regenerated inside an existing run folder.
    """
    folder = path.parent
    remove_stale_partials(folder)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=PARTIAL, dir=folder))
    lock = _lock(tmp_dir)
    try:
        tmp = tmp_dir / path.name
        write(tmp)
        if tmp.is_symlink() or not tmp.is_file():
            raise OSError(f"{path}: the report was not written as a plain file")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        _unlock(lock)


PARTIAL = ".partial"
STALE_SECONDS = 60.0  # a temporary folder younger than this is never removed (its writer may be starting)


def _lock(folder: Path) -> int | None:
    """An exclusive advisory lock on ``folder``, held by its writer until it closes the descriptor."""
    if fcntl is None:
        return None
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks: the clean-up cannot lock it either, so it stays
        os.close(fd)
        return None
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def remove_stale_partials(folder: Path, min_age: float = STALE_SECONDS) -> list[Path]:
    """Remove hidden ``.*.partial`` folders in ``folder`` that no live writer holds (left by SIGKILL).

    A folder counts as stale when it is a real folder (not a link), older than ``min_age``
    seconds and not locked. Without ``fcntl`` (Windows) nothing is removed.
    """
    removed: list[Path] = []
    if fcntl is None or not folder.is_dir():
        return removed
    now = time.time()
    for entry in os.scandir(folder):
        if not (entry.name.startswith(".") and entry.name.endswith(PARTIAL)):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or now - entry.stat(follow_symlinks=False).st_mtime < min_age:
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a writer holds it
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
        finally:
            os.close(fd)
    return removed


def check_out_dir(out_dir: Path, option: str = "--out") -> None:
    """Before any solving: ``out_dir`` (or the folder that would hold it) must be a writable folder."""
    from allocator.scenario.errors import Problem, ScenarioError

    path = Path(out_dir)
    probe = path
    while not probe.exists() and not probe.is_symlink():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        message = f"{probe} is a file, not a folder" if probe != path else "it is a file, not a folder"
        raise ScenarioError([Problem(option, None, "", f"cannot write to {path}: {message}")])
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ScenarioError([Problem(option, None, "", f"cannot write to {path}: the folder {probe} is not writable")])


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection list


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


RUN_TABLE_BYTES = 2_000_000_000


def read_csv(path: Path, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A table written by :func:`write_csv` (a FIFO or device in its place is refused, not waited on)."""
    from allocator.scenario.yaml_io import read_bounded

    data = io.BytesIO(read_bounded(Path(path), RUN_TABLE_BYTES))
    frame = pd.read_csv(data, keep_default_na=False, na_values=[""], dtype={c: str for c in text_columns})
    for column in text_columns:
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: restore(v) if isinstance(v, str) else v)
    return frame


def write_files(plan, folder: Path) -> dict[str, str]:
    """Every file of a run folder: the spec's tables, then the workbook and the HTML report.

    Returns the reports that could not be drawn, with why (see :func:`draw_reports`).
    """
    from allocator.decompose import keep_inputs

    write_json(folder / "summary.json", plan.summary)
    scenario_text = yaml.dump(plan.scenario.to_dict(), Dumper=SAFE_DUMPER, sort_keys=False, allow_unicode=True)
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
    return draw_reports(plan, folder)


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


NUMERIC_COLUMNS = {
    "allocation": ("spend", "effective_spend", "lift", "revenue", "marginal_roi"),
    "headcount": ("core", "hires", "releases", "temp", "capacity", "utilisation"),
    "constraints": ("slack", "shadow_price"),
}
SUMMARY_NUMBERS = ("objective", "revenue", "marketing_spend", "people_cost", "reserve", "unallocated",
                   "marketing_roi", "budget_shadow_price", "mip_gap", "exact_curve_margin", "solve_seconds")


def read_run(folder: Path):
    """The plan of a run folder, for ``allocator report``; anything unreadable is a ScenarioError.

    A folder that is not a run, or whose files were damaged (truncated JSON, a table without its
    columns, text where numbers belong), is the user's to fix (exit 2), not a crash.
    """
    from allocator.plan import ALLOCATION_COLUMNS, CONSTRAINT_COLUMNS, HEADCOUNT_COLUMNS, Plan
    from allocator.scenario.errors import Problem, ScenarioError

    folder = Path(folder)

    def bad(message: str, file: Path = folder) -> ScenarioError:
        return ScenarioError([Problem(str(file), None, "", message)])

    if not (folder / "summary.json").is_file():
        raise bad("not a run folder (no summary.json)")
    for name in ("summary.json", "diagnosis.json", "scenario.yaml"):
        path = folder / name
        if (path.exists() or path.is_symlink()) and not path.is_file():
            raise bad("is not a regular file", path)  # a FIFO or a device would block or never end
    try:
        plan = Plan.read(folder)
    except ScenarioError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise bad(f"is not a readable run folder ({type(exc).__name__}: {exc})") from None
    summary = plan.summary
    for key in SUMMARY_NUMBERS:
        value = summary.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise bad(f"{key} must be a number or null (got {value!r})", folder / "summary.json")
    if plan.diagnosis is not None and not isinstance(plan.diagnosis, dict):
        raise bad("must hold a mapping", folder / "diagnosis.json")
    if plan.has_plan:
        required = {"allocation": ALLOCATION_COLUMNS, "headcount": HEADCOUNT_COLUMNS, "constraints": CONSTRAINT_COLUMNS}
        for name, columns in required.items():
            table = getattr(plan, name)
            missing = [c for c in columns if c not in table.columns]
            if missing:
                raise bad(f"missing column(s): {', '.join(missing)}", folder / f"{name}.csv")
            for column in NUMERIC_COLUMNS[name]:
                if len(table) and not pd.api.types.is_numeric_dtype(table[column]):
                    raise bad(f"column {column} must hold numbers", folder / f"{name}.csv")
    return plan
