import pytest

from workorders.tests.factories import reasons as make_reasons


@pytest.fixture
def reasons(db):
    return make_reasons()
