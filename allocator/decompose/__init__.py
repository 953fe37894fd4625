"""Target decomposition: a plan's revenue targets cut down to months, weeks, days, products,
reps and lead funnels, every level summing exactly to its parent; and tracking of actuals.

Integration points (see ``docs/decomposition.md``):

- ``DecompositionConfig``: the ``decomposition:`` section of a scenario;
- ``cross_check(scenario)``: its checks against the rest of the scenario, as (loc, message);
- ``check_inputs(scenario)``: read and check the CSV inputs (before solving, to fail fast);
- ``decompose_into(folder, scenario)``: the ``allocator run`` hook;
- ``decompose_run(run_dir, config, base_dir)`` and ``write_tables(folder, tables)``;
- ``allocator.decompose.commands.register(app)``: the ``decompose`` and ``track`` commands.

Names are imported lazily, so that ``allocator.scenario.schema`` can import
``allocator.decompose.config`` without importing the rest of this package. ``config`` builds on
the schema's types, so the schema imports it at its end (see ``docs/decomposition.md``).
"""

from importlib import import_module

import allocator.scenario  # noqa: F401  (first, so that the scenario schema can import our config while we import it)

_EXPORTS = {
    "DecompositionConfig": "config", "cross_check": "config",
    "DecompositionError": "errors", "load_config": "errors",
    "check_inputs": "run", "decompose": "run", "decompose_into": "run", "decompose_plan": "run",
    "decompose_run": "run", "keep_inputs": "run", "write_tables": "run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"allocator.decompose.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'allocator.decompose' has no attribute {name!r}")
