"""National social-security and personal identity numbers of other countries, reported as SSN.

A US SSN is one country's form of the number a guard must not let through; generated and real records of
other locales carry theirs: the UK's National Insurance number, Canada's SIN, France's NIR, Sweden's
personnummer, Italy's codice fiscale, China's resident ID... Their check digits are validated with
python-stdnum, the library the field uses for these schemes (Odoo, GNU Health), rather than by hand.

Two ways to be found:

- right after a label that names such a number ("SSN:", "National Insurance number", "Personnummer",
  "codice fiscale", "身份证号码"...), or with "SSN" / "social security" in the 60 characters before: any
  ID-shaped token (8-18 characters with 6+ digits), whether or not a scheme validates it, because a guard
  redacts what the text says is one;
- without a label, only in a shape and checksum that nothing else has (a codice fiscale, a Chinese resident
  ID, a Swiss AHV number, a personnummer with its dash...). Compact digit runs that a scheme validates by
  chance as often as a phone or an order number (PESEL, fødselsnummer, SIN) need the label.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from functools import cache

from keel.guard._pii_lazy import lazy
from keel.guard._pii_patterns import _SSN, _SSN_CONTEXT, Candidate, _context, _has_digit

_LABEL_WORDS = (
    r"ssn|ss\#|social[\s_]+security|social[\s_]+insurance|sin|national[\s_]+insurance|ni|nino|"
    r"insurance[\s_]+number|personnummer|person(?:al)?[\s_]+(?:identity[\s_]+|identification[\s_]+|id[\s_]+)?"
    r"(?:number|code|no)|(?:national|citizen|personal)[\s_]+id(?:entity)?(?:[\s_]+card)?|id(?:entity)?[\s_]+"
    r"(?:card[\s_]+)?(?:number|no)|henkilötunnus|hetu|fødselsnummer|f\.?[\s_]?nr|cpr|pesel|cpf|cnp|amka|"
    r"(?:tc[\s_]+)?kimlik|resident[\s_]+id(?:entity)?(?:[\s_]+card)?|rrn|isikukood|personas[\s_]+kods|oib|"
    r"ahv|avs|sécurité[\s_]+sociale|s[ée]cu|insee|nir|rijksregisternummer|num[ée]ro[\s_]+national|"
    r"national[\s_]+(?:registration[\s_]+)?number|curp|cuil|cuit|dni|nie|nif|nss|bsn|burgerservicenummer|"
    r"codice[\s_]+fiscale|sozialversicherungs?(?:nummer)?|versicherungsnummer|sv-?nr|pps|tfn|tax[\s_]+file|"
    r"aadhaar|rodné[\s_]+číslo|egn|asmens[\s_]+kodas|emšo|taj|seguridad[\s_]+social|previdenza[\s_]+sociale|"
    r"segurança[\s_]+social|niss|nas|assurance[\s_]+sociale"
)
# The label ends right where the number starts: "SSN: ", "National Insurance number is ", '"personnummer": "'.
_LABEL_BEFORE = lazy(
    rf"(?i)(?<![^\W_])(?:{_LABEL_WORDS})(?![^\W_])(?:[\s_]*(?:number|no|nr|num|\#|code|nummer|numéro|número))?"
    r"\.?\)?['\"]?[ \t]*(?:is|was|:|=|-|–)?[ \t]*['\"]?[ \t]*\Z"
)
_LABEL_CJK = lazy(r"(?:身份证(?:号码?)?|居民身份证|주민등록번호|個人番号|マイナンバー)[ \t：:]*\Z")

# Digit groups (a check letter may end them: 12345678Z, ...X), or one compact token mixing letters and digits
# (a codice fiscale, a HETU, a CURP), or a National Insurance number, which groups letters and digit pairs.
_DIGIT_ID = lazy(r"(?<![\w\-./+])\d+(?:[ \-./]\d+){0,5}(?:-?[A-Za-z])?(?![\w]|[\-./]\w)")
_MIXED_ID = lazy(
    r"(?<![\w\-./+])(?=[A-Za-z0-9+\-]*\d)(?=[A-Za-z0-9+\-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9+\-]{7,17}(?![\w\-])"
)
# Any final letter: generators write ZZ...T, outside HMRC's A-D, and only a label vouches for those.
_NINO = lazy(r"(?<![\w\-])[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z](?:[ \-]?\d{2}){3}[ \-]?[A-Z](?![\w])")
_NINO_ISSUED = lazy(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-Z]{2}.*[A-D]")

_SIX_DIGITS = lazy(r"\d(?:[ \-./]?\d){5}")
_LETTER_DIGIT = lazy(r"[A-Za-z]\d|\d[A-Za-z]")

# Scheme (a python-stdnum module) and the written shape that, with a valid check, only that number has.
_DISTINCT: tuple[tuple[str, str], ...] = (
    ("ch.ssn", r"756[.\s]?\d{4}[.\s]?\d{4}[.\s]?\d{2}"),
    ("it.codicefiscale", r"[A-Za-z]{6}\d{2}[A-Za-z]\d{2}[A-Za-z]\d{3}[A-Za-z]"),
    ("cn.ric", r"\d{17}[\dXx]"),
    ("fi.hetu", r"\d{6}[\-+A-Ya-y]\d{3}[0-9A-Ya-y]"),
    ("se.personnummer", r"(?:\d{2})?\d{6}[\-+]\d{4}"),
    ("kr.rrn", r"\d{6}-\d{7}"),
    ("fr.nir", r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}"),
    ("br.cpf", r"\d{3}\.\d{3}\.\d{3}-\d{2}"),
    ("ar.cuit", r"\d{2}-\d{8}-\d"),
    ("th.pin", r"\d-\d{4}-\d{5}-\d{2}-\d"),
    ("mx.curp", r"[A-Za-z]{4}\d{6}[HMhm][A-Za-z]{5}[A-Za-z0-9]\d"),
    ("es.dni", r"\d{8}-?[A-Za-z]"),
    ("es.nie", r"[XYZxyz]-?\d{7}-?[A-Za-z]"),
    ("cz.rc", r"\d{6}/\d{3,4}"),
    ("in_.aadhaar", r"\d{4} \d{4} \d{4}"),
)
_SHAPES = tuple((scheme, re.compile(shape)) for scheme, shape in _DISTINCT)


@cache
def _validator(scheme: str) -> Callable[[str], bool]:
    return importlib.import_module(f"stdnum.{scheme}").is_valid  # type: ignore[no-any-return]


def _distinct_scheme(value: str) -> str | None:
    for scheme, shape in _SHAPES:
        if shape.fullmatch(value) and _validator(scheme)(value):
            return scheme
    return None


def _labelled(text: str, start: int) -> bool:
    before = text[max(0, start - 60) : start]
    return _LABEL_BEFORE.search(before) is not None or _LABEL_CJK.search(before) is not None


def _first_number_after_ssn_word(text: str, start: int) -> bool:
    """ "SSN" or "social security" in the 60 characters before, with no other number in between: "the social
    security number you asked for - 12020381807", not the IP address in "for SSN 123-45-6789 from 203.0.113.7"."""
    cues = list(_SSN_CONTEXT.finditer(text, max(0, start - 60), start))
    return bool(cues) and not any(c.isdigit() for c in text[cues[-1].end() : start])


