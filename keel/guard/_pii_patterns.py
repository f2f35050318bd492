"""Validated pattern recognizers: email, phone, credit card, IBAN, US SSN, IP address, date of birth.

Each finds candidates with a regular expression and keeps only those that pass the type's own check (Luhn,
mod-97, the SSA's rules, ``ipaddress``, ``phonenumbers``, a calendar date), because the gate is recall
on the held-out set *and* precision: a regex alone flags order numbers, versions and timestamps.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

from keel.guard._pii_lazy import LazyPattern, lazy

# Below this a candidate is dropped: it is a number that could be a phone number, nothing more.
MIN_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class Candidate:
    type: str
    start: int
    end: int
    score: float
    detector: str


def ctx(source: str) -> LazyPattern:
    """A cue-word pattern whose ``\\b`` also separates words joined by underscores, as in JSON keys and
    column names ("date_of_birth", "social_security_number"): Python's ``\\b`` counts ``_`` as a letter."""
    return lazy(source.replace(r"\b", r"(?:(?<![^\W_])|(?![^\W_]))"))


# Phone numbers, cards, IBANs, SSNs and dates all hold a decimal digit (their patterns' \d): a text without
# one is not scanned for them. One search in C for a digit is cheaper than a pattern tried at every position.
_DIGIT = lazy(r"\d")


def _has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


def _context(text: str, start: int, end: int, pattern: LazyPattern, before: int, after: int = 0) -> bool:
    return pattern.search(text, max(0, start - before), start) is not None or (
        after > 0 and pattern.search(text, end, min(len(text), end + after)) is not None
    )


# --- email ------------------------------------------------------------------------------------------------

_EMAIL = lazy(
    r"(?<![\w.%+'-])"
    r"(?P<local>[\w%+'-]+(?:\.[\w%+'-]+)*)"
    r"@(?P<domain>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24})"
    r"(?![\w-]|\.[^\W_])"
)


def find_emails(text: str) -> Iterator[Candidate]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        yield Candidate("EMAIL", m.start(), m.end(), 0.95, "pattern:email")


# --- phone ------------------------------------------------------------------------------------------------

_SP = r"[ \t\u00a0]"
# Digit groups joined by one separator: a space, a dash, a dot or a slash (spaces allowed around the last
# three), or a parenthesised group. Never a newline: numbers on separate lines are separate numbers.
_PHONE_BODY = (
    rf"(?P<num>(?:\+{_SP}?|\(\+?|\b00)?\d+"
    rf"(?:(?:{_SP}?[\-./]{_SP}?|{_SP}|{_SP}?[\-.]?{_SP}?\({_SP}?|{_SP}?\){_SP}?[\-.]?{_SP}?)\d+){{0,7}})"
    rf"(?:{_SP}?(?:x|ext\.?|extension|\#){_SP}?(?P<ext>\d{{1,6}}))?"
    rf"(?![\w@]|[\-./:]\d|:)"
)
# Not inside a word, a number or an address, nor after a colon: a time or a ratio.
_PHONE = lazy(r"(?<![\w+\-./#@:])" + _PHONE_BODY)
# After a colon all the same when a label ends there ("Tel:+49 ...", "Ph.:0791 ..."); a second pass over these
# few places rather than a lookbehind alternative tried at every character.
_PHONE_LABEL = lazy(r"[^\W\d_]\.?:(?=[+(\d])")
_PHONE_AT = lazy(_PHONE_BODY)
_PHONE_CONTEXT = ctx(
    r"(?i)\b(?:phone|tel|telephone|mobile?|mob|cell|cellphone|call|fax|contact|number|reach|whats?app|sms|text|"
    r"desk|office|home|work|hotline|ph(?!\.\s?d\.)|tlf|tél|telefon|telefono|teléfono|téléphone|telefoon|telefone|"
    r"handy|móvil|movil|mobiel|mobil|celular|cellulare|gsm|puh|puhelin|matkapuhelin|komórka|portable|numero|"
    r"número|nummer|messages?|answer(?:ing)?|ring|dial)\b|電話|携帯"
)
# Numbers that are said to be something else.
_NOT_PHONE_CONTEXT = ctx(
    r"(?i)\b(?:zip|postal|post\s?code|postcode|plz|cep|licen[cs]e|passport|account|acct|order|invoice|ticket|"
    r"case|ref|reference|iban|routing|sort\s?code|serial|isbn|ssn|ss\#|social[\s_]+security|id|tracking|policy|"
    r"member(?:ship)?|customer\s+(?:no|number|id)|card)\b"
)
# A phone word that labels the number right after it: a form field, a JSON key, "Tel.:", "Handy 0176...".
# There the number is a phone number whatever its plan says: generators and real forms write numbers that no
# region's plan knows ("Mobile: 033 1 274", "(06 1) 233 7410" in Hungary, "0016 953 66 71").
_PHONE_LABEL_BEFORE = lazy(
    r"(?i)(?<![^\W_])(?:phone|tel|telephone|mobile?|mob|cell|cellphone|fax|ph|tlf|tél|telefon|telefono|teléfono|"
    r"téléphone|telefoon|telefone|handy|móvil|movil|mobiel|mobil|celular|cellulare|gsm|puh|puhelin|whats?app|"
    r"contact|(?:call|reach|text|ring|phone|contact)(?:[ \t]+(?:me|us|him|her|them))?[ \t]+(?:on|at)|"
    r"(?:my|your|his|her|our|their)[ \t]+(?:(?:phone|mobile|cell|contact|telephone)[ \t]+)?number[ \t]+is)"
    r"(?:[ _.\-]?(?:no|nr|number|num|\#))?\.?['\"]?[ \t]*[:=]?[ \t]*['\"]?[ \t]*\Z"
)
_DATE_SHAPE = lazy(r"\d{4}[\-./]\d{1,2}[\-./]\d{1,2}|\d{1,2}[\-./]\d{1,2}[\-./]\d{2,4}")
_IPV4_SHAPE = lazy(r"\d{1,3}(?:\.\d{1,3}){3}")
# Tried in order until one says valid: the national format alone does not say which country.
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "IN", "AU", "BR")


