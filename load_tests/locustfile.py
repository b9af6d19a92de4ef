"""Locust entry point: the scenarios live in ``load_tests/scenarios``; run it through
``make load`` (``load_tests/run_load.py``), which seeds the service and checks thresholds."""

from locust import events

from load_tests.scenarios import timeline
from load_tests.scenarios.dashboards import LeadUser, OpsUser
from load_tests.scenarios.feeds import FeedUser
from load_tests.scenarios.reporters import ReporterUser

timeline.install(events)

__all__ = ["FeedUser", "LeadUser", "OpsUser", "ReporterUser"]
