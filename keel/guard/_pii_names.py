"""Person names beyond what the model finds: a gazetteer, cues, lists and repeated mentions.

en_core_web_sm was trained on English news (OntoNotes); it misses many names of other origins ("Irenke
Sörös", "Ásgeirsdóttir"), first names on their own ("Teresa"), and names in lowercase text. Evidence
combined here, each recorded in the entity's ``detector``:

- ``ner``: the model's PERSON, decoded with a bias towards PERSON (a guard prefers recall);
- ``gazetteer``: capitalised words that are first or last names in Faker's name lists (86 locales; the
  lists are public census and registry names, not the evaluation data), two in a row, or one that the
  biased model or a cue also points at;
- ``pattern:person_cue``: the words after "my name is", "Dear", "Mr.", "Name:", "Regards,", "my kid" and the
  like; a name before a predicate ("X lives at", in lowercase text too), an appositive and a verb of saying
  ("X, the cinematographer, said") or an affiliation ("Rościsław Dudek of Lexisnexis", "X Y of Parabolic
  Drugs Limited"); a pair before a plural verb ("Usamov and Bowers were"); someone spoken to ("Xenophon,
  can I please ..."); an artist's period named by a family name given in full before ("early Deguchi");
- ``propagated``: a later mention of a name already found in the same text ("... by Joakim Westgård and
  starring Westgård"), and the other items of a list that has a name in it ("Romi, Erik, Amy and Donald").
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import importlib
import itertools
import pkgutil
from collections.abc import Iterable, Iterator

from keel.guard._pii_lazy import lazy
from keel.guard._pii_patterns import Candidate

_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽЀ-ЯҐΑ-ΩΆΈΉΊΌΎΏ"
_WORD = lazy(rf"[{_UPPER}a-zß-öø-ÿā-žа-џґα-ωά-ώ][\w'’]*(?:-[\w'’]+)*")
_TITLE_WORD = lazy(rf"[{_UPPER}][\w'’]*(?:-[{_UPPER}][\w'’]*)*")
_INITIAL = lazy(rf"[{_UPPER}]\.?")

# "my kid Tadzio", "her husband Ivo": a relative named right after the relation.
_RELATIVE = (
    r"\b(?:my|our|your|his|her|their)\s+(?:kids?|sons?|daughters?|wife|husband|brothers?|sisters?|mother|father|"
    r"mom|mum|dad|child|children|baby|cousin|uncle|aunt|nephew|niece|grandson|granddaughter|grandmother|"
    r"grandfather|grandma|grandpa|fianc[ée]e?|girlfriend|boyfriend|partner|spouse|stepson|stepdaughter)"
)
# A name field of a form, a record or a table header, in words or as a key: "Full name", "first_name",
# "lastName", "GIVEN NAMES", "surname is".
_NAME_FIELD = (
    r"\b(?:full|first|last|middle|given|family|maiden|legal|display|contact|sur|fore)[\s_\-]?names?\??"
    r"(?:\s+(?:is|was))?|\bnames?"
)
# Closing words of a letter or mail, alone on their line before the signature: "Thanks,\n\nFionn Brand",
# "Mit freundlichen Grüßen\nMonika Mathez", "Cordialement,\nManon Reboul".
_CLOSING_PHRASES = frozenset(
    phrase.strip()
    for phrase in """thanks|thank you|many thanks|cheers|best|best wishes|kind regards|warm regards|best regards|
    regards|sincerely|yours sincerely|yours|yours truly|respectfully|take care|mit freundlichen grüßen|
    mit freundlichen grüssen|viele grüße|beste grüße|
    liebe grüße|cordialement|bien à vous|bien cordialement|salutations|saludos|saludos cordiales|atentamente|
    cordiali saluti|distinti saluti|saluti|met vriendelijke groet|met vriendelijke groeten|groeten|
    atenciosamente|cumprimentos|abraços|med vänliga hälsningar|hälsningar|med venlig hilsen|hilsen|pozdrawiam|
    s pozdravem|ystävällisin terveisin|terveisin""".split("|")
)
_INLINE_CLOSING = lazy(
    r"(?im)^[ \t>]*(?:thanks|thank\s+you|many\s+thanks|cheers|best|best\s+wishes|kind\s+regards|warm\s+regards|"
    r"best\s+regards|regards|sincerely|yours\s+sincerely|yours\s+truly|take\s+care|love)[ \t]*,[ \t]*(?=[^\W\d_])"
    r"(?!(?:everyone|everybody|all|team|guys|folks|friends|mom|mum|dad|mommy|daddy|grandma|grandpa|again|in)\b)"
)
# Not "name" alone, which records use for products and plans as well.
_QUOTED_NAME_FIELD = lazy(
    r"(?i)\b(?:full|first|last|middle|given|family|maiden|legal|sur|fore)[\s_\-]?names?[\"'][ \t]*[:=][ \t]*[\"']$"
)
_NAME_IS = lazy(
    r"(?i)\b(?:my|his|her|their|maiden|first|last|middle|given|family|sur|fore)[ \t]?names?[ \t]+(?:is|was)[ \t]+$"
)
_NAME_IS_END = lazy(r"[ \t]*(?:[.!,;]|$)")
_PARTICLE_NAME = lazy(
    rf"(?:van|von|de|der|den|da|di|del|della|dos|das|du|ter|ten|te|zu|le|la)(?:[ \t]+(?:de|den|der|la|las|los|le))?"
    rf"[ \t]+[{_UPPER}][\w'’\-]+(?=[\"'])"
)
# Cues after which a capitalised name follows.
# Every alternative opens with \b and an ASCII letter (in any case, which re extends to İ ı ſ K): the
# lookarounds in front say so once per position, instead of each alternative testing its own \b.
_CUES = lazy(
    r"(?<!\w)(?=(?i:[a-z]))"
    r"(?:\b(?i:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord|Herr|Herrn|Frau|Mme|Mlle|Madame|Mademoiselle|Monsieur|"
    r"Sr|Sra|Srta|Señor|Señora|Sig|Signor|Signora|Dott|Senhor|Senhora|Meneer|Mevrouw|Pani)\.?[ \t]+"
    r"|(?i:\bmy\s+name\s+is|\bname\s+is|"
    + _RELATIVE
    + r"|\bi\s+am|\bi'm|\bthis\s+is|\bcall\s+me|\bdear|\bhello|\bhi|\bhey"
    # Greetings and salutations of other languages ("Hola Carmen,", "Liebe Anna,", "Caro Marco").
    r"|\bhola|\bhallo|\bbonjour|\bsalut|\bciao|\bol[aá]|\bhej|\bquerid[oa]|\bestimad[oa]|\bcar[oa]|\bgentile|"
    r"\bliebe[rs]?|\bcher|\bchère|\bprezad[oa]"
    r"|\bregards|\bsincerely|\bthanks|\bcheers|\bsigned(?:\s+by)?|\bcontact(?:\s+person)?|\bpatient|\bcustomer|\bclient"
    r"|\bemployee|\bapplicant|\bcardholder|\baccount\s+holder|\bmember|" + _NAME_FIELD + r"|\bnom|\bnombre|\bnome|"
    r"\bvorname|\bnachname|\bdirected\s+by|"
    r"\bwritten\s+by|\bsung\s+by|\bby|\bwith|\bsaid|\bsays|\basked|\btold|\bmeet|\bmet|\bmarried|\bkid|"
    r"\bson|\bdaughter|\bwife|\bhusband|\bbrother|\bsister|\bmother|\bfather|\bfriend|\bcolleague|"
    r"\bbeneficiary|\bto|\bfrom|\buser|\bcc|\battn|\battention)[\"'”]?[ \t]*[:,\-=]?[ \t]*[\"'“]?\??[ \t]*"
    r"(?:\n[ \t]*){0,2})"
)
_STRONG_CUES = lazy(
    r"(?:\b(?i:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Herrn|Frau|Mme|Mlle|Madame|Mademoiselle|Monsieur|Sr|Sra|Srta|Señor|"
    r"Señora|Signor|Signora|Senhor|Senhora|Meneer|Mevrouw|Pani)\.?[ \t]+"
    r"|(?i:\bmy\s+name\s+is|\bname\s+is|\bcall\s+me|\bdear|\bregards,|\bsincerely,|\bsigned(?:\s+by)?|"
    + _NAME_FIELD
    + r"|\bnom|\bnombre|\bnome|"
    r"\bvorname|\bnachname|\bdirected\s+by|\bname\s+on\s+the\s+\w+\?\s*user|"
    + _RELATIVE
    + r")[\"'”]?[ \t]*[:,\-=]?[ \t]*[\"'“]?[ \t]*(?:\n[ \t]*){0,2})$"
)
# Roles that forms and records put before a name and a colon ("Tenant:", "Assignee:", "Rekeninghouder:"),
# looked for before each colon rather than at every word.
_ROLE_LABEL = lazy(
    r"(?i)(?:\b|(?<=konto)|(?<=rekening))(?:holder|titular|titulaire|intestatari[oa]|inhaber(?:in)?|houder|owner|"
    r"recipient|sender|tenant|guest|passenger|author|assignee|reporter|requester|approver|reviewers?|signatory|"
    r"witness|policyholder|borrower|payee)[ \t]*:[ \t]*(?:\n[ \t]*)?"
)
# The last word of a firm's name ("Golden State Bancorp Inc.", "JOYFUL HONDA CO.LTD.").
_FIRM_SUFFIX = (
    r"(?:Inc|Ltd|LLC|LLP|Corp|Corporation|Incorporated|Limited|PLC|Plc|plc|AG|GmbH|SA|SE|NV|BV|Co|Company|Group|"
    r"Holdings|Bancorp|Partners|Fund|Trust|ETF|ETN|INC|LTD|CORP|CORPORATION|INCORPORATED|LIMITED|CO|COMPANY|GROUP|"
    r"HOLDINGS)"
)
_FIRM_POSSESSOR = lazy(rf"\b{_FIRM_SUFFIX}\.?['’]s[ \t]+$")
_FIRM_LAST = lazy(rf"(?<!\S){_FIRM_SUFFIX}\.?$")
_FIRM_NEXT = lazy(rf"(?<=\w) {_FIRM_SUFFIX}(?:\.|(?=$|[\s,;:)'’]))")
_FIRM_BEFORE = lazy(rf"\b{_FIRM_SUFFIX}\.?[ \t]+$")
# A person and the firm they are of: "Elita Desaulniers from Golden State Bancorp Inc. is the keynote speaker".
_AFFILIATION_FIRM = lazy(
    rf"[ \t]+(?:of|from|at)[ \t]+[{_UPPER}0-9](?:[^\n.;:!?()\"]|\.(?!\s)){{0,60}}?\b{_FIRM_SUFFIX}\b"
)
_NOT_AFFILIATED = frozenset(
    """senior junior chief vice head managing executive general deputy assistant associate lead principal former
    acting interim regional global board member members staff partner partners officer officers relations
    development sales marketing operations engineering finance management department division investor
    investors services service society institute foundation council committee association""".split()
)
_ROLE_WORD_BEFORE = lazy(r"\w+[ \t]*$")
_COLON = lazy(":")
# A line that is only the signature delimiter of mail ("-- ") or a closing (_CLOSING_PHRASES), its line
# break and a blank line: looked up by the line's words rather than scanned for at every word.
_LINE_CUE = lazy(r"[^\n]*\n(?:[ \t]*\n)?[ \t]*")
# Capitalised words that open or fill sentences and are in name lists, or are never names at all; the
# pronouns and articles of other languages too ("Sie", the German formal "you", is a surname in the lists).
_COMMON = frozenset(
    """sie ihr ihre ihnen wir ich der die das und oder nicht vous nous ils elles une
    usted ustedes ellos nosotros você vocês eles loro noi voi het een wij jullie zij
    a an the and or but if of to in on at by for from with as is was are were be been am i me my mine we us
    our you your he him his she her it its they them their this that these those there here what which who
    whom whose when where why how all any both each few more most other some such no nor not only own same so
    than too very can will just don should now hi hello hey dear thanks thank regards sincerely cheers best
    yes ok okay please sorry mr mrs ms miss dr prof sir madam mister user bot agent customer client support
    team admin name address phone email mobile fax desk office home work website info personal date when where
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december spring summer autumn fall winter north south east west street road
    avenue lane drive court place city state country county bank card account number order ticket code id
    god lord king queen prince princess president minister doctor nurse teacher engineer manager director
    new old big little long short young great good grand high low black white green brown grey gray gold
    silver rose lily may june april august grace hope faith joy will mark bill art guy dawn eve jean page
    story song book film movie album love life world city town village river lake park hill mount island
    company group inc ltd llc corp university school college hospital church club center centre
    adresse adres indirizzo dirección direccion endereço anschrift contact contacto kontakt telefon teléfono
    téléphone telefono correo courriel nombre nom nome vorname nachname apellido cognome meine mein ich je
    mi mio mia il la le les der die das el los las
    i'm i’m i've i'd i'll it's he's she's that's there's what's let's we're you're they're
    everyone everybody everything someone somebody something anyone anybody anything nobody nothing""".split()
)
_SENTENCE_START = lazy(r"(?:^|[.!?:;\"“(>\n]\s*|\n\s*[-*>•]\s*)$")


@functools.cache
def gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names), lowercased, from Faker's person providers; empty without Faker."""
    first: set[str] = set()
    last: set[str] = set()
    try:
        person = importlib.import_module("faker.providers.person")
    except ImportError:
        return frozenset(), frozenset()
    for info in pkgutil.iter_modules(person.__path__):
        provider = getattr(importlib.import_module(f"faker.providers.person.{info.name}"), "Provider", None)
        if provider is None:
            continue
        first.update(v.lower() for v in _provider_names(provider, _FIRST_NAME_LISTS) if len(v) > 1)
        last.update(v.lower() for v in _provider_names(provider, _LAST_NAME_LISTS) if len(v) > 1)
    return frozenset(first - _COMMON), frozenset(last - _COMMON)


