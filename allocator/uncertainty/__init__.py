"""Uncertain response curves: the ``uncertainty:`` section and the risk of a fixed plan
(``allocator risk``; docs/uncertainty.md).

- ``Uncertainty``: the section's schema; ``cross_check(scenario)``: its checks against the cells;
- ``draw(scenario, samples, seed)``: sampled bases and curve parameters (``sampling``);
- ``risk(plan, scenario, samples, seed) -> RiskReport`` and ``write_risk(report, folder)``.

Names are imported lazily, so that ``allocator.scenario.schema`` can import
``allocator.uncertainty.schema`` without importing the rest of this package.
"""

from importlib import import_module

import allocator.scenario  # noqa: F401  (first: the scenario schema imports our schema while we load)

_EXPORTS = {
    "Uncertainty": "schema", "cross_check": "schema",
    "Draws": "sampling", "draw": "sampling",
    "RiskReport": "assess", "risk": "assess",
    "write_risk": "files",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"allocator.uncertainty.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'allocator.uncertainty' has no attribute {name!r}")
