"""The on-time stops over the day, one line per run, as a PNG (``evaluate --plot``).

Written without a plotting library (app/ has no Qt and the project none other): a white
canvas, light hour gridlines, and each run's cumulative count of on-time stops as a step
line in its colour (undisrupted grey, static red, tower blue); the y axis runs from 0 to
the largest run's count.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

WIDTH, HEIGHT, MARGIN = 900, 420, 30
COLOURS = {"undisrupted": (150, 150, 150), "static": (214, 39, 40), "tower": (31, 119, 180)}
_GRID = (230, 230, 230)


def _png(pixels: bytearray, width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    stride = width * 3
    raw = b"".join(b"\x00" + bytes(pixels[y * stride : (y + 1) * stride]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def on_time_chart(
    path: Path, runs: Mapping[str, Sequence[float]], start: float, end: float
) -> None:
    """Write the chart of each run's on-time arrival times (epoch seconds) from ``start``
    to ``end`` to ``path``."""
    pixels = bytearray(b"\xff" * (WIDTH * HEIGHT * 3))

    def put(x: int, y: int, colour: tuple[int, int, int]) -> None:
        if 0 <= x < WIDTH and 0 <= y < HEIGHT:
            i = (y * WIDTH + x) * 3
            pixels[i : i + 3] = bytes(colour)

    span = max(end - start, 1.0)
    top = max((len(v) for v in runs.values()), default=0) or 1
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def x_of(t: float) -> int:
        return MARGIN + round((min(max(t, start), end) - start) / span * inner_w)

    def y_of(n: float) -> int:
        return HEIGHT - MARGIN - round(n / top * inner_h)

    hour = start - start % 3600 + 3600
    while hour < end:
        for y in range(MARGIN, HEIGHT - MARGIN):
            put(x_of(hour), y, _GRID)
        hour += 3600
    for x in range(MARGIN, WIDTH - MARGIN + 1):
        put(x, HEIGHT - MARGIN, (0, 0, 0))
    for y in range(MARGIN, HEIGHT - MARGIN + 1):
        put(MARGIN, y, (0, 0, 0))
    for run, times in runs.items():
        colour = COLOURS.get(run, (0, 0, 0))
        ordered = sorted(times)
        count = 0
        for x in range(MARGIN, WIDTH - MARGIN + 1):
            t = start + (x - MARGIN) / inner_w * span
            before = count
            while count < len(ordered) and ordered[count] <= t:
                count += 1
            for y in range(y_of(count), y_of(before) + 1):
                put(x, y, colour)
                put(x, y - 1, colour)
    path.write_bytes(_png(pixels, WIDTH, HEIGHT))
