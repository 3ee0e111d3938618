"""The one road model: the planner's matrix and the ETA price a drive alike."""

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.domain.eta_travel import LocalHours, UrbanTravelTime
from app.domain.road import RoadModel
from app.foundation.settings import PlanningSettings
from app.planning.matrix import HaversineMatrixProvider, provider_from_settings

A = (45.7578, 4.8320)
B = (45.7700, 4.8600)
PARIS = ZoneInfo("Europe/Paris")


def at(hour: float) -> float:
    """Epoch seconds of that local hour on a winter day in Paris."""
    midnight = datetime(2026, 1, 14, tzinfo=PARIS).timestamp()
    return midnight + hour * 3600


@pytest.mark.parametrize("hour", [8.0, 11.0])
def test_the_matrix_and_the_eta_give_one_drive_the_same_time(hour: float) -> None:
    road = RoadModel()
    matrix = HaversineMatrixProvider(road).matrices(
        [(A[1], A[0]), (B[1], B[0])], departure_s=int(hour * 3600)
    )
    eta = UrbanTravelTime(LocalHours(PARIS), road)(*A, *B, at(hour))
    assert matrix.travel_time[0][1] == math.ceil(eta)


def test_the_rush_hours_slow_every_user_of_the_model_alike() -> None:
    road = RoadModel.from_settings(PlanningSettings(speed_kmh=30.0, rush_speed_kmh=15.0))
    assert road.pace(8 * 3600) == 0.5 and road.pace(12 * 3600) == 1.0
    urban = UrbanTravelTime(LocalHours(PARIS), road)
    calm, rush = urban(*A, *B, at(12.0)), urban(*A, *B, at(8.0))
    assert rush == pytest.approx(2 * calm)
    provider = provider_from_settings(PlanningSettings(speed_kmh=30.0, rush_speed_kmh=15.0))
    assert isinstance(provider, HaversineMatrixProvider) and provider.road == road
