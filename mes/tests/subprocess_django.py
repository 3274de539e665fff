"""Run Django code in a fresh interpreter with chosen environment variables.

Settings are read once per process, so switching them for real means a new process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
SWITCHES = [
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "HTTPS",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SIMULATE_LINES",
]


def clean_env(**overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES and not k.startswith("PYTEST")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return env


def run_python(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def django_json(code: str, **env_overrides: str):
    """Run `code` after django.setup(); it must assign `result`, which comes back as JSON."""
    script = f"import django, json\ndjango.setup()\n{code}\nprint('@@' + json.dumps(result, default=str))"
    done = run_python(script, **env_overrides)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("@@", 1)[1])
