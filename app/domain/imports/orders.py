"""An orders file: ``id, depot, date, [customer], [phone], [address], lat, lon,
[window_start], [window_end], [weight_kg], [volume_m3], [service_min], [parcels],
[priority], [vehicle]``.

Windows are ``HH:MM`` on the order's date in its depot's time zone, placed through
``OperatingDay`` so they land on the right instants on the 23- and 25-hour days; an order
without a window may be served at any time of its van's shift (its window is the whole
day). ``parcels`` lists the order's parcel ids (``;``-separated) or counts them; the
order's weight and volume are shared out evenly over its parcels.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from app.domain.imports import cells
from app.domain.imports.columns import Columns, FirstSeen, RowReader
from app.domain.imports.issues import CellError, ImportIssue
from app.domain.imports.records import (
    ID_LENGTH,
    PRIORITIES,
    UNLIMITED,
    WIDTHS,
    Known,
    OrderRecord,
    ParcelRecord,
)
from app.domain.imports.sheets import Cell, Table
from app.foundation.days import OperatingDay

COLUMNS = Columns(
    ("id", "depot", "date"),
    (
        "customer",
        "phone",
        "address",
        "lat",
        "lon",
        "window_start",
        "window_end",
        "weight_kg",
        "volume_m3",
        "service_min",
        "parcels",
        "priority",
        "vehicle",
    ),
)

DEFAULT_SERVICE_MIN = 5.0
MAX_PARCELS = 999
DEFAULT_PARCELS: int | tuple[str, ...] = 1
"""An order with no ``parcels``: one parcel, ``{id}-P1``."""

_ID = partial(cells.text, max_length=ID_LENGTH)
_CUSTOMER = partial(cells.text, max_length=WIDTHS["order.customer"])
_PHONE = partial(cells.text, max_length=WIDTHS["order.phone"])
_ADDRESS = partial(cells.text, max_length=WIDTHS["order.address"])
_END = partial(cells.clock, end=True)
_AMOUNT = partial(cells.number, low=0.0, high=UNLIMITED)
_MINUTES = partial(cells.number, low=0.0, high=1440.0)

Locate = Callable[[str], tuple[float, float] | str]
"""An address's (lat, lon), or why it has none: the configured geocoder."""


def read_orders(
    table: Table, known: Known, locate: Locate | None = None
) -> tuple[list[tuple[int, OrderRecord]], list[ImportIssue]]:
    """Each row's order with its line, and every problem found.

    A row with an address and no position is placed by ``locate``; with no geocoder
    configured (``locate`` None) it is refused.
    """
    issues = COLUMNS.check(table)
    if issues:
        return [], issues
    records: list[tuple[int, OrderRecord]] = []
    ids, parcel_ids = FirstSeen(), FirstSeen("parcel id")
    days: dict[tuple[str, str], OperatingDay] = {}
    for row in table.rows:
        r = RowReader(row, issues)
        order_id = r.required("id", _ID)
        if order_id is not None:
            ids.check(r, "id", order_id)
        depot_id = r.required("depot", _ID)
        zone = known.depot_zones.get(depot_id) if depot_id is not None else None
        if depot_id is not None and zone is None:
            r.refuse("depot", f"unknown depot {depot_id!r} (import the depots first)")
        date = r.required("date", cells.day)
        customer = r.optional("customer", _CUSTOMER, "")
        phone = r.optional("phone", _PHONE, "")
        address = r.optional("address", _ADDRESS, "")
        position = _position(r, address, locate)
        opens = r.optional("window_start", cells.clock, 0)
        closes = r.optional("window_end", _END, cells.DAY_S)
        if closes <= opens:
            span = f"{cells.hm(closes)} is not after window_start {cells.hm(opens)}"
            r.refuse("window_end", span)
        weight = r.optional("weight_kg", _AMOUNT, 0.0)
        volume = r.optional("volume_m3", _AMOUNT, 0.0)
        service = r.optional("service_min", _MINUTES, None)
        parcels = r.optional("parcels", _parcels, DEFAULT_PARCELS)
        priority = r.optional("priority", _priority, PRIORITIES["normal"])
        vehicle = r.optional("vehicle", _ID, "")
        if vehicle and vehicle not in known.vehicle_depots:
            r.refuse("vehicle", f"unknown vehicle {vehicle!r} (import the vehicles first)")
        elif vehicle and zone is not None and known.vehicle_depots[vehicle] != depot_id:
            home = known.vehicle_depots[vehicle]
            r.refuse("vehicle", f"vehicle {vehicle} belongs to depot {home}, not {depot_id}")
        if not r.ok:
            continue
        assert order_id and depot_id and zone and date and position  # all read, none None
        items = _items(order_id, parcels, weight, volume)
        for item in items:
            parcel_ids.check(r, "parcels", item.id)
        key = (date.isoformat(), zone)
        day = days.get(key)
        if day is None:
            day = days[key] = OperatingDay.of(date, zone)
        record = OrderRecord(
            id=order_id,
            depot_id=depot_id,
            day=day.iso,
            customer_name=customer,
            phone=phone,
            address=address,
            lat=position[0],
            lon=position[1],
            window_start=day.epoch_at(opens),
            window_end=day.epoch_at(closes),
            service_s=60.0 * (DEFAULT_SERVICE_MIN if service is None else service),
            priority=priority,
            forced_vehicle_id=vehicle or None,
            parcels=items,
        )
        records.append((row.line, record))
    return records, issues


