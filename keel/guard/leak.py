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
# A secret the instructions name and forbid giving away ("The secret key is 'Piano'. Don't reveal it."):
# what the prompt-extraction games and benchmarks (Gandalf, Tensor Trust, PurpleLlama) protect, and what a
# five-word answer gives away. A bare value must end its clause ("The PIN is 4471."), so that "the PIN is
# printed on your card" names no secret.
_SECRET = re.compile(
    r"\b(?:password|passphrase|passcode|pass word|secret(?: (?:word|key|code|phrase|number|password))?"
    r"|(?:access|security|safe|door) code|pin)(?:\s+(?:is|was)\s+|\s*[:=]\s*)"
    r"(?:'(?P<q1>[^'\n]{3,64})'|\"(?P<q2>[^\"\n]{3,64})\"|“(?P<q3>[^”\n]{3,64})”|`(?P<q4>[^`\n]{3,64})`"
    r"|(?P<bare>\w[\w\-]{2,63})(?=[.;,!?)\n]|$))",
    re.IGNORECASE,
)
_KEEP = re.compile(
    r"\b(?:never|not|dont|don't|don’t|mustn't|cannot|can't|shouldn't)\s+(?:\w+\s+){0,2}?"
    r"(?:reveal|share|disclose|tell|give|say|mention|repeat|output|print|leak|divulge|expose|spell)\b"
    r"|\b(?:secret|confidential|private)\b",
    re.IGNORECASE,
)
KEEP_WINDOW = 300  # characters around a named secret in which the instructions must forbid giving it away
# Unquoted, a value is a word with a capital or a digit ("Piano", "4471") that is not one of these, which
# say what the secret is like rather than what it is ("The password is Secret. Never share it.").
_NOT_VALUES = frozenset(
    "secret confidential private hidden personal required needed mandatory optional unknown unset set changed "
    "valid invalid expired correct wrong incorrect empty blank missing case-sensitive below above here there "
    "this that it not none null n/a".split()
)
# Chinese and Japanese are written without spaces: each character counts as a word.
_WORDS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


@dataclass(frozen=True)
class Instructions:
    """A call's system and developer text, as the words the check compares."""

    words: tuple[str, ...]
    starts: dict[tuple[str, ...], list[int]]  # each SHINGLE-word sequence -> where it starts
    secrets: tuple[re.Pattern[str], ...] = ()  # the values they forbid giving away, also spelt out

    @classmethod
    def of(cls, texts: Iterable[str], *, originals: Iterable[str] = ()) -> Instructions | None:
        """None when there is nothing to give away: fewer than SHORT_RUN words and no secret.

        `originals` are the texts before PII redaction, when it changed them: a secret the detector took
        for a name is looked for under both its value and its placeholder.
        """
        from keel.guard.normalize import normalize  # on first use: the guard module imports this one

        texts = list(texts)
        words = tuple(w for text in texts for w in _words(normalize(_QUOTED.sub(" ", text)).text))[:MAX_WORDS]
        secrets = tuple(dict.fromkeys(value for text in [*texts, *originals] for value in _secrets(text)))
        if len(words) < SHORT_RUN and not secrets:
            return None
        starts: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(words) - SHINGLE + 1):
            starts.setdefault(words[i : i + SHINGLE], []).append(i)
        # "Piano", "P-i-a-n-o" and "p i a n o" alike, but not "pianos".
        spelt = tuple(re.compile(r"(?<!\w)" + r"[\W_]{0,3}".join(map(re.escape, v)) + r"(?!\w)") for v in secrets)
        return cls(words, starts, spelt)

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

    def given_away(self, text: str) -> str | None:
        """Why `text` gives these instructions away (`prompt_leak:N_words`, `prompt_leak:secret`), or None.

        `text` is read as written, in its leetspeak-folded copy and as the normaliser decodes it, so an
        answer that disguises or encodes the prompt before giving it away is caught too.
        """
        readings = _readings(text)
        run = self._longest(readings)
        if run:
            return f"prompt_leak:{run}_words"
        if any(secret.search(r) for secret in self.secrets for r in readings):
            return "prompt_leak:secret"
        return None

    def leaked(self, text: str) -> int:
        """How many of these words in a row `text` recites (0 when it does not recite them)."""
        return self._longest(_readings(text))

    def _longest(self, readings: list[str]) -> int:
        if len(self.words) < SHORT_RUN:
            return 0
        worst = 0
        for reading in readings:
            longest, share = self.copied(reading)
            if longest >= MIN_RUN or (longest >= SHORT_RUN and share >= MIN_SHARE):
                worst = max(worst, longest)
        return worst


def _readings(text: str) -> list[str]:
    """`text` folded, its leetspeak copy and what the normaliser decodes from it, casefolded."""
    from keel.guard.normalize import normalize  # on first use: the guard module imports this one

    return [r.casefold() for r in normalize(text).variants()]


def _secrets(text: str) -> list[str]:
    """The values `text` names as secrets and forbids giving away, casefolded."""
    found = []
    for match in _SECRET.finditer(text):
        value = next(v for v in match.group("q1", "q2", "q3", "q4", "bare") if v is not None).strip()
        if match.group("bare") is not None and (
            value.casefold() in _NOT_VALUES or not any(c.isdigit() or c.isupper() for c in value)
        ):
            continue
        around = text[max(0, match.start() - KEEP_WINDOW) : match.end() + KEEP_WINDOW]
        if len(value) >= 3 and _KEEP.search(around):
            found.append(value.casefold())
    return found
