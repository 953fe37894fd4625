"""Reserve sizing: a two-stage stochastic plan (``allocator run --stochastic``; docs/uncertainty.md).

- ``Stochastic``: the ``stochastic:`` section's schema (``schema``);
- ``stochastic_data(scenario, samples, seed)``: the sampled cells the model's sample blocks are
  built from (``inputs``);
- ``solve_stochastic(scenario, ...) -> Plan``: the first-stage plan, with the reserve curve and
  the value of the stochastic solution (``solve``).

Names are imported lazily, so that ``allocator.scenario.schema`` can import
``allocator.stochastic.schema`` without importing the rest of this package.
"""

from importlib import import_module

_EXPORTS = {
    "Stochastic": "schema",
    "stochastic_data": "inputs",
    "solve_stochastic": "solve",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"allocator.stochastic.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'allocator.stochastic' has no attribute {name!r}")
