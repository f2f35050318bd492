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
        ("Contact: Rahul Verma, Flat 402, Sunshine Apartments, MG Road, Bengaluru 560001", "Bengaluru 560001"),
        ("She lives at 2-14-7 Shibuya, Tokyo 150-0002.", "2-14-7 Shibuya"),
        ("Address: 3-12-1 Kudan-Minami, Chiyoda-ku, Tokyo 102-0074", "3-12-1 Kudan-Minami"),
        ("住所は東京都渋谷区道玄坂2-14-7です。", "東京都渋谷区道玄坂2-14-7"),
        ("Address: 平塚市 16-49-4", "平塚市 16-49-4"),
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
        # A year before a word with a street ending, an acronym ending like "u.", a table of counts.
        "In 1989 Steinberg wrote his first book.",
        "I would like to install a Nvidia GTX 3060 GPU. I have a 450W PSU.",
        "Denver\t600\nAtlanta\t400\nHouston\t500",
        "In 2010, 11,078 homicides were reported in the U.S. In 2010, 358 murders involved a rifle.",
        "I am migrating from MacOS Mojave running Safari 14 to a new Mac.",
        "She lives at home with 2 dogs.",
        # Japanese block numbers need something Japanese; a date after a Chinese city is a date.
        "Version 1-2-3 Alpha, Beta releases are out.",
        "北京市 2020-12-01 的会议",
    ],
)
def test_english_words_that_are_also_street_types_are_not_addresses(text: str) -> None:
    assert [e for e in default_detector().detect(text) if e.type == "ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "street"),
    [
        # House number first, as generated data and international forms write European streets.
        ("She lives at 48 Gamle Kongevej with her dog.", "Gamle Kongevej"),
        ("Please ship it to 17 Kapelstraat.", "Kapelstraat"),
        ("Address: 14 Pärnu maantee", "Pärnu maantee"),
        ("My address is 12 Solbergåsen, thanks.", "Solbergåsen"),
        ("Ship to:\nOla Nordmann\n8 Bjørkelia\n0573 Oslo\n", "Bjørkelia"),
        ("I moved to 22 Cour Du Marché last month.", "Cour Du Marché"),
        ("Send the documents to 45 Cypress Bayou by Friday.", "Cypress Bayou"),
        # Street fields of records, and Turkish, Czech and Mexican street names.
        ('{"street": "Atatürk Caddesi 41", "city": "Izmir"}', "Atatürk Caddesi"),
        ('{"street": "Na Výsluní 12", "postcode": "110 00", "city": "Praha"}', "Na Výsluní"),
        ("Please ship it to Villas de la Loma 504.", "Villas de la Loma"),
        ("She lives at Pod lipami 9 with her dog.", "Pod lipami"),
        # A street without a number or a street word, known by the postal code and town after it.
        ("Élise Garnier\nrue des Tanneurs\n67000 Strasbourg", "rue des Tanneurs"),
        ("Ioana Pop\nAleea Rozelor\nCluj-Napoca, 400001", "Aleea Rozelor"),
        ("Νίκος Παππάς\nΕρμού 12,\nΤΚ 105 63 Αθήνα", "Ερμού 12"),
        ("Bill to: Jaana Virtanen, 12 Koivukuja, 00100 Helsinki", "Koivukuja"),
        ("Bill to: Mary Hale, 878 Kathleen Break, Nguyenhaven, QLD, 2878", "Kathleen Break"),
        # German streets named after people, with an abbreviation or a conjunction in the name.
        ("Lieferadresse:\nSt.-Georg-Platz 3\n", "St.-Georg-Platz 3"),
        ("Adresse: Hans-und-Sophie-Scholl-Platz 1", "Hans-und-Sophie-Scholl-Platz 1"),
        ("Ship to:\nKerstin Brandt\nKarl-Heine-Promenade 12\n04229 Leipzig\n", "Karl-Heine-Promenade 12"),
        ("What is your address? it is USNV Harmon\nFPO AA 34002", "USNV Harmon"),
    ],
)
def test_more_street_forms_are_found(text: str, street: str) -> None:
    start = text.index(street)
    found = [e for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert any(e.start < start + len(street) and start < e.end for e in found), found


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Address: Nørregade 12\nDK-1165 København", "DK-1165"),
        ('{"address": "12 Maple Drive\nOakville ON L6H 2K4"}', "L6H 2K4"),
        ("Henrike Vogt\nAnna-Seghers-Gasse 12\n1203 Saalfelden am Steinernen Meer", "Steinernen Meer"),
        ("I moved to Hammersteinstraße 14\n50596 Brilon last month.", "50596 Brilon"),
        ("Gelin Sokağı 12, 21269 Bolu/Niğde", "Bolu/Niğde"),
        ("Incrocio Roberto, 14\n00182, Roma (RM)", "Roma (RM)"),
    ],
)
def test_the_postal_code_and_town_line_belongs_to_the_address(text: str, rest: str) -> None:
    values = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert any(rest in v for v in values), values


