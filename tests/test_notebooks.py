"""The notebooks run from a clean kernel on the example scenarios, and ship with their outputs
(a reader on GitHub or without a kernel sees the tables and plots; docs/reports.md)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01_sensitivity.ipynb", "02_budget_options.ipynb", "03_uncertainty.ipynb", "04_during_the_year.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_with_its_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)  # every cell was run, in order
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    outputs = [o for cell in code for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert [o for o in outputs if "image/png" in o.get("data", {})]  # the plots are in the file


def test_the_notebooks_extra_names_a_kernel_and_a_notebook_app():
    import tomllib

    project = tomllib.loads((NOTEBOOKS.parent / "pyproject.toml").read_text())["project"]
    extra = " ".join(project["optional-dependencies"]["notebooks"])
    assert "ipykernel" in extra and ("jupyterlab" in extra or "notebook" in extra)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_from_a_clean_kernel(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images  # the plots were drawn