def _phone_valid(number: str, international: bool) -> tuple[bool, bool]:
    """(valid, possible) according to phonenumbers, for some region when the number is national."""
    import phonenumbers

    regions: tuple[str | None, ...] = (None,) if international else _PHONE_REGIONS
    possible = False
    for region in regions:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return True, True
        possible = possible or phonenumbers.is_possible_number(parsed)
    return False, possible


def find_phones(text: str) -> Iterator[Candidate]:
    if not _has_digit(text):
        return
    matches = list(_PHONE.finditer(text))
    if ":" in text:
        for label in _PHONE_LABEL.finditer(text):
            at = _PHONE_AT.match(text, label.end())
            if at is not None:
                matches.append(at)
    for m in matches:
        num, start = m.group("num"), m.start()
        if num.startswith("(") and num.count("(") > num.count(")"):
            # "(+47-21-28-27-78)": the bracket opens the aside, not an area code.
            num, start = num[1:], start + 1
        if num.count("(") != num.count(")") or num.endswith("("):
            continue
        found = _phone_score(text, num, start, m.end())
        if m.group("ext") and found:
            found = min(0.95, found + 0.1)  # an extension is only ever written after a phone number
        if found >= MIN_SCORE:
            yield Candidate("PHONE", start, m.end(), found, "pattern:phone")


_SSN_SHAPE = lazy(r"\d{3}([ \-.])\d{2}\1\d{4}")
_SIX_DIGIT_PAIRS = lazy(r"\d\d([ \-])\d\d\1\d\d")