@pytest.mark.parametrize(
    "text",
    [
        "Calle Mayor 15, 3º B, 28013 Madrid",
        "Calle de Alcalá 42, 2º izq., 28014 Madrid",
        "Rua Augusta 100, 3º Dto, 1100-053 Lisboa",
    ],
)
def test_the_floor_and_door_of_spain_and_portugal_stay_inside_the_address(text: str) -> None:
    assert [(e.type, e.start, e.end) for e in default_detector().detect(text)] == [("ADDRESS", 0, len(text))]


@pytest.mark.parametrize("text", ["The temperature was 3º C today.", "It ranked 1º in the league."])
def test_an_ordinal_or_a_degree_alone_is_not_a_unit(text: str) -> None:
    assert [e for e in default_detector().detect(text) if e.type == "ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "street"),
    [
        # A side or end of the street between the cue and the street.
        ("My aunt lives on the south side of Kaevu 12.", "Kaevu 12"),
        ("They live at the far end of Brandlova 7.", "Brandlova 7"),
        # A building number between the cue and the street's own number.
        ("Our office is located at 4410 18 N. Ermou, Nicosia", "18 N. Ermou"),
        ("Kenji lives at 5521 41 Makariou str, Paphos", "41 Makariou str"),
        # A street and a number with no cue, then an apartment on the next line (quoted or not).
        ("> 221 Dromolaxia\n> Apt. 14\n> Larnaca", "221 Dromolaxia"),
        # The street type written in lowercase after the number.
        ("The song is about Karjamaa 14 street in Tallinn.", "Karjamaa 14"),
        # Greek squares and avenues as a street-type prefix, after a building number.
        ("The bakery is at 512 πλατεία Ελευθερίας 3", "πλατεία Ελευθερίας 3"),
        # A Czech street opened by a one-letter preposition.
        ("Meet me at V Olšinách 12", "V Olšinách 12"),
    ],
)
def test_a_street_line_is_found_after_a_looser_cue(text: str, street: str) -> None:
    start = text.index(street)
    found = [e for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert any(e.start < start + len(street) and start < e.end for e in found), found


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("I'll meet you at Petra and Husova 18 after work.", "Petra and Husova 18"),
        ("Where is it? I need the address. It's at Mira and Dlouhá 31", "Mira and Dlouhá 31"),
        ("Jana Novak\nAcme s.r.o.\nOta and Palackého 207\nMobile: +420 601 123 456\n", "Ota and Palackého 207"),
    ],
)
def test_an_intersection_whose_first_street_is_one_name_is_one_address(text: str, whole: str) -> None:
    values = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert whole in values, values


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Nikos\n| 615 Benedum Drive\n| Suite 787\n| Netherlands 25882", "Netherlands 25882"),
        ("Nikos\n- 615 Benedum Drive\n- Suite 787\n- Netherlands 25882", "Suite 787"),
        ("Nikos\n>> 615 Benedum Drive\n>> Apt. 4\n>> Leiden", "Leiden"),
        ("Nikos\n\n18 Ηλίου 64\n Suite 7\n ΛΑΡΝΑΚΑ\n Cyprus (Greek) 17210", "17210"),
    ],
)
def test_continuation_lines_with_a_quote_or_bullet_prefix_belong_to_the_address(text: str, rest: str) -> None:
    values = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert any(rest in v for v in values), values


