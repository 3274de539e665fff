"""The embedded default and the production variables switch the parts for real."""

from mes.tests.servers import django_json, run_manage, run_python

READ_SETTINGS = """
from django.conf import settings
from django.db import connection
result = {
    "engine": connection.vendor,
    "journal_mode": None,
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "debug": settings.DEBUG,
    "cache": settings.CACHES["default"]["BACKEND"],
}
if connection.vendor == "sqlite":
    with connection.cursor() as c:
        c.execute("PRAGMA journal_mode")
        result["journal_mode"] = c.fetchone()[0]
"""

PRODUCTION = {
    "DATABASE_URL": "postgres://mes:secret@db.example.com:5432/mes",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "CELERY_BROKER_URL": "amqp://guest:guest@mq.example.com:5672//",
    "SECRET_KEY": "a-long-production-secret-that-nobody-guesses-0123456789-abcdefghij",
    "ALLOWED_HOSTS": "mes.example.com",
    "HTTPS": "on",
}


def test_no_variables_means_the_embedded_default():
    result = django_json(READ_SETTINGS)
    assert result["engine"] == "sqlite"
    assert result["journal_mode"] == "wal"
    assert result["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert result["eager"] is True
    assert result["debug"] is False


def test_production_variables_switch_to_postgres_redis_and_a_broker():
    code = READ_SETTINGS.replace(
        '"engine": connection.vendor', '"engine": settings.DATABASES["default"]["ENGINE"]'
    )
    code = code.replace('if connection.vendor == "sqlite":', "if False:")
    result = django_json(code, **PRODUCTION)
    assert result["engine"] == "django.db.backends.postgresql"
    assert result["channel_layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert result["cache"] == "mes.cache.SharedPoolRedisCache"
    assert result["eager"] is False
    assert result["broker"].startswith("amqp://")
    assert result["debug"] is False


def test_instances_sharing_a_redis_name_their_keys_apart_by_database():
    code = (
        "from django.conf import settings\n"
        "result = [settings.CHANNEL_LAYERS['default']['CONFIG']['prefix'], "
        "settings.CACHES['default']['KEY_PREFIX']]"
    )
    plant_one = django_json(code, **PRODUCTION)
    plant_two = django_json(
        code, **{**PRODUCTION, "DATABASE_URL": "postgres://mes:secret@db.example.com:5432/mes_plant2"}
    )
    named = django_json(code, **{**PRODUCTION, "REDIS_PREFIX": "plant-one"})
    assert plant_one[0] == plant_one[1] and plant_two[0] == plant_two[1]
    assert plant_one[0] != plant_two[0]
    assert named == ["plant-one", "plant-one"]


def test_production_refuses_to_start_without_a_secret_key():
    env = dict(PRODUCTION)
    env.pop("SECRET_KEY")
    done = run_python("import django; django.setup()", **env)
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_debug_is_only_on_when_asked_for():
    assert django_json("from django.conf import settings\nresult = settings.DEBUG", DEBUG="on") is True


def test_deploy_check_passes_with_production_variables():
    done = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_demo_server_runs_the_line_simulator_only_when_asked(tmp_path):
    code = (
        "import config.asgi\n"
        "thread = config.asgi.line_simulator\n"
        "result = thread.name if thread is not None else None\n"
    )
    # A database of its own: the simulator's thread finds no plant there and stops, logging why.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "SECRET_KEY": "x" * 50}
    assert django_json(code, **env, SIMULATE_LINES="on") == "line-simulator"
    assert django_json(code, **env) is None