def _phone_score(text: str, num: str, start: int, end: int) -> float:
    digits = sum(c.isdigit() for c in num)
    if not 6 <= digits <= 15:
        return 0.0
    cached: list[bool] = []

    def cue() -> bool:
        """A phone word nearby; looked up once, and only when a rule asks (most candidates end earlier)."""
        if not cached:
            cached.append(_context(text, start, end, _PHONE_CONTEXT, 50, 20))
        return cached[0]

    if digits == 6:
        # Greenland and the Faroe Islands dial six digits, written in pairs ("Mobile: 66 28 45", "call me at
        # 94 25 77", "35 88 32 office"): a phone number only where a phone label or word says so.
        if not _SIX_DIGIT_PAIRS.fullmatch(num) or _context(text, start, end, _NOT_PHONE_CONTEXT, 30):
            return 0.0
        labelled = _PHONE_LABEL_BEFORE.search(text[max(0, start - 40) : start]) is not None
        return 0.8 if labelled or cue() else 0.0

    if _DATE_SHAPE.fullmatch(num):
        return 0.0
    if _PHONE_LABEL_BEFORE.search(text[max(0, start - 40) : start]) is not None:
        return 0.95 if _phone_valid(num.replace("(0)", ""), num.startswith(("+", "(+")))[0] else 0.8
    if _SSN_SHAPE.fullmatch(num) and _context(text, start, end, _SSN_CONTEXT, 60, 20):
        return 0.0  # "the social security number you asked for - 160-00-4271"
    if _IPV4_SHAPE.fullmatch(num) and all(int(g) < 256 for g in num.split(".")) and not cue():
        return 0.0
    seps = re.findall(r"\D+", num.strip("+("))
    if len(seps) == 1 and seps[0] in (".", ",") and not cue():
        return 0.0  # a decimal number: 60.2754583
    if len(seps) >= 2 and seps[-1] == "." and len(num) - num.rfind(".") == 3 and seps[-2] != ".":
        return 0.0  # an amount: 11 055.00
    groups_digits = re.findall(r"\d+", num)
    international = num.startswith(("+", "(+", "00"))
    if not international and any(len(g) < 2 for g in groups_digits[1:]) and not (digits >= 9 and cue()):
        return 0.0  # "7 13160 2 9": counts, not a phone number; "call me on 372-8-7063-2399" is one
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", num) and not cue():
        return 0.0  # 1.439.323 is a thousands-grouped number
    grouped = not num.isdigit()
    # The trunk prefix written in brackets after a country code, "+41 (0)69 ...", is not dialled.
    cleaned = num.replace("(0)", "") if international else num
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    valid, possible = _phone_valid(cleaned, international)
    if international and num.startswith("00") and len(groups_digits[0]) == 3 and not valid:
        # "001-846-853-9089" dials out; "006-34-4629" is a national number or an SSN.
        international = False
        valid, possible = _phone_valid(num, False)
    if international:
        # A plus and eight or more digits is written only for phone numbers, even one no plan knows.
        score = 0.95 if valid else 0.8 if possible else 0.55 if num[0] in "+(" and digits >= 8 else 0.0
    elif not possible:
        score = 0.0
    elif grouped:
        score = 0.65 if valid else 0.45
    else:
        # A bare run of digits is as likely an order or account number; one that opens with the trunk 0 and
        # is valid for a country's plan is more often dialled than counted.
        score = (0.5 if num[0] == "0" else 0.45) if valid and 9 <= digits <= 11 else 0.3
    groups = len(groups_digits)
    if num.startswith("(0") and 9 <= digits <= 13:
        score = max(score, 0.5)  # a trunk-0 area code in brackets, "(07871) 1583611", is only ever dialled
    if grouped and groups >= 3 and not international:
        # Three or more digit groups is how people write phone numbers, whatever the country's plan; but
        # pairs not starting with a trunk 0 are as often hex dumps or lists ("72-69-71-68").
        pairs = all(len(g) == 2 for g in groups_digits) and not num.startswith("0")
        score = max(score, 0.45 if pairs else 0.5)
    if _context(text, start, end, _NOT_PHONE_CONTEXT, 30):
        score -= 0.4
    elif score and cue():
        score = min(0.95, score + 0.3)
    return score


# --- credit card ------------------------------------------------------------------------------------------

