"""Websocket routes of every app, collected in one list for the ASGI router."""

from workorders.consumers import websocket_urlpatterns as live_routes

websocket_urlpatterns: list = [*live_routes]