_FIRST_NAME_LISTS = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
_LAST_NAME_LISTS = ("last_names", "last_names_male", "last_names_female")


def _provider_names(provider: type, attrs: tuple[str, ...]) -> Iterator[str]:
    """The names of a Faker person provider's lists (some are dicts of name to weight)."""
    for attr in attrs:
        values = provider.__dict__.get(attr)
        if isinstance(values, dict):
            values = list(values)
        if isinstance(values, (list, tuple, set, frozenset)):
            yield from (v for v in values if isinstance(v, str) and v)


@functools.cache
def cjk_surnames() -> frozenset[str]:
    """Chinese, Japanese and Korean family names from Faker's lists, one-character ones included."""
    names: set[str] = set()
    for locale in ("zh_CN", "zh_TW", "ja_JP", "ko_KR"):
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        names.update(v for v in _provider_names(provider, _LAST_NAME_LISTS) if not v.isascii())
    return frozenset(names)


# With the iteration mark 々 of Japanese names (佐々木, 野々村).
_CJK = "\u3005\u3400-\u4dbf\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af"
# A short run of Han or Hangul characters standing alone in text of another script, or a Japanese family
# name, a space (or a comma, as directories write it) and a given name: "Please confirm whether 雷涛
# attended", "signed by 松本 京助", "김민준 said", "斉藤, 里佳". One Hangul syllable is a family name at most,
# taken after a cue: {"last_name": "김"}.
_HAN = "\\u3005\\u3400-\\u4dbf\\u4e00-\\u9fff"
_CJK_NAME = lazy(
    rf"(?<![{_CJK}])(?:(?P<family>[{_HAN}\u3040-\u30ff\uac00-\ud7af]{{1,4}})(?:[ \u3000]|,[ \t]?)"
    rf"(?P<given>[{_HAN}\u3040-\u30ff\uac00-\ud7af]{{1,3}})"
    rf"|(?P<han>[{_HAN}\u3040-\u30ff]{{1,4}})|(?P<hangul>[\uac00-\ud7af]{{1,4}}))(?![{_CJK}])"
)


def find_cjk_names(text: str) -> Iterator[Candidate]:
    """Names in Chinese, Japanese or Korean script inside text of another script, by their family name.

    Inside Chinese or Japanese prose a run of characters is a sentence, not a name, and family-name
    characters open ordinary words too (张开, "to open"), so only runs bounded by other scripts count.
    """
    if text.isascii():
        return
    surnames = cjk_surnames()
    first = gazetteer()[0]
    for m in _CJK_NAME.finditer(text):
        family = m.group("family")
        if family is not None:
            # Either order: forms and generated data also write the given name first ("充 太田", "민준 김").
            if family in surnames or m.group("given") in surnames:
                yield Candidate("PERSON", m.start(), m.end(), 0.75, "gazetteer")
            elif (
                any(c.end() == m.start() for c in _CUES.finditer(text, max(0, m.start() - 40), m.start()))
                or _PREDICATE.match(text, m.end())
                or _POSSESSIVE.match(text, m.end())
            ):
                # A family name the lists lack ("渚 上遠野"): two short runs and a space are a name's shape,
                # taken right after a cue or before what a person does.
                yield Candidate("PERSON", m.start(), m.end(), 0.7, "pattern:person_cue")
            continue
        run = m.group("han") or m.group("hangul")
        full = len(run) >= 3 and (run[:1] in surnames or run[:2] in surnames)
        if not (full or run in surnames or run in first or run[:1] in surnames and len(run) == 2):
            continue
        # Most Chinese and Korean full names have three characters; shorter runs are as often ordinary
        # words that open with a family-name character (安全, 王国, 서울), so they need a cue: "Thanks 直人!".
        if full or (
            _CUES.search(text, max(0, m.start() - 40), m.start())
            or _PREDICATE.match(text, m.end())
            or _PAIR_PREDICATE.match(text, m.end())
        ):
            yield Candidate("PERSON", m.start(), m.end(), 0.7, "gazetteer")


def _is_name_word(word: str, first: frozenset[str], last: frozenset[str]) -> bool:
    low = word.lower()
    if low.endswith(("'s", "’s")):
        low = low[:-2]  # "Бевзенко's": the possessive is not part of the name
    return low in first or low in last


def _first_line(text: str, start: int, end: int) -> bool:
    """Whether [start, end) is alone on the first non-empty line of the text (quote markers aside)."""
    head = text[:start].strip(" \t\n>?*•-")
    tail = text[end : text.find("\n", end) if "\n" in text[end:] else len(text)]
    return head == "" and tail.strip() == ""


def _sentence_start(text: str, pos: int) -> bool:
    return _SENTENCE_START.search(text, max(0, pos - 4), pos) is not None


