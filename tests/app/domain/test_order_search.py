"""WISMO search by every key, and the order answer."""

from __future__ import annotations

import json

import pytest

from app.domain.eta import EtaPredictor
from app.domain.model import EventType, ProofOfDelivery, TelemetryFix
from app.domain.order_search import OrderIndex, fold, order_answer
from tests.app.domain.day import T0, ev, north_of, small_day


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
