"""Scenario files: loading, validation and derived copies."""

from allocator.scenario.errors import Problem, ScenarioError
from allocator.scenario.load import Scenario, load_scenario

__all__ = ["Problem", "Scenario", "ScenarioError", "load_scenario"]