# Occupations and roles written right before a person's full name: "tennis player Timotea Ricci".
_OCCUPATIONS = tuple(
    """player singer actor actress writer author artist commenter commentator reporter journalist director producer
    controller officer spokesman spokeswoman spokesperson coach lawyer attorney doctor nurse teacher professor
    engineer analyst designer photographer chef pilot senator chairman chairwoman founder colleague neighbour
    neighbor candidate rapper drummer guitarist musician composer novelist poet comedian presenter anchor
    songwriter lyricist vocalist bassist pianist violinist filmmaker screenwriter playwright architect scientist
    researcher historian economist politician activist athlete footballer cyclist swimmer boxer golfer""".split()
)
_OCCUPATION_WORDS = frozenset(_OCCUPATIONS)
_RUN_PARTICLES = frozenset("van von de der den da di del della dos das du ter ten zu bin ibn".split())
_GERMANIC_PARTICLES = frozenset("van von ter ten zu".split())
# The second word of a two-word particle: "van den", "von der", "de la", "van de".
_SECOND_PARTICLES = frozenset("de den der la las los le".split())


def _capitalised_runs(
    text: str, first: frozenset[str] = frozenset()
) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    """Runs of capitalised words (with initials and name particles between them): (start, end, words)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    i = 0
    while i < len(words):
        s, e = words[i]
        if not _TITLE_WORD.fullmatch(text[s:e]):
            i += 1
            continue
        run = [(s, e)]
        j = i + 1
        while j < len(words):
            ns, ne = words[j]
            gap = text[run[-1][1] : ns]
            if gap == " " and text[ns:ne] in _RUN_PARTICLES:
                # "Sanne de Vries", "Malon van den Bogaert", "Willemine W ten Pas": one or two particles after a
                # listed first name or an initial; the Dutch and German ones after any word ("Rio de Janeiro" and
                # "Puerta de la Luz" are places).
                k = j + 1
                if (
                    k < len(words)
                    and text[ne : words[k][0]] == " "
                    and text[words[k][0] : words[k][1]] in _SECOND_PARTICLES
                ):
                    k += 1
                prev = text[run[-1][0] : run[-1][1]]
                if (
                    k < len(words)
                    and text[words[k - 1][1] : words[k][0]] == " "
                    and _TITLE_WORD.fullmatch(text[words[k][0] : words[k][1]])
                    and (prev.lower() in first or _INITIAL.fullmatch(prev) or text[ns:ne] in _GERMANIC_PARTICLES)
                ):
                    run.extend(words[j:k])
                    j = k
                    continue
            if gap not in (" ", ". ", "  ") or not (
                _TITLE_WORD.fullmatch(text[ns:ne]) or _INITIAL.fullmatch(text[ns:ne])
            ):
                break
            if gap == ". " and not _INITIAL.fullmatch(text[run[-1][0] : run[-1][1]]):
                break
            run.append((ns, ne))
            j += 1
        yield run[0][0], run[-1][1], run
        i = j


def _trim_lead(
    text: str, run: tuple[int, int, list[tuple[int, int]]], first: frozenset[str], last: frozenset[str]
) -> tuple[int, int, list[tuple[int, int]]]:
    """The run without the capitalised word that opens it when that word is a greeting, a title or a role.

    "Thanks Cecilia", "Hi Rafał", "Student Sebastian Szmalec", "Could Igor Pastuszek": a sentence's first
    word is capitalised too, and it would otherwise hide the name behind it from every rule that looks at
    whole runs or at what comes right before one.
    """
    start, end, words = run
    if len(words) < 2:
        return run
    head = text[words[0][0] : words[0][1]]
    low = head.lower()
    if low in first or low in last or _INITIAL.fullmatch(head):
        return run
    following = text[words[1][0] : words[1][1]]
    # A particle ("van", "de") is not a first name after a greeting: "Malon van den Bogaert" stays whole.
    following = following.lower() if following[:1].isupper() else ""
    if (
        low in _LEAD_WORDS
        or (_sentence_start(text, start) and following in first and low not in _COMMON)
        # "Producer Beaufort Turgeon": an occupation capitalised as the sentence's first word, before a listed
        # name ("Designer Handbags Outlet" is a shop).
        or (
            low in _OCCUPATION_WORDS
            and _sentence_start(text, start)
            and any(_is_name_word(text[s:e], first, last) or not text[s:e].isascii() for s, e in words[1:])
        )
    ):
        return words[1][0], end, words[1:]
    return run


def _middle_initial(text: str, words: list[tuple[int, int]]) -> bool:
    """Given name, initial, family name: "Ravil G Yefimov", "Franklin D. Roosevelt"."""
    if len(words) != 3:
        return False
    first, middle, last = (text[s:e] for s, e in words)
    return len(first) > 2 and len(last) > 2 and _INITIAL.fullmatch(middle) is not None and first[1:].islower()


def _names_and_content(
    text: str, words: list[tuple[int, int]], first: frozenset[str], last: frozenset[str]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The words of a run that are listed names, and those that are not initials."""
    names = [(s, e) for s, e in words if _is_name_word(text[s:e], first, last)]
    content = [(s, e) for s, e in words if not _INITIAL.fullmatch(text[s:e])]
    return names, content


