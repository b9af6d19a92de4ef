"""SQLModel tables: the system of record. Importing this package registers every table."""

from worklist.models.auth import ApiToken
from worklist.models.reference import ExamType, Network, Provider, Reporter, Site, TatTarget
from worklist.models.sourcing import (
    BreachPrediction,
    OutsourcingOrder,
    OutsourcingPolicy,
    PredictionPass,
    ProviderEndpoint,
    ProviderPrice,
    Review,
    RosterEntry,
    SessionRate,
)
from worklist.models.studies import Order, Study, StudyEvent
from worklist.models.work import Assignment, ReporterSession

__all__ = [
    "ApiToken",
    "Assignment",
    "BreachPrediction",
    "ExamType",
    "Network",
    "Order",
    "OutsourcingOrder",
    "OutsourcingPolicy",
    "PredictionPass",
    "Provider",
    "ProviderEndpoint",
    "ProviderPrice",
    "Reporter",
    "ReporterSession",
    "Review",
    "RosterEntry",
    "SessionRate",
    "Site",
    "Study",
    "StudyEvent",
    "TatTarget",
]
