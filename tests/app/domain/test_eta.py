"""Predictive ETAs: the method, the learning, and the accuracy record."""

from __future__ import annotations

from app.domain.eta import EtaPredictor
from app.domain.eta_accuracy import EtaAccuracy
from app.domain.eta_travel import LocalHours, UrbanTravelTime
from app.domain.execution import ExecutionTracker
from app.domain.model import (
    EventType,
    ExecutionEvent,
    Order,
    Stop,
    StopEta,
    TelemetryFix,
    TimeWindow,
    Vehicle,
    VehicleEta,
)
from tests.app.domain.day import DEPOT, T0, ev, north_of, order, small_day

E = EventType
SLOWER = 1.3  # the van of the scripted day is consistently 30% slower than the model


def long_route(stops: int = 8) -> tuple[ExecutionTracker, list[Order], EtaPredictor]:
    """V1 with ``stops`` stops 1.5 km apart going north; planned by the untrained model."""
    model = EtaPredictor()
    orders, planned, t = [], [], T0
    lat, lon = DEPOT.lat, DEPOT.lon
    for k in range(stops):
        o = order(k + 1, *north_of(1500.0 * (k + 1)), window_h=8)
        o = Order(**{**o.__dict__, "windows": (TimeWindow(T0 - 3600, T0 + 12 * 3600),)})
        t += model.travel_time(lat, lon, o.lat, o.lon, t)
        planned.append(t)
        t += o.service_s
        lat, lon = o.lat, o.lon
        orders.append(o)
    route = [Stop(f"S{k + 1}", o.id, "V1", k, planned[k]) for k, o in enumerate(orders)]
    van = Vehicle("V1", "D1", "AB-123-CD", 1000, 10, 8 * 3600, 17 * 3600)
    return ExecutionTracker(orders, route, vehicles=[van], depots=[DEPOT]), orders, model


def test_an_early_van_waits_for_the_window() -> None:
    t = small_day()
    t.apply(ev(E.DEPARTED, T0))
    eta = EtaPredictor().predict_vehicle(t, "V1", None, T0)
    assert eta is not None
    window_start = t.orders["O1"].windows[0].start
    # The ETA is the arrival at the door (08:06); the van waits there until 09:00.
    assert T0 < eta.stops[0].eta < window_start
    assert eta.stops[1].eta > window_start + 180
    assert eta.return_to_depot > eta.stops[-1].eta


def test_a_van_at_a_stop_finishes_serving_it_first() -> None:
    tracker, orders, model = long_route(3)
    tracker.apply(ev(E.DEPARTED, T0))
    tracker.apply(ev(E.ARRIVED, T0 + 300, "S1"))
    eta = model.predict_vehicle(tracker, "V1", None, T0 + 330)
    assert eta is not None
    assert eta.stops[0] == StopEta("S1", "V1", T0 + 300, tracker.stops["S1"].planned_arrival)
    leg = model.travel_time(orders[0].lat, orders[0].lon, orders[1].lat, orders[1].lon, T0)
    assert abs(eta.stops[1].eta - (T0 + 300 + 180 + leg)) < 1.0


def test_the_eta_converges_on_a_van_that_is_30_percent_slower() -> None:
    tracker, orders, learner = long_route(8)
    naive = EtaPredictor()  # never learns
    truth, now = {}, T0
    lat, lon = DEPOT.lat, DEPOT.lon
    for k, o in enumerate(orders):  # the real day, scripted
        now += SLOWER * learner.travel_time(lat, lon, o.lat, o.lon, now)
        truth[f"S{k + 1}"] = now
        now += o.service_s
        lat, lon = o.lat, o.lon

    tracker.apply(ev(E.DEPARTED, T0))
    depart, errors, naive_errors = T0, [], []
    for k, o in enumerate(orders):
        sid = f"S{k + 1}"
        position = {"V1": TelemetryFix("V1", depart, lat, lon)} if k else {}
        learned = learner.predict_all(tracker, position, depart)["V1"].stops[0]
        plain = naive.predict_vehicle(tracker, "V1", position.get("V1"), depart)
        assert learned.stop_id == sid and plain is not None
        errors.append(abs(learned.eta - truth[sid]))
        naive_errors.append(abs(plain.stops[0].eta - truth[sid]))
        tracker.apply(ev(E.ARRIVED, truth[sid], sid))
        depart = truth[sid] + o.service_s
        tracker.apply(ev(E.DEPARTED, depart, sid))
        learner.learn(tracker)
        lat, lon = o.lat, o.lon
        if k == 2:  # after three legs: the ETA of the last stop, 5 stops ahead
            far = learner.predict_vehicle(tracker, "V1", None, depart)
            assert far is not None
            plan_error = abs(tracker.stops["S8"].planned_arrival - truth["S8"])
            assert abs(far.stops[-1].eta - truth["S8"]) < 0.1 * plan_error

    assert errors[0] == naive_errors[0] > 60  # nothing learned yet
    for k in range(3, len(orders)):
        assert errors[k] < 0.1 * naive_errors[k], (k, errors[k], naive_errors[k])
    assert learner.speed_factor("V1", learner.hours(T0)) > 1.25


