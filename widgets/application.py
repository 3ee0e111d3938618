"""Starting the window: QApplication, the tower core, the main window, --screenshot."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from app.foundation.clock import SystemClock
from app.foundation.settings import Settings
from app.tower.history_reads import database_description
from app.tower.sign_in import open_signed_in

log = logging.getLogger(__name__)
ORGANISATION = "control-tower"
APPLICATION = "Control tower"
SCREENSHOT_TIMEOUT_S = 60.0


def prepare_qt_environment(offscreen: bool) -> None:
    """Headless and root-safe defaults; must run before QApplication exists."""
    if offscreen:
        # A platform named outright wins: xcb under Xvfb shoots the real window.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # QtWebEngine's sandbox cannot run as root; without this the process exits.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")


def run_window(settings: Settings, screenshot: Path | None = None, after_s: float = 0.0) -> int:
    """Open the main window on the configured (or demo) data; returns the exit code."""
    prepare_qt_environment(offscreen=screenshot is not None)
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from widgets.icons import icon
    from widgets.main_window import MainWindow
    from widgets.password_dialog import sign_in

    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    # The window's icon, and the menu entry's on Wayland (installer/control-tower.desktop).
    QApplication.setWindowIcon(icon("control-tower"))
    QApplication.setDesktopFileName("control-tower")

    wall = SystemClock()
    if screenshot is None:
        signed = sign_in(settings, wall)
        if signed is None:
            return 1  # the person cancelled the sign-in
        tower, person, settings = signed
    else:  # a screenshot run asks nobody: the server's own sign-in
        tower, person = open_signed_in(settings, wall)
    tower.start()

    page_dir = tempfile.TemporaryDirectory(prefix="tower-map-")
    url = database_description(settings)
    window = MainWindow(tower, QSettings(), Path(page_dir.name), url, person)
    exit_code = {"value": 0}
    if os.environ.get("CONTROL_TOWER_REPORT_READY"):
        # For benchmarks/startup.py: the moment the map shows every marker.
        window.map_ready.connect(lambda: print(f"map_ready={wall.now()}", flush=True))

    if screenshot is not None:

        def capture() -> None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(screenshot), "PNG"):
                log.error("could not write %s", screenshot)
                exit_code["value"] = 1
            window.close()
            app.quit()

        window.map_ready.connect(lambda: QTimer.singleShot(int(after_s * 1000), capture))

        def give_up() -> None:
            log.error(
                "the map did not load within %.0f s; no screenshot written", SCREENSHOT_TIMEOUT_S
            )
            exit_code["value"] = 1
            app.quit()

        QTimer.singleShot(int((SCREENSHOT_TIMEOUT_S + after_s) * 1000), give_up)
    window.show()
    code = app.exec()
    window.live.stop()
    tower.stop()
    # The web page must go before the application does, or QtWebEngine crashes at exit.
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    page_dir.cleanup()
    return exit_code["value"] or code
