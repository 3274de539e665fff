"""Master data says why it changed: the service has no reason of its own to fill in."""

import pytest

from mes.errors import ValidationFailed
from workorders import services
from workorders.models import Product, ReasonCode
from workorders.tests.factories import ReasonCodeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.requirement("A11-9")
@pytest.mark.parametrize("reason", ["", "   "])
def test_a_master_data_save_without_a_reason_is_refused_and_writes_nothing(supervisor, reason):
    with pytest.raises(ValidationFailed) as refused:
        services.master_data_save(
            instance=Product(part_number="NEW-1", name="New"), user=supervisor, reason=reason
        )
    assert refused.value.field == "reason"
    assert not Product.objects.filter(part_number="NEW-1").exists()
    assert not Product.history.filter(part_number="NEW-1").exists()


def test_a_master_data_delete_without_a_reason_is_refused(supervisor):
    code = ReasonCodeFactory(code="JAM")
    with pytest.raises(ValidationFailed) as refused:
        services.master_data_delete(instance=code, user=supervisor, reason="")
    assert refused.value.field == "reason"
    assert ReasonCode.objects.filter(pk=code.pk).exists()


def test_the_reason_given_is_the_one_kept(supervisor):
    product = services.master_data_save(
        instance=Product(part_number="NEW-1", name="New"),
        user=supervisor,
        reason=" New part from engineering ",
    )
    latest = product.history.latest("history_id")
    assert (latest.history_user, latest.history_change_reason) == (supervisor, "New part from engineering")