def test_service_time_is_learned_by_stop_type_and_parcel_count() -> None:
    tracker, orders, model = long_route(4)
    tracker.apply(ev(E.DEPARTED, T0))
    for k in range(3):
        tracker.apply(ev(E.ARRIVED, T0 + 1000 * k + 300, f"S{k + 1}"))
        tracker.apply(ev(E.DEPARTED, T0 + 1000 * k + 700, f"S{k + 1}"))
    model.learn(tracker)
    assert 390 < model.service_s(orders[3]) <= 400  # one parcel: learned, not the planned 180
    two_parcels = order(9, DEPOT.lat, DEPOT.lon, parcels=2)
    assert model.service_s(two_parcels) == two_parcels.service_s  # nothing learned for two


def test_accuracy_keeps_the_etas_told_60_30_and_10_minutes_before() -> None:
    accuracy = EtaAccuracy()
    arrival = T0 + 7200
    told = {70: arrival + 900, 40: arrival + 400, 20: arrival + 100, 5: arrival + 10}
    for minutes_before, eta in sorted(told.items(), reverse=True):
        made = arrival - minutes_before * 60
        accuracy.record(VehicleEta("V1", made, (StopEta("S1", "V1", eta, T0 + 6000),), eta))
    accuracy.arrived("S1", "V1", arrival, T0 + 6000)
    rows = [(s.stop_id, s.horizon_min, s.predicted_eta) for s in accuracy.accuracy_samples()]
    assert rows == [("S1", 60, told[70]), ("S1", 30, told[40]), ("S1", 10, told[20])]
    assert accuracy.drain() and accuracy.drain() == []


def test_accuracy_finds_what_was_told_across_route_changes_after_hours_of_predictions() -> None:
    accuracy = EtaAccuracy()
    arrival = T0 + 5 * 3600
    # A prediction a minute for five hours; S9 joins the route 45 minutes before arrival.
    for minute in range(300, 0, -1):
        made = arrival - minute * 60
        stops = [StopEta("S1", "V1", arrival + minute, T0)]
        if minute <= 45:
            stops.insert(0, StopEta("S9", "V1", made + 600, T0))
        accuracy.record_times("V1", made, tuple(s.stop_id for s in stops), [s.eta for s in stops])
    accuracy.arrived("S1", "V1", arrival, T0)
    rows = [(s.horizon_min, s.predicted_eta) for s in accuracy.accuracy_samples()]
    assert rows == [(60, arrival + 60), (30, arrival + 30), (10, arrival + 10)]


def test_predict_all_feeds_the_accuracy_record_through_learning() -> None:
    tracker, _, model = long_route(3)
    tracker.apply(ev(E.DEPARTED, T0))
    for minute in range(0, 90, 5):
        model.predict_all(tracker, {}, T0 + minute * 60)
    arrival = T0 + 90 * 60
    tracker.apply(ev(E.ARRIVED, arrival, "S1"))
    model.learn(tracker)
    samples = model.accuracy.accuracy_samples()
    assert [s.horizon_min for s in samples] == [60, 30, 10]
    assert all(s.actual_arrival == arrival and s.vehicle_id == "V1" for s in samples)


