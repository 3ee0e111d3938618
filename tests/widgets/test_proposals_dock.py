from __future__ import annotations

from dataclasses import replace
from unittest.mock import patch

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.domain.plan_diff import DayFigures, PlannedStop, diff_plans
from app.foundation.time_text import TimeText
from tests.widgets.cells import child
from widgets.proposals_dock import ProposalsDock, ProposalView

H = 3600.0

# A workstation at the depot: times read as the depot's clock, without a zone.
TIMES = TimeText("Europe/Paris", workstation="Europe/Paris")


def a_proposal(pid: int = 7) -> ProposalView:
    before = [
        PlannedStop("S-1", "V1", 0, 9 * H, 12 * H),
        PlannedStop("S-2", "V2", 0, 13 * H, 12 * H),
    ]
    after = [
        PlannedStop("S-1", "V1", 0, 9 * H, 12 * H),
        PlannedStop("S-2", "V3", 0, 11 * H, 12 * H),
    ]
    diff = diff_plans(
        before,
        after,
        DayFigures(1, 60, 40, 0, 0),
        DayFigures(0, 0, 43, 0, 0),
        {"S-2": "V2 broke down"},
    )
    return ProposalView(pid, "breakdown of V2", 1.7e9, diff)


def answer(dock: ProposalsDock, yes: bool = True) -> str:
    """Answer the question an Accept or Undo asks; returns its text."""
    box = dock.confirm
    assert box is not None and box.isVisible()
    text = f"{box.text()} {box.informativeText()}"
    no = QMessageBox.StandardButton.No
    box.button(QMessageBox.StandardButton.Yes if yes else no).click()
    return text


def shown(dock: ProposalsDock) -> list[str]:
    """The titles the list shows (the filter hides the others)."""
    items = [dock.list.item(row) for row in range(dock.list.count())]
    return [item.text() for item in items if not item.isHidden()]


def texts(dock: ProposalsDock) -> list[str]:
    out = []
    root = dock.diff_tree.invisibleRootItem()
    for i in range(root.childCount()):
        top = child(root, i)
        out.append(top.text(0))
        out.extend(
            " | ".join(child(top, j).text(c) for c in range(4)) for j in range(top.childCount())
        )
    return out


def test_the_diff_shows_moves_etas_and_day_figures(qtbot: QtBot) -> None:
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show_proposal(a_proposal(), select=True)
    lines = texts(dock)
    assert "Stops moved (1)" in lines
    assert "S-2: V2 broke down | V2 | V3 | " in lines
    assert "Stops late | 1 | 0 | ▼ 1" in lines
    assert "Minutes late | 60 | 0 | ▼ 60" in lines
    assert any(line.startswith("S-2 |") and line.endswith("-120 min") for line in lines)
    assert dock.accept_button.isEnabled()


def test_accept_and_reject_carry_the_proposal_and_reason(qtbot: QtBot) -> None:
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show_proposal(a_proposal(7), select=True)
    # S-2's ETA moves 120 min: Accept asks first; no says no.
    with qtbot.assertNotEmitted(dock.accept_requested):
        dock.accept_button.click()
        assert "moves 1 customer ETA(s) by more than 30 min (up to 120 min)" in answer(dock, False)
    with qtbot.waitSignal(dock.accept_requested) as accepted:
        dock.accept_button.click()
        answer(dock)
    assert accepted.args == [7]
    with (
        patch("widgets.proposals_dock.QInputDialog.getText", return_value=("driver refused", True)),
        qtbot.waitSignal(dock.reject_requested) as rejected,
    ):
        dock.reject_button.click()
    assert rejected.args == [7, "driver refused"]
    dock.set_status(7, "rejected", "driver refused")
    assert shown(dock) == [] and not dock.accept_button.isEnabled()
    dock.filter.setCurrentText("Closed")  # rejected ones stay, under the filter
    assert [t.split(" ")[1] for t in shown(dock)] == ["[rejected]"]


def test_an_auto_accepted_proposal_says_so_and_offers_only_undo(qtbot: QtBot) -> None:
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show_proposal(replace(a_proposal(7), status="auto_accepted"), select=True)
    assert "[auto-accepted]" in dock.list.item(0).text()
    assert not dock.accept_button.isEnabled()
    assert not dock.reject_button.isEnabled() and not dock.tweak_button.isEnabled()
    with qtbot.waitSignal(dock.undo_requested) as undo:
        dock.undo_button.click()
        assert "Undo proposal #7?" in answer(dock)
    assert undo.args == [7]
    dock.set_status(7, "undone")
    assert "[undone]" in dock.list.item(0).text() and not dock.undo_button.isEnabled()
    dock.show_proposal(a_proposal(8), select=True)  # an open one: decisions, no undo
    assert "[open]" in dock.list.currentItem().text()
    assert dock.accept_button.isEnabled() and not dock.undo_button.isEnabled()


