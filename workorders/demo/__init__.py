"""The production part of the demo plant: reason codes, products and BOMs, routings, work orders in
every status, the last hours of production on the floor, the second site's bench and the live
picture (andon calls, line status).

Only `seed_demo` loads this package (`WorkordersConfig.demo_seeder`). Master data is looked up by
its natural keys and only added where missing (`master`); the orders and their history are
written once, through the same services a tablet and a supervisor use (`replay`), after the floor
has been simulated in plain Python (`simulator`) from the plant's data (`data`).
"""

from __future__ import annotations

from collections.abc import Callable

from workorders.demo.live import seed_live
from workorders.demo.replay import seed_production
from workorders.demo.second_site import seed_second_site


def seed(say: Callable[[str], None]) -> None:
    """Production, then the second site, then the live picture built from what they recorded;
    each in a transaction of its own."""
    seed_production(say)
    seed_second_site(say)
    seed_live(say)
