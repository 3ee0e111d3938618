"""Headless settings for every test run, set before anything imports Qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# QtWebEngine refuses to start as root without this (the whole pytest run would die).
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
# Tests never read the developer's own configuration through the environment.
for _name in [n for n in os.environ if n.startswith("TOWER_")]:
    del os.environ[_name]
