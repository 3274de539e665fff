"""Websocket routes of every app, collected in one list for the ASGI router."""

websocket_urlpatterns: list = []
