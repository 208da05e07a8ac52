"""Headless Chromium screenshots for report tests and the README picture (docs/report.png)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def available() -> bool:
    return CHROMIUM.exists() or shutil.which("chromium") is not None


def screenshot(page: Path, out: Path, *, width: int = 1400, height: int = 1000, timeout: float = 90) -> Path:
    """Render ``page`` (a local html file) to a PNG at ``out``; raises if Chromium fails."""
    binary = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium") or "chromium"
    with tempfile.TemporaryDirectory(prefix="crmsync-chromium-") as profile:
        subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
    return out


def png_pixels(path: Path) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, raw scanlines incl. filter bytes) of an 8-bit PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, colour = struct.unpack(">IIBB", body[:10])
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, channels, zlib.decompress(idat)
