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
_PHONE = lazy(
    rf"(?<![\w+\-./#@:])"
    rf"(?P<num>(?:\+{_SP}?|\(\+?|\b00)?\d+(?:(?:{_SP}?[\-./]{_SP}?|{_SP}|{_SP}?\({_SP}?|{_SP}?\){_SP}?)\d+){{0,7}})"
    rf"(?:{_SP}?(?:x|ext\.?|extension|\#){_SP}?(?P<ext>\d{{1,6}}))?"
    rf"(?![\w@]|[\-./:]\d|:)"
)
_PHONE_CONTEXT = lazy(
    r"(?i)\b(?:phone|tel|telephone|mobile|mob|cell|cellphone|call|fax|contact|number|reach|whats?app|sms|text|"
    r"desk|office|home|work|hotline|ph|tlf|telefon|telefono|teléfono|téléphone|handy|móvil|movil|cellulare|"
    r"portable|numero|número|nummer|messages?|answer(?:ing)?|ring|dial)\b"
)
# Numbers that are said to be something else.
_NOT_PHONE_CONTEXT = lazy(
    r"(?i)\b(?:zip|postal|post\s?code|postcode|plz|cep|licen[cs]e|passport|account|acct|order|invoice|ticket|"
    r"case|ref|reference|iban|routing|sort\s?code|serial|isbn|ssn|social\s+security|id|tracking|policy|"
    r"member(?:ship)?|customer\s+(?:no|number|id)|card)\b"
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
    for m in _PHONE.finditer(text):
        num = m.group("num")
        if num.count("(") != num.count(")") or num.endswith("("):
            continue
        digits = sum(c.isdigit() for c in num)
        if not 7 <= digits <= 15:
            continue
        if _DATE_SHAPE.fullmatch(num) or _IPV4_SHAPE.fullmatch(num):
            continue
        seps = re.findall(r"\D+", num.strip("+("))
        if len(seps) == 1 and seps[0] in (".", ","):
            continue  # a decimal number: 60.2754583
        if len(seps) >= 2 and seps[-1] == "." and len(num) - num.rfind(".") == 3 and seps[-2] != ".":
            continue  # an amount: 11 055.00
        groups_digits = re.findall(r"\d+", num)
        if not num.startswith(("+", "(+", "00")) and any(len(g) < 2 for g in groups_digits[1:]):
            continue  # "7 13160 2 9": counts, not a phone number
        if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", num):
            continue  # 1.439.323 is a thousands-grouped number
        international = num.startswith(("+", "(+", "00"))
        grouped = not num.isdigit()
        # The trunk prefix written in brackets after a country code, "+41 (0)69 ...", is not dialled.
        cleaned = num.replace("(0)", "") if international else num
        if cleaned.startswith("00"):
            cleaned = "+" + cleaned[2:]
        valid, possible = _phone_valid(cleaned, international)
        if international:
            score = 0.95 if valid else 0.8 if possible else 0.0
        elif not possible:
            score = 0.0
        elif grouped:
            score = 0.65 if valid else 0.45
        else:
            # A bare run of digits is as likely an order or account number.
            score = 0.45 if valid and 10 <= digits <= 11 else 0.3
        groups = len(re.findall(r"\d+", num))
        if grouped and groups >= 3 and not international:
            # Three or more digit groups is how people write phone numbers, whatever the country's plan; but
            # pairs not starting with a trunk 0 are as often hex dumps or lists ("72-69-71-68").
            pairs = all(len(g) == 2 for g in groups_digits) and not num.startswith("0")
            score = max(score, 0.45 if pairs else 0.5)
        if _context(text, m.start(), m.end(), _NOT_PHONE_CONTEXT, 30):
            score -= 0.4
        elif score and _context(text, m.start(), m.end(), _PHONE_CONTEXT, 50, 20):
            score = min(0.95, score + 0.3)
        if score >= MIN_SCORE:
            yield Candidate("PHONE", m.start(), m.end(), score, "pattern:phone")


# --- credit card ------------------------------------------------------------------------------------------

_CARD = lazy(r"(?<![\w\-.])(?:\d[ \-]?){11,18}\d(?![\w]|[\-.]\d)")
_CARD_CONTEXT = lazy(
    r"(?i)\b(?:card|credit|debit|visa|master\s?card|amex|american express|discover|diners|jcb|maestro|cc|"
    r"payment|pay|charged?|expir\w*|cvv|pan|kreditkarte|tarjeta|carte|carta)\b"
)
# Issuer prefixes (IIN) and lengths of the networks in use; a Luhn-valid number outside them needs context.
_IIN = lazy(
    r"4\d{12}(?:\d{3}|\d{6})?"  # Visa 13/16/19
    r"|(?:5[1-5]\d{2}|222[1-9]|22[3-9]\d|2[3-6]\d{2}|27[01]\d|2720)\d{12}"  # Mastercard
    r"|3[47]\d{13}"  # American Express
    r"|(?:6011|65\d{2}|64[4-9]\d)\d{12,15}"  # Discover
    r"|35(?:2[89]|[3-8]\d)\d{12,15}"  # JCB
    r"|(?:2131|1800)\d{11}"  # JCB 15
    r"|3(?:0[0-5]|[68]\d)\d{11,16}"  # Diners Club
    r"|(?:5[06-9]|6\d)\d{10,17}"  # Maestro, UnionPay and other 5x/6x schemes
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
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


_IBAN_GROUPED = lazy(r"[A-Za-z0-9]{4}(?:[ \-][A-Za-z0-9]{4})*(?:[ \-][A-Za-z0-9]{1,3})?")


def find_ibans(text: str) -> Iterator[Candidate]:
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
        return None
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
        return None
    body = m.group(1) + "".join(chars)
    if not (body.upper() == body or body.lower() == body):
        return None  # mixed case is words, not an IBAN: "at 77 Massachusetts"
    raw = text[m.start() : end]
    if any(sep in raw for sep in " -") and not _IBAN_GROUPED.fullmatch(raw):
        return None  # written with separators, an IBAN is in groups of four
    if not iban_ok(country + m.group(2) + "".join(chars)):
        return None
    return Candidate("IBAN", m.start(), end, 0.95, "pattern:iban")


# --- US SSN -----------------------------------------------------------------------------------------------

_SSN = lazy(r"(?<![\w\-./+])(\d{3})([ \-.]?)(\d{2})\2(\d{4})(?![\w]|[\-./]\d)")
_SSN_CONTEXT = lazy(r"(?i)\b(?:ssn|ss#|ss\s?no|social\s+security|social\s+sec|soc\.?\s*sec|ssa|tin|itin)\b")


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """The SSA's structural rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def find_ssns(text: str) -> Iterator[Candidate]:
    for m in _SSN.finditer(text):
        area, sep, group, serial = m.groups()
        if not ssn_ok(area, group, serial) or len(set(area + group + serial)) == 1:
            continue
        context = _context(text, m.start(), m.end(), _SSN_CONTEXT, 60, 20)
        if sep == "-":
            score = 0.95 if context else 0.7
        elif context:
            score = 0.9
        else:
            # Nine bare digits or "123 45 6789" are as often something else.
            continue
        yield Candidate("SSN", m.start(), m.end(), score, "pattern:ssn")


# --- IP addresses -----------------------------------------------------------------------------------------

_IPV4 = lazy(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# Hex groups and colons (at least two colons), maybe an embedded IPv4 tail and a zone; ipaddress decides.
_IPV6 = lazy(
    r"(?<![\w:.%])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.]+)?(?![\w:]|\.\d)"
)


def find_ips(text: str) -> Iterator[Candidate]:
    if "." in text:
        for m in _IPV4.finditer(text):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            yield Candidate("IP_ADDRESS", m.start(), m.end(), 0.9, "pattern:ipv4")
    if ":" in text:
        for m in _IPV6.finditer(text):
            value = m.group()
            if value.strip(":") == "":
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield Candidate("IP_ADDRESS", m.start(), m.end(), 0.9, "pattern:ipv6")


# --- dates of birth ---------------------------------------------------------------------------------------

_MONTHS = {
    # English, French, German, Spanish, Italian, Dutch, Portuguese, Swedish/Danish/Norwegian, Polish (genitive)
    **dict.fromkeys(["january", "jan", "janvier", "janv", "januar", "jän", "jänner", "enero", "ene", "gennaio",
                     "gen", "januari", "janeiro", "stycznia", "sty"], 1),
    **dict.fromkeys(["february", "feb", "février", "fevrier", "févr", "fév", "februar", "febrero", "febbraio",
                     "februari", "fevereiro", "fev", "lutego", "lut"], 2),
    **dict.fromkeys(["march", "mar", "mars", "märz", "marz", "mär", "marzo", "maart", "março", "marco",
                     "marts", "mars", "marca"], 3),
    **dict.fromkeys(["april", "apr", "avril", "avr", "abril", "abr", "aprile", "kwietnia", "kwi"], 4),
    **dict.fromkeys(["may", "mai", "mayo", "maggio", "mag", "mei", "maio", "maj", "maja"], 5),
    **dict.fromkeys(["june", "jun", "juin", "juni", "junio", "giugno", "giu", "junho", "czerwca", "cze"], 6),
    **dict.fromkeys(["july", "jul", "juillet", "juil", "juli", "julio", "luglio", "lug", "julho", "lipca",
                     "lip"], 7),
    **dict.fromkeys(["august", "aug", "août", "aout", "agosto", "ago", "augustus", "augusti", "sierpnia",
                     "sie"], 8),
    **dict.fromkeys(["september", "sep", "sept", "septembre", "septiembre", "settembre", "set", "setembro",
                     "września", "wrz"], 9),
    **dict.fromkeys(["october", "oct", "octobre", "oktober", "okt", "octubre", "ottobre", "ott", "outubro",
                     "out", "oktober", "października", "paź"], 10),
    **dict.fromkeys(["november", "nov", "novembre", "noviembre", "novembro", "listopada", "lis"], 11),
    **dict.fromkeys(["december", "dec", "décembre", "decembre", "déc", "dezember", "dez", "diciembre", "dic",
                     "dicembre", "dezembro", "grudnia", "gru"], 12),
}  # fmt: skip
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th|er|e|º|°)?"
_DATE = lazy(
    rf"(?<![\w/.\-])(?:"
    # 1985-03-12, 1985/03/12, 1985.03.12 (time after it is not part of the date)
    rf"(?P<iy>\d{{4}})(?P<is>[\-/.])(?P<im>\d{{1,2}})(?P=is)(?P<id>\d{{1,2}})"
    # 12/03/1985, 3-12-85, 12.03.1985
    rf"|(?P<na>\d{{1,2}})(?P<ns>[\-/.])(?P<nb>\d{{1,2}})(?P=ns)(?P<ny>\d{{4}}|\d{{2}})"
    # 12 March 1985, 12th of March, 1985, 12. März 1985, 12 de marzo de 1985
    rf"|(?P<td>\d{{1,2}}){_ORD}\.?\s+(?:of\s+|de\s+)?(?P<tm>{_MONTH_RE})\.?,?\s+(?:de\s+|del\s+)?(?P<ty>\d{{4}})"
    # March 12, 1985 / March 12th 1985
    rf"|(?P<um>{_MONTH_RE})\.?\s+(?P<ud>\d{{1,2}}){_ORD},?\s+(?P<uy>\d{{4}})"
    rf")(?![\w]|[/.\-]\d)",
    re.IGNORECASE,
)
_DOB_CONTEXT = lazy(
    r"(?i)(?:\bborn\b|\bbirth|\bdob\b|\bd\.o\.b\b|\bb-?day\b|\bgeboren|\bgeburt|\bgeb\.|\bné\b|\bnée\b|\bnee\b|"
    r"\bnaissance|\banniversaire|\bnacid[oa]\b|\bnacimiento|\bcumpleaños|\bnat[oa]\b|\bnascita|\bcompleanno|"
    r"\bgeboortedatum|\bverjaardag|\bnascimento|\bnascid[oa]\b|\bfödd\b|\bfödelse|\bfødt\b|\bfødsel|"
    r"\burodzon|\bdata urodzenia|\bsyntym)"
)
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
        elif g["td"]:
            ok = _date_ok(int(g["td"]), _MONTHS[g["tm"].lower()], int(g["ty"]))
        else:
            ok = _date_ok(int(g["ud"]), _MONTHS[g["um"].lower()], int(g["uy"]))
        if ok:
            yield m.start(), m.end()


def find_dobs(text: str) -> Iterator[Candidate]:
    for start, end in find_dates(text):
        if _context(text, start, end, _DOB_CONTEXT, 60, 25):
            yield Candidate("DATE_OF_BIRTH", start, end, 0.85, "pattern:date_of_birth")
    for m in _BORN_YEAR.finditer(text):
        yield Candidate("DATE_OF_BIRTH", m.start(1), m.end(1), 0.6, "pattern:date_of_birth")
