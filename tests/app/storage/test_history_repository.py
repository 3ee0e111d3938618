"""The history queries on a real database: hand-made rows, and the SQL cells against the
Python reference formulas on generated history."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.domain.kpi_rows import DayBounds, KpiHistory, StopFilter, day_bounds
from app.domain.kpis import WORST_LATE, cells_from_records, reasons_from_records, summarise
from app.storage.database import connect
from app.storage.history_repository import HistoryRepository
from app.storage.history_seed import HistoryShape, seed_history
from app.storage.orm import (
    CustomerUpdateRow,
    DepotRow,
    DriverRow,
    EtaSampleRow,
    ExceptionRow,
    ExecutionEventRow,
    KpiDaySummaryRow,
    OrderRow,
    PlanRow,
    ProposalRow,
    RouteRow,
    RouteStopRow,
    StopRow,
    TelemetryFixRow,
    VehicleRow,
)

H = 3600.0
DAYS = day_bounds(date(2025, 3, 10), date(2025, 3, 11), "UTC")
T0 = DAYS[0].start


def seed_by_hand(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for depot in ("D1", "D2"):
            s.add(
                DepotRow(id=depot, name=f"Depot {depot}", lat=45.0, lon=4.0, opens_s=0, closes_s=0)
            )
        s.add(DriverRow(id="DR1", name="Ann"))
        s.flush()
        s.add_all(
            [
                VehicleRow(
                    id="V1",
                    depot_id="D1",
                    plate="AA-1",
                    capacity_kg=1,
                    capacity_m3=1,
                    shift_start_s=0,
                    shift_end_s=0,
                    driver_id="DR1",
                ),
                VehicleRow(
                    id="V9",
                    depot_id="D2",
                    plate="ZZ-9",
                    capacity_kg=1,
                    capacity_m3=1,
                    shift_start_s=0,
                    shift_end_s=0,
                ),
            ]
        )
        s.flush()

        def order(
            oid: str, depot: str = "D1", day: str = "2025-03-10", w2: bool = False
        ) -> OrderRow:
            return OrderRow(
                id=oid,
                depot_id=depot,
                day=day,
                customer_name="C",
                address="A",
                lat=0,
                lon=0,
                window1_start=T0 + 9 * H,
                window1_end=T0 + 11 * H,
                window2_start=T0 + 14 * H if w2 else None,
                window2_end=T0 + 16 * H if w2 else None,
                service_s=300,
            )

        s.add_all(
            [
                order("OA"),
                order("OB", w2=True),
                order("OC"),
                order("OD"),
                order("OX", depot="D2"),
                order("ON", day="2025-03-12"),
            ]
        )
        s.flush()

        def stop(
            sid: str,
            oid: str,
            vehicle: str,
            status: str,
            arrived: float | None,
            completed: float | None,
            reason: str | None = None,
            seq: int = 0,
        ) -> StopRow:
            return StopRow(
                id=sid,
                order_id=oid,
                vehicle_id=vehicle,
                sequence=seq,
                planned_arrival=T0 + 10 * H,
                status=status,
                status_reason=reason,
                arrived_at=arrived,
                completed_at=completed,
            )

        s.add_all(
            [
                stop("SA", "OA", "V1", "delivered", T0 + 10 * H, T0 + 10.1 * H, seq=0),
                # Between the windows: late by an hour after the first one.
                stop("SB", "OB", "V1", "delivered", T0 + 12 * H, T0 + 12.1 * H, seq=1),
                # Failed once (not home), delivered later inside the second window... of OC: late.
                stop("SC", "OC", "V1", "delivered", T0 + 9.5 * H, T0 + 13 * H, seq=2),
                # Failed with no event recorded: the status counts.
                stop(
                    "SD",
                    "OD",
                    "V1",
                    "failed",
                    T0 + 11.5 * H,
                    T0 + 11.6 * H,
                    reason="refused",
                    seq=3,
                ),
                stop("SX", "OX", "V9", "delivered", T0 + 10 * H, T0 + 10.1 * H),
                stop("SN", "ON", "V1", "pending", None, None),
            ]
        )
        s.add_all(
            [
                ExecutionEventRow(
                    event_id="e1", vehicle_id="V1", ts=T0 + 10.1 * H, type="delivered", stop_id="SA"
                ),
                ExecutionEventRow(
                    event_id="e2", vehicle_id="V1", ts=T0 + 12.1 * H, type="delivered", stop_id="SB"
                ),
                ExecutionEventRow(
                    event_id="e3",
                    vehicle_id="V1",
                    ts=T0 + 9.6 * H,
                    type="failed",
                    stop_id="SC",
                    reason="not_home",
                ),
                ExecutionEventRow(
                    event_id="e4", vehicle_id="V1", ts=T0 + 13 * H, type="delivered", stop_id="SC"
                ),
                ExecutionEventRow(
                    event_id="e5", vehicle_id="V1", ts=T0 + 10 * H, type="arrived", stop_id="SA"
                ),
            ]
        )
        s.add_all(
            [
                EtaSampleRow(
                    stop_id="SA",
                    vehicle_id="V1",
                    horizon_min=30,
                    predicted_eta=T0 + 10 * H + 240,
                    planned_arrival=0,
                    actual_arrival=T0 + 10 * H,
                ),
                EtaSampleRow(
                    stop_id="SB",
                    vehicle_id="V1",
                    horizon_min=30,
                    predicted_eta=T0 + 12 * H - 900,
                    planned_arrival=0,
                    actual_arrival=T0 + 12 * H,
                ),
                EtaSampleRow(
                    stop_id="SB",
                    vehicle_id="V1",
                    horizon_min=60,
                    predicted_eta=0,
                    planned_arrival=0,
                    actual_arrival=T0 + 12 * H,
                ),
            ]
        )
        s.add_all(
            CustomerUpdateRow(order_id=o, ts=T0 + 8 * H, trigger="eta")
            for o in ("OA", "OA", "OB", "OX")
        )
        s.add_all(
            [
                ExceptionRow(
                    rule="late_arrival",
                    subject_kind="stop",
                    subject_id="SB",
                    depot_id="D1",
                    vehicle_id="V1",
                    stop_id="SB",
                    severity="warning",
                    state="resolved",
                    raised_at=T0 + 11.2 * H,
                    updated_at=0,
                    acknowledged_at=T0 + 11.2 * H + 300,
                    resolved_at=T0 + 11.2 * H + 1200,
                ),
                # No depot on the row: the vehicle puts it in D1.
                ExceptionRow(
                    rule="lost_signal",
                    subject_kind="vehicle",
                    subject_id="V1",
                    depot_id=None,
                    vehicle_id="V1",
                    severity="critical",
                    state="open",
                    raised_at=T0 + 14 * H,
                    updated_at=0,
                ),
                ExceptionRow(
                    rule="lost_signal",
                    subject_kind="vehicle",
                    subject_id="V9",
                    depot_id="D2",
                    vehicle_id="V9",
                    severity="critical",
                    state="open",
                    raised_at=T0 + 14 * H,
                    updated_at=0,
                ),
            ]
        )
        s.add_all(
            [
                ProposalRow(
                    depot_id="D1",
                    created_at=T0 + 11 * H,
                    trigger="late",
                    status="accepted",
                    auto_accepted=True,
                    diff={"changed_vehicles": ["V1"]},
                    figures_before={"minutes_late": 45.0},
                    figures_after={"minutes_late": 5.0},
                ),
                ProposalRow(
                    depot_id="D1",
                    created_at=T0 + 12 * H,
                    trigger="late",
                    status="rejected",
                    diff={"moves": [{"from_vehicle": "V1", "to_vehicle": "V2"}]},
                    figures_before={"minutes_late": 20.0},
                    figures_after={"minutes_late": 0.0},
                ),
            ]
        )
        # The morning plan (version 1), then an accepted re-plan that replaced it.
        for version, km, active in ((1, 70.0, False), (2, 64.0, True)):
            plan = PlanRow(
                depot_id="D1", day="2025-03-10", version=version, created_at=0, active=active
            )
            s.add(plan)
            s.flush()
            route = RouteRow(plan_id=plan.id, vehicle_id="V1", distance_m=km * 1000)
            s.add(route)
            s.flush()
            s.add_all(
                RouteStopRow(
                    route_id=route.id, stop_id=sid, sequence=n, planned_arrival=T0 + (9 + n) * H
                )
                for n, sid in enumerate(("SA", "SB", "SC", "SD"))
            )
        s.add_all(
            TelemetryFixRow(vehicle_id="V1", ts=T0 + h * H, lat=0, lon=0, odometer_km=km)
            for h, km in ((8, 1000.0), (12, 1030.0), (18, 1071.5), (30, 2000.0))
        )


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    sessions = connect(database_url)
    seed_by_hand(sessions)
    return sessions


def test_a_depot_day_by_hand(sessions: sessionmaker[Session]) -> None:
    repo = HistoryRepository(sessions)
    history = repo.load(DAYS[:1], "D1")
    [cell] = history.cells
    assert (cell.day, cell.depot_id, cell.vehicle_id, cell.driver_id) == (
        "2025-03-10",
        "D1",
        "V1",
        "DR1",
    )
    assert (cell.stops, cell.orders, cell.served, cell.on_time, cell.late) == (4, 4, 3, 2, 1)
    assert cell.minutes_late == pytest.approx(60.0)
    assert (cell.attempted, cell.first_attempt_ok, cell.failed_attempts) == (4, 2, 2)
    assert cell.road_hours == pytest.approx(13 - 9.5)  # SC arrived 9:30, completed 13:00
    assert cell.customer_updates == 3
    assert (cell.eta_samples, cell.eta_within) == (2, 1)
    assert cell.eta_abs_error_min == pytest.approx(4 + 15)
    assert cell.planned_km == pytest.approx(70.0)  # the morning plan: re-plans keep it
    assert cell.current_plan_km == pytest.approx(64.0)  # the newest active version
    assert cell.planned_hours == pytest.approx(12 + 300 / H - 9)
    assert cell.actual_km == pytest.approx(71.5)
    assert {(r.reason, r.failed) for r in history.reasons} == {("not_home", 1), ("refused", 1)}
    assert [(e.rule, e.depot_id) for e in history.exceptions] == [
        ("late_arrival", "D1"),
        ("lost_signal", "D1"),
    ]
    s = summarise(history)
    assert s.ack_median_min == pytest.approx(5.0) and s.resolve_median_min == pytest.approx(20.0)
    assert (s.proposals, s.accepted, s.rejected, s.auto_accepted) == (2, 1, 1, 1)
    assert s.minutes_saved == pytest.approx(40.0)
    assert [p.vehicle_ids for p in history.proposals] == [("V1",), ("V1", "V2")]


def test_all_depots_and_the_directory(sessions: sessionmaker[Session]) -> None:
    repo = HistoryRepository(sessions)
    history = repo.load(DAYS, None)
    assert {c.vehicle_id for c in history.cells} == {"V1", "V9"}
    assert len(history.exceptions) == 3
    directory = repo.directory()
    assert directory.name("driver", "DR1") == "Ann"
    assert directory.vehicle_depot == {"V1": "D1", "V9": "D2"}
    assert repo.load([], None) == KpiHistory(())


def test_stop_rows_in_detail(sessions: sessionmaker[Session]) -> None:
    repo = HistoryRepository(sessions)
    everything = repo.stops(DAYS[:1], "D1", StopFilter())
    assert [s.stop_id for s in everything] == ["SA", "SB", "SC", "SD"]
    sc = everything[2]
    assert [(a.delivered, a.reason) for a in sc.attempts] == [(False, "not_home"), (True, None)]
    assert everything[0].customer_updates == 2
    refused = repo.stops(DAYS[:1], "D1", StopFilter(failed_reason="refused"))
    assert [s.stop_id for s in refused] == ["SD"]
    missed = repo.stops(DAYS[:1], "D1", StopFilter(vehicle_ids=("V1",), not_on_time=True))
    assert [s.stop_id for s in missed] == ["SB", "SD"]
    latest = repo.stops(DAYS[:1], None, StopFilter(latest=1))
    assert [s.stop_id for s in latest] == ["SB"]  # 60 min; SD (failed at 11:30) is 30 min


def generated(sessions: sessionmaker[Session], days: list[DayBounds]) -> None:
    shape = HistoryShape(
        depots=2, vehicles_per_depot=3, stops_per_vehicle=25, fail_share=0.25, late_share=0.2
    )
    seed_history(sessions, days, shape)


def test_sql_cells_agree_with_the_python_reference(database_url: str) -> None:
    sessions = connect(database_url)
    days = day_bounds(date(2025, 3, 29), date(2025, 3, 31), "Europe/Paris")
    generated(sessions, days)
    repo = HistoryRepository(sessions)
    history = repo.load(days, None)
    rows = repo.stops(days, None, StopFilter())
    assert len(rows) == 2 * 3 * 25 * 3
    reference = {(c.day, c.vehicle_id): c for c in cells_from_records(rows)}
    sql = {(c.day, c.vehicle_id): c for c in history.cells}
    assert set(sql) == set(reference)
    for key, ref in reference.items():
        got = sql[key]
        for name in (
            "stops",
            "orders",
            "served",
            "on_time",
            "late",
            "attempted",
            "first_attempt_ok",
            "failed_attempts",
            "customer_updates",
        ):
            assert getattr(got, name) == getattr(ref, name), (key, name)
        for name in ("minutes_late", "road_hours"):
            assert getattr(got, name) == pytest.approx(getattr(ref, name)), (key, name)
        assert got.eta_samples == 25 and got.actual_km is not None and got.planned_km > 0
    assert sorted(history.reasons) == sorted(reasons_from_records(rows))
    one_depot = repo.load(days, "D2")
    assert {c.depot_id for c in one_depot.cells} == {"D2"}


def test_closed_days_are_summed_once_and_read_from_their_stored_totals(
    database_url: str,
) -> None:
    sessions = connect(database_url)
    days = day_bounds(date(2025, 3, 29), date(2025, 3, 31), "Europe/Paris")
    generated(sessions, days)
    repo = HistoryRepository(sessions)
    raw = repo.load(days, None)
    latest = StopFilter(latest_per_day=WORST_LATE)
    raw_late = repo.stops(days, "D1", latest)
    every_late = repo.stops(days, None, latest)
    assert len(every_late) == 3 * WORST_LATE
    # At 15:00 on the last day the two days before are closed (end + attempt margin).
    now = days[-1].start + 15 * H
    assert repo.load(days, None, settled_before=now) == raw  # sums and stores 2 days
    with sessions() as s:
        assert sorted(s.scalars(select(KpiDaySummaryRow.day))) == [d.iso for d in days[:2]]
    # Then read from the totals: the same figures, for all depots and for one.
    with sessions.begin() as s:  # proof they are read: the history itself is gone
        s.execute(update(StopRow).where(StopRow.order_id.like("H2025-03-29%")).values(status="x"))
    assert repo.load(days, None, settled_before=now).cells == raw.cells
    assert repo.load(days, "D1", settled_before=now).reasons == tuple(
        r for r in raw.reasons if r.depot_id == "D1"
    )
    # The latest stops of stored days are taken among the stored candidates.
    assert repo.stops(days[1:], "D1", latest) == tuple(s for s in raw_late if s.day != days[0].iso)
    assert repo.stops(days[1:], None, latest) == tuple(
        s for s in every_late if s.day != days[0].iso
    )


@pytest.mark.parametrize(
    ("arrived", "completed", "second", "expected"),
    [
        (8.95 * H, 9.03 * H, False, "on_time"),  # 08:57 at the door for 09:00, waits: on time
        (8.5 * H, 8.6 * H, False, "early"),  # served at 08:30 without waiting
        (12 * H, 14.1 * H, True, "on_time"),  # between the windows, waits for the second
        (12 * H, 12.1 * H, True, "late"),  # between the windows, did not wait
        (11.2 * H, 11.3 * H, False, "late"),  # service began after the window closed
        (None, 10 * H, False, "on_time"),  # no arrival recorded: the completion
    ],
)
def test_sql_and_python_judge_the_service_start_alike(
    database_url: str, arrived: float | None, completed: float, second: bool, expected: str
) -> None:
    """One truth: the SQL cells, the Python reference and the drill-down agree that a van
    early at the door is on time once it waits for the window."""
    sessions = connect(database_url)
    with sessions.begin() as s:
        s.add(DepotRow(id="D1", name="Depot", lat=45.0, lon=4.0, opens_s=0, closes_s=0))
        s.flush()
        s.add(
            VehicleRow(
                id="V1",
                depot_id="D1",
                plate="AA-1",
                capacity_kg=1,
                capacity_m3=1,
                shift_start_s=0,
                shift_end_s=0,
            )
        )
        s.add(
            OrderRow(
                id="O1",
                depot_id="D1",
                day="2025-03-10",
                customer_name="C",
                address="A",
                lat=0,
                lon=0,
                window1_start=T0 + 9 * H,
                window1_end=T0 + 11 * H,
                window2_start=T0 + 14 * H if second else None,
                window2_end=T0 + 16 * H if second else None,
                service_s=300,
            )
        )
        s.flush()
        s.add(
            StopRow(
                id="S1",
                order_id="O1",
                vehicle_id="V1",
                sequence=0,
                planned_arrival=T0 + 10 * H,
                status="delivered",
                arrived_at=None if arrived is None else T0 + arrived,
                completed_at=T0 + completed,
            )
        )
    repo = HistoryRepository(sessions)
    [sql] = repo.load(DAYS[:1], "D1").cells
    rows = repo.stops(DAYS[:1], "D1", StopFilter())
    [reference] = cells_from_records(rows)
    got = {"on_time": sql.on_time, "late": sql.late, "early": sql.served - sql.on_time - sql.late}
    assert got == {k: int(k == expected) for k in got}
    assert (reference.on_time, reference.late) == (sql.on_time, sql.late)
    assert reference.minutes_late == pytest.approx(sql.minutes_late)
    not_on_time = repo.stops(DAYS[:1], "D1", StopFilter(not_on_time=True))
    assert [r.stop_id for r in not_on_time] == ([] if expected == "on_time" else ["S1"])
