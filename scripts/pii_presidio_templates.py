"""Fresh sentences from the generator the PII dev set came from, as a second set never tuned on.

    pip install --target DIR --no-deps presidio-evaluator==0.3.2 presidio-anonymizer==2.2.366 \\
        pandas==3.1.1 python-dotenv==1.2.4 tqdm==4.70.1
    PYTHONPATH=DIR python scripts/pii_presidio_templates.py --n 4000 --seed 7 --dev DEV_JSONL --out SET
    keel guard eval --set SET

The dev set's records are presidio-research's ``synth_dataset_v2``, which presidio-evaluator's
``PresidioSentenceFaker`` wrote from its ``templates.txt`` and its FakeNameGenerator people. Running the
same generator with another seed gives new people in the same sentences: a measure of whether a change
generalises to the records the dev set did not draw, thousands of them, instead of the 288 held back.
Needs the ``bench`` extra too (presidio-analyzer and spaCy, which presidio-evaluator imports).

Two things of the package's current version are undone so the sentences read as the dev set's do: its
templates spell line breaks as a backslash and ``n``, which it no longer unescapes, and it rewrites ``>``
to ``}}`` (its own placeholder syntax), which turns a quoted mail's ``>`` prefixes into braces. Labels
keep the dev set's type names (STREET_ADDRESS -> ADDRESS, GPE -> LOCATION, ...). Texts that occur in the
dev file are dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

TYPES = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "GPE": "LOCATION",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "ORGANIZATION": "ORGANIZATION",
    "DATE_TIME": "DATE_TIME",
    "AGE": "AGE",
    "NRP": "NRP",
    "TITLE": "TITLE",
    "ZIP_CODE": "ZIP_CODE",
    "DOMAIN_NAME": "DOMAIN_NAME",
    "US_DRIVER_LICENSE": "DRIVER_LICENSE",
}
# One code point that no template uses, standing in for ">" through the generator (same length, so the
# spans stay right when it is put back).
_QUOTE = "\u2023"


def templates() -> list[str]:
    from presidio_evaluator.data_generator import presidio_templates_file_path

    out = []
    for line in presidio_templates_file_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        line = line.replace("\\n", "\n").replace("\\t", "\t")
        # ">" opens a quoted line only at a line start; elsewhere the package means its own <entity> syntax.
        out.append("\n".join(_QUOTE + part[1:] if part.startswith(">") else part for part in line.split("\n")))
    return out


def generate(n: int, seed: int, exclude: set[str]) -> list[dict[str, object]]:
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    # The package's defaults, as its README builds the synthetic dataset.
    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=seed, sentence_templates=templates())
    records = []
    for sample in faker.generate_new_fake_sentences(n):
        text = sample.full_text.replace(_QUOTE, ">")
        if text in exclude:
            continue
        entities = [
            {
                "type": TYPES.get(span.entity_type, span.entity_type),
                "start": span.start_position,
                "end": span.end_position,
                "value": text[span.start_position : span.end_position],
            }
            for span in sorted(sample.spans, key=lambda s: s.start_position)
        ]
        records.append({"text": text, "entities": entities, "source": f"presidio-evaluator templates seed {seed}"})
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dev", type=Path, help="the dev JSONL; its texts are left out")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    exclude: set[str] = set()
    if args.dev:
        with args.dev.open(encoding="utf-8") as fh:
            exclude = {json.loads(line)["text"] for line in fh if line.strip()}
    records = generate(args.n, args.seed, exclude)
    with args.out.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    counts = Counter(str(e["type"]) for r in records for e in r["entities"])  # type: ignore[attr-defined]
    print(f"{len(records)} records to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
