import pytest

from mes import roles
from mes.tests.factories import SiteFactory, UserFactory
from traceability.tests.factories import genealogy as make_genealogy


@pytest.fixture
def auditor(make_user):
    return make_user(roles.AUDITOR, username="audrey", first_name="Audrey", last_name="Auditor")


@pytest.fixture
def genealogy(site, supervisor):
    return make_genealogy(site=site, user=supervisor)


@pytest.fixture
def other_site(db):
    return SiteFactory(code="PLANT2", name="Plant two")


@pytest.fixture
def local_quality(db, other_site):
    """A quality engineer who sees only the second plant."""
    return UserFactory(role=roles.QUALITY, username="quinn", site=other_site)