@pytest.mark.parametrize(
    "text",
    [
        # A name and a number after "address" that is not an intersection; a pair of names on a signature line
        # that is a project, not a street; a street type that goes on into a noun.
        "Did you get my new address? Also, I finally watched Rocky 4.",
        "Please update the billing address. My plan is Premium 12.",
        "Anna Berg\nProduct lead\nProject Phoenix 2\nMobile: +46 70 123 45 67",
        "The memo refers to Apollo 11 street parties in Houston.",
        "Tom and Jerry 2 is out now.",
        "He stood on the north side of the river for 20 minutes.",
        "Version V Beta 2 is out.",
        # "str" is a street only after a house number and a name, and where the address goes on or a cue precedes.
        "The buffer holds str 12 and int 4 values.",
        "I cast 3 Python str values.",
    ],
)
def test_look_alikes_of_the_looser_cues_are_not_addresses(text: str) -> None:
    assert [e for e in default_detector().detect(text) if e.type == "ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        # The past tenses and the other verbs that announce where something goes or went.
        ("I'd like it to be sent to André and Hafnarstraeti 7", "André and Hafnarstraeti 7"),
        (
            "The letter arrived at Dolcelino and Ventanilla de Beas 33 last night.",
            "Dolcelino and Ventanilla de Beas 33",
        ),
        ("I once lived in Augustyn and Käbbatorp Locketorp 9. Now I rent.", "Augustyn and Käbbatorp Locketorp 9"),
        ("Please update the billing address with Pryor and Aia 16 for this card.", "Pryor and Aia 16"),
        ("May I have the statement sent to Alexis and Άγιος Γεώργιος 4?", "Alexis and Άγιος Γεώργιος 4"),
        # The answer to a question about where to send something, after the speaker's label.
        (
            "Bot: Where would you like this to be sent to? User: Robi and Illoqarfiup Qeppa 260",
            "Robi and Illoqarfiup Qeppa 260",
        ),
        # A German street opening on a preposition and an article.
        ("I'd like it to be sent to Silvana and An der Schillingbrucke 10", "Silvana and An der Schillingbrucke 10"),
        ("Gregory had given Heli his address: 985 An Der Schütt 54", "985 An Der Schütt 54"),
    ],
)
def test_a_cue_in_the_past_tense_or_a_question_announces_an_intersection(text: str, whole: str) -> None:
    values = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert whole in values, values


@pytest.mark.parametrize(
    ("text", "part"),
    [
        # Hungarian street types written in lowercase after the name.
        ("Billing address: Jan Jílek\n    67527 Bem rakpart 79. Apt. 356\n   Vitka", "Bem rakpart 79"),
        ("Our old flat, Kossuth sétány 3, had a view.", "Kossuth sétány 3"),
        ("Our old flat, Városligeti fasor 12, had a view.", "Városligeti fasor 12"),
        # A town line with its district after a slash, then the country and postal code.
        ("Jan Martinez\n\n72941 ul. Reja Mikołaja 44\n Apt. 942\n Warszawa/Wesoła\n Poland 02075", "Poland 02075"),
        # A Dutch street holding "'s-" before a place name, with or without the apostrophe.
        ("It went to 57347 Storm van 's-Gravesandeweg 123 Apt. 823 Wassenaar", "Storm van 's-Gravesandeweg 123"),
        (">Bekbolat Musliyevich\n>62696 s-Gravendamseweg 15\n>Apt. 484\n>Noordwijkerhout", "s-Gravendamseweg 15"),
        # A bare "str" after a house number and a name when an apartment line follows.
        ("> Homer Walker\n> 506 159 Eleftheriou Venizelou str\n> Suite 922\n> Ormideia", "Eleftheriou Venizelou str"),
        # A house number and a name, then an apartment on the same line.
        ("Bank of Cyprus Holdings PLC\n\n0739 86 Pavlou Drandaki Apt. 398 Lemona Paphos", "Pavlou Drandaki Apt. 398"),
        # Greek highway kilometres and the abbreviated avenue.
        ("The bus station is on χλμ Αλεξανδρούπολης 10", "χλμ Αλεξανδρούπολης 10"),
        ("Here they are: Frici and Λ. Αλκυονίδων 183, and more.", "Λ. Αλκυονίδων 183"),
    ],
)
def test_street_types_and_town_lines_of_more_countries_are_found(text: str, part: str) -> None:
    values = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "ADDRESS"]
    assert any(part in v for v in values), values


@pytest.mark.parametrize(
    "text",
    [
        # After the new cues, a count of time or things is not a house number, nor a place in an airport.
        "I lived in London 5 years ago.",
        "The report was sent to Finance 2 days ago.",
        "I sent the file to Anna and Mark 2 hours ago.",
        "Living in Berlin 3 months changed me.",
        "We arrived at Terminal 5 early.",
        "He arrived at Chapter 3 of the book.",
        # A preposition and an article in German prose, and an answer to a question that asked for no address.
        "In der Tabelle 3 sehen wir die Werte.",
        "Where is it? Me: Rocky 4 was fine, thanks.",
        # A count, then a name and a hotel's suite or a product's unit, is no house number and apartment.
        "We booked 2 Hilton Suite 5 nights.",
        "We booked 2 Hilton Apartment 5 nights.",
        "I bought 3 Apple Watch Unit 5 chargers.",
    ],
)
def test_look_alikes_of_the_past_tense_cues_are_not_addresses(text: str) -> None:
    assert [e for e in default_detector().detect(text) if e.type == "ADDRESS"] == []
