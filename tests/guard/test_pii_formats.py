"""keel.guard.pii's structured types in the formats of many locales and generators, and the recall of the
generalisation check (scripts/pii_locales.py) at a fixed seed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from keel.guard.pii import PiiDetector

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pii_locales.py"


@pytest.fixture(scope="module")
def patterns() -> PiiDetector:
    return PiiDetector(ner=False)


def spans(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in detector.detect(text)]


def check(detector: PiiDetector, text: str, kind: str, value: str | None) -> None:
    got = spans(detector, text)
    if value is None:
        assert [v for t, v in got if t == kind] == [], got
    else:
        assert (kind, value) in got, got


@pytest.mark.parametrize(
    "text, value",
    [
        ("Tel:+49 (0)30 1234567", "+49 (0)30 1234567"),
        ("Call 0044 20 7946 0958 now", "0044 20 7946 0958"),
        ("Téléphone (+33) 1 23 45 67 89", "(+33) 1 23 45 67 89"),
        ("Tokyo office +81-3-1234-5678", "+81-3-1234-5678"),
        ("Telefon 030/1234567", "030/1234567"),
        ("portable 06 12 34 56 78", "06 12 34 56 78"),
        ("+1.555.555.5555", "+1.555.555.5555"),
        ("reach me at 555.555.5555 x123", "555.555.5555 x123"),
        # The bracket opens an aside, it is not an area code.
        ("Jason (+47-21-28-27-78) asked for an update", "+47-21-28-27-78"),
        ("Ph.:+4930164470", "+4930164470"),
        ('{"contact_number": "+98611512950"}', "+98611512950"),
        ("Mirte Molenaar\t(085)-0796732\tVreeland", "(085)-0796732"),
        ("Puh.: 0791344459", "0791344459"),
        ("Cellulare: 0712.178418", "0712.178418"),
        # A phone label right before the number: a phone number even where no region's plan knows it.
        ("Mobile: 033 1 274", "033 1 274"),
        ('"handy":"00592 52707",', "00592 52707"),
        ("Tél. (06 1) 236 7914", "(06 1) 236 7914"),
        ("{'tel.': '00 424 13 75', 'id': 4411}", "00 424 13 75"),
        ("please update my details: Handy 00766845621", "00766845621"),
        ("Ph. (06 1) 234 5555 x778", "(06 1) 234 5555 x778"),
        # mimesis writes Kazakh, Ukrainian and Estonian numbers with a dash before the bracket.
        ("Tel +7-(702)-401-73-76", "+7-(702)-401-73-76"),
        ('{"phone": "+380-(93)-816-32-58"}', "+380-(93)-816-32-58"),
        ("call me on 372-8-7063-2399 tomorrow", "372-8-7063-2399"),
        ("Contact: 005648862", "005648862"),
        ("Jane Doe, (07871) 1583611, Berlin", "(07871) 1583611"),
        # The last group is not the house number of the next column's town.
        ("Kevin Richardson\t+1 (420) 473-5827\tNorth Michaelberg", "+1 (420) 473-5827"),
        # Six digits in pairs, as Greenland and the Faroe Islands dial, where a phone word says so.
        ("Mobile: 66 28 45", "66 28 45"),
        ("Please call me at 94 25 77 tomorrow.", "94 25 77"),
        ("35 88 32 office", "35 88 32"),
    ],
)
def test_phone_formats(patterns: PiiDetector, text: str, value: str) -> None:
    check(patterns, text, "PHONE", value)


@pytest.mark.parametrize(
    "text",
    [
        "at 12:30:45 today",
        "It costs 1.439.323 in total.",
        "The ratio is 60.2754583.",
        "Server 10.0.0.12 is up",
        "The lottery numbers were 12 34 56 this week.",
        "Call about ticket 12 34 56.",
    ],
)
def test_not_phone(patterns: PiiDetector, text: str) -> None:
    check(patterns, text, "PHONE", None)


def test_digits_of_an_iban_are_not_a_phone_number(patterns: PiiDetector) -> None:
    # Faker's generic provider writes 21-character GB IBANs; "0077 6167 9409 7" alone dials Kazakhstan.
    assert spans(patterns, "Noted: GB80 YHRS 0077 6167 9409 7") == [("IBAN", "GB80 YHRS 0077 6167 9409 7")]


def test_a_surname_with_a_street_ending_before_a_column_is_not_an_address(patterns: PiiDetector) -> None:
    assert spans(patterns, "Eva Moberg\t298 86 4962\tUppsala") == [("SSN", "298 86 4962")]
    assert spans(patterns, "Hauptstraße 5, 10115 Berlin") == [("ADDRESS", "Hauptstraße 5, 10115 Berlin")]


@pytest.mark.parametrize(
    "text, value",
    [
        ("iban gb82-west-1234-5698-7654-32", "gb82-west-1234-5698-7654-32"),
        ("Konto: AT61 1904 3002 3457 3201.", "AT61 1904 3002 3457 3201"),
        ("nl91abna0417164300 is mine", "nl91abna0417164300"),
        # Faker's generic provider: check digits right, one character short for GB.
        ("Account GB46HQQH1701073750431", "GB46HQQH1701073750431"),
        ("Bank account gb89 kkya 1720 6616 8222 9 thanks", "gb89 kkya 1720 6616 8222 9"),
    ],
)
def test_iban_formats(patterns: PiiDetector, text: str, value: str) -> None:
    check(patterns, text, "IBAN", value)


@pytest.mark.parametrize("text", ["Account GB47HQQH1701073750431", "token ab12cdef0123456789 here"])
def test_not_iban_when_the_check_digits_fail(patterns: PiiDetector, text: str) -> None:
    check(patterns, text, "IBAN", None)


@pytest.mark.parametrize(
    "text, value",
    [
        ("078-05-1120 was on the form", "078-05-1120"),
        ("it says 078 05 1120 here", "078 05 1120"),
        ('{"social_security_number": "078.05.1120"}', "078.05.1120"),
        ("ss#: 078051120", "078051120"),
        ("Here is the social security number you asked for - 549.22.3924.", "549.22.3924"),
    ],
)
def test_ssn_formats(patterns: PiiDetector, text: str, value: str) -> None:
    check(patterns, text, "SSN", value)


@pytest.mark.parametrize("text", ["Order 078-05-1120 shipped", "Reference 078051120", "tracking: 078 05 1120"])
def test_not_ssn_when_said_to_be_something_else(patterns: PiiDetector, text: str) -> None:
    check(patterns, text, "SSN", None)


def test_grouped_ssn_with_a_phone_word_is_a_phone(patterns: PiiDetector) -> None:
    assert spans(patterns, "Call me at 401 45 4855") == [("PHONE", "401 45 4855")]


@pytest.mark.parametrize(
    "text, value",
    [
        ("Host:fe80::1%eth0", "fe80::1%eth0"),
        ("IP:::1", "::1"),
        ("Client IP:1a57:eed9:5b26:3b67:ea88:b42b:f4b7:230b", "1a57:eed9:5b26:3b67:ea88:b42b:f4b7:230b"),
        ("http://[2001:db8::1]:8080/", "2001:db8::1"),
        ("from 2001:DB8::1 today", "2001:DB8::1"),
        ("10.0.0.1:8080 refused", "10.0.0.1"),
        ("route 192.168.0.0/24", "192.168.0.0"),
        ("Visited from 192.168.001.010 yesterday", "192.168.001.010"),
        ("v6 net 2001:db8:ab::/48", "2001:db8:ab::"),
        ("mapped ::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("nat64 64:ff9b::192.0.2.33", "64:ff9b::192.0.2.33"),
    ],
)
def test_ip_formats(patterns: PiiDetector, text: str, value: str) -> None:
    check(patterns, text, "IP_ADDRESS", value)


@pytest.mark.parametrize("text", ["use std::abs here", "Self::Add for u8", "ratio 3:2:1", "at 12:30:45"])
def test_not_ip(patterns: PiiDetector, text: str) -> None:
    check(patterns, text, "IP_ADDRESS", None)


@pytest.mark.parametrize(
    "text, value",
    [
        ("DOB: 1/8/1997", "1/8/1997"),
        ("born 03.15.1985", "03.15.1985"),
        ("date of birth: 12th September 1990", "12th September 1990"),
        ("Geburtsdatum: 15.03.1985", "15.03.1985"),
        ("né le 3 mars 1985", "3 mars 1985"),
        ("fecha de nacimiento 03/15/85", "03/15/85"),
        ("born March 3rd, 1985", "March 3rd, 1985"),
        ("birthdate 1985-03-15", "1985-03-15"),
        ("D.O.B 15-Mar-1985", "15-Mar-1985"),
        ("D.O.B:09-Jan-68", "09-Jan-68"),
        ("b. 12/03/1985", "12/03/1985"),
        ("Ur.: 12/28/2020", "12/28/2020"),
        ('{"date_of_birth": "15 Apr 1935"}', "15 Apr 1935"),
        ("{'b.': '12-08-1987'}", "12-08-1987"),
        ("Patient DOB 15MAR1985", "15MAR1985"),
        ("fecha nac.: 15/03/1985", "15/03/1985"),
        ("生日：1985年3月15日", "1985年3月15日"),
        ("出生日期: 1985-03-15", "1985-03-15"),
        ("生年月日: 1985年3月15日", "1985年3月15日"),
        ("生年月日は1985年3月15日生まれ", "1985年3月15日"),
        ("Datum narození: 7. května 1966", "7. května 1966"),
        ("olen syntynyt 17. syyskuuta 1969", "17. syyskuuta 1969"),
        ("Doğum tarihi: 15 mart 1985", "15 mart 1985"),
        ("data nașterii: 15 martie 1985", "15 martie 1985"),
        ("Enzo, nasci em 11. março 1990.", "11. março 1990"),
        ("DOB: 1955-07-22T00:00:00.000Z", "1955-07-22"),
        ("Date of birth: 19850315", "19850315"),
    ],
)
def test_date_of_birth_formats(patterns: PiiDetector, text: str, value: str) -> None:
    check(patterns, text, "DATE_OF_BIRTH", value)


def test_date_of_birth_by_its_column_header(patterns: PiiDetector) -> None:
    rows = "\n".join(f"Person {i};0{i}/02/1990;City {i}" for i in range(1, 9))
    text = "name;birth date;city\n" + rows
    assert [v for t, v in spans(patterns, text) if t == "DATE_OF_BIRTH"] == [f"0{i}/02/1990" for i in range(1, 9)]
    # The same rows under another header are just dates.
    check(patterns, "name;joined;city\n" + rows, "DATE_OF_BIRTH", None)


@pytest.mark.parametrize(
    "text",
    [
        "Invoice date: 15-Mar-2024",
        "Meeting on 2024年3月15日",
        "see section b. below",
        "Order 19850315 shipped to the born-again store",
    ],
)
def test_dates_that_are_not_birth_dates(patterns: PiiDetector, text: str) -> None:
    check(patterns, text, "DATE_OF_BIRTH", None)


@pytest.mark.parametrize(
    "text, value",
    [("card 3510 4307 2207 5062", "3510 4307 2207 5062"), ("Maestro 060440287229", "060440287229")],
)
def test_card_ranges_of_generators(patterns: PiiDetector, text: str, value: str) -> None:
    check(patterns, text, "CREDIT_CARD", value)


# --- the generalisation check ------------------------------------------------------------------------------


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pii_locales", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# Measured at n=1200 for seeds 1-5 (seed 5 below): PHONE 0.953-0.984 (its misses are bare digit runs with no
# cue, "65853697"), DATE_OF_BIRTH 0.994-1.0, every other type 1.0. The floors leave a miss or two of slack.
_FLOORS = {
    "EMAIL": 1.0,
    "CREDIT_CARD": 1.0,
    "IBAN": 1.0,
    "IP_ADDRESS": 1.0,
    "SSN": 1.0,
    "DATE_OF_BIRTH": 0.99,
    "PHONE": 0.94,
}


def test_generated_locales_and_formats_recall(patterns: PiiDetector) -> None:
    script = _load_script()
    records = script.generate(1200, 5)
    assert records == script.generate(1200, 5), "the generator is deterministic for a seed"
    # SSNs that break the SSA's rules are not reported (test_pii.py::test_ssn); they are measured, not gated.
    scored = [r for r in records if not r.family.startswith("ssa_invalid")]
    report = script.evaluate(scored, patterns)
    recall = report["recall"]["type"]
    assert set(recall) == set(_FLOORS)
    low = {t: r for t, r in recall.items() if r < _FLOORS[t]}
    assert not low, (low, report["misses"][:10])
    assert all(p >= 0.9 for p in report["precision"].values()), report["precision"]


@pytest.mark.parametrize(
    "text, value",
    [
        # After a label, any ID-shaped number of another country is the SSN's equivalent.
        ("National Insurance number: ZZ 60 05 52 T", "ZZ 60 05 52 T"),
        ("SIN: 278 018 460", "278 018 460"),
        ("Personnummer 961113-5824", "961113-5824"),
        ('{"ssn": "77082414171"}', "77082414171"),
        ("My social security number is 2836096709.", "2836096709"),
        ("CPF: 187.244.670-14", "187.244.670-14"),
        ("身份证号码：500223198911190926", "500223198911190926"),
        ("Numéro de sécurité sociale : 172023201312126", "172023201312126"),
        # Without one, only shapes whose check digits nothing else has.
        ("Please file this under BCCFRC15M25E852P today.", "BCCFRC15M25E852P"),
        ("Ref 756.2140.3579.85 attached", "756.2140.3579.85"),
        ("henkilö 201002A584A", "201002A584A"),
        ("Client: AB 12 34 56 C", "AB 12 34 56 C"),
    ],
)
def test_national_ids_of_other_countries(patterns: PiiDetector, text: str, value: str) -> None:
    check(patterns, text, "SSN", value)


@pytest.mark.parametrize(
    "text",
    [
        "Order 77082414171 ships today.",  # a valid PESEL without a label is as likely an order number
        "Call 278 018 460 after six.",
        "Part ZZ 60 05 52 T is back in stock.",  # not issued (ZZ ... T) and no label
    ],
)
def test_national_id_shapes_without_a_label_or_a_distinct_check(patterns: PiiDetector, text: str) -> None:
    check(patterns, text, "SSN", None)


def test_a_number_said_to_be_an_ssn_a_little_earlier(patterns: PiiDetector) -> None:
    text = "Here is the social security number you asked for - 12020381807."
    assert spans(patterns, text) == [("SSN", "12020381807")]
    # Only the first number after the word: the IP address after an SSN stays an IP address.
    text = "refund for SSN 123-45-6789 from 203.0.113.7"
    assert spans(patterns, text) == [("SSN", "123-45-6789"), ("IP_ADDRESS", "203.0.113.7")]
