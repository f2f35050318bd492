"""Recall of PERSON and ADDRESS on Faker's names and addresses of many locales, in everyday sentences.

A check outside the dev set: the dev set's names and addresses come from one generator and a few
sentence templates, the quality gate's from others. Faker's lists are public registry and census names
and each locale's address formats (the name gazetteer also reads Faker's name lists, so for names this
measures the contexts more than the lexicon).

    python scripts/pii_names_addresses.py [--n 60] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

NAME_TEMPLATES = (
    "Please update the billing address for {n}.",
    "{n} submitted the insurance claim yesterday.",
    "Patient: {n}\nAge: 45",
    "Hi {f}, your appointment is confirmed for Monday.",
    "Best regards,\n{n}",
    "The meeting with {n} has been moved to 3pm.",
    "{n}'s order #48213 has shipped.",
    "Can you forward this to {n}?",
    "Account holder: {n}",
    "I spoke to {n} from accounts about the refund.",
    "According to {n}, the server was down for two hours.",
    "Our new intern, {n}, starts next week.",
    "Dear {n},\nThank you for your application.",
    '{{"name": "{n}", "plan": "gold"}}',
    "name,plan\n{n},gold",
    "{l}, {f} - Senior Analyst",
    "Thanks {f}!",
    "Dr. {n} will see you now.",
    "From: {n} <{e}>",
    "Beneficiary name {n}",
    "The tenant, {n}, has paid the deposit.",
    "Contact person: {n}, tel. 555 0100",
    "Per {n}'s request, the meeting is cancelled.",
)
ADDRESS_TEMPLATES = (
    "Please ship it to {a}.",
    "Address: {a}",
    "My address is {a}, thanks.",
    "I moved to {a} last month.",
    '{{"address": "{a}"}}',
    "Deliver to:\n{a}\n",
    "The office is located at {a}.",
    "Billing address - {a}",
    "She lives at {a} with her dog.",
    "Send the documents to {a} by Friday.",
)
# --native: the same kinds of sentence in the locale's own language (written for this check), since
# the text around a French name is French, not English.
NATIVE_NAME_TEMPLATES = {
    "de": (
        "Bitte aktualisieren Sie die Rechnungsadresse für {n}.",
        "{n} hat gestern den Versicherungsantrag eingereicht.",
        "Sehr geehrte Frau {l},\nvielen Dank für Ihre Bewerbung.",
        "Ich habe mit {n} aus der Buchhaltung gesprochen.",
        "Mit freundlichen Grüßen\n{n}",
        "Ansprechpartner: {n}, Tel. 030 1234567",
    ),
    "fr": (
        "Veuillez mettre à jour l'adresse de facturation de {n}.",
        "{n} a déposé la demande d'indemnisation hier.",
        "Bonjour {f}, votre rendez-vous est confirmé pour lundi.",
        "J'ai parlé avec {n} du service comptable.",
        "Cordialement,\n{n}",
        "Titulaire du compte : {n}",
    ),
    "es": (
        "Por favor, actualice la dirección de facturación de {n}.",
        "{n} presentó la reclamación ayer.",
        "Hola {f}, tu cita está confirmada para el lunes.",
        "Hablé con {n} de contabilidad sobre el reembolso.",
        "Saludos cordiales,\n{n}",
        "Titular de la cuenta: {n}",
    ),
    "it": (
        "Si prega di aggiornare l'indirizzo di fatturazione di {n}.",
        "{n} ha presentato la richiesta di rimborso ieri.",
        "Ciao {f}, il tuo appuntamento è confermato per lunedì.",
        "Ho parlato con {n} dell'amministrazione.",
        "Cordiali saluti,\n{n}",
        "Intestatario del conto: {n}",
    ),
    "nl": (
        "Wilt u het factuuradres van {n} bijwerken?",
        "{n} heeft gisteren de schadeclaim ingediend.",
        "Hallo {f}, je afspraak is bevestigd voor maandag.",
        "Ik heb met {n} van de boekhouding gesproken.",
        "Met vriendelijke groet,\n{n}",
        "Rekeninghouder: {n}",
    ),
    "pt": (
        "Por favor, atualize o endereço de cobrança de {n}.",
        "{n} enviou o pedido de reembolso ontem.",
        "Olá {f}, a sua consulta está confirmada para segunda-feira.",
        "Falei com {n} da contabilidade.",
        "Atenciosamente,\n{n}",
        "Titular da conta: {n}",
    ),
}
NATIVE_ADDRESS_TEMPLATES = {
    "de": (
        "Bitte senden Sie es an {a}.",
        "Adresse: {a}",
        "Ich wohne seit letztem Monat in {a}.",
        "Lieferadresse:\n{a}\n",
        "Das Büro befindet sich in der {a}.",
    ),
    "fr": (
        "Merci de l'envoyer au {a}.",
        "Adresse : {a}",
        "J'habite au {a} depuis le mois dernier.",
        "Adresse de livraison :\n{a}\n",
        "Le bureau se trouve au {a}.",
    ),
    "es": (
        "Por favor, envíelo a {a}.",
        "Dirección: {a}",
        "Me mudé a {a} el mes pasado.",
        "Dirección de entrega:\n{a}\n",
        "La oficina está en {a}.",
    ),
    "it": (
        "Per favore, spedisci a {a}.",
        "Indirizzo: {a}",
        "Mi sono trasferito in {a} il mese scorso.",
        "Indirizzo di consegna:\n{a}\n",
        "L'ufficio si trova in {a}.",
    ),
    "nl": (
        "Stuur het naar {a}.",
        "Adres: {a}",
        "Ik woon sinds vorige maand op {a}.",
        "Afleveradres:\n{a}\n",
        "Het kantoor is gevestigd aan {a}.",
    ),
    "pt": (
        "Por favor, envie para {a}.",
        "Endereço: {a}",
        "Mudei-me para {a} no mês passado.",
        "Endereço de entrega:\n{a}\n",
        "O escritório fica na {a}.",
    ),
}
NATIVE_LOCALES = "de_DE fr_FR es_ES it_IT nl_NL pt_BR pt_PT de_AT fr_CA es_MX".split()

NAME_LOCALES = (
    "en_US en_GB de_DE fr_FR es_ES it_IT nl_NL pt_BR pl_PL sv_SE en_IN ro_RO hu_HU tr_TR cs_CZ fi_FI da_DK "
    "el_GR ru_RU uk_UA ja_JP ko_KR zh_TW"
).split()
ADDRESS_LOCALES = (
    "en_US en_GB en_AU en_CA en_NZ en_IE en_IN de_DE de_AT de_CH fr_FR fr_CA es_ES es_MX it_IT nl_NL nl_BE pt_BR "
    "pt_PT pl_PL sv_SE da_DK fi_FI no_NO cs_CZ sk_SK sl_SI hr_HR hu_HU ro_RO el_GR lt_LT lv_LV et_EE tr_TR"
).split()


def _templates(
    locale: str, native: bool, english: Sequence[str], by_language: dict[str, Sequence[str]]
) -> Sequence[str]:
    return by_language[locale[:2]] if native else english


def _name_case(fake: Any, rnd: random.Random, native: bool = False) -> tuple[str, str]:
    first, last = fake.first_name(), fake.last_name()
    template = rnd.choice(_templates(fake.locales[0], native, NAME_TEMPLATES, NATIVE_NAME_TEMPLATES))
    full = f"{first} {last}"
    text = template.format(n=full, f=first, l=last, e=fake.email())
    if "{l}, {f}" in template:
        return text, f"{last}, {first}"
    if "{n}" in template:
        return text, full
    return text, last if "{l}" in template else first


def _address_case(fake: Any, rnd: random.Random, native: bool = False) -> tuple[str, str]:
    address = fake.address() if rnd.random() < 0.4 else fake.street_address()
    if rnd.random() < 0.5:
        address = address.replace("\n", ", ")
    templates = _templates(fake.locales[0], native, ADDRESS_TEMPLATES, NATIVE_ADDRESS_TEMPLATES)
    return rnd.choice(templates).format(a=address), address


def measure(
    kind: str,
    locales: Sequence[str],
    n: int,
    seed: int,
    detect: Callable[[str], Sequence[Any]],
    *,
    native: bool = False,
) -> dict[str, Any]:
    """Recall per locale of one type, and up to 20 misses to read."""
    from faker import Faker

    make = _name_case if kind == "PERSON" else _address_case
    rnd = random.Random(seed)
    total: Counter[str] = Counter()
    found: Counter[str] = Counter()
    misses: list[str] = []
    for locale in locales:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for _ in range(n):
            text, value = make(fake, rnd, native)
            start = text.index(value)
            end = start + len(value)
            hit = any(e.type == kind and e.start < end and start < e.end for e in detect(text))
            total[locale] += 1
            found[locale] += hit
            if not hit and len(misses) < 20:
                misses.append(f"{locale}: {text!r}")
    return {
        "recall": sum(found.values()) / max(1, sum(total.values())),
        "by_locale": {loc: found[loc] / total[loc] for loc in locales},
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60, help="sentences per locale and type")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--native", action="store_true", help="sentences in the locale's own language (10 locales)")
    args = parser.parse_args()
    from keel.guard.pii import default_detector

    detect = default_detector().detect
    names, addresses = (NATIVE_LOCALES, NATIVE_LOCALES) if args.native else (NAME_LOCALES, ADDRESS_LOCALES)
    report = {
        "PERSON": measure("PERSON", names, args.n, args.seed, detect, native=args.native),
        "ADDRESS": measure("ADDRESS", addresses, args.n, args.seed, detect, native=args.native),
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for kind, result in report.items():
        print(f"{kind}: recall {result['recall']:.3f}")
        for locale, recall in result["by_locale"].items():
            if recall < 1:
                print(f"  {locale} {recall:.3f}")
        for miss in result["misses"][:10]:
            print(f"  miss {miss}")


if __name__ == "__main__":
    main()
