"""``scopeguard report``: a self-contained HTML page (plus CSV and PNG of its main table) from score files.

Modules: ``stats`` (Wilson intervals and the verdict), ``aggregate`` (one streaming pass over score
files: counts per group and period, score histogram, top flagged conversations, agreement with human
labels), ``charts`` (matplotlib, imported lazily, drawn as inline SVG), ``page`` (the HTML).
"""

from classifier.report.build import ReportOptions, build_report

__all__ = ["ReportOptions", "build_report"]
