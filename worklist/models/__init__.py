"""SQLModel tables: the system of record. Importing this package registers every table."""

from worklist.models.auth import ApiToken
from worklist.models.reference import ExamType, Network, Provider, Reporter, Site, TatTarget
from worklist.models.studies import Order, Study, StudyEvent
from worklist.models.work import Assignment, ReporterSession

__all__ = [
    "ApiToken",
    "Assignment",
    "ExamType",
    "Network",
    "Order",
    "Provider",
    "Reporter",
    "ReporterSession",
    "Site",
    "Study",
    "StudyEvent",
    "TatTarget",
]
