"""Fixtures of the integration tests: a started order to record against, and the fake ERP process."""

from __future__ import annotations

import pytest

from integration.tests.support import FakeErpProcess, StartedOrder, start_order
from workorders.tests.factories import reasons as make_reasons


@pytest.fixture
def reasons(db):
    return make_reasons()


@pytest.fixture
def started(db, operator, supervisor, workstation, reasons) -> StartedOrder:
    """A released order with one operation at `workstation`, started by the operator."""
    return start_order(operator=operator, supervisor=supervisor, workstation=workstation)


@pytest.fixture(scope="session")
def fake_erp_session():
    erp = FakeErpProcess().start()
    yield erp
    erp.stop()


@pytest.fixture
def fake_erp(fake_erp_session, settings):
    """The fake ERP as a real process, reset, with delivery pointed at it (JSON connector)."""
    fake_erp_session.reset()
    settings.ERP_URL = fake_erp_session.url
    settings.ERP_CONNECTOR = "json"
    settings.ERP_TIMEOUT = 5.0
    settings.ERP_BACKOFF_SECONDS = 0.0
    return fake_erp_session
