"""Sensitivity analysis: sweeps over overrides, tornado charts, and the engines that run them."""

from allocator.sensitivity.grid import parse_param, points
from allocator.sensitivity.sweep import sweep

__all__ = ["parse_param", "points", "sweep"]