def parcel_issues(
    records: list[tuple[int, OrderRecord]], owners: dict[str, str]
) -> list[ImportIssue]:
    """Parcels of the file stored on another order: a parcel belongs to one order."""
    found = []
    for line, order in records:
        for parcel in order.parcels:
            owner = owners.get(parcel.id, order.id)
            if owner != order.id:
                message = f"parcel {parcel.id!r} is order {owner}'s"
                found.append(ImportIssue(line, "parcels", message))
    return found


def _position(r: RowReader, address: str, locate: Locate | None) -> tuple[float, float] | None:
    """The row's (lat, lon): its own, else its address's through the geocoder."""
    if r.cell("lat") is not None or r.cell("lon") is not None:
        lat, lon = r.required("lat", cells.latitude), r.required("lon", cells.longitude)
        return None if lat is None or lon is None else (lat, lon)
    if not address:
        r.refuse("lat", "empty: a position (lat, lon) or an address is required")
        return None
    if locate is None:
        r.refuse("lat", "no position and no geocoder configured")
        return None
    found = locate(address)
    if isinstance(found, str):
        r.refuse("address", found)
        return None
    return found


def _parcels(value: Cell) -> int | tuple[str, ...]:
    """A count of parcels, or their ids (``;``-separated)."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return cells.whole(value, 1, MAX_PARCELS)
    written = cells.text(value, 10_000)
    items = tuple(p.strip() for p in written.split(";") if p.strip())
    if not items:
        raise CellError("expected parcel ids separated by ';', or a count")
    too_long = [p for p in items if len(p) > WIDTHS["parcel.id"]]
    if too_long:
        width = WIDTHS["parcel.id"]
        raise CellError(f"parcel id {too_long[0]!r} is longer than {width} characters")
    if len(set(items)) < len(items):
        raise CellError("a parcel id appears twice")
    return items


def _priority(value: Cell) -> int:
    name = cells.text(value, 20).lower()
    if name not in PRIORITIES:
        raise CellError(f"expected {', '.join(PRIORITIES)}, got {name!r}")
    return PRIORITIES[name]


def _items(
    order_id: str, parcels: int | tuple[str, ...], weight: float, volume: float
) -> tuple[ParcelRecord, ...]:
    ids = (
        parcels
        if isinstance(parcels, tuple)
        else tuple(f"{order_id}-P{k + 1}" for k in range(parcels))
    )
    n = len(ids)
    return tuple(ParcelRecord(p, weight / n, volume / n) for p in sorted(ids))
