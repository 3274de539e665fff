"""/healthz names the state of the database, the channel layer and the task broker."""

import json

import pytest
from channels.layers import channel_layers

from config.settings import redis_channel_layer
from mes.tests.servers import django_json

CLOSED_PORT = 9  # the discard port: nothing listens there on this machine or in CI


def test_healthz_is_200_when_every_part_is_up(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert set(body["parts"]) == {"database", "channel_layer", "task_broker"}
    assert all(part["up"] for part in body["parts"].values())


def _healthz_with_layer(client, settings, layer: dict):
    settings.CHANNEL_LAYERS = {"default": layer}
    channel_layers.backends.clear()
    try:
        return client.get("/healthz")
    finally:
        channel_layers.backends.clear()


def test_healthz_names_a_channel_layer_that_is_down(client, db, settings):
    layer = redis_channel_layer(f"redis://127.0.0.1:{CLOSED_PORT}/0", prefix="healthz-test")
    response = _healthz_with_layer(client, settings, layer)
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["channel_layer"]
    assert "Connect" in body["parts"]["channel_layer"]["error"]
    assert body["parts"]["database"]["up"] is True


HEALTHZ = """
from django.test import Client
response = Client().get("/healthz", HTTP_HOST="localhost")
result = {"status": response.status_code, "body": json.loads(response.content)}
"""


@pytest.mark.parametrize(
    "database_url",
    ["sqlite:////nonexistent-directory/mes.sqlite3", f"postgres://mes@127.0.0.1:{CLOSED_PORT}/mes"],
    ids=["sqlite", "postgres"],
)
def test_healthz_names_a_database_that_is_down(database_url):
    result = django_json(HEALTHZ, DATABASE_URL=database_url, SECRET_KEY="x" * 50)
    assert result["status"] == 503
    assert result["body"]["down"] == ["database"]
    assert result["body"]["parts"]["database"]["error"]


def test_healthz_names_a_task_broker_that_is_down():
    result = django_json(HEALTHZ, CELERY_BROKER_URL=f"redis://127.0.0.1:{CLOSED_PORT}/1")
    assert result["status"] == 503
    assert result["body"]["down"] == ["task_broker"]


@pytest.mark.integration
def test_healthz_checks_real_redis_and_a_real_broker_when_configured():
    """With Redis behind the channel layer and the broker, a real round trip is made."""
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    result = django_json(
        HEALTHZ, REDIS_URL="redis://127.0.0.1:6379/0", CELERY_BROKER_URL="redis://127.0.0.1:6379/1"
    )
    assert result["status"] == 200, json.dumps(result)
    parts = result["body"]["parts"]
    assert parts["channel_layer"]["mode"] == "RedisPubSubChannelLayer"
    assert parts["task_broker"]["mode"] == "broker"
