"""Recall of PERSON and ADDRESS on generated names and addresses of many locales, in everyday sentences.

A check outside the dev set: the dev set's names and addresses come from one generator and a few
sentence templates, the quality gate's from others. Two generators:

- ``faker`` (default): public registry and census names and each locale's address formats. The name
  gazetteer also reads Faker's name lists, so for names this measures the contexts more than the lexicon.
- ``mimesis``: another library's name lists and street vocabularies, which the detector never reads, so
  its names measure the lexicon too. Not a dependency of Keel: ``pip install mimesis`` (MIT; checked
  with 22.2.0) to run it.

Besides the sentences of the first version (``--classic`` keeps only those, drawn as that version drew
them) the check writes names and addresses the way tools print them: "Last, First" lists, all-caps form
fields, initials ("J. Smith", "Smith J."), signature blocks, JSON fields and multi-line postal addresses.

    python scripts/pii_names_addresses.py [--generator faker|mimesis] [--native] [--n 60] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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
# Names and addresses as tools print them, in every run but --classic. Each shape names the values that
# must be found: all of them, since a redaction that misses the surname of a JSON record leaks it.
# Values: n full name, f first, l last, t title, e e-mail, N/F/L the same in capitals, lf "Last, First",
# il "F. Last", li "Last F."; x2 another person's, who is not scored.
FORMAT_NAME_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Reviewers: {l2}, {f2}; {l}, {f}", ("lf",)),
    ("Attendees\n- {lf2}\n- {lf}\n", ("lf",)),
    ("last_name,first_name,plan\n{l},{f},gold", ("l", "f")),
    ("FULL NAME: {N}\nDATE: 12/03/2024", ("N",)),
    ("SURNAME: {L}\nGIVEN NAMES: {F}\nNATIONALITY: ", ("L", "F")),
    ("Approved by {il} on 12 March.", ("il",)),
    ("{li}, {l2} {i2}. Gradient methods for sparse models. 2021.", ("li",)),
    ("Thanks,\n\n{n}\nSenior Account Manager | Northwind Traders\nTel: +1 555 0100", ("n",)),
    ("Let me know if you need anything else.\n\n--\n{n}\nHead of Operations", ("n",)),
    ('{{"first_name": "{f}", "last_name": "{l}", "plan": "gold"}}', ("f", "l")),
    ('{{"user": {{"id": 4821, "given_name": "{f}", "family_name": "{l}"}}}}', ("f", "l")),
    ("{t} {n} will chair the session.", ("n",)),
    ("Attn: {t} {n}\nRe: invoice 2231", ("n",)),
)
# p a postal address as the locale writes it, on several lines; s the street line; z, c postcode and city.
FORMAT_ADDRESS_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Ship to:\n{n}\n{p}\n", ("p",)),
    ("Please send the signed contract to\n\n{p}\n\nThanks!", ("p",)),
    ("{n}\n{p}", ("p",)),
    ('{{"street": "{s}", "postcode": "{z}", "city": "{c}"}}', ("s",)),
    ("Bill to: {n}, {p1}", ("p1",)),
)

NATIVE_LOCALES = "de_DE fr_FR es_ES it_IT nl_NL pt_BR pt_PT de_AT fr_CA es_MX".split()

NAME_LOCALES = (
    "en_US en_GB de_DE fr_FR es_ES it_IT nl_NL pt_BR pl_PL sv_SE en_IN ro_RO hu_HU tr_TR cs_CZ fi_FI da_DK "
    "el_GR ru_RU uk_UA ja_JP ko_KR zh_TW"
).split()
ADDRESS_LOCALES = (
    "en_US en_GB en_AU en_CA en_NZ en_IE en_IN de_DE de_AT de_CH fr_FR fr_CA es_ES es_MX it_IT nl_NL nl_BE pt_BR "
    "pt_PT pl_PL sv_SE da_DK fi_FI no_NO cs_CZ sk_SK sl_SI hr_HR hu_HU ro_RO el_GR lt_LT lv_LV et_EE tr_TR"
).split()
# mimesis's locales written in Latin script; --locales takes others (el, ru, uk, ja, ko, zh, kk, ...).
MIMESIS_LOCALES = (
    "en en-gb en-au en-ca de de-at de-ch fr es es-mx it nl nl-be pt pt-br pl cs sk da sv no fi hu et tr is hr"
).split()
MIMESIS_NATIVE_LOCALES = "de de-at de-ch fr es es-mx it nl nl-be pt pt-br".split()

# How each locale writes a postal address (street, postcode, city, region, country); the rest of Europe
# writes "street / postcode city / country".
_POSTAL_FORMS = {
    "en": "{s}\n{c}, {r} {z}",
    "en-ca": "{s}\n{c} {r} {z}",
    "en-au": "{s}\n{c} {r} {z}",
    "en-gb": "{s}\n{c}\n{z}",
    "pt-br": "{s}\n{c} - {r}\n{z}",
    "es-mx": "{s}\n{z} {c}, {R}",
    "it": "{s}\n{z} {c} {r}",
    "tr": "{s}\n{z} {c}/{R}",
    "hu": "{c}\n{s}\n{z}",
}


class _FakerSource:
    """Faker's names and addresses of one locale."""

    def __init__(self, locale: str, seed: int) -> None:
        from faker import Faker

        self.fake = Faker(locale)
        self.fake.seed_instance(seed)
        self.locale = locale
        self.language = locale[:2]

    def names(self, rnd: random.Random) -> tuple[str, str]:
        return self.fake.first_name(), self.fake.last_name()

    def email(self) -> str:
        return str(self.fake.email())

    def title(self) -> str:
        return str(self.fake.prefix())

    def street(self) -> str:
        return str(self.fake.street_address())

    def postal(self, rnd: random.Random) -> str:
        return str(self.fake.address())

    def postcode_city(self) -> tuple[str, str]:
        return str(self.fake.postcode()), str(self.fake.city())


