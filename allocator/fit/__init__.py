"""Response curves fitted from history, or imported from a marketing-mix model (``docs/fitting.md``).

``inputs`` reads the CSV files, ``curvefit`` fits one cell (bounded least squares, cross-validated
choice, refusals), ``model_file`` writes the response-model YAML, ``fitting`` ties them together and
``commands`` is the ``allocator fit`` command.
"""

from allocator.fit.fitting import FitReport, fit_file, fit_history, import_points

__all__ = ["FitReport", "fit_file", "fit_history", "import_points"]