# Not after a plus: "+675115857350" is an international phone number.
_CARD = lazy(r"(?<![\w\-.+])(?:\d[ \-]?){11,18}\d(?![\w]|[\-.]\d)")
_CARD_CONTEXT = ctx(
    r"(?i)\b(?:card|credit|debit|visa|master\s?card|amex|american express|discover|diners|jcb|maestro|cc|"
    r"payment|pay|charged?|expir\w*|cvv|pan|kreditkarte|tarjeta|carte|carta)\b"
)
# Issuer prefixes (IIN) and lengths of the networks in use; a Luhn-valid number outside them needs context.
_IIN = lazy(
    r"4\d{12}(?:\d{3}|\d{6})?"  # Visa 13/16/19
    r"|(?:5[1-5]\d{2}|222[1-9]|22[3-9]\d|2[3-6]\d{2}|27[01]\d|2720)\d{12}"  # Mastercard
    r"|3[47]\d{13}"  # American Express
    r"|(?:6011|65\d{2}|64[4-9]\d)\d{12,15}"  # Discover
    r"|35\d{14,17}"  # JCB (3528-3589 assigned; generators use all of 35xx)
    r"|(?:2131|1800)\d{11}"  # JCB 15
    r"|3(?:0[0-5]|[68]\d)\d{11,16}"  # Diners Club
    r"|(?:5[06-9]|6\d)\d{10,17}"  # Maestro, UnionPay and other 5x/6x schemes
    r"|0604\d{8,15}"  # Maestro UK's old range, still in generators' tables
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def find_cards(text: str) -> Iterator[Candidate]:
    if not _has_digit(text):
        return
    for m in _CARD.finditer(text):
        raw = m.group()
        digits = raw.replace(" ", "").replace("-", "")
        if not 12 <= len(digits) <= 19 or not luhn_ok(digits) or len(set(digits)) == 1:
            continue
        seps = {c for c in raw if not c.isdigit()}
        if len(seps) > 1:
            continue
        known = _IIN.fullmatch(digits) is not None
        score = 0.9 if known else 0.45
        if _context(text, m.start(), m.end(), _CARD_CONTEXT, 60, 20):
            score = min(0.98, score + 0.2)
        if score >= MIN_SCORE:
            yield Candidate("CREDIT_CARD", m.start(), m.end(), score, "pattern:credit_card")


# --- IBAN -------------------------------------------------------------------------------------------------

# Length of the IBAN per country (SWIFT IBAN registry, plus the countries that use it unofficially).
_IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    "AO": 25, "BF": 28, "BJ": 28, "CF": 27, "CG": 27, "CI": 28, "CM": 27, "CV": 25, "DZ": 26, "GA": 27,
    "GQ": 27, "GW": 25, "IR": 26, "KM": 27, "MA": 28, "MG": 27, "ML": 28, "MZ": 25, "NE": 28, "SN": 28,
    "TD": 27, "TG": 28,
}  # fmt: skip
# Country, check digits, then the rest in any grouping of spaces or dashes; trimmed to the country's length.
_IBAN = lazy(r"(?<![\w])([A-Za-z]{2})(\d{2})((?:[ \-]?[A-Za-z0-9]){10,32})")


def iban_ok(iban: str) -> bool:
    iban = iban.upper()
    if _IBAN_LENGTH.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    return _mod97(iban)


_IBAN_GROUPED = lazy(r"[A-Za-z0-9]{4}(?:[ \-][A-Za-z0-9]{4})*(?:[ \-][A-Za-z0-9]{1,3})?")


def find_ibans(text: str) -> Iterator[Candidate]:
    if not _has_digit(text):
        return
    # A search loop rather than finditer: a match runs on greedily past the IBAN's length, and the next IBAN
    # may start inside what it consumed.
    pos = 0
    while (m := _IBAN.search(text, pos)) is not None:
        pos = m.start() + 1
        found = _iban_at(text, m)
        if found is not None:
            yield found
            pos = found.end


def _iban_at(text: str, m: re.Match[str]) -> Candidate | None:
    country = m.group(1).upper()
    length = _IBAN_LENGTH.get(country)
    if length is None:
        return _iban_any_length(text, m)
    # Walk the characters until the country's length is reached, so that a following word is not taken.
    need = length - 4
    chars: list[str] = []
    end = m.start(3)
    for pos in range(m.start(3), m.end(3)):
        ch = text[pos]
        if ch.isalnum():
            chars.append(ch)
            end = pos + 1
            if len(chars) == need:
                break
    if len(chars) != need or (end < len(text) and text[end].isalnum()):
        return _iban_any_length(text, m)
    body = m.group(1) + "".join(chars)
    if not (body.upper() == body or body.lower() == body):
        return None  # mixed case is words, not an IBAN: "at 77 Massachusetts"
    raw = text[m.start() : end]
    if any(sep in raw for sep in " -") and not _IBAN_GROUPED.fullmatch(raw):
        return None  # written with separators, an IBAN is in groups of four
    if not iban_ok(country + m.group(2) + "".join(chars)):
        return _iban_any_length(text, m)
    # Above a card with a card word nearby: the digits of a grouped IBAN may hold a Luhn-valid run.
    return Candidate("IBAN", m.start(), end, 0.99, "pattern:iban")


