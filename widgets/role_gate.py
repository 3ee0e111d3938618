"""What the signed-in person's role may reach in the window (#22, docs/security.md).

A supervisor reads everything (the map, the panels, KPIs and reports, the audit log)
and decides nothing: the actions on exceptions, re-plans and urgent orders are disabled
and the proposals' decision buttons hidden. Only an admin opens the admin editors. The
database's grants are the guarantee; this keeps a person from clicking what would be
refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from app.tower.sign_in import SignedIn
from widgets.proposals_dock import ProposalsDock


def not_for(person: SignedIn, what: str) -> str:
    """The tooltip of an action the person's role may not take."""
    return f"Not for a {person.role}: {what} is for a dispatcher or an admin"


def restrict(
    person: SignedIn,
    decisions: Iterable[QAction],
    admin: Iterable[QAction],
    proposals: ProposalsDock,
    menus: Iterable[QMenu],
) -> None:
    """Disable what ``person`` may not do, with a tooltip that says why (``menus`` show
    their actions' tooltips)."""
    for menu in menus:
        menu.setToolTipsVisible(True)
    if not person.decides:
        for action in decisions:
            _refuse(action, not_for(person, "deciding on the day"))
        proposals.set_read_only()
    if not person.administers:
        for action in admin:
            _refuse(action, f"Not for a {person.role}: the admin editors are for an admin")


def _refuse(action: QAction, why: str) -> None:
    action.setEnabled(False)
    action.setToolTip(why)
    action.setStatusTip(why)
