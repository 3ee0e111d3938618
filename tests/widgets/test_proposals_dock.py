from __future__ import annotations

from unittest.mock import patch

from pytestqt.qtbot import QtBot

from app.domain.plan_diff import DayFigures, PlannedStop, diff_plans
from widgets.proposals_dock import ProposalsDock, ProposalView

H = 3600.0


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


def texts(dock: ProposalsDock) -> list[str]:
    out = []
    root = dock.diff_tree.invisibleRootItem()
    for i in range(root.childCount()):
        top = root.child(i)
        out.append(top.text(0))
        out.extend(
            " | ".join(top.child(j).text(c) for c in range(4)) for j in range(top.childCount())
        )
    return out


def test_the_diff_shows_moves_etas_and_day_figures(qtbot: QtBot) -> None:
    dock = ProposalsDock()
    qtbot.addWidget(dock)
    dock.show_proposal(a_proposal())
    lines = texts(dock)
    assert "Stops moved (1)" in lines
    assert "S-2: V2 broke down | V2 | V3 | " in lines
    assert "Stops late | 1 | 0 | ▼ 1" in lines
    assert "Minutes late | 60 | 0 | ▼ 60" in lines
    assert any(line.startswith("S-2 |") and line.endswith("-120 min") for line in lines)
    assert dock.accept_button.isEnabled()


def test_accept_and_reject_carry_the_proposal_and_reason(qtbot: QtBot) -> None:
    dock = ProposalsDock()
    qtbot.addWidget(dock)
    dock.show_proposal(a_proposal(7))
    with qtbot.waitSignal(dock.accept_requested) as accepted:
        dock.accept_button.click()
    assert accepted.args == [7]
    with (
        patch("widgets.proposals_dock.QInputDialog.getText", return_value=("driver refused", True)),
        qtbot.waitSignal(dock.reject_requested) as rejected,
    ):
        dock.reject_button.click()
    assert rejected.args == [7, "driver refused"]
    dock.remove_proposal(7)
    assert dock.list.count() == 0 and not dock.accept_button.isEnabled()
