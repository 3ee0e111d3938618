"""Reading an import file: every broken case found at its line and column, nothing guessed.

Pure: the files are bytes made here, the stored depots and vans a ``Known`` written out.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from app.domain.imports.depots import read_depots
from app.domain.imports.issues import ImportIssue
from app.domain.imports.orders import read_orders
from app.domain.imports.records import UNLIMITED, Known
from app.domain.imports.sheets import Table, read_table
from app.domain.imports.vehicles import read_vehicles

KNOWN = Known(
    depot_zones={"CHI": "America/Chicago", "LAX": "America/Los_Angeles"},
    vehicle_depots={"CHI-1": "CHI", "LAX-1": "LAX"},
    device_owners={"maria/phone": "CHI-1"},
    drivers={"DR1": "Maria Lopez"},
)

DEPOTS = "id,name,lat,lon,timezone,opens,closes\n"
VEHICLES = "id,depot,plate,capacity_kg,capacity_m3,shift_start,shift_end,device,driver\n"
ORDERS = "id,depot,date,lat,lon,window_start,window_end,weight_kg,parcels,priority,vehicle\n"


def errors_of(found: Sequence[ImportIssue]) -> list[str]:
    return [str(e) for e in found]


def csv_table(text: str, name: str = "file.csv") -> Table:
    return read_table(text.encode("utf-8"), name)


def local(day: date, hh: int, mm: int, zone: str) -> float:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo(zone)).timestamp()


def test_a_good_depots_file_reads_each_row_with_its_line() -> None:
    table = read_table(
        (
            DEPOTS + "CHI,Chicago,41.88,-87.64,America/Chicago,06:00,21:00\n\n"
            "LAX,LA,34.0,-118.23,America/Los_Angeles,05:30,24:00\n"
        ).encode(),
        "depots.csv",
    )
    records, issues = read_depots(table)
    assert issues == []
    assert [(line, d.id, d.opens_s, d.closes_s) for line, d in records] == [
        (2, "CHI", 6 * 3600, 21 * 3600),
        (4, "LAX", 5 * 3600 + 1800, 24 * 3600),  # the blank line 3 still counts
    ]


@pytest.mark.parametrize(
    ("encoding", "separator"), [("utf-8", ","), ("utf-8-sig", ";"), ("utf-8-sig", ",")]
)
def test_csv_with_or_without_bom_comma_or_semicolon_reads_the_same(
    encoding: str, separator: str
) -> None:
    text = (DEPOTS + "CHI,Chicago West Loop,41.88,-87.64,America/Chicago,06:00,21:00\n").replace(
        ",", separator
    )
    if separator == ";":
        text = text.replace("41.88", "41,88").replace("-87.64", "-87,64")  # decimal commas
    records, issues = read_depots(read_table(text.encode(encoding), "depots.csv"))
    assert issues == []
    [(_, depot)] = records
    assert (depot.id, depot.name, depot.lat, depot.lon) == (
        "CHI",
        "Chicago West Loop",
        41.88,
        -87.64,
    )


def test_every_broken_depot_row_is_reported_by_line_and_column() -> None:
    text = DEPOTS + "\n".join(
        [
            "CHI,Chicago,41.88,-87.64,America/Chicago,06:00,21:00",
            "CHI,Again,41.88,-87.64,America/Chicago,06:00,21:00",
            "NYC,New York,91,-74,America/New_York,06:00,21:00",
            "SEA,Seattle,47.6,-190,America/Seattle,6am,21:00",
            "DEN,Denver,39.7,-104.9,America/Denver,18:00,08:00",
            ",,abc,,Mars/Olympus,25:00,",
        ]
    )
    records, issues = read_depots(csv_table(text))
    assert errors_of(issues) == [
        "line 3, column id: duplicate id 'CHI': already on line 2",
        "line 4, column lat: 91 is outside the world: a latitude is from -90 to 90",
        "line 5, column lon: -190 is outside the world: a longitude is from -180 to 180",
        "line 5, column timezone: unknown time zone 'America/Seattle' "
        "(an IANA name, e.g. America/Chicago)",
        "line 5, column opens: expected a time HH:MM, got '6am'",
        "line 6, column closes: 08:00 is not after opens 18:00",
        "line 7, column id: empty: a value is required",
        "line 7, column name: empty: a value is required",
        "line 7, column lat: expected a number, got 'abc'",
        "line 7, column lon: empty: a value is required",
        "line 7, column timezone: unknown time zone 'Mars/Olympus' "
        "(an IANA name, e.g. America/Chicago)",
        "line 7, column opens: '25:00' is not a time of day (00:00 to 23:59)",
        "line 7, column closes: empty: a value is required",
    ]
    assert [d.id for _, d in records] == ["CHI"]


def test_a_missing_or_unknown_column_is_reported_on_the_header_line() -> None:
    _records, issues = read_depots(csv_table("id,name,lat,lon,tz,opens,closes\nA,a,1,2,UTC,1,2\n"))
    assert errors_of(issues) == [
        "line 1, column timezone: missing column",
        "line 1, column tz: unknown column (the columns are: "
        "id, name, lat, lon, timezone, opens, closes)",
    ]


def test_a_file_that_is_not_a_table_says_so() -> None:
    assert errors_of(read_table(b"\xff\xfe\x00", "x.csv").issues) == [
        "not UTF-8 text (byte 0): save the sheet as CSV UTF-8"
    ]
    assert errors_of(read_table(b'{"id": 1}', "x.json").issues) == [
        "expected a JSON list of objects, one per row"
    ]
    assert errors_of(read_table(b"PK not a zip", "x.xlsx").issues)[0].startswith(
        "not an XLSX workbook"
    )
    assert errors_of(read_table(b"", "x.txt").issues) == [
        "x.txt: expected a .csv, .xlsx or .json file"
    ]


def test_vehicles_check_depot_shift_capacity_device_and_link_drivers() -> None:
    text = VEHICLES + "\n".join(
        [
            "CHI-2,CHI,IL 1,900,9,07:00,16:00,james/phone,James Carter",
            "CHI-3,CHI,,,,08:00,17:00,,Maria Lopez",
            "CHI-4,NYC,IL 3,-5,9,17:00,07:00,james/phone,DR1",
            "CHI-5,CHI,IL 4,900,9,07:00,16:00,maria/phone,",
            "CHI-2,CHI,IL 5,900,9,07:00,16:00,,",
        ]
    )
    records, drivers, issues = read_vehicles(csv_table(text), KNOWN)
    assert errors_of(issues) == [
        "line 4, column depot: unknown depot 'NYC' (import the depots first)",
        "line 4, column capacity_kg: -5 is out of range (above 0 to 1000000)",
        "line 4, column shift_end: 07:00 is not after shift_start 17:00",
        "line 4, column device: duplicate device 'james/phone': already on line 2",
        "line 6, column id: duplicate id 'CHI-2': already on line 2",
        "line 5, column device: device 'maria/phone' is vehicle CHI-1's",
    ]
    by_id = {v.id: v for _, v in records}
    assert by_id["CHI-3"].capacity_kg == UNLIMITED  # empty: no limit
    assert by_id["CHI-3"].driver_id == "DR1"  # found by name
    assert by_id["CHI-2"].driver_id == "James Carter"  # a new driver
    assert [(d.id, d.name) for d in drivers] == [("James Carter", "James Carter")]


def test_a_device_moved_between_two_vans_of_the_file_is_fine() -> None:
    text = VEHICLES + "CHI-1,CHI,,,,07:00,16:00,,\nCHI-9,CHI,,,,07:00,16:00,maria/phone,\n"
    _records, _drivers, issues = read_vehicles(csv_table(text), KNOWN)
    assert issues == []


def test_orders_check_depot_date_window_amounts_parcels_priority_and_vehicle() -> None:
    text = ORDERS + "\n".join(
        [
            "O1,CHI,2026-12-08,41.9,-87.6,09:00,11:00,12.5,3,high,CHI-1",
            "O2,LAX,2026-12-08,34.0,-118.2,,,,,,",
            "O3,XXX,12/08/2026,41.9,-87.6,11:00,09:00,heavy,0,urgent,LAX-1",
            "O4,CHI,2026-12-08,41.9,,,,,P1;P1,,NOPE",
            "O5,LAX,2026-12-08,34.0,-118.2,,,,,,CHI-1",
            "O1,CHI,2026-12-08,41.9,-87.6,,,,,,",
            "O6,CHI,2026-12-08,41.9,-87.6,,,,O1-P2,,",
        ]
    )
    records, issues = read_orders(csv_table(text), KNOWN)
    assert errors_of(issues) == [
        "line 4, column depot: unknown depot 'XXX' (import the depots first)",
        "line 4, column date: expected a date YYYY-MM-DD, got '12/08/2026'",
        "line 4, column window_end: 09:00 is not after window_start 11:00",
        "line 4, column weight_kg: expected a number, got 'heavy'",
        "line 4, column parcels: 0 is out of range (from 1 to 999)",
        "line 4, column priority: expected low, normal, high, critical, got 'urgent'",
        "line 5, column lon: empty: a value is required",
        "line 5, column parcels: a parcel id appears twice",
        "line 5, column vehicle: unknown vehicle 'NOPE' (import the vehicles first)",
        "line 6, column vehicle: vehicle CHI-1 belongs to depot CHI, not LAX",
        "line 7, column id: duplicate id 'O1': already on line 2",
        "line 8, column parcels: duplicate parcel id 'O1-P2': already on line 2",
    ]
    first, second = records[0][1], records[1][1]
    assert [(p.id, p.weight_kg) for p in first.parcels] == [
        ("O1-P1", 12.5 / 3),
        ("O1-P2", 12.5 / 3),
        ("O1-P3", 12.5 / 3),
    ]
    assert (first.priority, first.forced_vehicle_id) == (2, "CHI-1")
    day = date(2026, 12, 8)
    assert first.window_start == local(day, 9, 0, "America/Chicago")
    # No window: any time of the day (the van's shift bounds it); one parcel, priority normal.
    assert (second.window_start, second.window_end) == (
        local(day, 0, 0, "America/Los_Angeles"),
        local(date(2026, 12, 9), 0, 0, "America/Los_Angeles"),
    )
    assert [p.id for p in second.parcels] == ["O2-P1"]
    assert (second.priority, second.service_s, second.forced_vehicle_id) == (1, 300.0, None)


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 3, 8), 23), (date(2026, 11, 1), 25), (date(2026, 6, 1), 24)]
)
def test_windows_on_a_clock_change_day_land_on_the_local_instants(day: date, hours: int) -> None:
    text = ORDERS + "\n".join(
        [
            f"A,CHI,{day},41.9,-87.6,00:30,01:30,,,,",
            f"B,CHI,{day},41.9,-87.6,09:00,17:30,,,,",
            f"C,LAX,{day},34.0,-118.2,20:00,24:00,,,,",
        ]
    )
    records, issues = read_orders(csv_table(text), KNOWN)
    assert issues == []
    a, b, c = (o for _, o in records)
    assert a.window_start == local(day, 0, 30, "America/Chicago")
    assert b.window_start == local(day, 9, 0, "America/Chicago")
    assert b.window_end == local(day, 17, 30, "America/Chicago")
    assert c.window_start == local(day, 20, 0, "America/Los_Angeles")
    # 24:00 is the next local midnight: 23 or 25 hours after this one on those days.
    midnight = local(day, 0, 0, "America/Los_Angeles")
    assert c.window_end - midnight == hours * 3600


def test_an_address_without_a_position_needs_a_geocoder() -> None:
    text = "id,depot,date,address,lat,lon\nO1,CHI,2026-12-08,1 Main St,,\nO2,CHI,2026-12-08,,,\n"
    _records, issues = read_orders(csv_table(text), KNOWN)
    assert errors_of(issues) == [
        "line 2, column lat: no position and no geocoder configured",
        "line 3, column lat: empty: a position (lat, lon) or an address is required",
    ]

    def locate(address: str) -> tuple[float, float] | str:
        return (41.9, -87.6) if address == "1 Main St" else f"no place found for {address!r}"

    records, issues = read_orders(csv_table(text.replace(",,,\n", ",2 Nowhere,,\n")), KNOWN, locate)
    assert errors_of(issues) == ["line 3, column address: no place found for '2 Nowhere'"]
    assert (records[0][1].lat, records[0][1].lon) == (41.9, -87.6)


def test_text_longer_than_its_column_is_refused() -> None:
    long_id = "X" * 41
    text = f"id,depot,date,lat,lon,phone\n{long_id},CHI,2026-12-08,41.9,-87.6,{'1' * 41}\n"
    _records, issues = read_orders(csv_table(text), KNOWN)
    assert errors_of(issues) == [
        "line 2, column id: longer than 40 characters",
        "line 2, column phone: longer than 40 characters",
    ]


def test_json_and_xlsx_give_the_same_orders_as_csv() -> None:
    rows = [
        {
            "id": "O1",
            "depot": "CHI",
            "date": "2026-03-08",
            "lat": 41.9,
            "lon": -87.6,
            "window_start": "09:00",
            "window_end": "11:00",
            "parcels": "P-1;P-2",
            "weight_kg": 3,
        },
        {
            "id": 1002,
            "depot": "CHI",
            "date": "2026-03-08",
            "lat": 41.8,
            "lon": -87.7,
            "parcels": 2,
            "priority": "Low",
        },
    ]
    header = [
        "id",
        "depot",
        "date",
        "lat",
        "lon",
        "window_start",
        "window_end",
        "parcels",
        "weight_kg",
        "priority",
    ]
    csv_text = (
        ",".join(header)
        + "\n"
        + "\n".join(",".join(str(r.get(c, "")) for c in header) for r in rows)
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    sheet.append(["O1", "CHI", datetime(2026, 3, 8), 41.9, -87.6, time(9), time(11), "P-1;P-2", 3])
    sheet.append([1002, "CHI", date(2026, 3, 8), 41.8, -87.7, None, None, 2, None, "Low"])
    xlsx = io.BytesIO()
    book.save(xlsx)
    from_csv = read_orders(csv_table(csv_text), KNOWN)
    from_json = read_orders(read_table(json.dumps(rows).encode(), "o.json"), KNOWN)
    from_xlsx = read_orders(read_table(xlsx.getvalue(), "o.xlsx"), KNOWN)
    assert from_csv[1] == from_json[1] == from_xlsx[1] == []
    assert from_csv[0] == from_json[0] == from_xlsx[0]
    assert [o.id for _, o in from_xlsx[0]] == ["O1", "1002"]
    assert from_xlsx[0][1][1].priority == 0


def test_a_json_value_that_is_a_list_is_refused_at_its_line() -> None:
    data = json.dumps([{"id": "A", "name": ["x"]}]).encode()
    assert errors_of(read_table(data, "d.json").issues) == [
        "line 2, column name: expected a plain value, not a list or object"
    ]
