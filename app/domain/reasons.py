"""Reason codes in words: the one table every view, report and command reads them from.

The codes are the execution events' (``FailureReason``, the ``reason`` of a ``failed``
event), the skipped stop's ``not_attempted`` and the KPIs' ``unknown`` (a failure reported
with no reason). JSON keeps the codes; people read the words.
"""

from __future__ import annotations

from app.domain.model import FailureReason

NOT_ATTEMPTED = "not_attempted"
"""A stop skipped without an attempt (the van's day ended, or it was taken off)."""
UNKNOWN_REASON = "unknown"
"""A failure reported without a reason."""

REASON_WORDS: dict[str, str] = {
    FailureReason.NOT_HOME: "customer absent",
    FailureReason.REFUSED: "refused by the customer",
    FailureReason.ADDRESS_NOT_FOUND: "address not found",
    FailureReason.DAMAGED: "parcel damaged",
    FailureReason.NO_ACCESS: "no access to the address",
    FailureReason.OTHER: "other reason",
    NOT_ATTEMPTED: "not attempted",
    UNKNOWN_REASON: "no reason given",
}


def reason_words(code: str | None) -> str | None:
    """``not_home`` -> ``customer absent``; None stays None, and a code from a newer
    device that this table does not know yet is shown with spaces for its underscores."""
    if code is None:
        return None
    return REASON_WORDS.get(code, code.replace("_", " "))
