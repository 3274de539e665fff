"""The project's HistoricalRecords: the history manager class is built once, history is unchanged."""

import pytest

from mes.models import Site


@pytest.mark.django_db
def test_history_managers_share_one_class_and_still_record_every_change(site):
    assert type(site.history) is type(Site.history) is type(Site.objects.get(pk=site.pk).history)

    site.name = "Plant one, renamed"
    site.save()
    names = list(site.history.order_by("history_id").values_list("name", flat=True))
    assert names == ["Plant one", "Plant one, renamed"]
    assert site.history.count() == 2  # the manager is still bound to this site's rows
    assert Site.history.count() >= 2  # and, on the class, to every site's
