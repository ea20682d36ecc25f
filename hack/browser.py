"""The headless Chromium the dashboard's tests and benchmark drive (Debian's package).

One list of launch flags: as root it needs ``--no-sandbox``, and without the background-network
flags it keeps dialling Google's hosts, which this kind of machine refuses.
"""

from __future__ import annotations

from typing import Final

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
