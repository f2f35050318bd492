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
        # a particle after a listed first name
        ("Ik heet Sanne de Vries.", "Sanne de Vries"),
        # titles of other languages
        ("Madame Laurent a appelé ce matin.", "Laurent"),
        ("Pani Kowalska jest w biurze.", "Kowalska"),
        # closing words and the name on one line
        ("See you on Monday.\nThanks, Priyanka", "Priyanka"),
        ("Cheers, Priya Raman", "Priya Raman"),
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


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # Records and forms as tools print them: every value must be found, not just one of them.
        ('{"first_name": "Wiebke", "last_name": "Hartkopf", "plan": "gold"}', ["Wiebke", "Hartkopf"]),
        ('{"user": {"id": 7, "given_name": "Tiina", "family_name": "Rebane"}}', ["Tiina", "Rebane"]),
        ('{"first_name": "Ada", "last_name": "Little"}', ["Ada", "Little"]),
        ("last_name,first_name,plan\nHartkopf,Wiebke,gold", ["Hartkopf", "Wiebke"]),
        ("| Customer Name | Plan |\n|---|---|\n| Jorunn Bakke | gold |", ["Jorunn Bakke"]),
        ("SURNAME: KOWALCZYK\nGIVEN NAMES: ZOFIA\nNATIONALITY: ", ["KOWALCZYK", "ZOFIA"]),
        ("FULL NAME: ORHAN DEMIRCAN\nDATE: 12/03/2024", ["ORHAN DEMIRCAN"]),
        ("Reviewers: Sandvik, Oddrun; Halvorsen, Kjell", ["Sandvik, Oddrun", "Halvorsen, Kjell"]),
        ("Approved by T. Vähäkangas on 12 March.", ["T. Vähäkangas"]),
        ("From: Radomił Ziętek <rz@example.com>", ["Radomił Ziętek"]),
        ("Contact person: Ignác Fodor, tel. 555 0100", ["Ignác Fodor"]),
        ("Patient: Evangelos Mouratidis\nAge: 45", ["Evangelos Mouratidis"]),
        ("Account holder: Aytaç Güleryüz", ["Aytaç Güleryüz"]),
        ("Attn: Dipl.-Ing. Heinke Overbeck\nRe: invoice 2231", ["Heinke Overbeck"]),
        ("Thanks Oddbjørn!", ["Oddbjørn"]),
        ("Let me know if you need anything else.\n\n--\nMarit Haugland\nHead of Operations", ["Marit Haugland"]),
        ("Thanks,\n\nSeppo Rautiainen\nSenior Account Manager | Northwind Traders", ["Seppo Rautiainen"]),
        ("Oskari Lehtinen submitted the insurance claim yesterday.", ["Oskari Lehtinen"]),
        ("佐々木, 健 - Senior Analyst", ["佐々木, 健"]),
        ('{"last_name": "박", "first_name": "서연"}', ["박", "서연"]),
        ("Patient: 綾 小田桐\nAge: 45", ["綾 小田桐"]),
    ],
)
def test_every_name_of_a_record_or_a_form_is_found(text: str, names: list[str]) -> None:
    found = [e for e in default_detector().detect(text) if e.type == "PERSON"]
    for name in names:
        start = text.index(name)
        assert any(e.start < start + len(name) and start < e.end for e in found), (name, found)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks\nGitHub Actions",
        "Location: Paris, France",
        '{"name": "Gold", "price": 10}',
        "Hi Everyone, welcome to the call.",
        "User: Write Python Code\n",
        "SUBJECT: Payment Received|EMAIL_FROM: Upwork Notification <donotreply@upwork.com>|",
        "| Name | Flower colour |\n|---|---|\n| Cornish Spring | pink |",
    ],
)
def test_labels_and_senders_that_are_not_people(text: str) -> None:
    assert [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "PERSON"] == []


def test_a_name_the_model_runs_on_into_the_next_line_ends_at_the_line_break() -> None:
    text = "Henrike Vogt\nAnna-Seghers-Gasse 12\n1100 Wien"
    found = {(e.type, text[e.start : e.end]) for e in default_detector().detect(text)}
    assert ("PERSON", "Henrike Vogt") in found
    assert any(kind == "ADDRESS" and "Anna-Seghers-Gasse 12" in value for kind, value in found), found


