"""Reports of the records: a PDF per attempt and per trainee, the class CSV, and
the ``results`` / ``report`` commands (:mod:`simulator.reports.commands`).

No Qt, no VTK: reportlab for the PDFs, Pillow for the anatomy section.
"""

from simulator.reports.attempt_pdf import write_attempt_report
from simulator.reports.csv_export import write_class_csv
from simulator.reports.formatting import criteria_of, format_value
from simulator.reports.trainee_pdf import write_trainee_report

__all__ = [
    "criteria_of",
    "format_value",
    "write_attempt_report",
    "write_class_csv",
    "write_trainee_report",
]
