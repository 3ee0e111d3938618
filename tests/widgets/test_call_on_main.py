"""A background answer reaches the GUI thread: handed on when it came, said (what failed
and why) when it failed, so a page shows the failure and the tower runs on."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from widgets.call_on_main import MainThreadBridge


def test_a_failed_answer_is_said_on_the_page_and_a_good_one_handed_on(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    bridge = MainThreadBridge(label)
    got: list[tuple[int, bool]] = []  # the answer, and whether it came on the GUI thread
    main = threading.get_ident()

    def then(n: int) -> None:
        got.append((n, threading.get_ident() == main))

    failed: Future[int] = Future()
    bridge.when_ok(failed, then, label.setText, "Not saved")
    threading.Thread(target=failed.set_exception, args=(OSError("disk full"),)).start()
    qtbot.waitUntil(lambda: label.text() == "Not saved: disk full")
    assert got == []

    answered: Future[int] = Future()
    bridge.when_ok(answered, then, label.setText, "Not saved")
    threading.Thread(target=answered.set_result, args=(3,)).start()
    qtbot.waitUntil(lambda: got == [(3, True)])
    assert label.text() == "Not saved: disk full"