def find_names(
    text: str,
    ner_persons: Iterable[tuple[int, int]],
    weak_persons: Iterable[tuple[int, int]],
    ner_other: Iterable[tuple[int, int]],
) -> list[Candidate]:
    """PERSON candidates from the gazetteer, cues and propagation. ``ner_persons`` are the model's own
    PERSON spans, ``weak_persons`` those it finds only when biased towards PERSON, ``ner_other`` its
    entities of other kinds (places, organisations): weak evidence for a name there is dropped."""
    first, last = gazetteer()
    out: list[Candidate] = []
    strong = list(ner_persons)
    weak = list(weak_persons)
    other = list(ner_other)
    lowercase_text = not any(map(str.isupper, text))

    def overlaps(spans: list[tuple[int, int]], s: int, e: int) -> bool:
        return any(a < e and s < b for a, b in spans)

    runs = [_trim_lead(text, run, first, last) for run in _capitalised_runs(text, first)]
    # Both passes below read each run's listed names and its words other than initials: found once.
    parts = [(start, end, words, *_names_and_content(text, words, first, last)) for start, end, words in runs]
    for start, end, words, names, content in parts:
        if not names:
            continue
        at_start = _sentence_start(text, start)
        cue = _STRONG_CUES.search(text, max(0, start - 40), start) is not None
        if any(text[s:e] in _RUN_PARTICLES for s, e in words[1:]) and overlaps(strong, start, end):
            # Above the model's score: it often takes only "van Zyl" of "Gideon Brand van Zyl", which would
            # otherwise win and leave the given names out.
            out.append(Candidate("PERSON", start, end, 0.86, "gazetteer"))
        elif len(names) >= 2 and len(names) >= len(content) - 1:
            out.append(Candidate("PERSON", start, end, 0.8, "gazetteer"))
        elif (
            cue
            or overlaps(weak, start, end)
            or (2 <= len(content) <= 3 and _POSSESSIVE.match(text, end - 2))
            or (len(content) == 1 and not at_start and _PERSONAL_POSSESSION.match(text, end - 2))
        ):
            # The possessive: "Özlü Seven's order has shipped", a listed name owning something; one listed
            # name alone owning what only a person has ("though Sanchez's song", "Walker's wife").
            out.append(Candidate("PERSON", start, end, 0.75, "gazetteer"))
        elif len(content) == 1 and not at_start and text[start:end].lower() in first:
            out.append(Candidate("PERSON", start, end, 0.6, "gazetteer"))
        elif len(content) == 1 and at_start and text[start:end].lower() in first:
            # "Teresa is a very ...": a first name opening a sentence, followed by a verb-like lowercase word
            # or punctuation, not by another capitalised word (that would be a title or a place).
            rest = text[end : end + 2]
            if rest[:1] in (",", ":", "'", "’") or rest.startswith(" ") and rest[1:2].islower():
                out.append(Candidate("PERSON", start, end, 0.6, "gazetteer"))

    for start, end, words, names, content in parts:
        if len(content) == 1 and text[start:end].lower() in _GIVEN_NAME_WORDS:
            # "Eve lives on ...", "Mark: You saved my life!", "I'm April's daughter": a given name that is also
            # a common word, doing what only a person does.
            deed = _PERSON_DEED.match(text, end)
            if deed and deed.group().startswith(":"):
                line_start = not text[:start].strip() or text[:start].rstrip(" \t>").endswith("\n")
                deed = deed if line_start and _LOWER_WORD.search(text, end, (text + "\n").find("\n", end)) else None
            if deed:
                out.append(Candidate("PERSON", start, end, 0.7, "pattern:person_cue"))
            continue
        if not content or _has_common(text, content) and not _name_of_common_words(text, content):
            continue
        value = text[start:end]
        if "_" in value or (value.isupper() and not names):
            continue  # EMAIL_FROM, SUBJECT: template fields and headers
        predicate = _PREDICATE.match(text, end)
        if predicate and predicate.group().lstrip("'s \t").startswith(":") and not names:
            # "Vinka: What a wife." is a speaker; "Adres: Keizersgracht 123" is a form label. A speaker
            # starts the line and says something in lowercase words.
            line_end = text.find("\n", end)
            said = text[end : line_end if line_end >= 0 else len(text)]
            line_start = not text[:start].strip() or text[:start].rstrip(" \t>").endswith("\n")
            if not line_start or not _LOWER_WORD.search(said):
                predicate = None
            elif len(content) > 1 and sum(1 for _ in itertools.islice(_SPEAKER_LINE.finditer(text), 2)) < 2:
                # "Mission Statement: This non-profit ...": words unknown to the lists before a colon are a
                # heading, unless other lines name speakers too (a transcript).
                predicate = None
        if predicate:
            # "Luiza is from ...", "Scott had given ...", "Vinka: What a wife."
            out.append(Candidate("PERSON", start, end, 0.7, "pattern:person_cue"))
        elif (
            2 <= len(content) <= 3
            and _AFFILIATION.match(text, end)
            and (
                not value.isascii()
                or text[content[0][0] : content[0][1]].lower() in first
                and text[content[-1][0] : content[-1][1]].lower() in last
                or _AFFILIATION_FIRM.match(text, end)
                and not any(text[s:e].lower() in _NOT_AFFILIATED for s, e in content)
                # "Multi Commodity Exchange of India Ltd." is one firm, which the model reads whole; where it
                # does, a listed first name says the run is not part of it ("Ebony Siposs of Altech Corporation").
                and (
                    text[content[0][0] : content[0][1]].lower() in first
                    or not any(a <= start and end + 4 < b for a, b in other)
                )
            )
        ):
            # "Rościsław Dudek of Lexisnexis", "Amadeo Vitorović from Rapid Cycle Solutions": a person and
            # the organisation they belong to, which the model tends to swallow into one ORG. Any two or three
            # words where the name of a firm follows ("Auriville Lagueux of Parabolic Drugs Limited"), unless
            # they are a role or a department ("Investor Relations at Acme Inc.").
            out.append(Candidate("PERSON", start, end, 0.7, "pattern:person_cue"))
        elif (
            2 <= len(content) <= 3
            and (names or not value.isascii())
            and _FIRM_POSSESSOR.search(text, max(0, start - 16), start)
        ):
            # "IDEC CORPORATION's Amy Janíček", "Trust Tech Inc.'s Aiko Sato": a person of the firm named
            # before them (a listed name: "Acme Inc.'s Annual Report" is the firm's).
            out.append(Candidate("PERSON", start, end, 0.7, "pattern:person_cue"))
        elif _first_line(text, start, end) and 2 <= len(content) <= 4:
            # A name line heading a contact block or signature: "Maha Cazares\n\nChiclana de la Frontera".
            out.append(Candidate("PERSON", start, end, 0.7, "pattern:name_line"))
        elif (
            2 <= len(content) <= 3
            and not _sentence_start(text, start)
            and not overlaps(strong, start, end)
            and (names or not text[start:end].isascii() or _middle_initial(text, words))
        ):
            # Two or three capitalised words inside a sentence, one of them a known name or spelled with
            # letters beyond ASCII, that the model did not call a place or an organisation (those are
            # dropped below): most often a name the model does not know ("Irenke Sörös").
            out.append(Candidate("PERSON", start, end, 0.55, "gazetteer"))

    for s, e in weak:
        words_in = text[s:e].split()
        if (
            not overlaps(strong, s, e)
            and all(_TITLE_WORD.fullmatch(w.rstrip(".,'’s")) or _INITIAL.fullmatch(w) for w in words_in)
            and not any(w.lower().rstrip(".,") in _COMMON for w in words_in)
            and (
                len(words_in) > 1 or not text[s:e].isascii() or _is_name_word(words_in[0].rstrip(".,'’s"), first, last)
            )
        ):
            # A single word the model calls a person only when pushed is usually a capitalised noun
            # ("Beginner", "Friendly"), unless it is a known name.
            out.append(Candidate("PERSON", s, e, 0.65, "ner_biased"))

    if lowercase_text:
        # No capitals to go by: the words right after "my name is", "call me" and the like, and pairs of
        # listed first and last names.
        for m in _LOWER_CUE.finditer(text):
            out.append(Candidate("PERSON", m.start("name"), m.end("name"), 0.7, "pattern:person_cue"))
        # "hi this is jake from the dentist office", "i'm priya with accounts": a listed first name
        # introduced by its bearer.
        for m in _LOWER_INTRO.finditer(text):
            if m.group("name") in first and m.group("name") not in _COMMON:
                out.append(Candidate("PERSON", m.start("name"), m.end("name"), 0.7, "pattern:person_cue"))
        tokens = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        for (s1, e1), (s2, e2) in zip(tokens, tokens[1:], strict=False):
            if text[e1:s2] == " " and text[s1:e1] in first and (text[s2:e2] in last or text[s2:e2] in first):
                out.append(Candidate("PERSON", s1, e2, 0.65, "gazetteer"))
        # A listed name (or a listed first name and one more word) that does something a person does:
        # "selma is from ...", "eva kleist lives at ...", "bártová began writing".
        for i, (s2, e2) in enumerate(tokens):
            if not _PREDICATE.match(text, e2) or text[e2 : e2 + 1] in (":", "'", "’"):
                continue
            word = text[s2:e2]
            if word in _COMMON or i and text[tokens[i - 1][0] : tokens[i - 1][1]] in _DETERMINERS:
                continue  # "my friend lives in ...": a word after a possessive is a noun
            s1, e1 = tokens[i - 1] if i else (s2, s2)
            if i and text[e1:s2] == " " and text[s1:e1] in first and text[s1:e1] not in _COMMON:
                out.append(Candidate("PERSON", s1, e2, 0.7, "pattern:person_cue"))
            elif word in first or word in last:
                out.append(Candidate("PERSON", s2, e2, 0.7, "pattern:person_cue"))

    run_at = {start: (start, end, words) for start, end, words in runs}
    line_cues = []
    if "\n" in text:
        offset = 0
        for line in text.split("\n")[:-1]:
            key = " ".join(line.strip(" \t>").rstrip(",").lower().split())
            if key == "--" or key in _CLOSING_PHRASES:
                # A line holding the signature delimiter or a closing word: the next line may be a name.
                closing = _LINE_CUE.match(text, offset)
                if closing:
                    line_cues.append(closing)
            offset += len(line) + 1
    if "," in text:
        # The closing words and the name on one line: "Thanks, Priyanka", "Best regards, Tom Lee".
        line_cues.extend(_INLINE_CLOSING.finditer(text))
    role_labels = []
    if ":" in text:
        for colon in _COLON.finditer(text):
            before_colon = _ROLE_WORD_BEFORE.search(text, max(0, colon.start() - 20), colon.start())
            label = before_colon and _ROLE_LABEL.search(text, before_colon.start(), colon.end() + 8)
            if label:
                role_labels.append(label)
    cue_matches = itertools.chain(
        ((m, False) for m in _CUES.finditer(text)),
        ((m, False) for m in role_labels),
        ((m, True) for m in line_cues),
    )
    for m, line_cue in cue_matches:
        pos = m.end()
        title = _TITLE_ABBREVIATION.match(text, pos)
        if title and (pos not in run_at or text[run_at[pos][1] : run_at[pos][1] + 1] == "."):
            pos = title.end()  # "Attn: Inż. Antonia Świętochowska": an academic title between cue and name
        run = run_at.get(pos)
        if run is None:
            # {"family_name": "te Sype"}: a quoted family name that opens with its particle.
            particle = _QUOTED_NAME_FIELD.search(m.group()) and _PARTICLE_NAME.match(text, pos)
            if particle:
                out.append(Candidate("PERSON", pos, particle.end(), 0.75, "pattern:person_cue"))
            continue
        start, end, words = run
        value = text[start:end]
        head = value.split()[0]
        if _INITIALS_NAME.fullmatch(value):
            head = value.split()[-1]  # "A. Villares", "I. Almeida": the initial is not the word "a" or "I"
        if (value.lower() in _COMMON or head.lower().rstrip(".") in _COMMON) and not (
            # A quoted value of a name field is a name even when it is a word: {"last_name": "Little"}.
            _QUOTED_NAME_FIELD.search(m.group())
            and text[end : end + 1] in ('"', "'")
            and value.lower() not in _STOP
            # "Her maiden name is Short.": a word alone after a name said to be one.
            or _NAME_IS.search(m.group())
            and len(words) == 1
            and value.lower() not in _STOP
            and _NAME_IS_END.match(text, end)
        ):
            continue
        listed = _is_name_word(head, first, last)
        if line_cue and not _signature_name(text, end, words):
            continue  # "Thanks\nGitHub Actions": a signature is a person's name alone on its line
        # The window reaches back over what the weak cue left out: a possessive ("my kid" around "kid"), the
        # question before a chat turn ("What's the name on the account? User:" around "User:").
        strong_cue = line_cue or _STRONG_CUES.search(text, max(0, m.start() - 40), pos) is not None
        if "_" in value or value.isupper() and not listed and not (strong_cue and _CAPITALS_NAME.fullmatch(value)):
            continue  # EMAIL_FROM, SUBJECT: template fields and headers; "FULL NAME: JOHN SMITH" is a name
        if strong_cue:
            out.append(Candidate("PERSON", start, end, 0.75, "pattern:person_cue"))
        elif _GREETING.match(m.group()) and (listed or _greeted_word(text, start, end, words)):
            # "Thanks Cecilia!", "Hi Rafał,": a listed name greeted is a person, whatever the model calls it;
            # so is any single word greeted and then a comma or an exclamation mark ("Thanks Bobette!").
            out.append(Candidate("PERSON", start, end, 0.75, "pattern:person_cue"))
        elif ":" in m.group() and _labelled_name(text, m.group(), words, end):
            # A role field of a form or a mail header and two to four capitalised words alone after it:
            # "Patient: Habacuc Lourenco", "From: Bronisław Katlewicz <...>", "Contact person: Gustav Prchal,".
            out.append(Candidate("PERSON", start, end, 0.75, "pattern:person_cue"))
        elif _INITIALS_NAME.fullmatch(value):
            # "Approved by U. Jaeger", "cc J. R. Smith": initials and a family name after a cue.
            out.append(Candidate("PERSON", start, end, 0.7, "pattern:person_cue"))
        elif listed:
            # A weak cue ("with", "said", "hi") and a word from the name lists, which also hold many place
            # names: dropped below where the model calls it a place or an organisation.
            out.append(Candidate("PERSON", start, end, 0.65, "gazetteer"))
    for start, end, words in runs:
        if len(words) >= 3 and text[words[0][0] : words[0][1]] in ("The", "A", "An"):
            # "The Kassia Lugo version recorded": the article opening the sentence is not part of the name.
            words = words[1:]
            start = words[0][0]
        # A middle initial ("Makkal A Sheripov") is not the article "a".
        inner = [
            (s, e) for i, (s, e) in enumerate(words) if not (0 < i < len(words) - 1 and _INITIAL.fullmatch(text[s:e]))
        ]
        if "_" in text[start:end] or text[start:end].isupper():
            continue
        if _has_common(text, inner) and not _name_of_common_words(text, inner):
            continue
        contexts = _ALL_CONTEXTS if len(words) >= 2 else _PERSON_CONTEXTS
        for before, after in contexts:
            # The anchored match after the run first: it fails at once where the search before it would scan.
            if (after is None or after.match(text, end)) and (
                before is None or before.search(text, max(0, start - 60), start)
            ):
                out.append(Candidate("PERSON", start, end, 0.75, "pattern:person_cue"))
                break
        else:
            if len(words) <= 2 and (
                _VOCATIVE_OPEN_BEFORE.search(text, max(0, start - 8), start)
                and _VOCATIVE_OPEN_AFTER.match(text, end)
                or len(words) == 1
                and (
                    _VOCATIVE_CLOSE_BEFORE.search(text, max(0, start - 8), start)
                    and _VOCATIVE_CLOSE_AFTER.match(text, end)
                    # "to leave me Lucille, four hungry children": spoken to after the verb's object.
                    or _VOCATIVE_OBJECT_BEFORE.search(text, max(0, start - 8), start)
                    and _VOCATIVE_OBJECT_AFTER.match(text, end)
                )
            ):
                value = text[start:end]
                # The model pushed towards PERSON also calls an adverb opening a question one ("Altogether,
                # how many ..."): its word counts only before a request. A request with "please" after one
                # word of a name's spelling is made to a person ("Xenophon, can I please ...").
                if (
                    not value.isascii()
                    or any(_is_name_word(text[s:e], first, last) for s, e in words)
                    or overlaps(weak, start, end)
                    and _VOCATIVE_REQUEST.match(text, end)
                    or len(words) == 1
                    and _VOCATIVE_PLEASE.match(text, end)
                    and _NAME_SPELLING.fullmatch(value)
                    and not value.lower().endswith("ly")
                    and value.lower() not in _NOT_VOCATIVE
                ) and value.lower() not in _NOT_GREETED:
                    out.append(Candidate("PERSON", start, end, 0.75, "pattern:person_cue"))
    for m in _PERIOD_OF_WORK.finditer(text) if "early " in text or "late " in text else ():
        # "than early Deguchi?", "late Beethoven": an artist's period, named by the family name alone. The
        # full name earlier in the text ("the verses from Yuito Deguchi's ...") says it is one, or the lists do.
        word = m.group("name")
        if word.lower() in _COMMON:
            continue
        # The run may go on past a possessive: "Yuito Deguchi's Cautionary Tales".
        earlier = [
            (w[0][0], w[i][1])
            for _, e, w in runs
            if e <= m.start()
            for i in (1, 2)
            if i < len(w) and text[w[i][0] : w[i][1]].removesuffix("'s").removesuffix("’s") == word
        ]
        if earlier or not word.isascii() or word.lower() in last:
            out.append(Candidate("PERSON", m.start("name"), m.end("name"), 0.75, "pattern:person_cue"))
            out.extend(Candidate("PERSON", s, e, 0.75, "pattern:person_cue") for s, e in earlier)
    for start, end, words in runs if "@" in text and "<" in text else ():
        # "Bronisław Katlewicz <bk@example.com>": the display name of a mail address, unless the model
        # calls it an organisation ("Upwork Notification <donotreply@...>").
        if (
            2 <= len(words) <= 4
            and _BEFORE_MAIL_ADDRESS.match(text, end)
            and not _has_common(text, words)
            and not overlaps(other, start, end)
        ):
            out.append(Candidate("PERSON", start, end, 0.75, "pattern:person_cue"))

    # Repeated mentions and lists: names found so far, then every other occurrence of their words.

    def dropped(c: Candidate) -> bool:
        """A weak gazetteer match where the model sees a place or an organisation: no name to spread."""
        return c.detector == "gazetteer" and c.score < 0.75 and overlaps(other, c.start, c.end)

    # Dropped matches still block propagation there: a word the model keeps calling a place stays one.
    found = strong + [(c.start, c.end) for c in out]
    sure = strong + [(c.start, c.end) for c in out if c.score >= 0.7]
    # Which line or table cell a position is in: a name confirmed in one counts again in that one (below).
    breaks = [b.start() for b in _CELL_BREAK.finditer(text)]

    def cell(pos: int) -> int:
        return bisect.bisect_right(breaks, pos)

    seen_words: dict[str, set[int]] = {}
    for s, e in sure:
        for w in _WORD.finditer(text, s, e):
            word = w.group()
            if (
                len(word) > 2
                and word.lower() not in _COMMON
                and (word[0].isupper() or lowercase_text)
                and not (word.isupper() and len(word) <= 4)
            ):
                seen_words.setdefault(word, set()).add(cell(s))
    if seen_words:
        # On the line of the name that confirms it, a word is that name even where the model alone called it
        # an organisation or a place ("You can tell Antti was a huge Antti H. Poutiainen fan"); elsewhere,
        # in another row or cell of a table for instance, the model's reading stands.
        kept_spans = strong + [(c.start, c.end) for c in out if not dropped(c)]
        for m in _WORD.finditer(text):
            cells = seen_words.get(m.group())
            if cells is None or overlaps(kept_spans, m.start(), m.end()):
                continue
            if cell(m.start()) in cells or not overlaps(found, m.start(), m.end()):
                out.append(Candidate("PERSON", m.start(), m.end(), 0.6, "propagated"))
    inverted = [
        m
        for m in itertools.chain(
            _INVERTED.finditer(text), _INVERTED_IN_LIST.finditer(text) if ";" in text or ":" in text else ()
        )
        if not any(text[m.start(i) : m.end(i)].lower() in _COMMON for i in (1, 2))
        # After a label only in a list: "Location: Paris, France" is a place.
        and (text[m.start()] != ":" or text[m.end() :].lstrip(" \t")[:1] == ";")
    ]
    # "Klaja, Adrian - Senior Analyst": a directory or sign-in line, surname first. In a list of such
    # pairs ("Reviewers: Blanco, Marcela; Medina, Paloma", one per bullet) one listed given name vouches
    # for the others.
    listed_pairs = [m for m in inverted if text[m.start(2) : m.end(2)].lower() in first]
    if len(inverted) >= 2 and not listed_pairs and _PEOPLE_HEADING.search(text, 0, inverted[0].start()):
        # Under a heading that says the items are people ("Attendees", "Reviewers:"), no listed name needed.
        listed_pairs = inverted
    for m in inverted if listed_pairs and len(inverted) >= 2 else listed_pairs:
        out.append(Candidate("PERSON", m.start(1), m.end(2), 0.8, "pattern:person_cue"))
    out.extend(_table_names(text))
    for m in _PAIR.finditer(text):
        a, b = (m.start(1), m.end(1)), (m.start(2), m.end(2))
        plural = _PAIR_PREDICATE.match(text, m.end())
        if (
            plural
            and any(_is_name_word(text[s:e], first, last) for s, e in (a, b))
            and not any(text[s:e].lower() in _STOP for s, e in (a, b))
        ):
            # "Usamov and Bowers were precision engineers": a listed name, a partner, a plural verb. The
            # partner may be a colour or a word the name lists leave out ("Dale and White"), and the model may
            # have read the pair as a firm ("Reyes and Mathis"): the verb says they are people.
            out.extend(Candidate("PERSON", s, e, 0.65, "pattern:person_cue") for s, e in (a, b))
        elif overlaps(found, *a) != overlaps(found, *b):
            for s, e in (a, b):
                if not overlaps(found, s, e) and text[s:e].lower() not in (_STOP if plural else _COMMON):
                    out.append(Candidate("PERSON", s, e, 0.6, "propagated"))
    for m in _LIST.finditer(text):
        items = [(i.start(), i.end()) for i in _LIST_ITEM.finditer(text, m.start(), m.end())]
        if sum(overlaps(found, s, e) for s, e in items) >= 2 or (
            len(items) >= 3 and sum(overlaps(found, s, e) for s, e in items) >= 1
        ):
            for s, e in items:
                if text[s:e].lower() not in _COMMON:
                    out.append(Candidate("PERSON", s, e, 0.6, "propagated"))
    # "Brittany's": the name without the possessive, so a placeholder keeps the sentence's grammar.
    kept = [c for c in out if not dropped(c)]
    return [
        dataclasses.replace(c, end=c.end - 2)
        if c.end - c.start > 2 and text.endswith(("'s", "’s"), c.start, c.end)
        else c
        for c in kept
    ]


