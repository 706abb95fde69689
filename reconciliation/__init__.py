"""Monthly EMS statement reconciliation: tariff as data, statement import, matching, allocation, reports."""

from .engine import Result, StatementInfo, reconcile
from .errors import StatementError, TariffError
from .findings import Code, Finding
from .matching import ShippedParcel
from .reports import write_report
from .tariff import Tariff
from .tariff_file import default_tariff, load_tariff, parse_tariff

__all__ = [
    "Code",
    "Finding",
    "Result",
    "ShippedParcel",
    "StatementError",
    "StatementInfo",
    "Tariff",
    "TariffError",
    "default_tariff",
    "load_tariff",
    "parse_tariff",
    "reconcile",
    "write_report",
]
