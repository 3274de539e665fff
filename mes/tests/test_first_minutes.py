"""A newcomer's first minutes: `make run` says where things are and stays quiet otherwise; every
time a page shows is in the site's zone and the page says which."""

import logging
import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from mes import roles
from mes.tests.factories import SiteFactory
from workorders.tests.factories import released_order

ROOT = Path(settings.BASE_DIR)


def make_dry_run(*args: str) -> str:
    """The commands `make` would run (nothing runs: -n), as the shell would get them, from a
    person's shell: not the variables an enclosing `make test` exports."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("FAKE_ERP_PORT", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    }
    result = subprocess.run(
        ["make", "-n", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def test_make_run_puts_the_fake_erp_beside_the_port_it_serves_and_says_where():
    commands = make_dry_run("run", "PORT=8080")
    assert "manage.py fake_erp --port 8081" in commands
    assert "http://127.0.0.1:8081/" in commands  # printed for the person at the console
    assert "ERP_URL=${ERP_URL:-http://127.0.0.1:8081}" in commands  # and delivered to
    assert "--lifespan off" in commands  # no "ASGI 'lifespan' protocol appears unsupported"
    # Ctrl-C: each helper stopped once, only if its pid file is there (no "cat: ... No such file"),
    # and the server's Ctrl-C status is a clean stop for make (no "Error 130/143").
    assert re.search(r"if \[ -f \$f \]; then kill \$\(cat \$f\)", commands)
    assert "0|130|143) exit 0" in commands


def test_make_demo_reset_starts_the_demo_over_without_reinstalling():
    commands = make_dry_run("demo-reset")
    assert "manage.py seed_demo --reset" in commands
    assert "uv sync --frozen" in commands  # the installed environment is only checked, not rebuilt


@pytest.mark.parametrize("name", ["httpx", "httpcore", "websockets.server"])
def test_a_line_per_erp_request_or_dashboard_connection_stays_off_the_console(name):
    assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING


def test_the_browser_finds_an_icon_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"


def test_the_board_shows_times_in_the_site_zone_and_names_it(db, site, workstation, make_user, client_for):
    supervisor = make_user(roles.SUPERVISOR)
    order = released_order(user=supervisor, workstations=[workstation], number="WO-TZ1")
    order.due = datetime(2026, 1, 15, 13, 0, tzinfo=UTC)  # 14:00 in Berlin (CET)
    order.save(update_fields=["due"])

    html = client_for(supervisor).get("/board/").content.decode()

    assert "2026-01-15 14:00" in html and "2026-01-15 13:00" not in html
    assert "Times: Europe/Berlin" in html


def test_a_person_of_sites_in_several_zones_reads_the_first_site_zone_named_on_the_page(
    db, site, make_user, client_for
):
    supervisor = make_user(roles.SUPERVISOR)
    supervisor.sites.add(SiteFactory(code="ZZ-NY", time_zone="America/New_York"))

    html = client_for(supervisor).get("/board/").content.decode()

    assert f"Times: {site.time_zone}" in html and "America/New_York" not in html
