"""JSON over HTTP(S): the mapped payload as it is, POSTed to `<ERP_URL>/messages`."""

from __future__ import annotations

import json

from integration.connectors.base import Connector


def render_json(message) -> bytes:
    return json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()


class JsonConnector(Connector):
    name = "json"
    path = "/messages"
    content_type = "application/json"

    def render(self, message) -> bytes:
        return render_json(message)
