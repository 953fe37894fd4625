"""Reads are bounded (issue 15.2): a FIFO, a device or an endless file is refused, never waited on
or read into memory. Every command here runs in a subprocess with a timeout, so a regression
fails the test instead of hanging the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from allocator.scenario import ScenarioError
from allocator.scenario.yaml_io import FileTooLarge, NotRegularFile, read_bounded, read_user_text
from tests.conftest import ROOT, SCENARIOS

QUARTER = SCENARIOS / "quarter_12_weeks.yaml"
TRACKING = Path(__file__).parent / "data" / "decompose" / "tracking"


def allocator(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "allocator", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_validate_refuses_a_fifo_without_waiting_for_a_writer(fifo):
    result = allocator("validate", fifo, timeout=60)
    assert result.returncode == 2
    assert f"{fifo}: is a named pipe (FIFO), not a regular file" in result.stderr


def test_validate_refuses_dev_zero_without_reading_it():
    result = allocator("validate", "/dev/zero", timeout=60)
    assert result.returncode == 2
    assert "/dev/zero: is a character device, not a regular file" in result.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_response_model_that_is_a_device_or_fifo_is_refused_naming_the_field(tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "model.yaml")
        os.mkfifo(target)
    text = QUARTER.read_text(encoding="utf-8").replace("../models/q3_retail.yaml", target)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(text, encoding="utf-8")
    result = allocator("validate", scenario, timeout=60)
    assert result.returncode == 2
    # named at the field that points at it, with the path as written there (issue 14)
    assert f"{scenario}:" in result.stderr and f" response_model: {target}: is a " in result.stderr
    assert "not a regular file" in result.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_track_refuses_actuals_that_are_a_device_or_fifo(tmp_path, target):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("targets_day.csv", "rep_quotas.csv"):
        shutil.copy(TRACKING / name, run / name)
    if target == "fifo":
        target = str(tmp_path / "actuals.csv")
        os.mkfifo(target)
    result = allocator("track", run, target, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"{target}: is a " in result.stderr and "not a regular file" in result.stderr
    assert not [p for p in run.iterdir() if p.name.startswith(("tracking", "."))]


def test_track_refuses_a_run_folder_table_that_is_a_fifo(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / "targets_day.csv")
    result = allocator("track", run, TRACKING / "actuals.csv", timeout=60)
    assert result.returncode == 2, result.stderr
    assert "targets_day.csv: is a named pipe (FIFO), not a regular file" in result.stderr


def test_a_decomposition_csv_input_that_is_a_fifo_is_refused_before_solving(tmp_path):
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    shutil.copytree(ROOT / "models", tmp_path / "models")
    products = tmp_path / "scenarios" / "decomposition" / "products.csv"
    products.unlink()
    os.mkfifo(products)
    result = allocator("run", tmp_path / "scenarios" / "quarter_12_weeks.yaml", "--out", tmp_path / "runs", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "products.csv" in result.stderr and "not a regular file" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_file_that_reports_size_zero_is_still_read_at_most_to_the_limit():
    """Files in /proc say they hold 0 bytes; the reader stops at limit + 1 bytes all the same."""
    with pytest.raises(FileTooLarge):
        read_bounded(Path("/proc/self/maps"), 10)
    assert read_bounded(Path("/proc/self/maps"), 10_000_000)  # and reads it whole under the limit


def test_read_user_text_names_the_field_that_pointed_at_the_file():
    with pytest.raises(ScenarioError) as info:
        read_user_text(Path("/dev/null"), "/dev/null", field="response_model")
    assert [str(p) for p in info.value.problems] == [
        "/dev/null response_model: is a character device, not a regular file; refusing to read it"]


def test_a_regular_file_reads_as_before_including_windows_line_ends(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"a: 1\r\nb: 2\r\n")
    assert read_user_text(path, "x") == "a: 1\nb: 2\n"
    with pytest.raises(NotRegularFile):
        read_bounded(Path("/dev/zero"), 100)


def test_a_control_character_in_a_csv_name_is_an_error_with_its_line(tmp_path):
    from allocator.decompose import csvio
    from allocator.decompose.errors import DecompositionError

    path = tmp_path / "products.csv"
    path.write_bytes(b"product,share\nfine,10%\nbad\x01name,20%\n")
    columns = [csvio.Column("product", csvio.text), csvio.Column("share", csvio.share)]
    with pytest.raises(DecompositionError) as info:
        csvio.read_table(path, columns)
    assert [f"{p.file}:{p.line} {p.path}" for p in info.value.problems] == [f"{path}:3 product"]
    assert "control character" in info.value.problems[0].message
