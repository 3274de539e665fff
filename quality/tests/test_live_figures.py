"""Open nonconformances and holds on the live line status, and the delta that follows a change."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from quality import services
from quality.models import Hold, Nonconformance
from quality.tests.conftest import PASSWORD, key
from workorders.live.broadcast import line_group
from workorders.live.selectors import line_summaries


@pytest.fixture
def line_channel(settings, order):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    layer = get_channel_layer()
    name = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(line_group(order.line_id), name)
    yield lambda: async_to_sync(layer.receive)(name)
    channel_layers.backends = {}


def figures(order):
    return line_summaries([order.line])[0]["figures"]


def test_the_line_counts_its_open_nonconformances_and_held_orders(site, supervisor, quality_user, order):
    assert figures(order) == {"nonconformances": 0, "holds": 0}
    done = services.nonconformance_open(key=key(), user=supervisor, site=site, title="Burr", work_order=order)
    services.hold_place(key=key(), user=quality_user, work_order=order, reason="Burr found")
    assert figures(order) == {"nonconformances": 1, "holds": 1}

    hold = Hold.objects.get(work_order=order)
    services.hold_release(
        hold_id=hold.pk, user=quality_user, reason="Parts sorted", key=key(), password=PASSWORD
    )
    nc = Nonconformance.objects.get(pk=done.result_id)
    services.nonconformance_investigate(nonconformance_id=nc.pk, user=quality_user, note="Tool worn")
    assert figures(order) == {"nonconformances": 1, "holds": 0}  # investigating is still open
    services.nonconformance_disposition(
        nonconformance_id=nc.pk, user=quality_user, disposition="scrap", note="Scrap them", password=PASSWORD
    )
    services.nonconformance_close(nonconformance_id=nc.pk, user=quality_user, note="Done")
    assert figures(order) == {"nonconformances": 0, "holds": 0}


def test_a_hold_sends_the_line_a_delta_with_the_new_counts_after_commit(
    quality_user, order, line_channel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.hold_place(key=key(), user=quality_user, work_order=order, reason="Suspect batch")
    deltas = []
    for _ in range(5):  # the hold's delta and the order's own (it went on hold), in commit order
        deltas.append(json.loads(line_channel()["text"]))
        if "figures" in deltas[-1]["line"]:
            break
    with_figures = [d for d in deltas if "figures" in d["line"]]
    assert with_figures and with_figures[-1]["line"]["figures"]["holds"] == 1
    sequences = [d["seq"] for d in deltas]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)


def test_a_production_delta_leaves_the_figures_out(
    order, operator, line_channel, django_capture_on_commit_callbacks
):
    from workorders import services as production
    from workorders.tests.factories import key as production_key

    operation = order.operations.get()
    with django_capture_on_commit_callbacks(execute=True):
        production.operation_start(
            operation_id=operation.pk,
            workstation=operation.workstation,
            user=operator,
            key=production_key(),
        )
    assert "figures" not in json.loads(line_channel()["text"])["line"]