def find_national_ids(text: str) -> Iterator[Candidate]:
    if not _has_digit(text):
        return
    seen: set[tuple[int, int]] = set()
    # One search in C for what each scan needs (six digits in a row, or a letter against a digit) spares
    # the scans on the many texts that have neither.
    matches: list[re.Match[str]] = []
    if _SIX_DIGITS.search(text) is not None:
        matches += [*_DIGIT_ID.finditer(text), *_NINO.finditer(text)]
    if _LETTER_DIGIT.search(text) is not None:
        matches += _MIXED_ID.finditer(text)
    for m in matches:
        span = (m.start(), m.end())
        value = m.group()
        digits = sum(c.isdigit() for c in value)
        if span in seen or not 6 <= digits <= 18 or not 8 <= len(value) <= 22:
            continue
        seen.add(span)
        if len(set(filter(str.isdigit, value))) == 1:
            continue  # a run of one digit is a placeholder
        if _SSN.fullmatch(value) and (not value.isdigit() or _context(text, m.start(), m.end(), _SSN_CONTEXT, 60, 20)):
            continue  # the US form has its own recognizer and scores ("National ID number is 529300576" is not)
        if _NINO.fullmatch(value) is not None:
            scheme = "gb.nino" if _NINO_ISSUED.fullmatch(value) else None
        else:
            scheme = _distinct_scheme(value)
        if _labelled(text, m.start()):
            # Above a card number's issuer range (0.9): a Chinese resident ID is also 18 Luhn-valid digits.
            yield Candidate("SSN", *span, 0.95, f"pattern:national_id:{scheme or 'labelled'}")
        elif _first_number_after_ssn_word(text, m.start()):
            # "Here is the social security number you asked for - 12020381807": said to be one a little earlier.
            yield Candidate("SSN", *span, 0.92, f"pattern:national_id:{scheme or 'ssn_context'}")
        elif scheme is not None:
            yield Candidate("SSN", *span, 0.85, f"pattern:national_id:{scheme}")