# Where one lives, is or goes: a place follows ("My friend lives in Santa Lucía", "I am in Casselman for a
# business trip", "flew to Böhönye on Sunday").
_PLACE_BEFORE = lazy(
    r"\b(?i:(?:lives|lived|living|based|located|I'm|I’m|I[ \t]+am|we're|we[ \t]+are|stay|stays|staying|stayed|"
    r"flew|fly|flies|flying|travel(?:l?ed|l?ing|s)?|moved|moving|returned|returning|headed|heading|drove|driving)"
    # Not "born to": the parents follow.
    r"[ \t]+(?:in|to|at|near|from)|born[ \t]+(?:in|at|near))[ \t]+$"
)


def after_place_verb(text: str, start: int, end: int) -> bool:
    """Whether a span follows a verb of living or travelling and its preposition, and is no one's possessive."""
    return _PLACE_BEFORE.search(text, max(0, start - 24), start) is not None and not text.startswith(("'s", "’s"), end)


def firm_name(text: str, start: int, end: int) -> bool:
    """Whether a span is (part of) a firm's name by the word that ends it: "Kraft Heinz Co", "Johnson Controls
    International plc", "AIKO CORPORATION", or one word right after it ("Essent Group Ltd. Orchestra")."""
    if _FIRM_LAST.search(text, start, end) or _FIRM_NEXT.match(text, end):
        return True
    return " " not in text[start:end] and _FIRM_BEFORE.search(text, max(0, start - 16), start) is not None