def test_a_rejection_without_a_reason_is_not_sent(qtbot: QtBot) -> None:
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show()
    dock.show_proposal(a_proposal(7), select=True)
    with (
        patch("widgets.proposals_dock.QInputDialog.getText", return_value=("   ", True)),
        qtbot.assertNotEmitted(dock.reject_requested),
    ):
        dock.reject_button.click()
    assert dock.notice.isVisible() and "give a reason" in dock.notice.text()
    assert dock.list.count() == 1 and dock.accept_button.isEnabled()


def test_the_diff_shows_stops_newly_served_and_every_unserved_stop_with_its_reason(
    qtbot: QtBot,
) -> None:
    before = [
        PlannedStop("S-1", "V1", 0, 9 * H, 12 * H),
        PlannedStop("S-2", "V1", 1, 10 * H, 12 * H),
    ]
    after = [
        PlannedStop("S-1", "V1", 0, 9 * H, 12 * H),
        PlannedStop("S-3", "V1", 1, 11 * H, 12 * H),
    ]
    diff = diff_plans(before, after, DayFigures(0, 0, 40, 0, 1), DayFigures(0, 0, 41, 0, 2))
    view = ProposalView(
        7,
        "failed_attempt on S-3",
        1.7e9,
        diff,
        unserved_reasons={
            "S-2": "no time window left",
            "S-9": "not rescued from V2 (no room): returned for tomorrow",
        },
        retries={"S-3": "not home"},
    )
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show_proposal(view, select=True)
    lines = texts(dock)
    assert "Newly served (1)" in lines
    assert "S-3: retry of a failed attempt (not home) | unserved | served | " in lines
    assert "Unserved (2)" in lines
    # S-2 is served now and the proposal drops it; S-9 was not served before either.
    assert "S-2: no time window left | served | unserved | " in lines
    assert "S-9: not rescued from V2 (no room): returned for tomorrow | unserved | unserved | " in (
        lines
    )


def test_a_new_proposal_never_takes_the_selection(qtbot: QtBot) -> None:
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show_proposal(a_proposal(7))
    assert dock.current_id() is None and "1 proposal(s) waiting" in dock.summary.text()
    dock.list.setCurrentRow(0)  # the dispatcher reads #7
    with qtbot.assertNotEmitted(dock.proposal_selected):
        dock.show_proposal(a_proposal(8))
    assert dock.current_id() == 7 and len(shown(dock)) == 2
    assert "breakdown of V2" in dock.summary.text()


def test_a_stale_proposal_says_why_refuses_accept_and_offers_a_resolve(qtbot: QtBot) -> None:
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    dock.show()
    dock.show_proposal(a_proposal(4), select=True)
    assert not dock.resolve_button.isVisible()
    dock.set_status(4, "stale", "V03's plan changed at 10:42 (plan v5)")
    assert shown(dock)[0].startswith("#4 [STALE: V03's plan changed at 10:42 (plan v5)]")
    assert "cannot be accepted; re-solve from now" in dock.summary.text()
    assert not dock.accept_button.isEnabled() and not dock.tweak_button.isEnabled()
    assert dock.resolve_button.isVisible() and dock.resolve_button.isEnabled()
    with qtbot.waitSignal(dock.resolve_requested) as resolve:
        dock.resolve_button.click()
    assert resolve.args == [4]


def test_the_filter_shows_current_closed_or_all(qtbot: QtBot) -> None:
    dock = ProposalsDock(TIMES)
    qtbot.addWidget(dock)
    states = ["open", "stale", "accepted", "rejected", "expired", "superseded"]
    for pid, status in enumerate(states, start=1):
        dock.show_proposal(replace(a_proposal(pid), status=status))

    def badges() -> list[str]:
        return [t.split(" ")[1].split(":")[0].strip("[]") for t in shown(dock)]

    assert badges() == ["open", "STALE", "accepted"]
    dock.filter.setCurrentText("Closed")
    assert badges() == ["rejected", "expired", "superseded"]
    dock.filter.setCurrentText("All")
    assert len(badges()) == len(states)
    dock.filter.setCurrentText("Current")
    dock.set_status(1, "expired", "open over 15 min: the road has moved on since")
    assert badges() == ["STALE", "accepted"]
