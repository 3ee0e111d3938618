"""``main.py --screenshot``: a real process, offscreen, on the demo data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def distinct_colours(image: QImage, step: int = 7) -> int:
    colours = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            colours.add(image.pixel(x, y))
    return len(colours)


def test_screenshot_writes_a_png_of_the_whole_window(tmp_path: Path) -> None:
    out = tmp_path / "shots" / "tower.png"
    env = dict(
        os.environ,
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        TOWER_MAP__TILE_URL="http://127.0.0.1:9/{z}/{x}/{y}.png",
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--after", "0.5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    image = QImage(str(out))
    assert not image.isNull()
    assert image.width() >= 800 and image.height() >= 600
    # A blank or single-colour window has a handful of colours; the map with routes,
    # stops, docks and text has hundreds.
    assert distinct_colours(image) > 100
    # The demo was stored in the user data folder given by the environment.
    assert (tmp_path / "data" / "control-tower" / "tower.sqlite3").is_file()
