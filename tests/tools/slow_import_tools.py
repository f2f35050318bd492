"""A tool module that takes a second to import, like an app module that imports keel (stdlib only)."""

from __future__ import annotations

import time

time.sleep(1.0)
IMPORTED_AT = time.time()  # when the import finished


def imported_at() -> float:
    return IMPORTED_AT