class _MimesisSource:
    """mimesis's names and addresses of one locale, the postal form built the way the locale writes it."""

    def __init__(self, locale: str, seed: int) -> None:
        try:
            # Imported by name: mimesis is not installed with Keel, so the type checker has no stubs for it.
            mimesis = importlib.import_module("mimesis")
            self.enums = importlib.import_module("mimesis.enums")
        except ImportError:
            raise SystemExit(
                "--generator mimesis needs the mimesis package (not a dependency of Keel): pip install mimesis"
            ) from None
        self.person = mimesis.Person(mimesis.Locale(locale), seed=seed)
        self.address = mimesis.Address(mimesis.Locale(locale), seed=seed)
        self.locale = locale
        self.language = locale[:2]

    def names(self, rnd: random.Random) -> tuple[str, str]:
        # One gender for both: Slavic, Baltic and Icelandic surnames agree with it.
        gender = rnd.choice((self.enums.Gender.MALE, self.enums.Gender.FEMALE))
        return self.person.first_name(gender=gender), self.person.last_name(gender=gender)

    def email(self) -> str:
        return str(self.person.email())

    def title(self) -> str:
        return str(self.person.title(title_type=self.enums.TitleType.ACADEMIC))

    def street(self) -> str:
        return str(self.address.address())

    def postal(self, rnd: random.Random) -> str:
        state = str(self.address.state())
        abbr = str(self.address.state(abbr=True)).split("-")[-1]
        form = _POSTAL_FORMS.get(self.locale, "{s}\n{z} {c}")
        text = form.format(
            s=self.address.address(), c=self.address.city(), z=self.address.postal_code(), r=abbr, R=state
        )
        if rnd.random() < 0.5:
            text += "\n" + str(self.address.default_country())
        return text

    def postcode_city(self) -> tuple[str, str]:
        return str(self.address.postal_code()), str(self.address.city())


def _source(generator: str, locale: str, seed: int) -> Any:
    return (_MimesisSource if generator == "mimesis" else _FakerSource)(locale, seed)


def _templates(
    language: str, native: bool, english: Sequence[str], by_language: Mapping[str, Sequence[str]]
) -> Sequence[str]:
    return by_language[language] if native else english


def _shapes(
    language: str,
    native: bool,
    classic: bool,
    english: Sequence[str],
    by_language: Mapping[str, Sequence[str]],
    formats: Sequence[tuple[str, tuple[str, ...]]],
) -> list[tuple[str, tuple[str, ...] | None]]:
    """The sentence shapes of a run: the first version's (values found from the template) and the formats."""
    shapes: list[tuple[str, tuple[str, ...] | None]] = [
        (t, None) for t in _templates(language, native, english, by_language)
    ]
    return shapes if classic else shapes + list(formats)


def _name_case(
    source: Any, rnd: random.Random, native: bool = False, classic: bool = False
) -> tuple[str, str, list[str]]:
    first, last = source.names(rnd)
    shapes = _shapes(source.language, native, classic, NAME_TEMPLATES, NATIVE_NAME_TEMPLATES, FORMAT_NAME_TEMPLATES)
    template, wanted = rnd.choice(shapes)
    full = f"{first} {last}"
    email = source.email()
    if wanted is None:
        text = template.format(n=full, f=first, l=last, e=email)
        if "{l}, {f}" in template:
            return template, text, [f"{last}, {first}"]
        if "{n}" in template:
            return template, text, [full]
        return template, text, [last if "{l}" in template else first]
    first2, last2 = source.names(rnd)
    values = {
        "n": full,
        "f": first,
        "l": last,
        "N": full.upper(),
        "F": first.upper(),
        "L": last.upper(),
        "lf": f"{last}, {first}",
        "il": f"{first[0]}. {last}",
        "li": f"{last} {first[0]}.",
        "t": source.title() if "{t}" in template else "",
        "f2": first2,
        "l2": last2,
        "lf2": f"{last2}, {first2}",
        "i2": first2[0],
    }
    return template, template.format(**values), [values[k] for k in wanted]