# The line right above an address (a blank line between allowed) that opens the text or a block, or follows
# a label: the addressee of a mailing label or a billing block ("Billing address: Hetem Mikolčić\n  88030 ...").
_ABOVE_ADDRESS = lazy(
    rf"(?:^|\n[ \t>]*\n|:)[ \t>]*(?P<name>[{_UPPER}][\w'’\-]+(?:[ \t]+(?:[{_UPPER}]\.?|[{_UPPER}][\w'’\-]+)){{1,3}})"
    r"[ \t]*\n(?:[ \t>]*\n)?[ \t>]*$"
)


# The last word of a firm's name, which a signature block puts between the person and the address.
_COMPANY_ENDINGS = frozenset(
    """corporation incorporated limited ag kgaa gmbh plc partners holdings holding inc ltd llc llp sa nv bv co
    company group trust bank fund funds technologies technology solutions systems services industries international
    enterprises associates consulting capital""".split()
)


def names_above_addresses(text: str, addresses: Iterable[tuple[int, int]]) -> Iterator[Candidate]:
    """PERSON candidates for two to four capitalised words alone on the line above an address."""
    for start, _ in addresses:
        m = _ABOVE_ADDRESS.search(text, max(0, start - 80), start)
        if m is None:
            continue
        words = [(w.start(), w.end()) for w in _WORD.finditer(text, m.start("name"), m.end("name"))]
        # A middle initial ("Silvestar A Cvitić") is not the article "a".
        inner = [words[0], *(w for w in words[1:-1] if not _INITIAL.fullmatch(text[w[0] : w[1]])), words[-1]]
        value = m.group("name")
        if (
            not (_has_common(text, inner) and not _name_of_common_words(text, inner))
            and not value.isupper()
            and not any(ch.isdigit() for ch in value)
            and value.rsplit(None, 1)[-1].lower().rstrip(".") not in _COMPANY_ENDINGS
        ):
            yield Candidate("PERSON", m.start("name"), m.end("name"), 0.75, "pattern:person_cue")


# Column headers of a table or CSV whose cells are names ("first_name", "Full Name", "Customer Name").
_NAME_HEADERS = frozenset(
    # Not "Name" alone: tables name products, places and horses as often as people.
    (
        "full name|fullname|first name|firstname|last name|lastname|surname|given name|given names|forename|"
        "forenames|family name|middle name|contact name|contact person|customer name|client name|"
        "employee name|patient name|person name|member name|account holder|cardholder|legal name"
    ).split("|")
)
_CELL_SEPARATORS = (",", "\t", ";", "|")
_NAME_CELL = lazy(rf"[{_UPPER}a-zß-öø-ÿā-ž][\w'’.\-]*(?:[ \t]+[\w'’.\-]+){{0,3}}")


def _table_names(text: str) -> Iterator[Candidate]:
    """The cells under a name column of a CSV or a Markdown table: the header says what they are."""
    if "\n" not in text:
        return
    for sep in _CELL_SEPARATORS:
        if sep not in text:
            continue
        columns: list[int] = []
        width = 0
        offset = 0
        for line in text.split("\n"):
            line_start, offset = offset, offset + len(line) + 1
            if sep not in line:
                columns = []
                continue
            cells = line.split(sep)
            headers = [c.strip(" \t\"'*").lower().replace("_", " ").replace("-", " ") for c in cells]
            named = [i for i, h in enumerate(headers) if h in _NAME_HEADERS]
            if named:
                columns, width = named, len(cells)
                continue
            if not columns or len(cells) != width or set(line.strip()) <= set("|-: \t"):
                continue
            pos = line_start
            for i, cell in enumerate(cells):
                value = cell.strip(' \t"')
                if i in columns and value and len(value) <= 40 and _NAME_CELL.fullmatch(value):
                    if value.lower() not in _COMMON:
                        start = pos + cell.index(value)
                        yield Candidate("PERSON", start, start + len(value), 0.7, "pattern:person_cue")
                pos += len(cell) + len(sep)


def _has_common(text: str, words: list[tuple[int, int]]) -> bool:
    return any(text[s:e].lower().rstrip(".") in _COMMON for s, e in words)


# Common words that are also given names and family names: "Guy A Migneault", "Love Ulyanova", "Cian Young".
_GIVEN_NAME_WORDS = frozenset(
    "april august autumn bill dawn eve faith grace guy hope jean joy june lily love mark may rose summer will".split()
)
_FAMILY_NAME_WORDS = frozenset(
    "black brown gray green grey hill king lane little long park rose short white west young page love mark".split()
)


def _name_of_common_words(text: str, words: list[tuple[int, int]]) -> bool:
    """Two or three words, not all of them common, whose common words are a given name first or a family name
    last: "Guy Migneault", "Cian Young", "Love Ulyanova" ("Hope Street" and "Little Rock" are not)."""
    if not 2 <= len(words) <= 3:
        return False
    low = [text[s:e].lower() for s, e in words]
    common = [w in _COMMON for w in low]
    if all(common) or any(common[1:-1]):
        return False
    return (not common[0] or low[0] in _GIVEN_NAME_WORDS) and (not common[-1] or low[-1] in _FAMILY_NAME_WORDS)


def _signature_name(text: str, end: int, words: list[tuple[int, int]]) -> bool:
    """One to four words spelled like a name ("Fionn Brand", "J. O'Neill", not "GitHub") ending the line."""
    if len(words) > 4:
        return False
    for s, e in words:
        word = text[s:e]
        if not (_INITIAL.fullmatch(word) or word[1:].replace("-", "").replace("'", "").replace("’", "").islower()):
            if not all(part[:1].isupper() and part[1:].islower() for part in word.split("-")):
                return False
    rest = text[end : text.find("\n", end) if "\n" in text[end:] else len(text)].strip()
    return rest == "" or rest[0] in ",|-–("


def _greeted_word(text: str, start: int, end: int, words: list[tuple[int, int]]) -> bool:
    """One capitalised word after a greeting, then a comma or an exclamation mark: "Hi Finnja, your ..."."""
    value = text[start:end]
    if len(words) != 1 or text[end : end + 1] not in (",", "!") or not value[1:].islower():
        return False
    greeting = _GREETING_AT.search(text, max(0, start - 12), start)
    return greeting is not None and value.lower() not in _NOT_GREETED and _sentence_start(text, greeting.start())


def _labelled_name(text: str, cue: str, words: list[tuple[int, int]], end: int) -> bool:
    """Whether a run after a form label ("Patient:", "From:") reads as a name: two to four capitalised
    words, none a common word, ending the line or before a comma, a bracket or a mail address."""
    if not 2 <= len(words) <= 4 or _has_common(text, words) or cue.lower().lstrip().startswith(_CHAT_ROLES):
        return False
    if any(text[s:e].isupper() for s, e in words):
        return False
    return _LABELLED_END.match(text, end) is not None


