"""The KPI pages' charts: the shared accessible SVG bar chart (``civicloom.web.charts``)."""

from civicloom.web.charts import BAR_COLOURS, Bar, bar_chart

__all__ = ["BAR_COLOURS", "Bar", "bar_chart"]
