"""Response curves fitted from history, or imported from a marketing-mix model (``docs/fitting.md``).

``inputs`` reads the CSV files, ``curvefit`` fits one cell (bounded least squares, cross-validated
choice, refusals), ``model_file`` writes the response-model YAML, ``fitting`` ties them together and
``commands`` is the ``allocator fit`` command.
"""

__all__ = ["FitReport", "fit_file", "fit_history", "import_points"]


def __getattr__(name: str):  # scipy loads only when a fit runs, not with every allocator command
    if name in __all__:
        from allocator.fit import fitting

        return getattr(fitting, name)
    raise AttributeError(f"module 'allocator.fit' has no attribute {name!r}")
