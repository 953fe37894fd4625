"""Reports of a plan: the Excel workbook and the self-contained HTML page."""

from allocator.report.html import write_report
from allocator.report.workbook import write_workbook

__all__ = ["write_report", "write_workbook"]
