"""Person names in the shapes forms, greetings and directories give them, across scripts."""

from __future__ import annotations

import pytest

from keel.guard.pii import default_detector


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Thanks Cecilia!", "Cecilia"),
        ("Hi Rafał, your appointment is confirmed for Monday.", "Rafał"),
        ("Thanks Євген!", "Євген"),
        ('{"name": "Gaja Waszczyk", "plan": "gold"}', "Gaja Waszczyk"),
        ("name='Aniela Folta'&plan=gold", "Aniela Folta"),
        ("Klaja, Adrian - Senior Analyst", "Klaja, Adrian"),
        ("Cesaroni, Vittoria\nRoom 4.12", "Cesaroni, Vittoria"),
        ("Клавдія Бевзенко's order #48213 has shipped.", "Клавдія Бевзенко"),
        ("Özlü Seven's order #48213 has shipped.", "Özlü Seven"),
        ("Assign ticket 4411 to Леон Єрошенко.", "Леон Єрошенко"),
        ("Could Igor Pastuszek call me back?", "Igor Pastuszek"),
        ("Have you been to a Ravil G Yefimov concert before?", "Ravil G Yefimov"),
    ],
)
def test_a_name_is_found_in_its_usual_surroundings(text: str, name: str) -> None:
    start = text.index(name)
    found = [e for e in default_detector().detect(text) if e.type == "PERSON"]
    assert any(e.start <= start and start + len(name) <= e.end + 1 for e in found), found


def test_a_possessive_stays_outside_the_name() -> None:
    text = "How many square feet is Brittany's comforter?"
    (person,) = [e for e in default_detector().detect(text) if e.type == "PERSON"]
    assert text[person.start : person.end] == "Brittany"


@pytest.mark.parametrize(
    "text",
    [
        "| 11 | March 17, 2007 | @ New York Titans | Madison Square Garden |",
        "| Grace Christian School | PK | 20 |",
        "Los Angeles Rams won the game.",
    ],
)
def test_a_greeting_or_title_word_is_trimmed_but_a_place_keeps_its_first_word(text: str) -> None:
    found = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "PERSON"]
    assert not any(v in ("York Titans", "Christian School", "Angeles Rams") for v in found), found


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The form was signed by 松本 京助 (witness).", "松本 京助"),
        ("Passenger 李建军 is booked on flight LH 401.", "李建军"),
        ("Contact: 김민준", "김민준"),
        ("Signed by 王阳.", "王阳"),
    ],
)
def test_a_chinese_japanese_or_korean_name_in_other_text_is_found(text: str, name: str) -> None:
    start = text.index(name)
    found = [(e.start, e.end) for e in default_detector().detect(text) if e.type == "PERSON"]
    assert (start, start + len(name)) in found, found


@pytest.mark.parametrize("word", ["安全", "王国", "서울", "周末"])
def test_a_two_character_word_that_opens_with_a_family_name_is_not_a_name_without_a_cue(word: str) -> None:
    text = f"The word {word} appears on the sign."
    assert [e for e in default_detector().detect(text) if e.type == "PERSON"] == []
