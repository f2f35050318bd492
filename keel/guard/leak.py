"""Whether a model's answer gives away the instructions it was given (its system and developer text).

A request for the system prompt can be worded in any language or wrapped in any story, and some are
ordinary questions that only the prompt makes an attack (docs/guard-injection.md, "What text alone
cannot reach"); an answer that obeys shows it by containing the prompt. The guard keeps each call's
instructions and looks for them, word for word, in the answer, in its tool calls' arguments and in
whatever the normaliser folds or decodes them to (leetspeak, base64, hex, rot13, text written backwards,
...). Paraphrases and translations are not caught: that would take a model, and a verbatim check cannot
mistake an answer that follows its instructions for one that recites them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A run this long is a recitation: an answer that follows its instructions, or tells the user what it
# can help with, shares a phrase or two with them, not twenty words in a row.
MIN_RUN = 20
# Short instructions are given away in fewer words: most of them, with twelve or more in a row.
SHORT_RUN = 12
MIN_SHARE = 0.8
SHINGLE = 6  # words matched at a time
# Instructions are indexed up to this many words (about 120 KB of text): the index lives as long as
# the call, and a prompt longer than this is documents, whose quoting is the point.
MAX_WORDS = 20_000
# A reply the instructions script ('When asked, say "I can only help with billing."') is meant to be
# repeated, so quoted text does not count as instructions.
_QUOTED = re.compile(r'"[^"\n]{1,400}"|“[^”\n]{1,400}”|«[^»\n]{1,400}»|「[^」\n]{1,400}」')
# Chinese and Japanese are written without spaces: each character counts as a word.
_WORDS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


@dataclass(frozen=True)
class Instructions:
    """A call's system and developer text, as the words the check compares."""

    words: tuple[str, ...]
    starts: dict[tuple[str, ...], list[int]]  # each SHINGLE-word sequence -> where it starts

    @classmethod
    def of(cls, texts: Iterable[str]) -> Instructions | None:
        """None when there is too little to give away (fewer than SHORT_RUN words)."""
        from keel.guard.normalize import normalize  # on first use: the guard module imports this one

        words = tuple(w for text in texts for w in _words(normalize(_QUOTED.sub(" ", text)).text))[:MAX_WORDS]
        if len(words) < SHORT_RUN:
            return None
        starts: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(words) - SHINGLE + 1):
            starts.setdefault(words[i : i + SHINGLE], []).append(i)
        return cls(words, starts)

    def copied(self, text: str) -> tuple[int, float]:
        """The longest run of these words that `text` repeats, and the share of them it repeats."""
        words = _words(text)
        in_text = [False] * len(words)
        in_self = [False] * len(self.words)
        for i in range(len(words) - SHINGLE + 1):
            found = self.starts.get(tuple(words[i : i + SHINGLE]))
            if found:
                in_text[i : i + SHINGLE] = [True] * SHINGLE
                for at in found:
                    in_self[at : at + SHINGLE] = [True] * SHINGLE
        longest = run = 0
        for hit in in_text:
            run = run + 1 if hit else 0
            longest = max(longest, run)
        return longest, sum(in_self) / len(self.words)

    def leaked(self, text: str) -> int:
        """How many of these words in a row `text` gives away (0 when it does not give them away).

        `text` is read as written, in its leetspeak-folded copy and as the normaliser decodes it, so an
        answer that disguises or encodes the prompt before reciting it is caught too.
        """
        from keel.guard.normalize import normalize

        folded = normalize(text)
        worst = 0
        for candidate in (folded.text, folded.leet, *(d.text for d in folded.decoded)):
            longest, share = self.copied(candidate)
            if longest >= MIN_RUN or (longest >= SHORT_RUN and share >= MIN_SHARE):
                worst = max(worst, longest)
        return worst