def test_a_lowercase_introduction_names_its_speaker_and_call_me_back_names_nobody() -> None:
    text = "hi this is jake from the dentist office, call me back at 555 201 9987"
    people = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "PERSON"]
    assert people == ["jake"]
    text = "this is great from start to finish, meet me later at the cafe"
    assert not [e for e in default_detector().detect(text) if e.type == "PERSON"]


@pytest.mark.parametrize("text", ["Thanks, Everyone", "Love, Mom", "Thanks, Great work today", "Regards, Support"])
def test_closing_words_before_a_word_that_is_not_a_name(text: str) -> None:
    assert [e for e in default_detector().detect(text) if e.type == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # naming verbs
        ("They named her Ondine after a song.", "Ondine"),
        ("My great grandmother was called Zofia Brzezińska.", "Zofia Brzezińska"),
        ("My name is Teodor Quast but everyone calls me Teo", "Teo"),
        # a former member, a fan, an author before the kind of their work
        ("This track by ex-Clash Dunvegan was never released.", "Dunvegan"),
        ("She was a huge Yevgenia Orlova fan.", "Yevgenia Orlova"),
        ("Unlike the Tuvimsky novel, the film ends well.", "Tuvimsky"),
        # who said the quoted words, who spoke to whom
        ('"We will ship on Monday," says Okonkwo.', "Okonkwo"),
        ("You're late! said Ferrante to Mireille", "Ferrante"),
        # the owner of personal data, a role on an account, a name corrected
        ("As promised, here's Quillon's address: 12 Elm Street", "Quillon"),
        ("Please add Marisol Quintanar as a beneficiary to my policy.", "Marisol Quintanar"),
        ("My name is misspelled on the card, please change it to Ottoline Varga", "Ottoline Varga"),
        ("Follow up with Ardal Fenwick next week.", "Ardal Fenwick"),
        ("Why is Bertrando so stubborn?", "Bertrando"),
        ("A tribute to Orvar Lindqvist, who founded the club.", "Orvar Lindqvist"),
        ("Have you been to a Tamsin Oakhurst concert?", "Tamsin Oakhurst"),
        ("I think the reservation is under Ilvana Tesch.", "Ilvana Tesch"),
        ("Kazimiera Wolk will be speaking at the meetup.", "Kazimiera Wolk"),
        ("Anna had given Bogumiła her address last week.", "Bogumiła"),
        ("The club signed tennis player Oskari Vanhala last week.", "Oskari Vanhala"),
        ("She spent a year as the assistant to Ilse Brandvold.", "Ilse Brandvold"),
        ("What's your full name? Ingrid Solberg", "Ingrid Solberg"),
        ("Have you ever heard Tomasz Wrona sing?", "Tomasz Wrona"),
        # the addressee above an address
        ("Billing address: Ruprecht Almsvik\n    14 Harbour Lane\n    Bristol BS1 4RN", "Ruprecht Almsvik"),
        # someone spoken to
        ("Zdeňka, can you send me the report?", "Zdeňka"),
        ("Tobias, could you check the invoice?", "Tobias"),
        ("Don't forget the keys, Matthias!", "Matthias"),
    ],
)
def test_the_syntax_around_a_name_makes_it_one_whatever_the_model_calls_it(text: str, name: str) -> None:
    start = text.index(name)
    found = [e for e in default_detector().detect(text) if e.type == "PERSON"]
    assert any(e.start <= start and start + len(name) <= e.end for e in found), found


@pytest.mark.parametrize(
    "text",
    [
        "Honestly, can you explain this to me?",
        "Altogether, how many apples are left?",
        "I'm so jealous of your garden.",
        "Why is Python so slow on this loop?",
        "Come on, Everyone!",
        "See you tomorrow, Team!",
        "Quickly, can you pass the salt?",
    ],
)
def test_the_same_syntax_around_words_that_are_not_names(text: str) -> None:
    found = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "PERSON"]
    assert found == [], found


def test_a_firm_between_the_person_and_the_address_is_not_a_person() -> None:
    text = "Laura Brandt\nNordwind Logistics GmbH\n14 Harbour Lane\nBristol BS1 4RN"
    found = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "PERSON"]
    assert "Nordwind Logistics GmbH" not in found and "Laura Brandt" in found, found


def test_a_name_confirmed_on_its_line_is_that_name_again_on_it() -> None:
    text = "You could tell Bruna was a big Bruna Santori fan."
    found = [text[e.start : e.end] for e in default_detector().detect(text) if e.type == "PERSON"]
    assert found == ["Bruna", "Bruna Santori"], found
