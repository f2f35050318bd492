"""Regular expressions compiled on first use, so that importing the PII detector stays cheap."""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """A ``re.Pattern`` stand-in that compiles itself the first time it is used."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> str:
        return self._source

    # The methods below read the compiled pattern directly once it exists: the detector calls them a hundred
    # times and more per text, where one more Python call each time shows.
    def _get(self) -> re.Pattern[str]:
        if self._compiled is None:
            # Benign race: two threads may both compile; either result is the same pattern.
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def search(self, string: str, pos: int = 0, endpos: int = 2**62) -> re.Match[str] | None:
        return (self._compiled or self._get()).search(string, pos, endpos)

    def match(self, string: str, pos: int = 0, endpos: int = 2**62) -> re.Match[str] | None:
        return (self._compiled or self._get()).match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = 2**62) -> re.Match[str] | None:
        return (self._compiled or self._get()).fullmatch(string, pos, endpos)

    def finditer(self, string: str, pos: int = 0, endpos: int = 2**62) -> Any:
        return (self._compiled or self._get()).finditer(string, pos, endpos)

    def sub(self, repl: str, string: str) -> str:
        return (self._compiled or self._get()).sub(repl, string)


def lazy(source: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(source, flags)
