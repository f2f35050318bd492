"""Names and addresses in sentences of other languages, and no names made up from their ordinary words.

Written for this test; `scripts/pii_names_addresses.py --native` measures the same on Faker's names and
addresses in German, French, Spanish, Italian, Dutch and Portuguese sentences.
"""

from __future__ import annotations

import pytest

from keel.guard.pii import PiiDetector, reads_as_english


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def found(detector: PiiDetector, text: str, kind: str) -> list[str]:
    return [text[e.start : e.end] for e in detector.detect(text) if e.type == kind]


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("Bitte senden Sie es an Robin-Krein-Straße 82, 93786 Mühldorf am Inn.", "Robin-Krein-Straße 82"),
        ("Ich wohne seit letztem Monat in Felix-Schwarzl-Ring 4/6\n6075 Steyregg.", "Felix-Schwarzl-Ring 4/6"),
        ("Lieferadresse:\nMartha-Speer-Gasse 4-8\n", "Martha-Speer-Gasse 4-8"),
        ("Ik woon sinds vorige maand op Annabelbaan 85.", "Annabelbaan 85"),
        ("Le bureau se trouve au rue de Regnier.", "rue de Regnier"),
        ("Adresse de livraison :\navenue Germain\n", "avenue Germain"),
        ("Endereço de entrega:\nPraça Ferreira, S/N\n", "Praça Ferreira"),
        ("Me mudé a Jardines del Valle 25 el mes pasado.", "Jardines del Valle 25"),
        ("Dirección de entrega:\nCalle de los Lirios, 509\n", "Calle de los Lirios"),
    ],
)
def test_addresses_in_other_languages(detector: PiiDetector, text: str, street: str) -> None:
    assert any(street in value for value in found(detector, text, "ADDRESS")), detector.detect(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hola Carmen, tu cita está confirmada para el lunes.", "Carmen"),
        ("Ciao Giulia, il tuo appuntamento è confermato per lunedì.", "Giulia"),
        ("Bonjour Amélie, votre rendez-vous est confirmé pour lundi.", "Amélie"),
        ("Hola Eustaquia, tu cita está confirmada para el lunes.", "Eustaquia"),
        ("Mit freundlichen Grüßen\nHeinke Overbeck", "Heinke Overbeck"),
        ("Rekeninghouder: Sjoerd Hoekstra", "Sjoerd Hoekstra"),
        # The model merges the words before an unknown name into an organisation ("de cobrança de ...").
        ("Por favor, atualize o endereço de cobrança de Joaquim Bragança.", "Joaquim Bragança"),
        ("Veuillez mettre à jour l'adresse de facturation de Soizic Kerhervé.", "Soizic Kerhervé"),
    ],
)
def test_a_greeted_signed_or_labelled_name_in_other_languages(detector: PiiDetector, text: str, name: str) -> None:
    # The span may keep the greeting ("Ciao Giulia"): what matters is that the name is covered.
    assert any(name in value for value in found(detector, text, "PERSON")), detector.detect(text)


@pytest.mark.parametrize(
    "text",
    [
        "Wenn Sie die Seite nicht finden können, wenden Sie sich bitte an den Administrator und geben Sie die "
        "Fehlernummer an.",
        "Les Mises à jour Automatiques sont désactivées pour cette Version du Logiciel et nous ne pouvons pas "
        "les activer.",
        "Hola, tu cita está confirmada para el lunes por la mañana en la Consulta Central.",
    ],
)
def test_ordinary_sentences_of_other_languages_hold_no_person(detector: PiiDetector, text: str) -> None:
    # The English model calls capitalised words of other languages persons; it is not trusted there.
    assert found(detector, text, "PERSON") == []


def test_which_texts_read_as_english() -> None:
    assert reads_as_english("Please send the invoice to Maria de la Cruz at the Van Buren office.")
    assert reads_as_english("| Round | Pick | Name | Position |\n| 1 | 9 | Brian Urlacher | S |")
    assert reads_as_english("Patient: John Smith\nAge: 45")
    assert not reads_as_english("Wenn Sie die Seite nicht finden können, wenden Sie sich an uns.")
    assert not reads_as_english("Пожалуйста, отправьте документы Ивану Петрову до пятницы.")
    assert not reads_as_english("请把文件发给王伟。")
