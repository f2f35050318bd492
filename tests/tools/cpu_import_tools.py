"""A tool module whose import burns more CPU time than its tools' cpu_seconds (stdlib only)."""

from __future__ import annotations

import time

IMPORT_CPU_S = 1.3
while time.process_time() < IMPORT_CPU_S:
    pass


def cpu_time() -> float:
    return time.process_time()


def spin() -> None:
    while True:
        pass
