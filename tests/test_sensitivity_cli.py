"""``allocator sweep`` and ``allocator tornado`` on a typer app of their own (``register(app)``),
as CI runs them: no terminal, so progress comes as plain lines and nothing breaks."""

import re

import pandas as pd
import pytest
import typer
import yaml
from PIL import Image
from typer.testing import CliRunner

from allocator.sensitivity.commands import register
from tests.test_sensitivity import LP, QUARTER

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    return app


@pytest.fixture
def lp_file(tmp_path):
    path = tmp_path / "lp.yaml"
    path.write_text(yaml.safe_dump(LP, sort_keys=False), encoding="utf-8")
    return path


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_sweep_writes_csv_and_plot_with_plain_progress_lines(app, lp_file, tmp_path):
    out = tmp_path / "runs"
    result = invoke(app, "sweep", lp_file, "--param", "budget.total=2.7M..3.3M:4",
                    "--param", "regions[west].growth_floor=15%,20%", "--engine", "serial", "--out", out)
    assert result.exit_code == 0, result.output
    folder = out / "lp-sens-sweep"
    assert sorted(p.name for p in folder.iterdir()) == ["sweep.csv", "sweep.png"]
    table = pd.read_csv(folder / "sweep.csv")
    assert len(table) == 8 and list(table.columns[:3]) == ["point", "budget.total", "regions[west].growth_floor"]
    assert (table.status == "optimal").all()
    assert Image.open(folder / "sweep.png").format == "PNG"
    assert "sweep: 8/8 points" in result.stderr and not ANSI.search(result.stderr)
    assert "2.7M" in result.stdout and "8 optimal" in result.stdout
    assert f"written: {folder}" in result.stdout
    again = invoke(app, "sweep", lp_file, "--param", "budget.total=3M,3.1M", "--engine", "serial", "--out", out)
    assert again.exit_code == 0 and (out / "lp-sens-sweep-2" / "sweep.csv").exists()  # never over the first
    assert len(pd.read_csv(folder / "sweep.csv")) == 8


def test_sweep_with_zip_and_local_workers(app, lp_file, tmp_path):
    result = invoke(app, "sweep", lp_file, "--param", "budget.total=2.8M,3M,3.2M", "--param",
                    "budget.reserve.max=6%,7%,8%", "--zip", "--workers", "2", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "lp-sens-sweep" / "sweep.csv")
    assert table["budget.reserve.max"].tolist() == pytest.approx([0.06, 0.07, 0.08])


@pytest.mark.parametrize("args, words", [
    (["--param", "budget.total=20M..lots:3"], "--param budget.total=20M..lots:3: range ends"),
    (["--param", "regions[nowhere].growth_floor=10%"], "no item 'nowhere'"),
    (["--param", "budget.total=3M", "--engine", "spark"], "--engine: must be one of serial, local, dask"),
    (["--param", "budget.total=3M", "--set", "budget.total"], "must look like PATH=VALUE"),
])
def test_sweep_mistakes_exit_2_with_a_message_and_write_nothing(app, lp_file, tmp_path, args, words):
    result = invoke(app, "sweep", lp_file, *args, "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_sweep_reports_infeasible_points_and_still_exits_0(app, tmp_path):
    result = invoke(app, "sweep", QUARTER, "--param", "budget.total=4M,7M", "--engine", "serial", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "q3-weekly-sweep" / "sweep.csv")
    assert table.status.tolist() == ["infeasible", "optimal"] and "growth floor" in table.message[0]
    assert "1 infeasible, 1 optimal" in result.stdout


def test_tornado_writes_bars_sorted_by_swing(app, lp_file, tmp_path):
    result = invoke(app, "tornado", lp_file, "--delta", "0.1", "--engine", "serial", "--top", "5", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "lp-sens-tornado"
    table = pd.read_csv(folder / "tornado.csv")
    assert table.swing.is_monotonic_decreasing and len(table) == 11
    assert Image.open(folder / "tornado.png").format == "PNG"
    assert "tornado: 23/23 points" in result.stderr
    assert "online gross margin" in result.stdout
    only = invoke(app, "tornado", lp_file, "--param", "channels[offline].gross_margin", "--engine", "serial",
                  "--out", tmp_path)
    assert only.exit_code == 0 and len(pd.read_csv(tmp_path / "lp-sens-tornado-2" / "tornado.csv")) == 1
    bad = invoke(app, "tornado", lp_file, "--delta", "2", "--out", tmp_path)
    assert bad.exit_code == 2 and "--delta: must be between 0 and 1" in bad.stderr
