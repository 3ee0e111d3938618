"""Second attempts in the simulated day: a failed stop a new route sends its van back to
is knocked at again no sooner than the route says, and the customer is in as often as
the day's ``retry_success`` says; a failed stop the route does not name stays done."""

from __future__ import annotations

import json
import random
from typing import Any

from app.domain.demo import DemoDay, build_demo_day
from app.domain.model import FailureReason
from app.foundation.days import OperatingDay
from app.foundation.settings import DepotSettings
from app.telemetry.simulator import FleetSimulator, SimulatorConfig
from app.telemetry.stop_outcomes import StopOutcomes

DAY = OperatingDay.at(1_760_047_200.0, "Europe/Paris")
HOUR = 3600.0


def demo() -> DemoDay:
    return build_demo_day(DepotSettings(name="Lyon"), DAY, vehicles=4, orders=60, seed=7)


def config(retry_success: float, retry_gap_s: float = 1800.0) -> SimulatorConfig:
    # Every first attempt fails; no disruptions, so any van is a quiet one.
    return SimulatorConfig(
        position_interval_s=30.0,
        seed=3,
        failure_rate=1.0,
        disruptions=False,
        retry_success=retry_success,
        retry_gap_s=retry_gap_s,
    )


def outcomes(sim: FleetSimulator, until: float, vid: str) -> list[dict[str, Any]]:
    events = (json.loads(m.payload) for m in sim.simulate_until(until) if "/event" in m.topic)
    return [
        e
        for e in events
        if e["type"] in ("delivered", "failed", "arrived") and f"-{vid}-" in e["event_id"]
    ]


def sent_back(retry_success: float, wait_s: float) -> tuple[str, list[dict[str, Any]], float]:
    """A van's first failed stop, sent back to at the end of its route ``wait_s`` after
    the failure at the earliest: the stop, the van's events after, the failure's time."""
    sim = FleetSimulator(demo(), config(retry_success))
    vid = sim.day.vehicles[0].id
    at = DAY.start + 10 * HOUR
    before = outcomes(sim, at, vid)
    failed = next(e for e in before if e["type"] == "failed")
    sid, failed_at = failed["stop_id"], failed["ts"]
    rest = [s for s in sim.planned_stops(vid) if s not in sim.visited_stops(vid, at)]
    assert sim.reroute(vid, [*rest, sid], at, {sid: failed_at + wait_s})
    return sid, outcomes(sim, DAY.end, vid), failed_at


def test_a_failed_stop_sent_back_to_is_delivered_when_the_customer_is_in() -> None:
    sid, after, failed_at = sent_back(retry_success=1.0, wait_s=1800.0)
    second = [e for e in after if e["stop_id"] == sid]
    assert [e["type"] for e in second] == ["arrived", "delivered"]
    assert second[1]["ts"] >= failed_at + 1800.0
    # The other stops keep the outcome they had: failed, every one (failure_rate 1).
    others = {e["type"] for e in after if e["stop_id"] != sid and e["type"] != "arrived"}
    assert others == {"failed"}


def test_a_van_back_at_the_door_waits_for_the_time_the_route_gives() -> None:
    sid, after, failed_at = sent_back(retry_success=1.0, wait_s=6 * HOUR)
    delivered = next(e for e in after if e["stop_id"] == sid and e["type"] == "delivered")
    assert delivered["ts"] >= failed_at + 6 * HOUR


def test_a_customer_still_out_fails_again_for_the_same_reason() -> None:
    sid, after, _ = sent_back(retry_success=0.0, wait_s=1800.0)
    second = [e for e in after if e["stop_id"] == sid]
    assert [e["type"] for e in second] == ["arrived", "failed"]


def test_a_failed_stop_the_route_does_not_send_back_to_stays_done() -> None:
    sim = FleetSimulator(demo(), config(1.0))
    vid = sim.day.vehicles[0].id
    at = DAY.start + 10 * HOUR
    sim.simulate_until(at)
    done = sim.visited_stops(vid, at)
    rest = [s for s in sim.planned_stops(vid) if s not in done]
    # The whole route, the stops served first, as the tower sends it: nothing changes.
    assert sim.reroute(vid, [*done, *rest], at) is False
    assert sim.visited_stops(vid) == done + rest


def test_a_second_attempt_is_the_same_whatever_the_route_and_needs_the_gap() -> None:
    drawn = StopOutcomes(1.0, seed=3, retry_success=0.5, retry_gap_s=1800.0)
    first = drawn.of("S-1", random.Random(1))
    assert first[0] is not None
    seconds = [drawn.again(f"S-{i}", 2, 1800.0) for i in range(200)]
    assert seconds == [drawn.again(f"S-{i}", 2, 3600.0) for i in range(200)]
    delivered = sum(1 for reason, _ in seconds if reason is None)
    assert 70 <= delivered <= 130  # about half the customers are in
    # Back too soon: every door is still closed, with the first attempt's reason.
    assert drawn.again("S-1", 2, 600.0) == (first[0], "")
    assert all(drawn.again(f"S-{i}", 2, 600.0)[0] is not None for i in range(200))
    assert drawn.again("S-9", 2, 600.0)[0] is FailureReason.NOT_HOME  # no first drawn
