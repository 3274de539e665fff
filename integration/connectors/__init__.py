"""Connectors carry one outbox message to the ERP and say what the ERP answered.

A connector is a class with one method, `send(message) -> Ack`; it is chosen by `ERP_CONNECTOR`
(or the endpoint record). Adding one means writing the class and listing it in `CONNECTORS`.
"""

from __future__ import annotations

from integration.config import ErpConfig
from integration.connectors.b2mml import B2mmlConnector, render_b2mml
from integration.connectors.base import Ack, Connector
from integration.connectors.json_http import JsonConnector, render_json

CONNECTORS: dict[str, type[Connector]] = {"json": JsonConnector, "b2mml": B2mmlConnector}
RENDERERS = {"json": render_json, "b2mml": render_b2mml}


def connector_for(config: ErpConfig) -> Connector:
    try:
        cls = CONNECTORS[config.connector]
    except KeyError:
        raise ValueError(
            f"Unknown ERP connector '{config.connector}' (known: {', '.join(CONNECTORS)})."
        ) from None
    return cls(config)


__all__ = ["CONNECTORS", "RENDERERS", "Ack", "Connector", "connector_for", "render_b2mml", "render_json"]
