"""``allocator validate`` and ``allocator run`` on invalid input, as a planner runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_validation import INVALID, INVALID_FILES, SPEC_EXAMPLE, expected_problems

EXIT_INVALID = 2


def allocator(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "300"}  # no wrapping of long messages
    return subprocess.run(
        [sys.executable, "-m", "allocator", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def good_file(folder: Path) -> Path:
    path = folder / "fy.yaml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    return path


def test_validate_accepts_a_good_file(tmp_path):
    path = good_file(tmp_path)
    result = allocator("validate", path)
    assert result.returncode == 0, result.stderr
    assert f"ok: {path}" in result.stdout
    assert result.stderr == ""


def test_validate_prints_every_problem_of_every_file(tmp_path):
    """All invalid files at once: exit 2, every expected line on stderr, and no traceback."""
    good = good_file(tmp_path)
    result = allocator("validate", good, *INVALID_FILES)
    assert result.returncode == EXIT_INVALID
    assert f"ok: {good}" in result.stdout
    errors = result.stderr.splitlines()
    for path in INVALID_FILES:
        for line in expected_problems(path):
            assert line in errors
    assert "Traceback" not in result.stderr


def test_validate_prints_file_line_path_message(tmp_path):
    result = allocator("validate", "invalid/several_errors.yaml", cwd=INVALID.parent)
    assert result.returncode == EXIT_INVALID
    assert result.stderr.splitlines()[:5] == [
        "invalid/several_errors.yaml:8 descripton: unknown key `descripton`; did you mean `description`?",
        "invalid/several_errors.yaml:17 budget.reserve.min: must not exceed max (9% > 8%)",
        "invalid/several_errors.yaml:31 channels[2].gross_margin: must be a share such as 5% or 0.05 (got 'lots')",
        "invalid/several_errors.yaml:37 response[0].curve.shape: must be > 0 (got -1)",
        "invalid/several_errors.yaml:43 response[1].base: must be >= 0 (got '-1M')",
    ]


def test_validate_reports_yaml_level_problems_without_a_traceback(tmp_path):
    files = {
        "empty.yaml": "",
        "list.yaml": "- a\n- b\n",
        "tag.yaml": "scenario: !!python/object/apply:os.system ['echo pwned']\n",
        "syntax.yaml": "scenario: [x\n",
        "dup.yaml": "scenario: a\nscenario: b\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = allocator("validate", *files, "missing.yaml", cwd=tmp_path)
    assert result.returncode == EXIT_INVALID
    assert "Traceback" not in result.stderr and "pwned" not in result.stdout
    for start in ("empty.yaml:1: ", "list.yaml:1: ", "tag.yaml:1 scenario: ", "syntax.yaml:", "dup.yaml:2 scenario: ",
                  "missing.yaml: file not found"):
        assert any(line.startswith(start) for line in result.stderr.splitlines()), start


def test_run_on_an_invalid_file_exits_2_and_writes_no_folder(tmp_path):
    out = tmp_path / "runs"
    result = allocator("run", INVALID / "curve_shape_negative.yaml", "--out", out)
    assert result.returncode == EXIT_INVALID
    assert f"{INVALID / 'curve_shape_negative.yaml'}:33 response[0].curve.shape: must be > 0 (got -1)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_run_with_a_bad_override_exits_2_and_writes_no_folder(tmp_path):
    out = tmp_path / "runs"
    path = good_file(tmp_path)
    result = allocator("run", path, "--out", out, "--set", "regions[wst].growth_floor=40%", "--set", "budget.total=lots")
    assert result.returncode == EXIT_INVALID
    errors = result.stderr.splitlines()
    assert "--set regions[wst].growth_floor: no item 'wst' in regions; did you mean `west`?" in errors
    assert "--set budget.total: must be an amount such as 30M, 300k, 250万 or 3e7 (got 'lots')" in errors
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())
