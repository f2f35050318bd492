"""API keys, tokens, private keys and passwords (type SECRET).

Three kinds of evidence, in decreasing strength:

1. A documented key format with a vendor prefix (AWS ``AKIA…``, GitHub ``ghp_…``, Slack ``xox…``, OpenAI
   ``sk-…``, Stripe ``sk_live_…``, Google ``AIza…``, JWTs, PEM private keys, ...): flagged wherever it is.
2. A value assigned to a secret-looking name (``password=…``, ``"api_key": "…"``, ``Authorization: Bearer
   …``, credentials in a URL): flagged unless it is a placeholder (``<your-key>``, ``${TOKEN}``, ``xxxx``).
3. A random-looking token (Shannon entropy, character classes, length). This is where false positives
   live, so without a secret keyword nearby it must be long, mix letters and digits, and not be one of the
   identifiers that are random by construction but public: a UUID or a hex digest (a git commit, a
   checksum) in plain text is not flagged. The same strings right after "token", "secret", "key",
   "password" and the like are.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

from keel.guard._pii_lazy import LazyPattern, lazy
from keel.guard._pii_patterns import Candidate

_KNOWN_FORMATS: list[tuple[str, str]] = [
        ("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
                        r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,\-]*)"),
        ("aws_access_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
        ("github_token", r"\bgithub_pat_[A-Za-z0-9_]{50,255}\b"),
        ("gitlab_token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
        ("slack_token", r"\bxox[abposre]-[A-Za-z0-9\-]{10,250}"),
        ("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]+"),
        ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
        ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"),
        ("stripe_key", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,99}\b"),
        ("stripe_key", r"\bwhsec_[A-Za-z0-9]{20,}\b"),
        ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}(?![\w\-])"),
        ("google_oauth", r"\bya29\.[0-9A-Za-z_\-]{20,}"),
        ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
        ("twilio_key", r"\b(?:SK|AC)[0-9a-f]{32}\b"),
        ("sendgrid_key", r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![\w\-])"),
        ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("pypi_token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}"),
        ("huggingface_token", r"\bhf_[A-Za-z0-9]{34,}\b"),
        ("mailgun_key", r"\bkey-[0-9a-zA-Z]{32}\b"),
        ("shopify_token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"),
        ("digitalocean_token", r"\bdo[por]_v1_[a-f0-9]{64}\b"),
        ("square_token", r"\bsq0(?:atp|csp)-[0-9A-Za-z\-_]{22,43}\b"),
        ("telegram_token", r"\b\d{8,10}:AA[0-9A-Za-z_\-]{33}\b"),
        ("azure_key", r"\b(?i:AccountKey|SharedAccessKey)=[A-Za-z0-9+/=]{20,}"),
    ]  # fmt: skip
_KNOWN_LITERALS = (
    "-----BEGIN", "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA", "ghp_", "gho_",
    "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "hooks.slack", "sk-", "sk_", "rk_", "pk_", "whsec_",
    "AIza", "ya29.", "eyJ", "SK", "AC", "SG.", "npm_", "pypi-", "hf_", "key-", "shp", "_v1_", "sq0", ":AA",
    "ccountKey", "ccessKey",
)  # fmt: skip
# Lowercase words one of which every assignment, bearer or "password is" pattern contains.
_NAME_LITERALS = ("pass", "pwd", "secret", "key", "token", "cred", "bearer", "basic", "pin", "auth", "session")
# One scan for all formats: an alternation of named groups, the group saying which format matched.
_KNOWN = lazy("|".join(f"(?P<{name}_{i}>{pattern})" for i, (name, pattern) in enumerate(_KNOWN_FORMATS)))

_SECRET_NAME = (
    r"(?:password|passwd|pass|pwd|passphrase|secret|client[_\-\s]?secret|api[_\-\s]?key|apikey|access[_\-\s]?key"
    r"|secret[_\-\s]?key|private[_\-\s]?key|access[_\-\s]?token|auth[_\-\s]?token|refresh[_\-\s]?token|token"
    r"|credentials?|bearer|session[_\-\s]?key|signing[_\-\s]?key|encryption[_\-\s]?key)"
)
# name = value, name: value, "name": "value", NAME=value (env files); the value is what is flagged.
_ASSIGNED = lazy(
    rf"(?i)\b[\w\-.]*{_SECRET_NAME}[\w\-.]*[\"']?\s*(?:=|:|=>|:=)\s*[\"']?(?P<value>[^\s\"'`,;<>{{}}()\[\]]{{6,}})"
)
_BEARER = lazy(r"(?i)\b(?:bearer|basic|token)\s+(?P<value>[A-Za-z0-9\-._~+/]{16,}=*)")
_SAID = lazy(r"(?i)\b(?:password|passcode|passphrase|pin)\s+(?:is|was|=)\s+[\"']?(?P<value>\S{4,}?)[\"'.,]?(?=\s|$)")
_URL_CREDENTIALS = lazy(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:(?P<value>[^\s:/@]{3,})@[^\s/]+")
_PLACEHOLDER = lazy(
    r"(?i)^(?:[<{$%*]|\.{3})|^[_\-.*#=]+$|^(?:x+|\*+|none|null|nil|true|false|undefined|required|optional|string|str|int|"
    r"password|secret|token|changeme|example|placeholder|your[_\-]?\w*|redacted|hidden|env|os\.environ\w*|"
    r"process\.env\w*|getenv\w*|config\w*|settings\w*|self\.\w+|get\w*|input|os|document\w*)$"
)
# A variable or attribute name on the right of "=", not a value: newPassword, nltk.word_tokenize.
_IDENTIFIER = lazy(r"[a-z_][a-z0-9_]*(?:[A-Z][a-z0-9_]*)+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_SECRET_CONTEXT = lazy(rf"(?i)\b{_SECRET_NAME}\b|\bauthorization\b|\bsigned\b|\bsignature\b")

_TOKEN = lazy(r"(?<![\w/+=\-.])[A-Za-z0-9+/_\-]{16,}={0,2}(?![\w/+=\-])")
_HEX = lazy(r"[0-9a-fA-F]+")
_UUID = lazy(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _random_looking(value: str, context: bool) -> bool:
    n = len(value)
    lower = sum(c.islower() for c in value)
    upper = sum(c.isupper() for c in value)
    digits = sum(c.isdigit() for c in value)
    if context:
        # Right after a secret keyword, hex digests, UUIDs and shorter keys count.
        return n >= 16 and _entropy(value) >= 3.0 and digits >= 2 and (lower + upper) >= 2
    if _HEX.fullmatch(value.replace("-", "")) or _UUID.fullmatch(value):
        return False
    if any(len(part) >= 3 and part.isalpha() and part.isupper() for part in re.split(r"[-_]", value)):
        return False  # a reference built from words: 0222-INV-DPATTERSON
    if "/" in value and sum(c.isalpha() for c in value) > 0.85 * (n - value.count("/")):
        return False  # a path of words
    classes = (lower > 0) + (upper > 0) + (digits > 0)
    return n >= 24 and classes == 3 and digits >= 3 and lower >= 3 and upper >= 3 and _entropy(value) >= 4.0


def find_secrets(text: str) -> Iterator[Candidate]:
    # Every documented format starts with one of these; most texts have none, and then the long alternation
    # is not run at all.
    if any(literal in text for literal in _KNOWN_LITERALS):
        yield from _known(text)
    low = text.lower()
    if any(word in low for word in _NAME_LITERALS):
        yield from _assigned(text)
    elif "://" in text:
        yield from _assigned(text, (_URL_CREDENTIALS,))
    yield from _high_entropy(text)


def _known(text: str) -> Iterator[Candidate]:
    for m in _KNOWN.finditer(text):
        name = (m.lastgroup or "secret").rsplit("_", 1)[0]
        yield Candidate("SECRET", m.start(), m.end(), 0.97, f"pattern:{name}")


def _assigned(text: str, patterns: tuple[LazyPattern, ...] = ()) -> Iterator[Candidate]:
    for pattern in patterns or (_ASSIGNED, _BEARER, _SAID, _URL_CREDENTIALS):
        for m in pattern.finditer(text):
            value = m.group("value").strip("\"'.,;:`")
            if len(value) < 4 or _PLACEHOLDER.search(value) or _IDENTIFIER.fullmatch(value):
                continue
            quoted = text[m.start("value") - 1 : m.start("value")] in ("'", '"')
            if not quoted and value.isalpha() and (value.islower() or pattern is _BEARER):
                continue  # prose: "the password: provided", "token usage"
            start = m.start("value") + m.group("value").find(value)
            # A password in a URL also looks like the local part of an email address: it must win.
            score = 0.97 if pattern is _URL_CREDENTIALS else 0.85
            yield Candidate("SECRET", start, start + len(value), score, "pattern:assigned_secret")


def _high_entropy(text: str) -> Iterator[Candidate]:
    for m in _TOKEN.finditer(text):
        value = m.group()
        # Inside a URL a long random segment is a resource id far more often than a credential.
        line_start = max(text.rfind(" ", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
        if "://" in text[line_start : m.start()]:
            continue
        context = _SECRET_CONTEXT.search(text, max(0, m.start() - 40), m.start()) is not None
        if _random_looking(value, context):
            yield Candidate("SECRET", m.start(), m.end(), 0.8 if context else 0.6, "pattern:high_entropy")
