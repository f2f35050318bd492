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
NAME_LOCALES = (
    "en_US en_GB de_DE fr_FR es_ES it_IT nl_NL pt_BR pl_PL sv_SE en_IN ro_RO hu_HU tr_TR cs_CZ fi_FI da_DK "
    "el_GR ru_RU uk_UA ja_JP ko_KR zh_TW"
).split()
ADDRESS_LOCALES = (
    "en_US en_GB en_AU en_CA en_NZ en_IE en_IN de_DE de_AT de_CH fr_FR fr_CA es_ES es_MX it_IT nl_NL nl_BE pt_BR "
    "pt_PT pl_PL sv_SE da_DK fi_FI no_NO cs_CZ sk_SK sl_SI hr_HR hu_HU ro_RO el_GR lt_LT lv_LV et_EE tr_TR"
).split()


def _name_case(fake: Any, rnd: random.Random) -> tuple[str, str]:
    first, last = fake.first_name(), fake.last_name()
    template = rnd.choice(NAME_TEMPLATES)
    full = f"{first} {last}"
    text = template.format(n=full, f=first, l=last, e=fake.email())
    if "{l}, {f}" in template:
        return text, f"{last}, {first}"
    return text, full if "{n}" in template else first


def _address_case(fake: Any, rnd: random.Random) -> tuple[str, str]:
    address = fake.address() if rnd.random() < 0.4 else fake.street_address()
    if rnd.random() < 0.5:
        address = address.replace("\n", ", ")
    return rnd.choice(ADDRESS_TEMPLATES).format(a=address), address


def measure(
    kind: str, locales: Sequence[str], n: int, seed: int, detect: Callable[[str], Sequence[Any]]
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
            text, value = make(fake, rnd)
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
    args = parser.parse_args()
    from keel.guard.pii import default_detector

    detect = default_detector().detect
    report = {
        "PERSON": measure("PERSON", NAME_LOCALES, args.n, args.seed, detect),
        "ADDRESS": measure("ADDRESS", ADDRESS_LOCALES, args.n, args.seed, detect),
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
