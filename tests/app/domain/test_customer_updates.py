"""Customer notifications: triggers and throttling, with a manual clock."""

from __future__ import annotations

from app.domain.customer_updates import (
    REATTEMPT,
    RETURNED,
    CustomerNotifier,
    NotifyThresholds,
    OrderSnapshot,
    order_snapshots,
)
from app.domain.eta import EtaPredictor
from app.domain.model import EventType, FailureReason, TelemetryFix, TimeWindow
from app.foundation.clock import ManualClock
from tests.app.domain.day import T0, ev, north_of, small_day

WINDOW = TimeWindow(T0 + 3600, T0 + 3 * 3600)


def snap(status: str, eta: float | None = None, **kw: object) -> OrderSnapshot:
    return OrderSnapshot("O1", status, eta, WINDOW, **kw)  # type: ignore[arg-type]


def test_each_stage_notifies_once() -> None:
    clock, n = ManualClock(T0), CustomerNotifier()
    assert n.update(snap("scheduled", T0 + 5000), clock.now()) == []
    [ofd] = n.update(snap("out_for_delivery", T0 + 5000), clock.now())
    assert ofd.order_id == "O1" and ofd.trigger == "out_for_delivery"
    assert ofd.payload == {
        "order": "O1",
        "status": "out_for_delivery",
        "trigger": "out_for_delivery",
        "eta": round(T0 + 5000),
        "window": {"start": WINDOW.start, "end": WINDOW.end},
        "reason": None,
    }
    clock.advance(60)
    assert n.update(snap("out_for_delivery", T0 + 5100), clock.now()) == []
    clock.advance(600)
    [nxt] = n.update(snap("next", T0 + 4800, distance_m=3000.0), clock.now())
    assert nxt.trigger == "next"
    clock.advance(600)
    [near] = n.update(snap("next", T0 + 4800, distance_m=140.0), clock.now())
    assert near.trigger == "arriving"
    clock.advance(60)
    assert n.update(snap("arrived", T0 + 4800), clock.now()) == []
    clock.advance(200)
    [done] = n.update(snap("delivered"), clock.now())
    assert done.trigger == "delivered" and done.payload["eta"] is None
    clock.advance(60)
    assert n.update(snap("delivered"), clock.now()) == []


def test_arriving_by_time_and_stages_skipped_at_once() -> None:
    n = CustomerNotifier()
    [note] = n.update(snap("next", T0 + 240), T0)  # 4 min away: straight to arriving
    assert note.trigger == "arriving"
    assert n.update(snap("next", T0 + 240), T0 + 100) == []  # no late "next" or "out for..."


def test_small_eta_changes_stay_quiet_and_a_big_shift_is_told() -> None:
    n, now = CustomerNotifier(), T0
    n.update(snap("out_for_delivery", T0 + 7200), now)
    for k in range(1, 20):  # drifting by a minute at a time, up to 9.5 min from the told ETA
        now += 60
        assert n.update(snap("out_for_delivery", T0 + 7200 + 30 * k), now) == []
    now += 60
    [shift] = n.update(snap("out_for_delivery", T0 + 7200 + 660), now)
    assert shift.trigger == "eta_changed" and shift.payload["eta"] == round(T0 + 7860)
    now += 60
    assert n.update(snap("out_for_delivery", T0 + 7200 + 700), now) == []


def test_throttled_messages_are_sent_later_not_lost() -> None:
    clock = ManualClock(T0)
    n = CustomerNotifier(NotifyThresholds(throttle_s=30))
    assert len(n.tick([snap("out_for_delivery", T0 + 3000)], clock.now())) == 1
    clock.advance(5)
    assert n.tick([snap("next", T0 + 2900, distance_m=2000.0)], clock.now()) == []
    clock.advance(5)
    assert n.tick([snap("next", T0 + 2950, distance_m=1500.0)], clock.now()) == []
    clock.advance(19)
    assert n.tick([], clock.now()) == []
    clock.advance(1)  # 30 s after the first message
    [held] = n.tick([], clock.now())
    assert held.trigger == "next" and held.ts == clock.now()
    assert held.payload["eta"] == round(T0 + 2950)  # the latest state, not the first held
    assert n.tick([], clock.now() + 100) == []


def test_failed_says_what_happens_next() -> None:
    n = CustomerNotifier()
    [note] = n.update(snap("failed", reason="not_home", next_step=REATTEMPT, attempt=1), T0)
    assert note.payload["status"] == "failed" and note.payload["reason"] == "not_home"
    assert note.payload["next_step"] == REATTEMPT
    # the re-attempt goes out again, then fails for good
    assert n.update(snap("next", T0 + 4000, attempt=1), T0 + 3600)[0].trigger == "next"
    [final] = n.update(snap("failed", reason="refused", next_step=RETURNED, attempt=2), T0 + 7200)
    assert final.payload["next_step"] == RETURNED


def test_snapshots_follow_the_tracker() -> None:
    t = small_day()
    t.apply(ev(EventType.SCAN, T0 - 600, parcels=("O1-P1", "O2-P1", "O2-P2")))
    t.apply(ev(EventType.DEPARTED, T0))
    etas = EtaPredictor().predict_all(t, {}, T0)
    position = {"V1": TelemetryFix("V1", T0 + 60, *north_of(1950))}
    by_order = {s.order_id: s for s in order_snapshots(t, etas, position)}
    assert by_order["O1"].status == "next" and by_order["O1"].distance_m is not None
    assert by_order["O2"].status == "out_for_delivery" and by_order["O2"].eta is not None
    assert by_order["O3"].status == "scheduled"
    t.apply(ev(EventType.FAILED, T0 + 600, "S1", reason=FailureReason.NOT_HOME))
    failed = {s.order_id: s for s in order_snapshots(t, etas, position)}["O1"]
    assert (failed.status, failed.next_step, failed.attempt) == ("failed", REATTEMPT, 1)
    t.apply(ev(EventType.FAILED, T0 + 900, "S2", reason=FailureReason.REFUSED))
    refused = {s.order_id: s for s in order_snapshots(t, etas, position)}["O2"]
    assert refused.next_step == RETURNED