# An IBAN-shaped run whose length is not its country's: written whole, or in groups of four.
_IBAN_SHAPE = lazy(
    r"[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|(?:[ \-][A-Za-z0-9]{4}){3,7}(?:[ \-][A-Za-z0-9]{1,3})?)(?![A-Za-z0-9])"
)


def _iban_any_length(text: str, m: re.Match[str]) -> Candidate | None:
    """An IBAN whose check digits hold though its length is not the registry's for the country (or the
    country has no IBAN): generators make these (Faker's generic provider writes a GB IBAN of 21), and a
    one-in-97 chance match on a run of letters and 11+ digits is rare enough for a guard."""
    shape = _IBAN_SHAPE.match(text, m.start())
    if shape is None:
        return None
    raw = shape.group()
    compact = raw.replace(" ", "").replace("-", "")
    if not (compact.upper() == compact or compact.lower() == compact) or sum(c.isdigit() for c in compact) < 12:
        return None
    # Grouped: the last group may be a word ("... 2198 4 on"), so shorter readings are tried too.
    while True:
        if len(compact) >= 15 and _mod97(compact):
            return Candidate("IBAN", m.start(), m.start() + len(raw), 0.9, "pattern:iban")
        cut = max(raw.rfind(" "), raw.rfind("-"))
        if cut <= 4:
            return None
        raw = raw[:cut]
        compact = raw.replace(" ", "").replace("-", "")


def _mod97(iban: str) -> bool:
    iban = iban.upper()
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# --- US SSN -----------------------------------------------------------------------------------------------