_INVERTED_PAIR = (
    rf"([{_UPPER}][\w'’]+(?:-[{_UPPER}][\w'’]+)?),[ \t]+([{_UPPER}][\w'’]+(?:-[{_UPPER}][\w'’]+)?)"
    r"(?=[ \t]*(?:$|[\-–—(|;/]|,[ \t]*(?:[A-Z]\.|Jr|Sr|MD|PhD)))"
)
# At a line start, or after a label or another item ("Reviewers: Blanco, Marcela; Medina, Paloma"): two
# patterns, since one that opens with the separator is scanned for as a literal.
_PEOPLE_HEADING = lazy(
    r"(?im)^[ \t#*>]*(?:attendees|participants|reviewers|guests|speakers|authors|invitees|recipients|"
    r"panelists|panellists|organi[sz]ers|approvers|assignees|present|absent|apologies)[ \t*]*(?::|$)"
)
_INVERTED = lazy(rf"(?m)^[ \t>*•\-]*{_INVERTED_PAIR}")
_INVERTED_IN_LIST = lazy(rf"(?m)[;:][ \t]*{_INVERTED_PAIR}")
# Words that open a run before a name and are never part of it ("New York", "Grace Church" keep theirs).
# An academic or professional title written before a name: "Inż.", "Dr. rer. nat.", "B.A.", "Dipl.-Ing.".
_TITLE_ABBREVIATION = lazy(r"(?:\w{1,7}\.(?:-?\w{1,6}\.)*[ \t]+){1,3}")
_CAPITALS_NAME = lazy(
    rf"[{_UPPER}][{_UPPER}'’\-]{{2,}}|[{_UPPER}][{_UPPER}'’\-]+(?:[ \t]+[{_UPPER}][{_UPPER}'’\-]+){{1,3}}"
)
_INITIALS_NAME = lazy(rf"(?:[{_UPPER}]\.[ \t]?){{1,3}}[{_UPPER}][\w'’]+(?:-[{_UPPER}][\w'’]+)?")
# The display name before a mail address, unless the address is a role account's ("Upwork Notification
# <donotreply@upwork.com>").
_BEFORE_MAIL_ADDRESS = lazy(
    r"[\"'”]?[ \t]*<(?!(?i:no-?reply|do-?not-?reply|notifications?|info|support|hello|team|news|newsletter|"
    r"billing|sales|admin|contact|service|updates|alerts|mailer-daemon|feedback|product-feedback)@)"
    r"[^<>\s@]+@[^<>\s@]+>"
)
_LABELLED_END = lazy(r"[ \t]*(?:$|\n|,|;|\(|<|\|)")
_GREETING_AT = lazy(
    r"(?i)\b(?:hi|hello|hey|dear|thanks|thank\s+you|cheers|hola|hallo|bonjour|salut|ciao|ol[aá]|hej|querid[oa]|"
    r"estimad[oa]|car[oa]|gentile|liebe[rs]?|cher|chère|prezad[oa])[ \t]+$"
)
# Chat transcripts label turns "User:", "Customer:": what follows is a message, not a name.
_CHAT_ROLES = ("user",)
# Words greeted that are not names.
_NOT_GREETED = frozenset(
    """everyone everybody guys folks all team again there world friends ya y'all gang buddy mate dude man
    sir madam chatgpt gpt assistant bot claude gemini siri alexa google boss darling honey sweetie love bro
    babe""".split()
)
_LEAD_WORDS = frozenset(
    """hi hello hey dear thanks thank cheers regards sincerely best please kindly mr mrs ms miss mx dr prof sir
    madam mister user customer client patient student employee member applicant candidate reminder attn
    attention cc to from by with at in for hola hallo bonjour salut ciao ola olá hej querido querida estimado
    estimada caro cara gentile liebe lieber liebes cher chère prezado prezada herr frau señor señora signor
    signora monsieur madame mademoiselle meneer mevrouw senhor senhora herrn pani i'm i’m""".split()
)
_POSSESSIVE = lazy(r"['’]s[ \t]+[a-z]")
_PERSONAL_POSSESSION = lazy(
    r"['’]s[ \t]+(?:(?:own|first|last|new|latest|best|early|late|debut)[ \t]+)?(?:songs?|albums?|novels?|poems?|"
    r"lyrics|voice|career|life|death|birthday|family|wife|husband|sons?|daughters?|mother|father|brothers?|"
    r"sisters?|friends?|girlfriend|boyfriend|kids?|children|parents)\b"
)

