"""WISMO search by every key, and the order answer."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.domain.customer_updates import REATTEMPT
from app.domain.eta import EtaPredictor
from app.domain.execution import ExecutionTracker
from app.domain.model import EventType, FailureReason, ProofOfDelivery, TelemetryFix
from app.domain.order_search import OrderIndex, fold, order_answer
from app.domain.reasons import NOT_ATTEMPTED, REASON_WORDS, reason_words
from tests.app.domain.day import DEPOT, T0, ev, north_of, small_day


@pytest.fixture
def index() -> OrderIndex:
    return OrderIndex(small_day().orders.values())


@pytest.mark.parametrize(
    ("query", "order_id", "key"),
    [
        ("O3", "O3", "order"),
        ("o3", "O3", "order"),
        ("O2-P2", "O2", "parcel"),
        ("lea dubois", "O4", "name"),  # accents and case ignored (O4 is Léa Dubois)
        ("LEFEVRE", "O2", "name"),
        ("06 98 76 54 32", "O1", "phone"),  # stored as 06.98.76.54.32
        ("+33698765432", "O1", "phone"),
        ("0711223344", "O2", "phone"),  # stored as +33 (0)7 11 22 33 44
        ("cours gambetta", "O2", "address"),
        ("Jaures", "O1", "address"),
    ],
)
def test_search_finds_an_order_by_each_key(
    index: OrderIndex, query: str, order_id: str, key: str
) -> None:
    best = index.search(query)[0]
    assert (best.order_id, best.matched_on) == (order_id, key)


def test_ranking_puts_exact_matches_first(index: OrderIndex) -> None:
    hits = index.search("O2")
    assert [h.order_id for h in hits] == ["O2"]
    everyone = index.search("lyon")  # every address: equal scores, then by order id
    assert [h.order_id for h in everyone] == ["O1", "O2", "O3", "O4"]
    assert index.search("Noah Müller")[0].score > index.search("noah")[0].score
    assert index.search("") == [] and index.search("zzz") == []


def test_fold_removes_accents_case_and_punctuation() -> None:
    assert fold("  Chloé LEFÈVRE-Müller, 3 rue Vendôme ") == "chloe lefevre muller 3 rue vendome"


def test_the_order_answer_is_complete_and_json_ready() -> None:
    t = small_day()
    t.apply(ev(EventType.SCAN, T0 - 600, parcels=("O1-P1", "O2-P1", "O2-P2")))
    t.apply(ev(EventType.DEPARTED, T0))
    etas = EtaPredictor().predict_all(t, {}, T0)
    fixes = {"V1": TelemetryFix("V1", T0 + 120, *north_of(900))}
    answer = order_answer("O2", t, etas, fixes)
    assert answer is not None
    assert answer["status"] == "out_for_delivery" and answer["vehicle"] == "V1"
    assert answer["eta"] == etas["V1"].stops[1].eta
    assert answer["position"] == {"lat": fixes["V1"].lat, "lon": fixes["V1"].lon, "ts": T0 + 120}
    assert [e["type"] for e in answer["timeline"]] == ["scan", "departed"]
    json.dumps(answer)
    t.apply(ev(EventType.DELIVERED, T0 + 1300, "S2", pod=ProofOfDelivery("photo", "p-9")))
    done = order_answer("O2", t, etas, fixes)
    assert done is not None
    assert done["status"] == "delivered" and done["position"] is None
    assert done["pod"] == {"kind": "photo", "ref": "p-9"}
    assert order_answer("nope", t, etas, fixes) is None


def test_every_reason_code_has_words() -> None:
    for reason in FailureReason:
        assert "_" not in REASON_WORDS[reason]
    assert reason_words("not_home") == "customer absent"
    assert reason_words(NOT_ATTEMPTED) == "not attempted"
    assert reason_words("battery_flat") == "battery flat"  # a newer device's code
    assert reason_words(None) is None


def failed_at_the_door(t: ExecutionTracker, ts: float) -> None:
    """V1 loads O1 and O2, leaves, and fails O1: the customer is absent."""
    t.apply(ev(EventType.SCAN, T0 - 600, parcels=("O1-P1", "O2-P1", "O2-P2")))
    t.apply(ev(EventType.DEPARTED, T0))
    t.apply(ev(EventType.ARRIVED, ts - 120, "S1"))
    t.apply(ev(EventType.FAILED, ts, "S1", reason=FailureReason.NOT_HOME))


def test_the_order_answer_says_places_and_reasons_in_words() -> None:
    t = small_day()
    failed_at_the_door(t, T0 + 900)
    away = replace(ev(EventType.DEPARTED, T0 + 960, "S1"), lat=north_of(3000)[0], lon=DEPOT.lon)
    t.apply(away)  # reported by the device, a kilometre on
    answer = order_answer("O1", t, {}, {})
    assert answer is not None
    assert answer["reason"] == "not_home" and answer["reason_text"] == "customer absent"
    rows = {row["type"]: row for row in answer["timeline"]}
    assert rows["scan"]["place"] == "depot Gerland"  # not the depot's coordinates
    assert rows["failed"]["place"] == t.orders["O1"].address
    assert rows["failed"]["reason"] == "not_home"  # the code stays, the words are added
    assert rows["failed"]["reason_text"] == "customer absent"
    assert rows["departed"]["place"] == f"1.0 km from {t.orders['O1'].address}"
    json.dumps(answer)


def test_the_order_answer_gives_the_planned_retrys_eta() -> None:
    t = small_day()
    # Early: the van failed at 08:08, before the 08:10 the morning plan said. That is no
    # retry, though the plan's time is after the failure.
    failed_at_the_door(t, T0 + 480)
    answer = order_answer("O1", t, {}, {})
    assert answer is not None and answer["status"] == "failed" and answer["retry"] is None
    # An accepted re-plan tries S1 again, after O2 (as plan_adoption leaves the stop).
    retry_at = T0 + 2400
    t.set_plan(
        replace(s, sequence=2, planned_arrival=retry_at) if s.id == "S1" else s
        for s in t.current_stops()
    )
    again = order_answer("O1", t, {}, {}, retried={"S1"})
    assert again is not None
    assert again["retry"] == {"vehicle": "V1", "eta": retry_at}
    assert again["next_step"] == REATTEMPT
    # The retry failed too: nothing planned any more.
    t.apply(ev(EventType.ARRIVED, retry_at, "S1"))
    t.apply(ev(EventType.FAILED, retry_at + 60, "S1", reason=FailureReason.NOT_HOME))
    last = order_answer("O1", t, {}, {}, retried={"S1"})
    assert last is not None and last["retry"] is None
