"""ETA learning per depot: a slow Chicago morning slows Chicago's predictions at Chicago's
8:00, and leaves Los Angeles' (whose 6:00 that is) as they were."""

from __future__ import annotations

from datetime import date

from app.domain.model import Depot, Order, TimeWindow
from app.domain.progress import ArrivalObservation
from app.domain.road import RoadModel
from app.foundation.days import OperatingDay
from app.tower.depot_etas import DepotEtas

CHI = Depot("CHI", "Chicago West Loop", 41.8827, -87.6470, 6 * 3600, 21 * 3600, "America/Chicago")
LAX = Depot(
    "LAX", "Los Angeles Vernon", 34.0039, -118.2301, 6 * 3600, 21 * 3600, "America/Los_Angeles"
)
CHICAGO_DAY = OperatingDay.of(date(2026, 12, 8), CHI.timezone)
VANS = {"CHI-1": "CHI", "CHI-2": "CHI", "LAX-1": "LAX"}


def order(order_id: str, lat: float, lon: float) -> Order:
    window = TimeWindow(CHICAGO_DAY.start, CHICAGO_DAY.end)
    return Order(order_id, "CHI", "", "", "", lat, lon, (window,), 300.0)


def test_a_depots_slow_morning_is_learnt_by_its_own_predictor_on_its_own_clock() -> None:
    etas = DepotEtas([CHI, LAX], CHI, RoadModel())
    orders = {f"O{k}": order(f"O{k}", 41.90 + k * 0.01, -87.62) for k in range(6)}
    chicago = etas.by_depot["CHI"]
    departed = CHICAGO_DAY.epoch_at(8 * 3600)  # 08:00 in Chicago, 06:00 in Los Angeles
    observations = []
    for n, (k, o) in enumerate(orders.items()):
        predicted = chicago.travel_time(CHI.lat, CHI.lon, o.lat, o.lon, departed)
        assert predicted >= 30.0
        leg = (CHI.lat, CHI.lon, departed)
        arrived = departed + 1.8 * predicted  # every leg 80% slower than the road model says
        observations.append(ArrivalObservation(f"S{n}", "CHI-1", k, arrived, arrived, leg))
    etas.learn_from(observations, orders, VANS.get)

    assert chicago.speed_factor("CHI-2", 8) > 1.3  # the fleet's 8:00, Chicago's clock
    assert chicago.hours(departed) == 8
    los_angeles = etas.by_depot["LAX"]
    assert los_angeles.hours(departed) == 6
    assert los_angeles.speed_factor("LAX-1", 6) == los_angeles.speed_factor("LAX-1", 8) == 1.0
    assert etas.watched is chicago
