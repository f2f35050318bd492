"""Tools for the warm-pool tests, imported in the sandboxed child (stdlib only)."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

IMPORTED_AT = time.time()
TOKEN = uuid.uuid4().hex  # one per process: tells sandboxes apart
CREDENTIAL_AT_IMPORT = os.environ.get("KEEL_TOOL_CREDENTIAL")


def whoami(write: str | None = None) -> dict[str, Any]:
    """Who served the call, what its temp directory held, and the call's credential."""
    tmp = os.environ["TMPDIR"]
    seen = written_entries(tmp)
    if write:
        with open(os.path.join(tmp, write), "w") as f:
            f.write("left behind by an earlier call")
    return {
        "token": TOKEN,
        "imported_at": IMPORTED_AT,
        "seen": seen,
        "credential": os.environ.get("KEEL_TOOL_CREDENTIAL"),
        "credential_at_import": CREDENTIAL_AT_IMPORT,
    }


def written_entries(tmp: str) -> list[str]:
    """What is in `tmp`, less the directories the sandbox made to hold read-only binds (a checkout under /tmp)."""
    mount_points = [line.split()[4] for line in open("/proc/self/mountinfo").read().splitlines()]
    return sorted(
        name for name in os.listdir(tmp) if not any(m.startswith(os.path.join(tmp, name) + "/") for m in mount_points)
    )
