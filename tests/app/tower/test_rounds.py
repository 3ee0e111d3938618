"""A round of work spread over ticks: every item once per round, none skipped."""

from __future__ import annotations

from app.tower.rounds import Round


def test_a_round_is_done_in_its_slices_and_restarts_when_due() -> None:
    work = Round(every_s=1.0, slices=5)
    items = [f"V{n}" for n in range(10)]
    ticks = [work.next_slice(t / 5, lambda: items) for t in range(5)]
    assert [len(t) for t in ticks] == [2, 2, 2, 2, 2]
    assert sorted(k for t in ticks for k in t) == sorted(items)
    assert work.next_slice(0.9, lambda: items) == []  # the round is done, the next not due
    assert work.next_slice(1.0, lambda: items) == ["V0", "V1"]


def test_a_small_collection_is_done_in_one_tick() -> None:
    work = Round(every_s=1.0, slices=5, min_share=250)
    assert work.next_slice(0.0, lambda: ["a", "b", "c"]) == ["a", "b", "c"]


def test_what_a_round_did_not_reach_comes_first_in_the_next() -> None:
    work = Round(every_s=1.0, slices=2)
    items = ["a", "b", "c", "d"]
    assert work.next_slice(0.0, lambda: items) == ["a", "b"]
    # The ticks came late: the next round starts before c and d were reached.
    assert work.next_slice(1.5, lambda: items) == ["c", "d"]
    assert work.next_slice(1.7, lambda: items) == ["a", "b"]


def test_skipped_items_are_left_out_of_the_new_round() -> None:
    work = Round(every_s=1.0, slices=1)
    assert work.next_slice(0.0, lambda: ["a", "b", "c"], skip={"b"}) == ["a", "c"]
