"""Addresses in the forms of more countries: street types of the USPS and Australian standards, Indian house
numbers, street-type prefixes of Brazil, Portugal, Quebec and Italy, units before a line break."""

from __future__ import annotations

import pytest

from keel.guard.pii import default_detector


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("Address: 6 Christina Riverway", "Christina Riverway"),
        ("I moved to 48 Austin Turn last month.", "Austin Turn"),
        ('{"address": "Unit 29 53 Cook Round"}', "Cook Round"),
        ("Address: 472 Christopher Rapid", "Christopher Rapid"),
        ("She lives at Flat 3\nJean Locks with her dog.", "Jean Locks"),
        ("Please ship it to 307, Pall Chowk.", "Pall Chowk"),
        ("Address: H.No. 21\nMagar Chowk\nRajkot-904584", "Magar Chowk"),
        ("The office is located at 69, Subramaniam.", "Subramaniam"),
        ("Billing address - Favela Vasconcelos", "Favela Vasconcelos"),
        ("Address: Ladeira Olívia Viana", "Ladeira Olívia Viana"),
        ("I moved to Parque Maria Isis Cassiano last month.", "Parque Maria Isis Cassiano"),
        ("She lives at Incrocio Marissa, 36 with her dog.", "Incrocio Marissa"),
        ("Address: boulevard Margaud Fontaine", "Margaud Fontaine"),
        ("My address is 1834 montée Delisle, thanks.", "montée Delisle"),
        ("The office is located at Pšatska pot 9c.", "Pšatska pot"),
        ("Send the documents to Harakkamyllynbulevardi 8 by Friday.", "Harakkamyllynbulevardi"),
    ],
)
def test_an_address_is_found_in_the_form_its_country_writes_it(text: str, street: str) -> None:
    start = text.index(street)
    found = [e for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert any(e.start < start + len(street) and start < e.end for e in found), found


def test_a_name_run_on_into_the_unit_keeps_both_the_name_and_the_address() -> None:
    text = "Mrs. Barbara Yudina Apt. 675 62314 Mellemvej 32\nAalborg NO 9100"
    found = {(e.type, text[e.start : e.end]) for e in default_detector().detect(text)}
    assert ("PERSON", "Barbara Yudina") in found
    assert any(kind == "ADDRESS" and "Mellemvej 32" in value for kind, value in found)


@pytest.mark.parametrize(
    "text",
    [
        "The phone rang him 3 times before he answered.",
        "| 2008 | Billboard 2008 Year End Award |",
        "We are at the end, page 12.",
    ],
)
def test_english_words_that_are_also_street_types_are_not_addresses(text: str) -> None:
    assert [e for e in default_detector().detect(text) if e.type == "ADDRESS"] == []