def test_a_reported_arrival_replaces_an_inferred_one_in_the_accuracy_record() -> None:
    tracker, _, model = long_route(3)
    tracker.apply(ev(E.DEPARTED, T0))
    for minute in range(0, 90, 5):
        model.predict_all(tracker, {}, T0 + minute * 60)
    guessed = ExecutionEvent(
        "inferred:V1:S1:arrived", "V1", T0 + 60 * 60, E.ARRIVED, stop_id="S1", inferred=True
    )
    tracker.apply(guessed)
    model.learn(tracker)
    assert {s.actual_arrival for s in model.accuracy.accuracy_samples()} == {T0 + 3600}
    arrival = T0 + 90 * 60
    tracker.apply(ev(E.ARRIVED, arrival, "S1"))  # the device's own report wins
    model.learn(tracker)
    samples = model.accuracy.accuracy_samples()
    assert [s.horizon_min for s in samples] == [60, 30, 10]
    assert all(s.actual_arrival == arrival for s in samples)


def test_service_time_leaves_out_the_wait_for_the_window() -> None:
    t = small_day()
    model = EtaPredictor()
    window_start = t.orders["O1"].windows[0].start
    t.apply(ev(E.DEPARTED, T0))
    t.apply(ev(E.ARRIVED, window_start - 1800, "S1"))  # half an hour early: it waits
    t.apply(ev(E.DEPARTED, window_start + 240, "S1"))
    model.learn(t)
    assert model.service_s(t.orders["O1"]) == 240


def test_a_drive_out_of_the_rush_is_slow_only_until_the_rush_ends() -> None:
    urban = UrbanTravelTime(LocalHours("Europe/Paris"))
    rush = 28.0 / 18.0  # the road model: 28 km/h, 18 in the rush
    depart = T0 + 80 * 60  # 09:20, ten minutes before the morning rush ends
    slow_part = 600 / rush  # of the plain drive, covered by 09:30
    assert abs(urban.arrive(1200.0, depart) - (depart + 600 + (1200 - slow_part))) < 1e-6
    assert urban.arrive(1200.0, T0 + 3 * 3600) == T0 + 3 * 3600 + 1200  # 11:00: no rush
    assert abs(urban.arrive(600.0, T0) - (T0 + 600 * rush)) < 1e-6  # 08:00: all rush


def test_the_learned_service_time_scales_each_orders_own_estimate() -> None:
    tracker, orders, model = long_route(4)
    tracker.apply(ev(E.DEPARTED, T0))
    for k in range(3):  # visits of 400 s where the orders say 180 s
        tracker.apply(ev(E.ARRIVED, T0 + 1000 * k + 300, f"S{k + 1}"))
        tracker.apply(ev(E.DEPARTED, T0 + 1000 * k + 700, f"S{k + 1}"))
    model.learn(tracker)
    quick = Order(**{**orders[3].__dict__, "service_s": 90.0})
    assert 195 < model.service_s(quick) <= 200  # half the estimate: half the learned time


def test_one_jammed_leg_moves_the_learned_speed_only_a_little() -> None:
    model = EtaPredictor()
    eleven = T0 + 3 * 3600
    for _ in range(3):
        model.observe_leg("V1", eleven, 1.0)
    model.observe_leg("V1", eleven, 2.0)  # a jam: twice as slow
    assert abs(model.speed_factor("V1", model.hours(eleven)) - 1.15) < 1e-9  # not 1.3


def test_a_van_stuck_on_its_leg_gets_a_later_eta_for_the_rest_of_it() -> None:
    tracker, _, model = long_route(3)
    tracker.apply(ev(E.DEPARTED, T0))
    lat, lon = north_of(100.0)  # barely out of the depot
    on_time = model.predict_vehicle(tracker, "V1", TelemetryFix("V1", T0 + 30, lat, lon), T0 + 30)
    stuck = model.predict_vehicle(tracker, "V1", TelemetryFix("V1", T0 + 600, lat, lon), T0 + 600)
    assert on_time is not None and stuck is not None
    rest = on_time.stops[0].eta - (T0 + 30)
    # Ten minutes for 100 m: the rest of this leg as slow as allowed (3x).
    assert abs(stuck.stops[0].eta - (T0 + 600 + model.behind_max * rest)) < 1.0
