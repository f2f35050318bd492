"""Generalisation check of the PII detector's structured types across locales, formats and templates.

    python scripts/pii_locales.py [--n N] [--seed S] [--json] [--ner] [--benign JSONL]

Generates sentences (deterministic for a seed) that carry Faker values of many locales, and values built
here in the formats other synthetic-PII generators use (phones of many countries formatted every way,
IBANs of every IBAN country spaced, unspaced and lowercase, SSNs that break the SSA's rules, other
countries' equivalents as Faker writes them (after a label), IPv6 in all
its notations, dates of birth in many languages), in templates with and without a cue word: form fields,
prose, JSON, CSV lines, e-mails and log lines. Reports recall per type, per type and locale and per type
and format, and precision (detections of the structured types that overlap no label of their type).

``--benign JSONL`` also counts the structured detections in the texts of a JSONL file whose ``label`` is
"benign" (the injection dev set): texts with no PII, where each detection is a false positive.

The dev set of the detector has few structured values; this is the check that they generalise. The IBAN
lengths of the countries Faker does not cover come from the detector's registry table, so that family
tests the formatting of IBANs, not the table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from keel.guard._evaluate_pii import _Detector

STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "SSN", "IBAN", "IP_ADDRESS", "DATE_OF_BIRTH")

LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE", "da_DK",
    "fi_FI", "cs_CZ", "ja_JP", "en_IN", "en_AU", "en_CA", "de_AT", "de_CH", "pt_PT", "nl_BE", "no_NO",
    "en_IE", "es_MX", "ro_RO", "sk_SK", "el_GR", "tr_TR",
)  # fmt: skip

# Regions whose numbers are built with phonenumbers (example numbers with random subscriber digits).
PHONE_REGIONS = (
    "US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU", "ES", "PT", "IT", "PL", "CZ", "SK",
    "SE", "NO", "DK", "FI", "IS", "GR", "TR", "RO", "HU", "JP", "KR", "CN", "HK", "SG", "IN", "AU", "NZ",
    "BR", "MX", "AR", "CL", "CO", "ZA", "NG", "KE", "EG", "AE", "SA", "IL", "RU", "UA", "PH", "ID", "MY",
    "TH", "VN",
)  # fmt: skip

_LANG_OF = {
    "en": "en", "de": "de", "fr": "fr", "es": "es", "it": "it", "nl": "nl", "pt": "pt", "pl": "pl", "sv": "sv",
    "da": "da", "fi": "fi", "cs": "cs", "ja": "ja", "no": "da", "ro": "en", "sk": "cs", "el": "en", "tr": "en",
}  # fmt: skip

MONTHS: dict[str, list[str]] = {
    "en": "January February March April May June July August September October November December".split(),
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split(),
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre".split(),
    "nl": "januari februari maart april mei juni juli augustus september oktober november december".split(),
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro".split(),
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia".split(),
    "sv": "januari februari mars april maj juni juli augusti september oktober november december".split(),
    "da": "januar februar marts april maj juni juli august september oktober november december".split(),
    "fi": (
        "tammikuuta helmikuuta maaliskuuta huhtikuuta toukokuuta kesäkuuta heinäkuuta elokuuta syyskuuta "
        "lokakuuta marraskuuta joulukuuta"
    ).split(),
    "cs": "ledna února března dubna května června července srpna září října listopadu prosince".split(),
}

# Birth words: (form labels, prose openers that precede the date).
BIRTH: dict[str, tuple[list[str], list[str]]] = {
    "en": (
        ["Date of birth", "DOB", "D.O.B.", "D.O.B", "Birth date", "Birthdate", "Date of Birth", "b.", "Born"],
        ["I was born on", "born", "my birthday is", "her date of birth is", "he was born", "birth date"],
    ),
    "de": (["Geburtsdatum", "Geb.", "geb.", "Geboren am"], ["ich bin geboren am", "geboren am", "geb. am"]),
    "fr": (["Date de naissance", "Né le", "Née le"], ["je suis né le", "née le", "date de naissance"]),
    "es": (["Fecha de nacimiento", "F. nacimiento"], ["nací el", "nacido el", "fecha de nacimiento"]),
    "it": (["Data di nascita", "Nato il"], ["sono nato il", "nata il", "data di nascita"]),
    "nl": (["Geboortedatum", "Geb. datum"], ["ik ben geboren op", "geboren op"]),
    "pt": (["Data de nascimento", "Nascimento"], ["nasci em", "nascido em", "data de nascimento"]),
    "pl": (["Data urodzenia", "Ur."], ["urodziłem się", "urodzona", "data urodzenia"]),
    "sv": (["Födelsedatum", "Född"], ["jag är född", "född den"]),
    "da": (["Fødselsdato", "Født"], ["jeg er født", "født den"]),
    "fi": (["Syntymäaika", "Syntymäpäivä"], ["olen syntynyt", "syntynyt"]),
    "cs": (["Datum narození", "Narozen"], ["narodil jsem se", "narozena"]),
    "ja": (["生年月日", "誕生日"], ["生年月日は", "誕生日は"]),
}

# Form labels for the other types per language (the cue words a generator would put before a value).
LABELS: dict[str, dict[str, list[str]]] = {
    "en": {
        "PHONE": ["Phone", "Tel", "Mobile", "Cell", "Contact number", "Ph."],
        "EMAIL": ["Email", "E-mail", "Contact"],
        "IBAN": ["IBAN", "Account", "Bank account"],
        "CREDIT_CARD": ["Card number", "Credit card", "CC"],
        "IP_ADDRESS": ["IP", "IP address", "Client IP", "Host"],
        "SSN": ["SSN", "Social Security Number", "SS#"],
    },
    "de": {"PHONE": ["Telefon", "Tel.", "Handy"], "EMAIL": ["E-Mail"], "IBAN": ["IBAN", "Kontonummer"]},
    "fr": {"PHONE": ["Téléphone", "Tél.", "Portable"], "EMAIL": ["Courriel"], "IBAN": ["IBAN", "RIB"]},
    "es": {"PHONE": ["Teléfono", "Móvil", "Tel."], "EMAIL": ["Correo"], "IBAN": ["IBAN", "Cuenta"]},
    "it": {"PHONE": ["Telefono", "Cellulare", "Tel."], "EMAIL": ["Email"], "IBAN": ["IBAN", "Conto"]},
    "nl": {"PHONE": ["Telefoon", "Mobiel", "Tel."], "EMAIL": ["E-mail"], "IBAN": ["IBAN", "Rekeningnummer"]},
    "pt": {"PHONE": ["Telefone", "Celular", "Tel."], "EMAIL": ["E-mail"], "IBAN": ["IBAN", "Conta"]},
    "pl": {"PHONE": ["Telefon", "Tel.", "Komórka"], "EMAIL": ["E-mail"], "IBAN": ["IBAN", "Numer konta"]},
    "sv": {"PHONE": ["Telefon", "Mobil", "Tel."], "EMAIL": ["E-post"], "IBAN": ["IBAN", "Kontonummer"]},
    "da": {"PHONE": ["Telefon", "Mobil", "Tlf."], "EMAIL": ["E-mail"], "IBAN": ["IBAN", "Kontonummer"]},
    "fi": {"PHONE": ["Puhelin", "Matkapuhelin", "Puh."], "EMAIL": ["Sähköposti"], "IBAN": ["IBAN", "Tilinumero"]},
    "cs": {"PHONE": ["Telefon", "Mobil", "Tel."], "EMAIL": ["E-mail"], "IBAN": ["IBAN", "Číslo účtu"]},
    "ja": {"PHONE": ["電話番号", "TEL", "携帯"], "EMAIL": ["メール"], "IBAN": ["IBAN"]},
}

# Sentences without any cue word for the value's type: the value has to stand on its own shape.
NO_CUE = [
    "{name} wrote {v} on the form yesterday.",
    "Please double-check {v} before Friday.",
    "The value {v} appears twice in the spreadsheet {name} sent.",
    "Noted: {v}",
    "{v}",
    "{name} ({v}) asked for an update on the request.",
    "See the attached note, it says {v} at the bottom.",
    "Forwarding this: {v} -- {name}",
]
WITH_CUE = [
    "{label}: {v}",
    "{label}:{v}",
    "{label} {v}",
    "{name}, {label}: {v}",
    "Hi, my {label_l} is {v}, could you update the record?",
    "Here is the {label_l} you asked for - {v}.",
    "{label} - {v}\nName - {name}",
]
JSON_T = ['{{"name": "{name}", "{key}": "{v}"}}', "{{'{key}': '{v}', 'id': 4411}}", '"{key}":"{v}",']
CSV_T = ["{name},{v},{city}", "{name};{v};{city}", "{name}\t{v}\t{city}", "{idx},{name},{v}"]
EMAIL_T = [
    "Hi {first},\n\nplease update my details: {label} {v}\n\nThanks,\n{name}",
    "Subject: details\n\nDear team,\n{label}: {v}\nBest regards,\n{name}",
    "Hello,\nthe new value is {v}.\nCheers, {name}",
]


@dataclass
class Record:
    text: str
    entities: list[dict[str, Any]]
    locale: str
    family: str  # how the value was built and written: "intl_spaced", "ipv6_bracket_port", ...
    template: str  # the kind of sentence: "cue", "no_cue", "json", "csv", "email", "log"


@dataclass
class _Value:
    type: str
    value: str
    family: str
    lang: str = "en"
    cue_words: list[str] = field(default_factory=list)  # labels for this value when a template needs one


def _lang(locale: str) -> str:
    return _LANG_OF.get(locale.split("_")[0], "en")


# --- values -------------------------------------------------------------------------------------------------


def _phone_values(rng: random.Random, fake: Any, locale: str) -> _Value:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as Fmt

    pick = rng.random()
    if pick < 0.4:
        return _Value("PHONE", fake.phone_number(), "faker_phone_number")
    if pick < 0.45 and hasattr(fake, "msisdn"):
        # Faker's msisdn is 13 bare digits of no country: a generator still labels it a phone number.
        return _Value("PHONE", "+" + fake.msisdn()[:12].lstrip("0"), "faker_msisdn_plus")
    region = rng.choice(PHONE_REGIONS)
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    assert example is not None
    number = example
    for _ in range(50):
        national = str(example.national_number)
        keep = max(2, len(national) - 5)
        candidate = national[:keep] + "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
        parsed = phonenumbers.parse("+" + str(example.country_code) + candidate, None)
        if phonenumbers.is_valid_number(parsed):
            number = parsed
            break
    cc = str(number.country_code)
    intl = phonenumbers.format_number(number, Fmt.INTERNATIONAL)  # +49 30 123456
    nat = phonenumbers.format_number(number, Fmt.NATIONAL)  # 030 123456
    e164 = phonenumbers.format_number(number, Fmt.E164)
    rest = intl[len(cc) + 2 :]
    digits_rest = "".join(c for c in rest if c.isdigit())
    groups = rest.replace("-", " ").split()
    styles: list[tuple[str, str]] = [
        ("intl", intl),
        ("national", nat),
        ("e164", e164),
        ("00_prefix", "00" + cc + " " + rest),
        ("paren_plus", f"(+{cc}) {rest}"),
        ("intl_dashes", "+" + cc + "-" + "-".join(groups)),
        ("intl_dots", "+" + cc + "." + ".".join(groups)),
        ("intl_nosep", "+" + cc + digits_rest),
        ("intl_trunk0", f"+{cc} (0){rest}" if nat.lstrip("(").startswith("0") else intl),
        ("national_dashes", "-".join(nat.replace("(", "").replace(")", "").replace("-", " ").split())),
        ("national_dots", ".".join(nat.replace("(", "").replace(")", "").replace("-", " ").split())),
        ("intl_ext", f"{intl} ext. {rng.randint(1, 9999)}"),
        ("national_x", f"{nat} x{rng.randint(10, 999)}"),
    ]
    family, value = rng.choice(styles)
    return _Value("PHONE", value, f"{family}_{region}")


def _iban_check(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


def _iban_values(rng: random.Random, fake: Any, locale: str) -> _Value:
    from keel.guard._pii_patterns import _IBAN_LENGTH

    pick = rng.random()
    if pick < 0.35:
        value, family = fake.iban(), "faker_iban"
    elif pick < 0.4:
        # Faker's generic provider (en_US, en_IN, zh_CN, es_MX, ...) writes a GB IBAN one character short:
        # right check digits, wrong length for GB; a generator labels it IBAN all the same.
        from faker.providers.bank import Provider as BankProvider

        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + "".join(
            rng.choice("0123456789") for _ in range(13)
        )
        value, family = _iban_check(BankProvider.country_code, bban), "faker_generic_gb21"
    else:
        country = rng.choice(sorted(_IBAN_LENGTH))
        n = _IBAN_LENGTH[country] - 4
        letters = rng.random() < 0.3
        bban = "".join(
            rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ" if letters and i < 4 else "0123456789") for i in range(n)
        )
        value, family = _iban_check(country, bban), "registry"
    style = rng.choice(["compact", "grouped", "grouped", "lower", "lower_grouped", "dashed"])
    if style in ("grouped", "lower_grouped", "dashed"):
        sep = "-" if style == "dashed" else " "
        value = sep.join(value[i : i + 4] for i in range(0, len(value), 4))
    if style.startswith("lower"):
        value = value.lower()
    return _Value("IBAN", value, f"{family}_{style}")


def _ssn_values(rng: random.Random, fake: Any, locale: str) -> _Value:
    from faker import Faker

    us = Faker("en_US")
    us.seed_instance(rng.randint(0, 2**31))
    if locale != "en_US" and rng.random() < 0.3:
        # The locale's own number (a National Insurance number, a SIN, a NIR, a personnummer, a PESEL...), as
        # Faker writes it: said to be one only by its label, so only in labelled templates.
        return _Value("SSN", fake.ssn(), "national")
    if rng.random() < 0.75:
        raw, family = us.ssn(), "faker_ssn"
    else:
        # Values other generators make without the SSA's rules: area 9xx or 666, group 00, serial 0000.
        area = rng.choice([f"9{rng.randint(0, 99):02d}", "666", f"{rng.randint(1, 899):03d}"])
        group = f"{rng.randint(1, 99):02d}" if area[0] == "9" or area == "666" else "00"
        serial = f"{rng.randint(1, 9999):04d}"
        raw, family = f"{area}-{group}-{serial}", "ssa_invalid"
    area, group, serial = raw.split("-")
    style = rng.choice(["dashed", "dashed", "spaced", "dotted", "bare"])
    sep = {"dashed": "-", "spaced": " ", "dotted": ".", "bare": ""}[style]
    return _Value("SSN", sep.join((area, group, serial)), f"{family}_{style}")


def _ip_values(rng: random.Random, fake: Any, locale: str) -> _Value:
    import ipaddress

    pick = rng.random()
    if pick < 0.45:
        ip = fake.ipv4_public() if rng.random() < 0.5 else fake.ipv4_private()
        style = rng.choice(["plain", "plain", "port", "cidr", "url"])
        if style == "port":
            return _Value("IP_ADDRESS", f"{ip}:{rng.choice([22, 80, 443, 8080, 5432])}", "ipv4_port")
        if style == "cidr":
            return _Value("IP_ADDRESS", f"{ip}/{rng.choice([8, 16, 24, 32])}", "ipv4_cidr")
        if style == "url":
            return _Value("IP_ADDRESS", ip, "ipv4_url")
        return _Value("IP_ADDRESS", ip, "ipv4")
    addr = ipaddress.IPv6Address(fake.ipv6())
    if rng.random() < 0.5:
        # Real addresses have runs of zero groups, which is what the compressed form elides.
        packed = bytearray(addr.packed)
        zero_from = rng.randint(2, 12)
        for i in range(zero_from, min(16, zero_from + rng.choice([2, 4, 6, 8]))):
            packed[i] = 0
        addr = ipaddress.IPv6Address(bytes(packed))
    styles = {
        "compressed": addr.compressed,
        "exploded": addr.exploded,
        "upper": addr.compressed.upper(),
        "mixed_v4": f"::ffff:{fake.ipv4_public()}",
        "nat64": f"64:ff9b::{fake.ipv4_public()}",
        "zone": f"fe80::{addr.compressed.split(':')[-1] or '1'}%eth0",
        "bracket_port": f"[{addr.compressed}]:{rng.choice([443, 8080, 8443])}",
        "cidr": f"{addr.compressed}/64",
        "loopback": "::1",
    }
    style = rng.choice(list(styles))
    return _Value("IP_ADDRESS", styles[style], f"ipv6_{style}")


def _dob_values(rng: random.Random, fake: Any, locale: str) -> _Value:
    lang = _lang(locale)
    d: date = fake.date_of_birth(minimum_age=1, maximum_age=95)
    months = MONTHS.get(lang, MONTHS["en"])
    month = months[d.month - 1]
    en = MONTHS["en"][d.month - 1]
    ordinal = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(d.day, "th")
    styles: dict[str, str] = {
        "iso": d.isoformat(),
        "us_slash": f"{d.month}/{d.day}/{d.year}",
        "us_slash_pad": f"{d.month:02d}/{d.day:02d}/{d.year}",
        "us_slash_yy": f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
        "eu_slash": f"{d.day:02d}/{d.month:02d}/{d.year}",
        "eu_dots": f"{d.day:02d}.{d.month:02d}.{d.year}",
        "eu_dots_short": f"{d.day}.{d.month}.{d.year % 100:02d}",
        "eu_dash": f"{d.day:02d}-{d.month:02d}-{d.year}",
        "dd_mon_yyyy": f"{d.day:02d}-{en[:3]}-{d.year}",
        "dd_mon_yyyy_space": f"{d.day} {en[:3]} {d.year}",
        "mon_dd_yyyy": f"{en[:3]} {d.day}, {d.year}",
        "month_ordinal": f"{en} {d.day}{ordinal}, {d.year}",
        "ordinal_month": f"{d.day}{ordinal} {en} {d.year}",
        "ordinal_of_month": f"{d.day}{ordinal} of {en}, {d.year}",
        "local_words": f"{d.day} {month} {d.year}",
        "local_words_dot": f"{d.day}. {month} {d.year}",
        "iso_slash": f"{d.year}/{d.month:02d}/{d.day:02d}",
        "dd_mon_yy": f"{d.day:02d}-{en[:3]}-{d.year % 100:02d}",
        "iso_time": f"{d.isoformat()}T00:00:00",
        "compact": f"{d.year}{d.month:02d}{d.day:02d}",
    }
    if lang == "es" or lang == "pt":
        styles["local_de"] = f"{d.day} de {month} de {d.year}"
    if lang == "ja":
        styles = {
            "ja": f"{d.year}年{d.month}月{d.day}日",
            "iso": d.isoformat(),
            "ja_slash": f"{d.year}/{d.month}/{d.day}",
        }
    style = rng.choice(list(styles))
    labels, _ = BIRTH.get(lang, BIRTH["en"])
    return _Value("DATE_OF_BIRTH", styles[style], style, lang, labels)


_CARD_TYPES = ("amex", "diners", "discover", "jcb15", "jcb16", "maestro", "mastercard", "visa13", "visa16", "visa19")


def _card_values(rng: random.Random, fake: Any, locale: str) -> _Value:
    kind = rng.choice(_CARD_TYPES)
    try:
        digits = fake.credit_card_number(card_type=kind)
    except KeyError:  # the locale has its own card types (ru_RU: mir, ...)
        kind = "locale"
        digits = fake.credit_card_number()
    style = rng.choice(["bare", "spaced", "dashed"])
    if style != "bare":
        sep = " " if style == "spaced" else "-"
        if len(digits) == 15 and kind == "amex":
            value = sep.join((digits[:4], digits[4:10], digits[10:]))
        else:
            value = sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    else:
        value = digits
    return _Value("CREDIT_CARD", value, f"{kind}_{style}")


def _email_values(rng: random.Random, fake: Any, locale: str) -> _Value:
    kind = rng.choice(["email", "free_email", "company_email", "ascii_email"])
    return _Value("EMAIL", getattr(fake, kind)(), kind)


GENERATORS: dict[str, Callable[[random.Random, Any, str], _Value]] = {
    "PHONE": _phone_values,
    "IBAN": _iban_values,
    "SSN": _ssn_values,
    "IP_ADDRESS": _ip_values,
    "DATE_OF_BIRTH": _dob_values,
    "CREDIT_CARD": _card_values,
    "EMAIL": _email_values,
}


# --- sentences ----------------------------------------------------------------------------------------------


def _place(template: str, value: str, **fields: str) -> tuple[str, int]:
    """The template filled in, and where the value starts in it."""
    marker = "\x00"
    filled = template.format(v=marker, **fields)
    start = filled.index(marker)
    return filled.replace(marker, value), start


def _sentence(rng: random.Random, fake: Any, locale: str, val: _Value) -> tuple[str, int, str]:
    lang = val.lang if val.type == "DATE_OF_BIRTH" else _lang(locale)
    name = fake.name()
    fields = {"name": name, "first": name.split()[0], "city": fake.city(), "idx": str(rng.randint(1, 999))}
    if val.type == "DATE_OF_BIRTH":
        labels, prose = BIRTH.get(lang, BIRTH["en"])
        kind = rng.choice(["cue", "prose", "json", "csv", "email"])
        label = rng.choice(labels)
        if kind == "prose":
            tmpl = rng.choice([f"{name}, {rng.choice(prose)} {{v}}.", f"{rng.choice(prose)} {{v}}"])
            text, start = _place(tmpl, val.value, **fields)
            return text, start, kind
        if kind == "csv":
            # A header names the column: a date in a CSV row is a birth date only by its header.
            sep = rng.choice([",", ";", "\t"])
            header = sep.join(("name", label.lower(), "city"))
            text, start = _place(header + "\n" + sep.join(("{name}", "{v}", "{city}")), val.value, **fields)
            return text, start, kind
        fields["label"], fields["label_l"], fields["key"] = label, label.lower(), label.lower().replace(" ", "_")
        tmpl = rng.choice({"cue": WITH_CUE, "json": JSON_T, "email": EMAIL_T[:2]}[kind])
        if "{label_l}" in tmpl:
            # Abbreviations ("b.", "Geb.") are form labels; a sentence names the field in full.
            fields["label_l"] = rng.choice([w for w in labels if "." not in w] or labels).lower()
        text, start = _place(tmpl, val.value, **fields)
        return text, start, kind
    labels = LABELS.get(lang, LABELS["en"]).get(val.type) or LABELS["en"][val.type]
    label = rng.choice(labels)
    fields["label"], fields["label_l"], fields["key"] = label, label.lower(), label.lower().replace(" ", "_")
    kinds = ["cue", "no_cue", "json", "csv", "email"]
    if val.type == "IP_ADDRESS":
        kinds.append("log")
    if val.type == "SSN" and (val.family.endswith("_bare") or val.family == "national"):
        kinds = ["cue", "json"]  # nine bare digits are a social security number only when it says so
    kind = rng.choice(kinds)
    if val.family == "ipv4_url":
        text, start = _place(f"open http://{{v}}:{rng.choice([80, 8000])}/admin", val.value, **fields)
        return text, start, "url"
    if kind == "log":
        tmpl = rng.choice(
            [
                "2024-05-01T10:22:13Z GET /login 401 from {v}",
                "Failed password for root from {v} port 52311 ssh2",
                "[warn] client {v} exceeded the rate limit",
            ]
        )
    else:
        tmpl = rng.choice({"cue": WITH_CUE, "no_cue": NO_CUE, "json": JSON_T, "csv": CSV_T, "email": EMAIL_T}[kind])
    text, start = _place(tmpl, val.value, **fields)
    return text, start, kind


def generate(n: int = 3000, seed: int = 7) -> list[Record]:
    """``n`` labelled sentences, the same for the same ``n`` and ``seed``."""
    from faker import Faker

    rng = random.Random(seed)
    fakers: dict[str, Any] = {}
    records: list[Record] = []
    types = list(GENERATORS)
    for i in range(n):
        locale = LOCALES[i % len(LOCALES)]
        kind = types[(i // len(LOCALES)) % len(types)] if rng.random() < 0.5 else rng.choice(types)
        if locale not in fakers:
            fakers[locale] = Faker(locale)
        fake = fakers[locale]
        fake.seed_instance(rng.randint(0, 2**31))
        val = GENERATORS[kind](rng, fake, locale)
        text, start, template = _sentence(rng, fake, locale, val)
        ent = {"type": val.type, "start": start, "end": start + len(val.value), "value": val.value}
        records.append(Record(text, [ent], locale, val.family, template))
    return records


# --- scoring ------------------------------------------------------------------------------------------------


def _ratio(hit: int, total: int) -> float:
    return hit / total if total else 1.0


def evaluate(records: Iterable[Record], detector: _Detector) -> dict[str, Any]:
    """Recall per type, per (type, locale), per (type, family) and per (type, template); precision per type."""
    hits: dict[str, Counter[str]] = defaultdict(Counter)
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    predicted: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    misses: list[dict[str, Any]] = []
    false_positives: list[dict[str, Any]] = []
    for rec in records:
        found = [(d.type, d.start, d.end) for d in detector.detect(rec.text)]
        for ent in rec.entities:
            kind = ent["type"]
            ok = any(t == kind and s < ent["end"] and ent["start"] < e for t, s, e in found)
            base = _family_base(rec.family)
            for axis, key in (
                ("type", kind),
                ("locale", f"{kind} {rec.locale}"),
                ("family", f"{kind} {base}"),
                ("template", f"{kind} {rec.template}"),
            ):
                totals[axis][key] += 1
                hits[axis][key] += ok
            if not ok:
                misses.append({"text": rec.text, "value": ent["value"], "family": rec.family, "found": found})
        for t, s, e in found:
            if t not in STRUCTURED:
                continue
            predicted[t] += 1
            if not any(ent["type"] == t and s < ent["end"] and ent["start"] < e for ent in rec.entities):
                wrong[t] += 1
                false_positives.append({"text": rec.text, "type": t, "span": rec.text[s:e]})
    recall = {axis: {k: _ratio(hits[axis][k], totals[axis][k]) for k in sorted(totals[axis])} for axis in totals}
    return {
        "recall": recall,
        "support": {axis: dict(sorted(totals[axis].items())) for axis in totals},
        "precision": {t: _ratio(predicted[t] - wrong[t], predicted[t]) for t in sorted(predicted)},
        "false_positives": false_positives,
        "misses": misses,
    }


def _family_base(family: str) -> str:
    """The family without the region of a phone number, so that formats are compared across countries."""
    head, _, tail = family.rpartition("_")
    return head if tail.isupper() and len(tail) == 2 else family


def benign_detections(path: Path, detector: _Detector) -> Counter[str]:
    """Structured detections in the benign texts of a JSONL file: each one is a false positive."""
    counts: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("label") != "benign":
                continue
            counts["texts"] += 1
            for d in detector.detect(rec["text"]):
                if d.type in STRUCTURED:
                    counts[d.type] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--ner", action="store_true", help="the full detector (default: patterns only)")
    parser.add_argument("--misses", type=int, default=0, help="print this many missed values")
    parser.add_argument("--benign", type=Path, help="JSONL with label/text: count detections in benign texts")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from keel.guard.pii import PiiDetector

    detector = PiiDetector(ner=args.ner)
    report = evaluate(generate(args.n, args.seed), detector)
    if args.benign:
        report["benign"] = dict(benign_detections(args.benign, detector))
    if args.json:
        json.dump({k: v for k, v in report.items() if k not in ("misses", "false_positives")}, sys.stdout, indent=1)
        print()
        return 0
    support = report["support"]
    print("recall (n) per type:")
    for t, r in report["recall"]["type"].items():
        print(f"  {t:14} {r:.3f} ({support['type'][t]})  precision {report['precision'].get(t, 1.0):.3f}")
    ssa_valid = [(k, n) for k, n in support["family"].items() if k.startswith("SSN ") and "ssa_invalid" not in k]
    hit = sum(report["recall"]["family"][k] * n for k, n in ssa_valid)
    total = sum(n for _, n in ssa_valid)
    print(f"  SSN by the SSA's rules only: {hit / total if total else 1.0:.3f} ({total})")
    for axis in ("family", "template", "locale"):
        below = {k: r for k, r in report["recall"][axis].items() if r < 1.0}
        print(f"below 1.0 per {axis}:" + ("" if below else " none"))
        for k, r in below.items():
            print(f"  {k:40} {r:.3f} ({support[axis][k]})")
    if args.benign:
        print("benign texts:", report["benign"])
    for miss in report["misses"][: args.misses]:
        print("MISS", miss["family"], repr(miss["value"]), "|", repr(miss["text"][:120]), miss["found"])
    for fp in report["false_positives"][: args.misses]:
        print("FP", fp["type"], repr(fp["span"]), "|", repr(fp["text"][:120]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
