"""Re-planning during the year with the actuals so far (``docs/replan.md``)."""

from allocator.replanning.actuals import METRICS, Actuals, past_periods, read_actuals
from allocator.replanning.replan import replan

__all__ = ["METRICS", "Actuals", "past_periods", "read_actuals", "replan"]