# Syntax that makes a run of capitalised words a person's name whatever the lists and the model say (the
# model calls many names it does not know organisations or places): what must come right before the run
# (None: anything), what right after (None: anything).
_PERSON_CONTEXTS = (
    # "She named him Temirbek", "my great grandfather was called Phillipp Maurer", "everyone calls me Brahim".
    (
        lazy(
            r"(?i:\bnamed[ \t]+(?:him|her|them)|\bcall(?:s|ed)?[ \t]+(?:him|her|me)|"
            r"\b(?:father|mother|grandfather|grandmother|grandpa|grandma|son|daughter|brother|sister|wife|husband|"
            r"uncle|aunt|cousin|baby|boy|girl|man|woman|guy|lady)[ \t]+(?:was|is)[ \t]+(?:called|named))[ \t]+$"
        ),
        None,
    ),
    # "This song by ex-Zombie Sörös": a former member of a band or a firm, named after it.
    (lazy(r"\b(?i:ex)-[A-Z][\w\-]*[ \t]+$"), None),
    # "a huge Ines Nucci fan".
    (
        lazy(r"\b(?i:a|an)[ \t]+(?i:huge|big|great|massive|die-hard|lifelong|long-time|longtime|avid)[ \t]+$"),
        lazy(r"[ \t]+fans?\b"),
    ),
    # "Unlike the Obad novel": an author before the kind of their work.
    (
        lazy(r"\b(?i:the|a|an)[ \t]+$"),
        lazy(r"[ \t]+(?:novels?|biograph(?:y|ies)|autobiography|memoirs?|poems?|trilogy)\b"),
    ),
    # '"... in that direction," says Dolgorukova.', '"...," says Anders Frandsen in a song': who said the
    # quoted words.
    (
        lazy(r"[,.!?][\"”'’][ \t]*(?i:says|said|asks|asked|replied|added|adds|explained|wrote|continued)[ \t]+$"),
        lazy(r"[ \t]*(?:[.,;!?]|$)|[ \t]+(?:in|on|at|about|after|before|when|while|during|as)\b"),
    ),
    # "He's injured, but Lucjusz just has to get laid": what someone wants or must do, after a conjunction.
    (
        lazy(r"\b(?:but|and|so|because|while|though|although|yet)[ \t]+$"),
        lazy(r"[ \t]+(?:just|really|still|simply)[ \t]+(?:has|had|wants|wanted|needs|needed)[ \t]+to\b"),
    ),
    # "said Lasse to Maria": the speaker and the one spoken to.
    (lazy(r"\b(?i:said|says|whispered|shouted|yelled|replied)[ \t]+$"), lazy(r"[ \t]+to[ \t]+[A-Z]")),
    (lazy(rf"\b(?i:said|says|whispered|shouted|yelled|replied)[ \t]+[{_UPPER}][\w'’\-]+[ \t]+to[ \t]+$"), None),
    # "Robert had given Nermina his address": who received someone's personal data.
    (
        lazy(r"\b(?i:gave|given|sent|showed|handed|emailed|texted)[ \t]+$"),
        lazy(r"[ \t]+(?:his|her)[ \t]+(?:address|number|phone|e-?mail|card|details)\b"),
    ),
    # "What's your name? Pertti Palander", "What's the name on the account? User: Love Ulyanova": the answer.
    (lazy(r"(?i:\bnames?\b[^?\n]{0,40}\?)[ \t]*(?:\n[ \t]*)?(?:[A-Za-z]+[ \t]*:[ \t]*)?$"), None),
    # "have you heard Johannes Varvio speak yet?"
    (
        lazy(r"\b(?i:hear|heard|hearing|watch|watched|seen|see|saw)[ \t]+$"),
        lazy(r"[ \t]+(?:speak|sing|play|talk|perform)\b"),
    ),
    # "here's Toby's address", "Hilmija's phone number": the owner of personal data (the run holds the "'s").
    (
        None,
        lazy(
            r"(?<=['’]s)[ \t]+(?:(?:home|new|current|old|mailing|postal|billing|e-?mail|phone|mobile|cell)[ \t]+)?"
            r"(?:address|phone|number|e-?mail|birthday|date[ \t]+of[ \t]+birth|passport|social[ \t]+security)\b"
        ),
    ),
    # "The name in the account is not correct, please change it to Liviana Palerma".
    (
        lazy(
            r"(?i:\bnames?\b[^.!?\n]{0,60}\b(?:change|correct|update|rename)\w*(?:[ \t]+(?:it|this|that|them))?"
            r"[ \t]+to)[ \t]+$"
        ),
        None,
    ),
    # "Why is Leone so impulsive?": a trait only a person has.
    (
        None,
        lazy(
            r"(?:[ \t]+(?:is|was|seems|seemed|gets|got|feels|felt))?"
            r"[ \t]+(?:so|very|really|too|always|being|such[ \t]+an?)"
            r"[ \t]+(?:impulsive|jealous|rude|shy|stubborn|lazy|grumpy|moody|selfish|arrogant|nervous|upset|angry|sad|"
            r"generous|brave|cranky|clingy|needy|bossy|impatient|insecure|sweet|polite|talkative)\b"
        ),
    ),
)
# The same, for two or more words only: "Follow up with Elbio Navarrete", "talked to Saraja Trpinc" (a single
# word there is as often a company: "talk to Microsoft").
_FULL_NAME_CONTEXTS = (
    (
        lazy(
            r"(?i:\bfollow(?:ing)?[ \t-]?up[ \t]+with|\b(?:talk|talked|talking|speak|spoke|speaking|meet|met|meeting)"
            r"[ \t]+(?:to|with)|\breach(?:ed)?[ \t]+out[ \t]+to)[ \t]+$"
        ),
        None,
    ),
    # "The Kassia Lugo version recorded for ...": a singer's recording of a song.
    (lazy(r"\b(?i:the|a|an)[ \t]+$"), lazy(r"[ \t]+(?:version|cover|rendition)[ \t]+(?:recorded|sung)\b")),
    # "arranged and sung by Minik H Nielsen in 1973": who sang, composed or drew a work.
    (lazy(r"\b(?:sung|sang|arranged|composed|narrated|illustrated|painted)[ \t]+by[ \t]+$"), None),
    # "Kan Yoshioka listed his top 20 songs": a deed done to one's own, which only a person has.
    (
        None,
        lazy(
            r"[ \t]+(?:[a-z]{2,}ed|made|gave|took|wrote|sang|told|lost|left|sold|won|began|spent|got|had|put|found|"
            r"kept|brought|said|met|paid|held|built|sent|led|ran|came|went|saw|knew|became|did)[ \t]+"
            r"(?:his|her|himself|herself)\b"
        ),
    ),
    # "A tribute to Kameta A Gairbekov", "Have you been to a Seppo Pallasmaa concert?".
    (lazy(r"(?i:\btribute[ \t]+to)[ \t]+$"), None),
    (lazy(r"\b(?i:a|an|the)[ \t]+$"), lazy(r"[ \t]+(?:concerts?|gigs?|recitals?|biography|biopic|retrospective)\b")),
    # "tennis player Timotea Ricci", "regular commenter Bekbolat Musliyevich", "the assistant to Satu Elomo": a
    # person's occupation or role right before their full name.
    # Capitalised too where it opens the sentence: "Producer Beaufort Turgeon explained".
    (lazy(r"\b(?i:(?:" + "|".join(_OCCUPATIONS) + r")|assistant[ \t]+to|secretary[ \t]+to)[ \t]+$"), None),
    # "Maybe it's under Zair Irizarry": the name a booking or an account is kept under.
    (
        lazy(
            r"(?i:\b(?:it'?s|it[ \t]+is|reservation[ \t]+is|booking[ \t]+is|order[ \t]+is|table[ \t]+is|booked|"
            r"registered)[ \t]+under)[ \t]+$"
        ),
        None,
    ),
    # "Beksultan Musliyevich will be talking in the conference".
    (None, lazy(r"[ \t]+will[ \t]+be[ \t]+(?:talking|speaking|presenting)\b")),
    # "I want to add Seppo Pallasmaa as a beneficiary": a role on an account only a person holds.
    (
        None,
        lazy(
            r"[ \t]+as[ \t]+(?:a[ \t]+|an[ \t]+|the[ \t]+|my[ \t]+)?(?:beneficiary|guardian|authori[sz]ed[ \t]+user|"
            r"joint[ \t]+(?:account[ \t]+)?holder|co-?signer|co-?borrower|dependent|next[ \t]+of[ \t]+kin|"
            r"emergency[ \t]+contact)\b"
        ),
    ),
)
_ALL_CONTEXTS = _PERSON_CONTEXTS + _FULL_NAME_CONTEXTS
_CELL_BREAK = lazy(r"[\n|\t]")
# Someone spoken to: "Lukas, can I please speak to your boss?" at a sentence's start, "Don't go to town,
# Justin!" at its end. Only for words that are listed names, that the model calls a person when pushed, or
# that are spelled beyond ASCII: "Honestly, can you ..." and "Come on, Everyone!" are not.
_VOCATIVE_OPEN_BEFORE = lazy(r"(?:^|[.!?][ \t]+|\n)[ \t>]*$")
_VOCATIVE_OPEN_AFTER = lazy(
    r",[ \t]+(?i:can|could|would|will|please|do|did|are|have|i|we|you|let's|let|how|what|where|when|why)\b"
)
_VOCATIVE_REQUEST = lazy(r",[ \t]+(?i:can|could|would|will|please)\b")
_PERIOD_OF_WORK = lazy(rf"\b(?:early|late)[ \t]+(?P<name>[{_UPPER}][\w’\-]+)(?=[ \t]*[?!.,;)])")
_VOCATIVE_PLEASE = lazy(r",[ \t]+(?i:can|could|would|will|may)[ \t]+(?i:i|you|we)[ \t]+please\b")
_VOCATIVE_OBJECT_BEFORE = lazy(r"\b(?:me|us)[ \t]+$")
_VOCATIVE_OBJECT_AFTER = lazy(r",[ \t]+[a-z]")
_NAME_SPELLING = lazy(r"[A-Z][a-zà-öø-ÿ]+(?:-[A-Z][a-zà-öø-ÿ]+)?")
# Words that open a request and are not names: "Also, can you please ...".
_NOT_VOCATIVE = frozenset(
    """also again well anyway anyways then otherwise instead meanwhile therefore besides furthermore moreover
    however oh ah um hmm ok okay alright right sure great cool next first second third last lastly finally
    today tomorrow tonight yesterday everyone everybody someone somebody anyone anybody guys folks friends
    assistant chatbot computer robot model system ai gpt chatgpt""".split()
)
_VOCATIVE_CLOSE_BEFORE = lazy(r"\w,[ \t]+$")
_VOCATIVE_CLOSE_AFTER = lazy(r"[ \t]*[!?]")
_GREETING = lazy(
    r"(?i)(?:hi|hello|hey|dear|thanks|cheers|hola|hallo|bonjour|salut|ciao|ol[aá]|hej|querid[oa]|estimad[oa]|"
    r"car[oa]|gentile|liebe[rs]?|cher|chère|prezad[oa])\b"
)
_LOWER_WORD = lazy(r"\b[a-z]{2,}\b")
_LOWER_CUE = lazy(
    r"\b(?:my\s+name\s+is|name\s+is|call\s+me|calls\s+me|i\s+am\s+called|signed|regards,?|follow\s+up\s+with|"
    r"talk(?:ed|ing)?\s+(?:to|with)|sp(?:eak|oke|eaking)\s+(?:to|with)|meet|met)\s+"
    r"(?P<name>(?!(?:the|a|an|you|him|her|them|it|me|us|my|your|his|our|their|this|that|not|in|on|at|by|for|to|of|"
    # "call me back at ...", "meet me later": not a name. An initial is one letter standing alone.
    r"back|later|again|soon|tomorrow|today|tonight|now|when|if|once|asap|anytime|sometime)\b)"
    r"[^\W\d_][\w'’\-]+(?:\s+[^\W\d_]\.?(?!\w))?(?:\s+(?!(?:and|or|but|in|"
    r"on|at|by|for|to|of|the|is|was|speak|yet|from|as|who|will|has|had)\b)[^\W\d_][\w'’\-]+)?)"
)
_LOWER_INTRO = lazy(
    r"\b(?:this\s+is|it'?s|i'?m|i\s+am)\s+(?P<name>[a-z][a-z'\-]+)\s+(?:from|at|with|here|speaking|calling|over\s+at)\b"
)
_PAIR = lazy(rf"([{_UPPER}][\w'’\-]+)[ \t]+(?:and|&)[ \t]+([{_UPPER}][\w'’\-]+)")
_PREDICATE = lazy(
    r"(?:'s?)?[ \t]*(?::[ \t]*[\"“A-Z]|(?<=s)[ \t]+(?:kids?|son|daughter|wife|husband|mother|father|brother|"
    r"sister|friend|boss|partner|girlfriend|boyfriend)\b|[ \t]+(?:lives|lived|living|had\s+given|has\s+given|"
    r"gave|spent|began|started|works|worked|joined|said|says|asked|told|wrote|writes|shouted|smiled|replied|is\s+from|was\s+from|"
    # What a customer or patient does in a ticket or a record: "Dierk Erlei submitted the claim".
    r"submitted|requested|signed|filed|booked|complained|registered|applied\s+for|"
    r"is\s+very|was\s+very|is\s+a\s+very|has\s+been|was\s+born|is\s+married|called|emailed|phoned|texted|"
    r"visited|met|is\s+the\s+(?:ceo|cto|cfo|founder|owner|director|manager|head)|from\s+[A-Z]\w+\s+is\b)"
    # An appositive before a verb of saying: "Kristíana R Valbergsdóttir, the Cinematographer, said".
    r"|,[ \t]+(?:the|a|an|our|their|his|her)[ \t]+[\w\-]+(?:[ \t]+[\w\-]+)?,[ \t]+(?:said|says|added|explained|"
    r"told|wrote|noted|stated|commented))"
)
# What only a person does, after a given name that is also a word ("Grace", "Will", "May").
_PERSON_DEED = lazy(
    r":[ \t]*[\"“A-Z]|['’]s[ \t]+(?:kids?|son|daughter|wife|husband|mother|father|brother|sister|boyfriend|"
    r"girlfriend)\b|[ \t]+(?:lives|lived|said|says|asked|told|smiled|replied|shouted|whispered|is[ \t]+married|"
    r"was[ \t]+born|emailed|phoned|texted)\b"
)
_SPEAKER_LINE = lazy(rf"(?m)^[ \t>]*[{_UPPER}][\w'’\-]*(?:[ \t]+[{_UPPER}][\w'’\-]*){{0,2}}[ \t]*:[ \t]*\S")
_PAIR_PREDICATE = lazy(
    r"[ \t]+(?:were|are|have\s+been|had|met|married|both|live|lived|work|worked|founded|co-founded|wrote|sang|"
    r"played|performed)\b"
)
_STOP = frozenset(
    """a an the and or but if of to in on at by for from with as is was are were be this that these those it
    they we you he she i my our your their his her""".split()
)
_DETERMINERS = frozenset("a an the my your his her our their its this that some any no every".split())
_AFFILIATION = lazy(rf"[ \t]+(?:of|from|at)[ \t]+[{_UPPER}]")
_LIST_ITEM = lazy(rf"[{_UPPER}a-z][\w'’\-]+")
_LIST = lazy(
    rf"(?:[{_UPPER}a-z][\w'’\-]+,[ \t]+){{1,8}}[{_UPPER}a-z][\w'’\-]+,?[ \t]+(?:and|&|or)[ \t]+"
    rf"[{_UPPER}a-z][\w'’\-]+"
)
