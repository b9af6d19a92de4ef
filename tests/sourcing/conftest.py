"""Sourcing tests: the shared fixtures, with review sampling switched off unless a test asks."""

from __future__ import annotations

import pytest

from worklist.settings import Settings


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings plus ``@pytest.mark.sourcing_settings(...)`` overrides."""
    update = {"review_share_radiographer": 0.0, "review_share_registrar": 0.0}
    update["review_share_all"] = 0.0
    marker = request.node.get_closest_marker("sourcing_settings")
    if marker is not None:
        update.update(marker.kwargs)
    return settings.model_copy(update=update)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sourcing_settings(**values): Settings overrides")
