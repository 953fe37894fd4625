"""allocator: sales plans as optimisation problems.

    from allocator import load_scenario, solve
    plan = solve(load_scenario("scenarios/annual_plan.yaml"))
    plan.allocation.head()
"""

from allocator.api import solve
from allocator.plan import Plan
from allocator.replanning import read_actuals, replan
from allocator.scenario import Problem, Scenario, ScenarioError, load_scenario
from allocator.solve import Status

__all__ = ["Plan", "Problem", "Scenario", "ScenarioError", "Status", "load_scenario", "read_actuals", "replan", "solve"]
__version__ = "0.1.0"
