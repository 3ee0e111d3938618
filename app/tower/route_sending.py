"""Sending routes to the drivers: each van's route, retained on its own topic.

An accepted re-plan (app.tower.decisions) and a published morning plan
(``main.py plan --publish``) send their routes here, so a driver app gets one payload
shape whichever way its route was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from app.domain.model import Order, Stop
from app.telemetry.contract import ROUTE, payload
from app.tower.plan_adoption import Collect, Retry, Routes, route_body


class RoutePublisher(Protocol):
    """A connected MQTT client (the tower's feed, or a command's own publisher)."""

    def publish(
        self, topic: str, payload: bytes | str, qos: int = ..., retain: bool = ...
    ) -> object:
        """Send one message."""


def send_routes(
    publisher: RoutePublisher,
    prefix: str,
    routes: Routes,
    version: int,
    plan_id: int,
    stops: Mapping[str, Stop],
    orders: Mapping[str, Order],
    collect: Collect | None = None,
    retry: Retry | None = None,
) -> None:
    """Publish each van's route of ``routes`` as plan version ``version`` (retained)."""
    for vehicle_id, ordered in routes.items():
        body = route_body(
            vehicle_id,
            ordered,
            version,
            plan_id,
            stops,
            orders,
            (collect or {}).get(vehicle_id),
            (retry or {}).get(vehicle_id),
        )
        publisher.publish(
            ROUTE.topic(prefix, vehicle_id),
            payload(ROUTE, body),
            qos=ROUTE.qos,
            retain=ROUTE.retained,
        )