_SSN = lazy(r"(?<![\w\-./+])(\d{3})([ \-.]?)(\d{2})\2(\d{4})(?![\w]|[\-./]\d)")
_SSN_CONTEXT = ctx(r"(?i)\b(?:ssn|ss#|ss\s?no|social[\s_]+security|social[\s_]+sec|soc\.?\s*sec|ssa|tin|itin)\b")
# A 3-2-4 number said to be something else.
_NOT_SSN_CONTEXT = ctx(
    r"(?i)\b(?:order|invoice|ticket|case|ref|reference|tracking|part|model|sku|isbn|serial|item|article|"
    r"routing|account|acct|policy|claim|po)\b"
)


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """The SSA's structural rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def find_ssns(text: str) -> Iterator[Candidate]:
    if not _has_digit(text):
        return
    for m in _SSN.finditer(text):
        area, sep, group, serial = m.groups()
        if len(set(area + group + serial)) == 1:
            continue
        # A number the SSA would never issue (area 000, 666 or 9xx, group 00, serial 0000) is still written
        # as one in test data, typos and generated records; a guard redacts what is shaped and said to be an
        # SSN, a little less sure of it.
        issued = ssn_ok(area, group, serial)
        if _context(text, m.start(), m.end(), _SSN_CONTEXT, 60, 20):
            score = 0.95 if issued else 0.85
        elif not sep or _context(text, m.start(), m.end(), _NOT_SSN_CONTEXT, 30):
            # Nine bare digits are as often an order or account number; a number said to be one is one.
            continue
        else:
            # 3-2-4 is the SSN's own grouping; no phone plan or date is written that way, so without a cue
            # it is still reported, above an ungrouped phone guess (0.65) and below a phone with a phone word.
            score = 0.7 if issued else 0.68
        yield Candidate("SSN", m.start(), m.end(), score, "pattern:ssn")


# --- IP addresses -----------------------------------------------------------------------------------------

_IPV4 = lazy(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# Hex groups and colons (at least two colons), maybe an embedded IPv4 tail and a zone; ipaddress decides.
_IPV6_BODY = (
    r"(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.]+)?(?![\w:]|\.\d)"
)
# Hex groups and colons (at least two colons), maybe an embedded IPv4 tail and a zone; ipaddress decides.
_IPV6 = lazy(r"(?<![\w:.%])" + _IPV6_BODY)
# "Host:fe80::1", "IP:::1": an address right after a label's colon, the label a word that is not hex.
# Cheap test for the one above: a non-hex letter, a colon, then hex or a colon.
_LABEL_COLON = lazy(r"[g-zG-Z]:[0-9A-Fa-f:]")
_IPV6_AFTER_LABEL = lazy(r"(?<![\w:])[^\W\d_]*[g-zG-Z][^\W\d_]*:(" + _IPV6_BODY + ")")


def _unpadded(groups: list[str]) -> str:
    return ".".join(str(int(g)) for g in groups)


def find_ips(text: str) -> Iterator[Candidate]:
    if "." in text:
        for m in _IPV4.finditer(text):
            groups = m.group().split(".")
            # ipaddress refuses leading zeros ("192.168.001.010"), which logs and zero-padded exports write.
            if not all(int(g) <= 255 for g in groups):
                continue
            yield Candidate(
                "IP_ADDRESS", m.start(), m.end(), 0.9 if m.group() == _unpadded(groups) else 0.8, "pattern:ipv4"
            )
    if ":" in text:
        spans = [(m.start(), m.end()) for m in _IPV6.finditer(text)]
        if _LABEL_COLON.search(text) is not None:
            # "std::abs", "Self::Add": a path in code, not an address, unless it has a digit ("IP:::1").
            spans += [
                (m.start(1), m.end(1))
                for m in _IPV6_AFTER_LABEL.finditer(text)
                if not m.group(1).startswith("::") or any(c.isdigit() for c in m.group(1))
            ]
        for start, end in spans:
            value = text[start:end]
            if value.strip(":") == "":
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield Candidate("IP_ADDRESS", start, end, 0.9, "pattern:ipv6")


# --- dates of birth ---------------------------------------------------------------------------------------

_MONTHS = {
    # English, French, German, Spanish, Italian, Dutch, Portuguese, Nordic, Polish, Czech and Finnish (the
    # genitive or partitive of dates and the nominative), Romanian, Hungarian, Turkish
    **dict.fromkeys(["january", "jan", "janvier", "janv", "januar", "jän", "jänner", "enero", "ene", "gennaio",
                     "gen", "januari", "janeiro", "stycznia", "sty", "styczeń", "ledna", "leden", "tammikuuta",
                     "tammikuu", "ianuarie", "ian", "január", "ocak"], 1),
    **dict.fromkeys(["february", "feb", "février", "fevrier", "févr", "fév", "februar", "febrero", "febbraio",
                     "februari", "fevereiro", "fev", "lutego", "lut", "luty", "února", "únor", "helmikuuta",
                     "helmikuu", "februarie", "február", "şubat", "subat"], 2),
    **dict.fromkeys(["march", "mar", "mars", "märz", "marz", "mär", "marzo", "maart", "março", "marco",
                     "marts", "marca", "marzec", "března", "březen", "maaliskuuta", "maaliskuu", "martie",
                     "március", "mart"], 3),
    **dict.fromkeys(["april", "apr", "avril", "avr", "abril", "abr", "aprile", "kwietnia", "kwi", "kwiecień",
                     "dubna", "duben", "huhtikuuta", "huhtikuu", "aprilie", "április", "nisan"], 4),
    **dict.fromkeys(["may", "mai", "mayo", "maggio", "mag", "mei", "maio", "maj", "maja", "května", "květen",
                     "toukokuuta", "toukokuu", "május", "mayıs"], 5),
    **dict.fromkeys(["june", "jun", "juin", "juni", "junio", "giugno", "giu", "junho", "czerwca", "cze",
                     "czerwiec", "června", "červen", "kesäkuuta", "kesäkuu", "iunie", "június", "haziran"], 6),
    **dict.fromkeys(["july", "jul", "juillet", "juil", "juli", "julio", "luglio", "lug", "julho", "lipca",
                     "lip", "lipiec", "července", "červenec", "heinäkuuta", "heinäkuu", "iulie", "július",
                     "temmuz"], 7),
    **dict.fromkeys(["august", "aug", "août", "aout", "agosto", "ago", "augustus", "augusti", "sierpnia",
                     "sie", "sierpień", "srpna", "srpen", "elokuuta", "elokuu", "augusztus", "ağustos"], 8),
    **dict.fromkeys(["september", "sep", "sept", "septembre", "septiembre", "settembre", "set", "setembro",
                     "września", "wrz", "wrzesień", "září", "syyskuuta", "syyskuu", "septembrie",
                     "szeptember", "eylül"], 9),
    **dict.fromkeys(["october", "oct", "octobre", "oktober", "okt", "octubre", "ottobre", "ott", "outubro",
                     "out", "października", "paź", "październik", "října", "říjen", "lokakuuta", "lokakuu",
                     "octombrie", "október", "ekim"], 10),
    **dict.fromkeys(["november", "nov", "novembre", "noviembre", "novembro", "listopada", "lis", "listopad",
                     "listopadu", "marraskuuta", "marraskuu", "noiembrie", "kasım"], 11),
    **dict.fromkeys(["december", "dec", "décembre", "decembre", "déc", "dezember", "dez", "diciembre", "dic",
                     "dicembre", "dezembro", "grudnia", "gru", "grudzień", "prosince", "prosinec", "desember",
                     "joulukuuta", "joulukuu", "decembrie", "aralık"], 12),
}  # fmt: skip
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th|er|e|º|°)?"
_DATE = lazy(
    # Not inside a number or a word; Chinese and Japanese need no space before a number.
    rf"(?:(?<![\w/.\-])|(?<=[\u3040-\u9fff]))(?:"
    # 1985-03-12, 1985/03/12, 1985.03.12 (time after it is not part of the date)
    rf"(?P<iy>\d{{4}})(?P<is>[\-/.])(?P<im>\d{{1,2}})(?P=is)(?P<id>\d{{1,2}})"
    # 12/03/1985, 3-12-85, 12.03.1985
    rf"|(?P<na>\d{{1,2}})(?P<ns>[\-/.])(?P<nb>\d{{1,2}})(?P=ns)(?P<ny>\d{{4}}|\d{{2}})"
    # 15-Mar-1985, 15/Mar/85, 15.Mar.1985, 15 Mar 85
    rf"|(?P<xd>\d{{1,2}})(?P<xs>[\-/. ])(?P<xm>{_MONTH_RE})\.?(?P=xs)(?P<xy>\d{{4}}|\d{{2}})"
    # 12 March 1985, 12th of March, 1985, 12. März 1985, 12 de marzo de 1985
    rf"|(?P<td>\d{{1,2}}){_ORD}\.?\s+(?:of\s+|de\s+)?(?P<tm>{_MONTH_RE})\.?,?\s+(?:de\s+|del\s+)?(?P<ty>\d{{4}})"
    # March 12, 1985 / March 12th 1985
    # (any word here, looked up in _MONTHS after the match: an alternation of all month names tried at every
    # letter of a text is most of this pattern's cost)
    rf"|(?P<um>[^\W\d_]{{3,12}})\.?\s+(?P<ud>\d{{1,2}}){_ORD},?\s+(?P<uy>\d{{4}})"
    # 15MAR1985 as forms and medical records write it (the month looked up after the match)
    rf"|(?P<zd>\d{{1,2}})(?P<zm>[A-Za-z]{{3}})(?P<zy>\d{{4}}|\d{{2}})"
    # 1985年3月12日
    rf"|(?P<jy>\d{{4}})年(?P<jm>\d{{1,2}})月(?P<jd>\d{{1,2}})日"
    # 19850312: a date only by its digits, so a birth word has to say so (as for every date here)
    rf"|(?P<cy>(?:19|20)\d{{2}})(?P<cm>0[1-9]|1[0-2])(?P<cd>0[1-9]|[12]\d|3[01])"
    # A time may follow an ISO date directly: 1955-07-22T00:00:00Z.
    rf")(?:(?<=日)|(?<=\d)(?=T\d)|(?![\w]|[/.\-]\d))",
    re.IGNORECASE,
)
_DOB_CONTEXT = ctx(
    r"(?i)(?:\bborn\b|\bbirth|\bdob\b|\bd\.o\.b\b|\bb-?day\b|\bgeboren|\bgeburt|\bgeb\.|\bné\b|\bnée\b|\bnee\b|"
    r"\bnaissance|\banniversaire|\bnacid[oa]\b|\bnací\b|\bnacimiento|\bcumpleaños|\bnat[oa]\b|\bnascita|"
    r"\bcompleanno|\bgeboortedatum|\bverjaardag|\bnascimento|\bnascid[oa]\b|\bnasci\b|\bfödd\b|\bfödelse|"
    r"\bfødt\b|\bfødsel|\burodz|\bdata urodzenia|\bsyntym|\bsyntyn|\bnaroz|\bnarodil|\bnăscut|\bnaşter|"
    r"\bnașter|\bszület|\bdoğum|\bγέννη|\bрожд|\bродил|生年月日|誕生日|生まれ|出生|生日|\bnac\.)"
)
# Abbreviated birth labels, only right before the date: "b. 12/03/1985", "Ur.: 1985-03-12".
_DOB_LABEL = ctx(r"(?i)(?:\bb|\bur|\bnar|\bgeb|\bnée?)\.?[\"']?\s*[:=\-–]?\s*[\"']?\s*$")
# "born in 1985": a year alone is a date of birth only right after the word.
_BORN_YEAR = lazy(r"(?i)\bborn(?:\s+(?:in|on))?\s+((?:19|20)\d{2})\b")


def _date_ok(day: int, month: int, year: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31 and 1880 <= year <= 2100


def _year(raw: str) -> int:
    y = int(raw)
    if len(raw) == 2:
        y += 1900 if y > 30 else 2000
    return y


def find_dates(text: str) -> Iterator[tuple[int, int]]:
    """Spans of calendar dates, whatever their meaning."""
    for m in _DATE.finditer(text):
        g = m.groupdict()
        if g["iy"]:
            ok = _date_ok(int(g["id"]), int(g["im"]), int(g["iy"]))
        elif g["na"]:
            a, b, y = int(g["na"]), int(g["nb"]), _year(g["ny"])
            ok = _date_ok(a, b, y) or _date_ok(b, a, y)
        elif g["xd"]:
            ok = _date_ok(int(g["xd"]), _MONTHS[g["xm"].lower()], _year(g["xy"]))
        elif g["td"]:
            ok = _date_ok(int(g["td"]), _MONTHS[g["tm"].lower()], int(g["ty"]))
        elif g["um"]:
            month = _MONTHS.get(g["um"].lower())
            ok = month is not None and _date_ok(int(g["ud"]), month, int(g["uy"]))
        elif g["zd"]:
            month = _MONTHS.get(g["zm"].lower())
            ok = month is not None and _date_ok(int(g["zd"]), month, _year(g["zy"]))
        elif g["jy"]:
            ok = _date_ok(int(g["jd"]), int(g["jm"]), int(g["jy"]))
        else:
            ok = _date_ok(int(g["cd"]), int(g["cm"]), int(g["cy"]))
        if ok:
            yield m.start(), m.end()


def _column_says_birth(text: str, start: int) -> bool:
    """Whether the date sits in a delimited row under a header whose column is a birth date: a CSV export
    names the field once, rows below it can be far from that word."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    delimiter = next((d for d in "\t;|," if d in line), None)
    if delimiter is None or line_start == 0:
        return False
    column = text.count(delimiter, line_start, start)
    cells = line.count(delimiter)
    pos = line_start - 1
    for _ in range(50):
        prev_start = text.rfind("\n", 0, pos) + 1
        header = text[prev_start:pos]
        if header.count(delimiter) == cells and not any(c.isdigit() for c in header):
            label = header.split(delimiter)[column].strip().strip("\"'")
            return _DOB_CONTEXT.search(label) is not None or _DOB_LABEL.fullmatch(label) is not None
        if prev_start == 0:
            return False
        pos = prev_start - 1
    return False


def find_dobs(text: str) -> Iterator[Candidate]:
    if not _has_digit(text):
        return  # every date, and "born in 1985", has digits
    for start, end in find_dates(text):
        if text[start:end].isdigit():
            # 19850312 is also a count or an order number: only a birth word just before makes it a date.
            if (
                _context(text, start, end, _DOB_CONTEXT, 30)
                or _DOB_LABEL.search(text, max(0, start - 12), start)
                or ("\n" in text and _column_says_birth(text, start))
            ):
                yield Candidate("DATE_OF_BIRTH", start, end, 0.8, "pattern:date_of_birth")
        elif (
            _context(text, start, end, _DOB_CONTEXT, 60, 25)
            or _DOB_LABEL.search(text, max(0, start - 12), start)
            or ("\n" in text and _column_says_birth(text, start))
        ):
            # Above an address of the same score that a date with a month name can look like ("13 March 1962").
            yield Candidate("DATE_OF_BIRTH", start, end, 0.9, "pattern:date_of_birth")
    for m in _BORN_YEAR.finditer(text):
        yield Candidate("DATE_OF_BIRTH", m.start(1), m.end(1), 0.6, "pattern:date_of_birth")