def _address_case(
    source: Any, rnd: random.Random, native: bool = False, classic: bool = False
) -> tuple[str, str, list[str]]:
    street = rnd.random() >= 0.4
    address = source.street() if street else source.postal(rnd)
    if rnd.random() < 0.5:
        address = address.replace("\n", ", ")
    shapes = _shapes(
        source.language, native, classic, ADDRESS_TEMPLATES, NATIVE_ADDRESS_TEMPLATES, FORMAT_ADDRESS_TEMPLATES
    )
    template, wanted = rnd.choice(shapes)
    if wanted is None:
        return template, template.format(a=address), [address]
    postal = source.postal(rnd)
    zipcode, city = source.postcode_city()
    first, last = source.names(rnd)
    values = {
        "p": postal,
        "p1": postal.replace("\n", ", "),
        "s": source.street(),
        "z": zipcode,
        "c": city,
        "n": f"{first} {last}",
    }
    return template, template.format(**values), [values[k] for k in wanted]


def _hit(kind: str, text: str, values: Sequence[str], entities: Sequence[Any]) -> tuple[bool, bool]:
    """(every value overlapped by a detection of the type, every letter and digit of them covered by one)."""
    spans = [(e.start, e.end) for e in entities if e.type == kind]
    found = covered = True
    pos = 0
    for value in values:
        start = text.index(value, pos)
        end = start + len(value)
        pos = end
        found &= any(s < end and start < e for s, e in spans)
        covered &= all(any(s <= i < e for s, e in spans) for i in range(start, end) if text[i].isalnum())
    return found, covered


def measure(
    kind: str,
    locales: Sequence[str],
    n: int,
    seed: int,
    detect: Callable[[str], Sequence[Any]],
    *,
    native: bool = False,
    generator: str = "faker",
    classic: bool = False,
) -> dict[str, Any]:
    """Recall per locale and per sentence shape of one type, and up to 20 misses to read.

    ``covered`` is the share of cases where detections of the type cover every letter and digit of the
    value (a postal address whose city line is left over is found, not covered)."""
    make = _name_case if kind == "PERSON" else _address_case
    rnd = random.Random(seed)
    total: Counter[str] = Counter()
    found: Counter[str] = Counter()
    shape_total: Counter[str] = Counter()
    shape_found: Counter[str] = Counter()
    covered = 0
    misses: list[str] = []
    for locale in locales:
        source = _source(generator, locale, seed)
        for _ in range(n):
            template, text, values = make(source, rnd, native, classic)
            hit, whole = _hit(kind, text, values, detect(text))
            total[locale] += 1
            found[locale] += hit
            shape_total[template] += 1
            shape_found[template] += hit
            covered += whole
            if not hit and len(misses) < 20:
                misses.append(f"{locale}: {text!r}")
    return {
        "recall": sum(found.values()) / max(1, sum(total.values())),
        "covered": covered / max(1, sum(total.values())),
        "by_locale": {loc: found[loc] / total[loc] for loc in locales},
        "by_template": {t: shape_found[t] / shape_total[t] for t in shape_total},
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60, help="sentences per locale and type")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--native", action="store_true", help="sentences in the locale's own language")
    parser.add_argument("--generator", choices=("faker", "mimesis"), default="faker")
    parser.add_argument("--classic", action="store_true", help="only the first version's sentences")
    parser.add_argument("--locales", help="comma-separated locales of the generator instead of the default ones")
    args = parser.parse_args()
    if args.generator == "mimesis":
        _source("mimesis", "en", args.seed)  # fails early, with what to install, without mimesis
        names = addresses = MIMESIS_NATIVE_LOCALES if args.native else MIMESIS_LOCALES
    elif args.native:
        names = addresses = NATIVE_LOCALES
    else:
        names, addresses = NAME_LOCALES, ADDRESS_LOCALES
    if args.locales:
        names = addresses = args.locales.split(",")
    from keel.guard.pii import default_detector

    detect = default_detector().detect
    options = {"native": args.native, "generator": args.generator, "classic": args.classic}
    report = {
        "PERSON": measure("PERSON", names, args.n, args.seed, detect, **options),
        "ADDRESS": measure("ADDRESS", addresses, args.n, args.seed, detect, **options),
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for kind, result in report.items():
        print(f"{kind}: recall {result['recall']:.3f}, covered {result['covered']:.3f}")
        for locale, recall in result["by_locale"].items():
            if recall < 1:
                print(f"  {locale} {recall:.3f}")
        for template, recall in result["by_template"].items():
            if recall < 1:
                print(f"  {recall:.3f} {template!r}")
        for miss in result["misses"][:10]:
            print(f"  miss {miss}")


if __name__ == "__main__":
    main()
