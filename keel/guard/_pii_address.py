"""Postal addresses (type ADDRESS): a street line found by its shape, then grown over what follows it.

Street lines ("cores"), strongest first:

- number, name, street type: "615 Benedum Drive", "12 N. Main St.", "4 West 23rd Street";
- a word ending in a street morpheme, then a number, as in most of Europe: "Asselsestraat 7",
  "Villacher Strasse 89", "Laukaantie 80", "Ringvej 144", "Stensås terrasse 38";
- a street-type prefix, a name, a number: "Via Roma 131", "Rue de Rivoli 12", "ul. Jesionowa 127",
  "Calle Mayor 10", "Rua Diadema 1903";
- post office boxes and US military mail: "P.O. Box 104", "Postfach 12 34", "PSC 0729, Box 5797",
  "APO AE 20040", "USNS Sekerková";
- city, state and ZIP code: "St Georges, QC 54256";
- weaker: capitalised words and a number ("Kaevu 94") only after an address cue ("address", "lives at",
  "ship to", ...), possibly before the house number, as the second street of an intersection ("Leon and
  Eyrarodda 66"), or right after a house number when the address goes on or a street type follows; a
  street without number only after such a cue, or with a full street type after a preposition ("on
  Marina Fort Street");
- lowercase text, where capitals cannot help: numbers on both sides of a street word ("255 hersnapvej 18"),
  house number + words + street type ("3747 fourth avenue"), street-type prefix + words + number ("calle
  de juan pablo rubio 444"), street morpheme + number before a postal code or after a cue, words + number
  before a postal code and a town;
- a postal code said to be one ("ZIP: 43672").

A core is then extended forward over units ("Apt. 5", "Suite 250"), postal codes of the common formats,
state codes, city and country names after a comma or a line break, and backward over a house number
written before the street. Overlap with other labels is settled by the detector.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from keel.guard._pii_lazy import lazy
from keel.guard._pii_patterns import Candidate


def _upper_class() -> str:
    """A regex character class of the uppercase letters of the alphabets addresses are written in here
    (Latin with its extensions, Greek, Cyrillic): re has no \\p{Lu}, and scanning only these blocks keeps
    the import fast."""
    ranges: list[tuple[int, int]] = []
    for cp in (*range(0x41, 0x530), *range(0x1E00, 0x2000)):
        if chr(cp).isupper():
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    parts = [re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


_UP = _upper_class()
_L = r"[^\W\d_]"
# A capitalised word, possibly hyphenated or with an apostrophe ("El-Jazzar", "O'Connell"), or all capitals.
_W = rf"(?:{_UP}{_L}*(?:['’\-]{_L}+)*\.?)"
# Lowercase words that occur inside street and city names.
_PARTICLE = (
    r"(?:de|del|della|di|da|dos|das|do|du|des|la|le|les|el|los|las|van|von|der|den|ter|ten|zu|am|an|y|e|i|of|the|ibn|"
    r"bin|al|sur|sous|lès|dei|degli|delle|dello|dal|dalla|nad|pod|u|z|ze|w|v|ve|na|pri|při|bei|im|auf|upon)"
)
_NAME = rf"(?:{_W}|\d{{1,3}}(?:st|nd|rd|th|e|er)\b)"
_NUM = r"(?:\d{1,5}[A-Za-z]?(?:[\-/]\d{1,4}[A-Za-z]?)?)"
_SP = r"[ \t\u00a0]+"
_SPO = r"[ \t\u00a0]*"
# Between a street word and its house number: never a tab, which separates a table's columns ("Eva Moberg<TAB>298 86
# 4962" is a name and an SSN).
_SPN = r"[ \u00a0]*"  # also after a house number ("298<TAB>Friedberg" is two columns)

_SUFFIXES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|square|sq|terrace|terr|ter|"
    "way|parkway|pkwy|highway|hwy|circle|cir|crescent|cres|close|grove|gardens|gdns|hill|hills|park|row|walk|"
    "mews|rise|green|trail|trl|points?|crossing|xing|loop|alley|aly|expressway|expy|freeway|fwy|pike|plaza|plz|"
    "bypass|byp|gateway|gtwy|forges?|junction|jct|manor|mnr|mills?|ridge|rdg|run|path|pass|port|harbou?r|"
    "heights|hts|estates?|landing|meadows?|valley|vly|vista|view|village|vlg|center|centre|ctr|commons|cove|"
    "creek|crest|dale|dam|fields?|flats?|fords?|fort|glen|haven|hollow|inlet|islands?|isle|knolls?|lakes?|"
    "lodge|mall|motorway|mount|mountain|orchard|oval|pines|plains?|prairie|quay|ranch|rapids|shoals?|shores?|"
    "springs?|spur|station|stream|summit|trace|track|turnpike|underpass|wells?|wynd|embankment|parade|"
    "causeway|esplanade|promenade|broadway|hwy|route|rte|ramp|branch|brooks?|burgs?|camp|canyon|cliffs?|"
    "corners?|courts|curve|divide|extension|falls|ferry|frwy|garden|gardens|gtwy|harbors|keys?|lights?|locks?|"
    "loaf|neck|overpass|passage|radial|rest|shoal|skyway|squares|stravenue|streets|throughway|trafficway|"
    "tunnel|union|unions|villages?|ville|walks|ways|wall|estate|lanes|drives|circles|trails|bayous?"
)
# More street types of the USPS (Publication 28) and Australian (AS/NZS 4819) standards, and the Indian
# Nagar, Marg, Chowk, Ganj and Zila. Many are also plain English words ("Gap", "Turn", "Reach"), so they count
# only capitalised and only after a house number and a name: "6 Christina Riverway", "307, Pall Chowk".
_SUFFIXES_AFTER_NUMBER = (
    "Access|Alleyway|Amble|Anchorage|Approach|Arcade|Artery|Basin|Beach|Bend|Block|Brace|Brae|Bridge|"
    "Brow|Byway|Cape|Centreway|Chase|Chowk|Circlet|Circuit|Circus|Club|Colonnade|Common|Concourse|Copse|"
    "Corso|Course|Courtyard|Cross|Crossroad|Crossway|Cruiseway|Cutting|Dell|Deviation|Distributor|"
    "Driveway|Elbow|Entrance|Fairway|Fall|Firetrail|Footway|Foreshore|Forest|Fork|Forks|Formation|"
    "Frontage|Ganj|Gap|Gate|Gates|Glade|Grange|Gully|Highroad|Interchange|Intersection|Land|Laneway|Lees|"
    "Link|Lookout|Marg|Meander|Mew|Mission|Nagar|Nook|Outlook|Parklands|Pathway|Piazza|Pine|Plateau|"
    "Pocket|Quad|Quadrangle|Quadrant|Ramble|Range|Rapid|Reach|Reserve|Retreat|Ride|Ridgeway|Ring|River|"
    "Riverway|Riviera|Roadside|Roadway|Ronde|Rosebowl|Rotary|Round|Rue|Siding|Slope|Sound|Stairs|Steps|"
    "Strand|Strip|Subway|Tarn|Thoroughfare|Tollway|Tor|Towers|Trailer|Triangle|Trunkway|Turn|Vale|Via|"
    "Viaduct|Villas|Wade|Walkway|Zila"
)
_PREFIXES = (
    "rue|rúa|via|viale|piazza|piazzale|corso|vicolo|largo|calle|avenida|avda\\.?|paseo|carrer|camino|carretera|"
    "rambla|passeig|rua|praça|praca|travessa|estrada|alameda|strada|stradă|calea|bulevardul|bd\\.|str\\.|"
    "ul\\.|ulica|al\\.|aleja|pl\\.|plac|os\\.|osiedle|boulevard|chemin|allée|allee|impasse|quai|cours|avenue|"
    "place|route|rte|plaza|plazuela|ronda|travesía|travesia|c/|odos|οδός|odós|"
    # Greek square and avenue: "πλατεία Καραισκάκη 262", "Λεωφ. Κηφισίας 44".
    "πλατεία|πλατεια|λεωφόρος|λεωφορος|λεωφ\\.|"
    # A kilometre of a Greek highway, named by the towns it joins: "χλμ Αθηνών Σουνίου 246".
    "χλμ\\.?|"
    # Spanish, Italian, Portuguese and Romanian street types that open a street name.
    "cuesta|vial|glorieta|pasaje|callejón|calzada|corredor|privada|cerrada|circuito|andador|prolongación|"
    "contrada|borgo|rotonda|stretto|viela|ladeira|intrarea|aleea|șoseaua|soseaua|splaiul|"
    # Quebec's montée and rang, and allé; Croatian and Serbian avenija.
    "montée|montee|rang|allé|avenija"
)
# Attached (Strandweg) or separate (Villacher Strasse) street words of German, Dutch, Nordic, Finnish,
# Hungarian, Slavic and Icelandic addresses.
_MORPHEMES = (
    "straße|strasse|str\\.|weg|gasse|platz|allee|damm|ufer|steig|pfad|chaussee|markt|straat|laan|gracht|plein|"
    "baan|boulevard|"
    "kade|dijk|singel|steeg|dreef|vej|gade|allé|stræde|torv|vænget|gatan|vägen|väg|gränd|torget|stigen|gata|gate|"
    "veien|vegen|vei|veg|katu|tie|kuja|polku|tori|raitti|kaari|utca|út|tér|körút|ulica|cesta|ulice|náměstí|"
    "třída|stræti|vegur|terrasse|terasse|plass|bakken|brinken|hof|wei|pad|berg|u\\.|útja|rkp\\.|krt\\.|körút|"
    "tee|iela|gatve|prospekt|trg|kapu|sor|köz|bulevardi|puistikko|raitti|rinne|polku|vijenac|perivoj|prilaz|"
    "nabrežje|šetalište|podhod|rameno|nábrežie|"
    # Flemish quays, German bridges, Icelandic streets.
    "kaai|brücke|gerði|stígur|braut|"
    # Hungarian quays, promenades and alleys ("Bem rakpart 79.", "Kossuth sétány 3", "Városligeti fasor 12").
    "rakpart|sétány|fasor"
)
# Street words written apart from the name, Estonian and Turkish ("Pärnu maantee 12", "Bürlük Caddesi 632"):
# looked for only as words of their own, which keeps them out of the scan of every word's ending.
_WORD_MORPHEMES = "tänav|puiestee|maantee|põik|caddesi|cadde|sokağı|sokak|bulvarı|mahallesi"
# The Dutch article before a place name inside a street's, its apostrophe sometimes dropped:
# "'s-Gravendijkwal 12", "Storm van 's-Gravesandeweg 123", "s-Gravendamseweg 15".
_DUTCH_S = r"(?:['’]?s-)?"
_DIRECTION = r"(?:[NSEW]\.?|N\.?[EW]\.?|S\.?[EW]\.?|North|South|East|West|Nord|Süd|Ost)"

_CORE_NUMBER_FIRST = lazy(
    rf"(?<![\w\-/.,])(?P<num>{_NUM}),?(?:[ \u00a0]+|[ \t]*\n[ \t]*)(?:{_DIRECTION}{_SP})?"
    rf"(?:{_NAME}{_SP}|{_PARTICLE}{_SP}){{0,4}}{_NAME}{_SP}"
    rf"(?:(?i:(?:{_SUFFIXES})s?)|{_SUFFIXES_AFTER_NUMBER})(?!\w)\.?(?:{_SP}(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
)
# The lookahead before the street word: that word is letters (a morpheme may end in a dot), then an optional
# dot and comma, spaces and the house number's first digit. Checking that first spares the alternation of
# all the morphemes, tried at every length of every word, where no number follows; it only drops attempts
# that could not match, so the matches are the same.
_CORE_MORPHEME = lazy(
    rf"(?<![\w\-])(?:(?:{_W}|{_PARTICLE}){_SP}){{0,3}}(?={_DUTCH_S}[^\W\d_]*\.?\.?,?{_SPN}\d)"
    rf"(?:{_DUTCH_S}{_UP}{_L}*(?i:{_MORPHEMES})|(?<=\s)(?i:{_MORPHEMES}|{_WORD_MORPHEMES}|pot|put|vrh|breg|cesta|ulica))(?!\w)\.?,?{_SPN}{_NUM}(?![\w\-]|[.,]\d)"
)
# The same street words after the house number, as generated data and international forms write them
# ("200 Ramstraat", "1012 Per Poulsens Vej", "1276 Lahesuu allee"): a street word alone needs a name before it.
# There "str" without its dot is the street too ("92 Vasileos Pavlou str"), not Python's string type.
_CORE_NUMBER_MORPHEME = lazy(
    rf"(?=\d)(?<![\w\-/.,])(?P<num>{_NUM}),?[ \u00a0]+"
    rf"(?:(?:(?:{_W}|{_PARTICLE}){_SP}){{0,3}}{_DUTCH_S}{_UP}{_L}+(?i:{_MORPHEMES})"
    rf"|(?:(?:{_W}|{_PARTICLE}){_SP}){{1,3}}(?i:{_MORPHEMES}|{_WORD_MORPHEMES}|str))(?!\w)"
)
# An apartment on the same line, capitalised: "86 Pavlou Drandaki Apt. 398". Not a suite, which is as
# often a hotel's ("2 Hilton Suite 5 nights").
_UNIT_SAME_LINE = r"[ \t]+(?:Apt|Apartment)\.?[ \t]*#?[A-Za-z]?\d{1,5}[A-Za-z]?(?!\w)"
# A house number and capitalised words ending where an address part would, taken after a cue, before a
# postal code or before a unit: "My address is 664 Gjelstensåsen, thanks.", "980 Tjernveien\n6892 Hokksund".
_CORE_NUMBER_NAME = lazy(
    rf"(?=\d)(?<![\w\-/.,])(?P<num>{_NUM}),?{_SP}(?:(?:{_W}|{_PARTICLE}){_SP}){{0,3}}(?!(?:Apt|Apartment)\b){_W}"
    rf"(?=[ \t]*(?:[,;:!?)\"\n}}]|\.(?!\w)|$)|[ \t]+[a-z]|{_UNIT_SAME_LINE})"
)
_UNIT_SAME_LINE_NEXT = lazy(_UNIT_SAME_LINE)
_YEAR = lazy(r"(?:1[89]|20)\d\d$")
_NUMBER_THEN_NAME = lazy(rf"\d[A-Za-z]?,?{_SP}{_UP}")
# German and Austrian streets named after a person are hyphenated compounds ("Robin-Krein-Straße 82",
# "Felix-Schwarzl-Ring 4/6"); after a hyphen even short words ("-Ring", "-Hof") are the street type.
_HYPHEN_TYPES = (
    "Ring|Hof|Berg|Markt|Kai|Zeile|Park|Anger|Grund|Feld|Tor|Brücke|Bogen|Garten|Hain|Höhe|Winkel|Graben|Kamp|"
    "Promenade|Passage|Stieg|Twiete|Wall"
)
# The parts before the street word: capitalised names, an abbreviation ("St.-Georg-Platz") or a
# conjunction or particle between them ("Elise-und-Otto-Hampel-Weg", "Walther-von-der-Vogelweide-Straße").
_CORE_HYPHENATED = lazy(
    rf"(?<![\w\-])(?:{_UP}{_L}*\.?-)(?:(?:{_UP}{_L}*|und|von|vom|der|den|zum|zur|am|an|im|auf|de|la|le)-)*(?:{_UP}?{_L}*(?i:{_MORPHEMES})|{_HYPHEN_TYPES})(?!\w)\.?,?{_SPO}{_NUM}(?![\w\-]|[.,]\d)"
)
# Street types that open a name in Brazil, Portugal, Spain, Mexico, Italy, Romania and Quebec, which are
# also ordinary nouns there ("Lago", "Campo", "Vila"): only capitalised, before a capitalised name.
_PREFIXES_CAPITALISED = (
    "Aeroporto|Área|Campo|Chácara|Colônia|Condomínio|Conjunto|Distrito|Esplanada|Estação|Fazenda|Favela|Feira|"
    "Jardim|Lago|Lagoa|Loteamento|Morro|Núcleo|Parque|Passarela|Pátio|Praia|Quadra|Recanto|Residencial|"
    "Rodovia|Setor|Sítio|Trecho|Trevo|Vale|Vereda|Viaduto|Vila|Acceso|Cañada|Pasadizo|Urbanización|"
    "Ampliación|Circunvalación|Continuación|Diagonal|Peatonal|Periférico|Retorno|Viaducto|Incrocio|Canale|"
    "Drumul|Strada|Av|R\\.|"
    # Greek avenue abbreviated, capitalised ("Λ. Αλκυονίδων 183"); in lowercase it is rarely a street.
    "Λ\\.|"
    # French street types that are also nouns ("Cour Du Midi", "Prom. Waldeck Rousseau"), and the Mexican
    # colonia words that open a street name ("Villas de Ajedrez 982", "Jardines del Sol 1030").
    "Voie|Venelle|Cour|Parc|Sentier|Faubourg|Prom\\.|Promenade|Hameau|Ruelle|Traverse|Villas|Jardines|Valle|"
    "Lomas|Colinas|Bosques|Fraccionamiento|Colonia|Hacienda"
)
_CORE_PREFIX = lazy(
    rf"(?<![\w\-])(?:(?i:{_PREFIXES})|{_PREFIXES_CAPITALISED}){_SP}(?:(?:{_W}|{_PARTICLE}|\d{{1,3}}(?:st|nd|rd|th|e|er)?\b){_SP}){{0,5}}"
    rf"{_W}(?:,?{_SPO}(?P<num>{_NUM})(?![\w\-]|[.,]\d))?"
)
# A street-type word opening a span: "Ladeira Olívia Viana" is a street named after a person.
STREET_PREFIX_AT = lazy(rf"(?:(?i:{_PREFIXES})|{_PREFIXES_CAPITALISED}){_SP}")
# A house number, then a comma or a line break, then a street named only by a name, as Indian and other
# addresses are written: "69, Subramaniam", "H.No. 615, Suri", "84/88, Kannan", "Flat 402, Sunshine
# Apartments". Taken after a cue or a unit word ("H.No.", "Flat", "Plot", "Door No.").
_CORE_NUMBER_COMMA_NAME = lazy(
    rf"(?<![\w\-/.,])(?P<hno>(?i:h\.?[ \t]?no\.?|(?:flat|plot|house|door|shop)(?:[ \t]?no\.?)?)[ \t]*)?"
    rf"(?P<num>\d{{1,5}}(?:/\d{{1,4}})?[A-Za-z]?)"
    rf"(?:,[ \t]*|[ \t]*\n[ \t]*){_W}(?:{_SP}{_W}){{0,2}}(?=[ \t]*(?:[,.;\n\"]|$))"
)
# Every alternative opens a word with one of a few letters: said once in front, so that other positions fail
# there rather than in each alternative.
_CORE_BOX = lazy(
    rf"(?i)(?<![\w\-])(?=[abcdfpu])(?:"
    rf"(?:p\.?{_SPO}o\.?{_SPO}box|post{_SPO}(?:office{_SP})?box|postbox|postfach|postbus|"
    rf"apartado(?:{_SP}de{_SP}correos)?|casilla|caixa{_SP}postal|boîte{_SP}postale|b\.p\.)"
    rf"{_SPO}\d[\d ]{{0,7}}\d?(?!\w)"
    rf"|(?:psc|cmr|unit){_SP}\d{{3,5}},?{_SP}box{_SP}\d{{2,5}}(?!\w)"
    rf"|(?:apo|fpo|dpo){_SP}(?:aa|ae|ap){_SP}\d{{5}}(?!\w)"
    rf")"
)
# Japanese block addresses: chōme-banchi-gō and a district, romanised ("2-14-7 Shibuya, Tokyo", "3-12-1 Kudan-Minami",
# "1-1-2 Oshiage, Sumida-ku 131-0045") when a town or a 〒 postal code follows; in Japanese script a
# prefecture, a city or ward, then the block numbers ("東京都渋谷区道玄坂2-14-7", "大阪府大阪市北区梅田3丁目1番1号").
_CORE_JP_BLOCK = lazy(
    r"(?<![\w\-/.:])\d{1,2}-\d{1,2}(?:-\d{1,4})?[ \t]+[A-Z][a-z]+(?:-(?:[A-Z][a-z]+|ku|shi|cho|machi|gun|mura))?"
    r"(?=[ \t]*,[ \t]*[A-Z][a-z]|[ \t]+\d{3}-\d{4}\b)"
    # ...and something Japanese within the line: a postal code, a ward or city suffix, a big city.
    r"(?=[^\n]{0,40}(?:\b\d{3}-\d{4}\b|-(?:ku|shi|ken|to|fu)\b|\b(?:Japan|Tokyo|Osaka|Kyoto|Yokohama|Nagoya|"
    r"Sapporo|Kobe|Fukuoka|Sendai|Hiroshima|Kawasaki|Saitama|Chiba)\b))"
    r"|(?:東京都|北海道|京都府|大阪府|[\u4e00-\u9fff]{2,3}県)[\u4e00-\u9fff\u3040-\u30ff]{1,12}?[市区町村郡]"
    r"[\u4e00-\u9fff\u3040-\u30ff]{0,12}?[0-9０-９]{1,4}(?:(?:[-−‐ー－]|丁目|番地?|号)[0-9０-９]{0,4}){1,4}"
    # A city or ward without the prefecture, then block numbers of one to three digits (not a date).
    r"|(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{1,5}[市区町村][ \t\u3000]?"
    r"[0-9０-９]{1,3}(?:[-−‐ー－][0-9０-９]{1,4}){1,3}(?![\d\-])"
)
_CORE_SHIP = lazy(rf"(?<![\w\-])(?:USNS|USNV|USS|USCGC|usns|usnv|uss){_SP}{_W}(?:{_SP}{_W})?")
_CORE_CITY_STATE_ZIP = lazy(rf"(?<![\w\-])(?:{_W}{_SP}){{0,2}}{_W},{_SPO}[A-Z]{{2}}{_SP}\d{{5}}(?:-\d{{4}})?(?!\w)")
# Capitalised words and a number, only taken after a cue or a house number.
# Starts on a capitalised word: a leading particle ("of Kuusiku 7") would hide the street behind a stop word.
_CORE_NAME_NUMBER = lazy(
    rf"(?<![\w\-])(?:{_W}{_SP}(?:(?:{_W}|{_PARTICLE}){_SP}){{0,2}})?{_W},?{_SP}{_NUM}(?![\w\-]|[.,:]\d)"
)
_CORE_NAME_SUFFIX = lazy(rf"(?<![\w\-])(?:{_W}{_SP}){{1,3}}(?i:(?:{_SUFFIXES})s?)(?!\w)\.?")
_CUE = lazy(
    r"(?i)\b(?:address|addr|adress|adresse|anschrift|dirección|direccion|indirizzo|adres|endereço|"
    r"lives?\s+(?:at|on|in)|living\s+(?:at|on)|located\s+(?:at|on|in)|situated\s+(?:at|on)|resid\w*|domicile|"
    r"(?:send|ship|deliver|mail|post|return|bring|forward)(?:ed|ing)?\s+(?:\w+\s+){0,3}to|moved?\s+to|"
    r"meet(?:\s+me)?\s+at|stop\s+at|enter\s+on|drop(?:\s+\w+)?\s+off\s+at|come\s+to|visit|corner\s+of|"
    r"intersection\s+of|junction\s+of|at|on|wohnhaft|wohne|straße|calle|rue|via)\b"
)
_STRONG_CUE = lazy(
    # "Update the address with ...", "replace my address with ...": the new one follows.
    r"(?i)\b(?:(?:address|addr|adress)(?:\s+with)?|"
    # "Adresse de livraison", "Endereço de entrega", "indirizzo di consegna", "Lieferadresse".
    r"(?:\w*adresse|\w*anschrift|dirección|direccion|indirizzo|\w*adres|endereço)(?:\s+(?:de|di|da|do|van)\s+\w+)?|"
    r"li(?:ves?|ved|ving)\s+(?:at|on|in)|located\s+(?:at|on)|situated\s+(?:at|on)|"
    # The irregular past forms too: "have the statement sent to", "shipped to", "brought to".
    r"(?:(?:send|ship|deliver|mail|post|return|bring|forward)(?:ed|ing)?|sent|shipped|shipping|brought)"
    r"\s+(?:\w+\s+){0,3}to|moved?\s+to|arrive[sd]?\s+at|"
    r"meet(?:\s+(?:me|you|us|him|her|them))?\s+at|stop\s+at|enter\s+on|drop(?:\s+\w+)?\s+off\s+at|corner\s+of|"
    r"intersection\s+of|(?:is|are|was|were)\s+(?:on|at)|office\s+is\s+at|from|"
    # Invoice labels, and street fields of forms and records ("street": "...", address_line1=...).
    r"(?:bill|sold|remit|invoice)(?:ed|ing)?\s+to|(?:street|address|addr)(?:[_ ]?(?:address|name|line))?[_ ]?\d?"
    r"(?=[\"']?[ \t]*[:=])|"
    # The same in German, French, Spanish, Italian, Dutch and Portuguese: living at, sending to, being at
    # ("wohne seit Mai in", "envoyer au", "envíelo a", "spedisci a", "stuur het naar", "envie para").
    r"wohn\w*\s+(?:\w+\s+){0,3}(?:in|im|am|an|auf)|(?:send|schick|liefer)\w*\s+(?:\w+\s+){0,3}(?:an|nach)|"
    r"befindet\s+sich\s+(?:in|im|am|an|auf)(?:\s+der)?|j'habite(?:\s+(?:au|à|en))?|habite\s+(?:au|à)|"
    r"se\s+trouve\s+(?:au|à|en)|envoy\w*\s+(?:\w+\s+){0,2}(?:au|à)|viv[eo]\s+en|me\s+mud[eé]\s+a|"
    r"env[ií]\w*\s+(?:\w+\s+){0,2}(?:a|para)|est[áa]\s+en|abit[oa]\s+(?:in|a)|trasferit[oa]\s+(?:in|a)|"
    r"spedisc\w*\s+(?:\w+\s+){0,2}a|si\s+trova\s+(?:in|a)|woon\w*\s+(?:\w+\s+){0,3}(?:op|in|aan)|"
    r"stuur\w*\s+(?:\w+\s+){0,2}naar|gevestigd\s+(?:aan|op|in)|moro\s+(?:em|na|no)|mudei-me\s+para|"
    r"fica\s+(?:na|no|em))\b"
    r"[\s:,\-\"'=]*"
    # A question, then the answer after a speaker's label: "Where should it be sent to? User: ...".
    r"(?:\?[ \t]*(?:\w{1,12}[ \t]*:[ \t]*)?)?"
    r"(?:is\s+|it\s+is\s+|it's\s+|in\s+|at\s+|on\s+|to\s+)?"
    # A side or end of the street named next: "lives on the north side of Odra 60", "at the far end of".
    r"(?:the\s+(?:(?:far|(?:north|south|east|west)(?:ern)?)\s+)?(?:side|end|part)\s+of\s+)?"
    # The first street of an intersection: "return to Leon and Eyrarodda 66".
    r"(?:(?-i:[A-Z])[\w'’\-]*\s+(?:and|&)\s+)?$"
    # A shipping or billing label, then the addressee's name and a comma or a line break: "Bill to: Mary
    # Taylor, 878 Kathleen Break, ...", "Ship to:\nJoeri Verbeke\n532 ...".
    r"|\b(?:(?:ship|bill|deliver|send|mail|sold|remit|invoice)(?:ed|ing)?\s+to|attn|c/o)[ \t]*:?\s*"
    r"(?-i:[A-Z])[\w'’.\-]*(?:[ \t]+(?-i:[A-Z])[\w'’.\-]*){0,3}(?:,[ \t]*|[ \t]*\n[ \t]*)$"
)
# Words that look like a name followed by a number but are not streets.
_NOT_STREET = lazy(
    r"(?i)^(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|"
    r"mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"chapter|page|pages|p|pp|section|version|v|windows|python|java|iphone|galaxy|model|type|level|step|"
    r"phase|part|round|season|episode|vol|volume|no|number|nr|item|table|figure|fig|room|gate|flight|"
    r"platform|line|bus|route|apt|suite|unit|flat|floor|box|year|age|aged|in|at|on|since|until|from|to|"
    r"the|of|and|or|for|by|with|about|over|under|top|class|grade|covid|ww|world war|psalm|act|title|"
    r"article|rule|law|bill|order|invoice|ticket|case|id|ref|code|pin|zip|postcode|tel|phone|fax|mobile|"
    r"desk|office|call|is|was|are|were|be|it|he|she|they|we|i|you|my|his|her|their|our|your|a|an|ages|"
    r"under|over|only|just|about|around|nearly|almost|approximately|all|top|best|first|last|next|"
    # Places inside airports, stations and venues: "arrived at Terminal 5", "sent to Hangar 2".
    r"terminal|concourse|hangar)$"
)

# A line break inside an address block, with the quoting some mail clients and forms put at line starts.
_BREAK = r"(?:[ \t]*,?[ \t]*\n(?:[ \t]*\n)?(?:[ \t>?*•·|]|[\-–](?=[ \t]))*,?[ \t]*|[ \t]*,[ \t]*)"
# A street type right after a span, or as its last word: "Herceg Gateway St", "Miletić Dale Street".
# Only the types that are not also surnames (Hill, Park, Lane, Wells, Brooks, ...).
_UNAMBIGUOUS_TYPES = (
    "street|st|str|avenue|ave|road|rd|boulevard|blvd|drive|dr|highway|hwy|parkway|pkwy|turnpike|expressway|"
    "freeway|motorway|terrace|crescent|cres|gateway|mall|plaza|square|sq|bypass|causeway|alley|esplanade|"
    "promenade|court|ct|place|pl|circle|cir|crossing|trail|trl|points?|squares|courts|greens|coves|flats|"
    "isle|lodge|club|fort|mews|close|way|row|walk|path|quay|wynd|parade"
)
_CAPITALISED_TYPES = (
    "|".join(form for t in _UNAMBIGUOUS_TYPES.split("|") for form in (t.capitalize(), t.upper()) if "?" not in t)
    + "|Points?|POINTS?"
)
STREET_TYPE_AFTER = lazy(rf"{_SPO}(?:{_CAPITALISED_TYPES})(?!\w)\.?")
STREET_TYPE_LAST = lazy(rf"{_SP}(?:{_CAPITALISED_TYPES})\.?$")
_UNIT = lazy(
    rf"(?i)(?:{_BREAK}|[ \t]*)(?:apt\.?|apartment|suite|ste\.?|unit|flat|fl\.?|floor|room|rm\.?|bldg\.?|building|"
    rf"no\.?|nr\.?|#|app\.?|appt\.?|piso|étage|etage|stock|whg\.?|lgh\.?|dept\.?|door|puerta){_SPO}#?"
    rf"[A-Za-z]?\d{{1,5}}[A-Za-z]?(?!\w)"
    # Floor and door as Spain, Portugal and Italy write them: "3º B", "2º izq.", "1ª", "4.º dto.".
    rf"|(?:{_BREAK}|[ \t]*)\d{{1,2}}\.?[ \t]?[º°ª](?:[ \t]?(?:[A-Za-z](?!\w)|\d{{1,2}}[º°ª]?|izq(?:uierda)?\.?|izda\.?|"
    rf"dcha\.?|drcha\.?|der(?:echa)?\.?|esq\.?|dto\.?|dt\.?|int\.?))?"
)
# With the country letters Europe's forms put before a postal code ("DK-2100", "CH-8001", "LV-1010") first.
_POSTAL = (
    r"(?:[A-Z]{1,2}-\d{4,5}|\d{5}(?:-\d{4})?|\d{4}(?:[ \t]?[A-Z]{2})?|\d{3}[ \t]\d{2}|\d{2}-\d{3}|\d{4}-\d{3}|"
    r"\d{5}-\d{3}|"
    r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|\d{6}|\d{3})"
)
# After a comma or a line break: city/region words (possibly with a postal code or state code), a postal
# code, or a state code; after a plain space only a postal code, a state code with a postal code, or words
# right after a unit. A piece must end where an address part would: punctuation, a line end, a number.
_PIECE_END = r"(?=[ \t]*(?:[,.;:?!()\n\"}\]]|$)|[ \t]+\d)"
# The town's region as Italy and Brazil write it after the town: "Roma (RM)", "Costa / CE".
_REGION_AFTER_TOWN = rf"(?:[ \t]+\((?:[A-Z]{{2}}|{_W})\)|[ \t]*/[ \t]*[A-Z]{{2}}\b)?"
# A postal code and a town ("50596 Brilon", "21269 Bolu/Niğde"), or a town and a postal code, is a line of
# an address whatever follows it, a sentence going on in lowercase too ("I moved to ... 50596 Brilon last
# month"); words alone must end where an address part would. A town may name its district after a slash
# ("Warszawa/Wesoła").
_AFTER_BREAK = lazy(
    rf"{_BREAK}"
    rf"(?:(?:{_W}|{_PARTICLE})(?:/{_W})?(?:[ \t]+(?:{_W}|{_PARTICLE}|\d{{1,2}}(?=[ \t]*(?:\n|,|$)))){{0,4}}"
    rf"(?:[ \t]+[\-–][ \t]+[A-Z]{{2,3}})?{_REGION_AFTER_TOWN}"
    rf"(?:[ \t]*,?[ \t]*{_POSTAL}(?:{_PIECE_END}|(?=[ \t]+[a-z]))|{_PIECE_END})"
    rf"|[A-Z]{{2,3}}(?:[ \t]+{_POSTAL})?{_PIECE_END}"
    rf"|{_POSTAL}[ \t]+{_W}(?:/{_W})?(?:[ \t]+(?:{_W}|{_PARTICLE})){{0,3}}{_REGION_AFTER_TOWN}"
    rf"(?:{_PIECE_END}|(?=[ \t]+[a-z]))"
    rf"|{_POSTAL}{_PIECE_END})"
)
_AFTER_SPACE = lazy(rf"[ \t]+(?:[A-Z]{{2,3}}[ \t]+)?{_POSTAL}(?![\w\-])")
_WORDS_AFTER_UNIT = lazy(rf"[ \t]+{_W}(?:[ \t]+{_W}){{0,3}}(?:[ \t]+{_POSTAL})?(?=[ \t]*(?:[,.;:?!)\n]|$)|[ \t]+\d)")
# One or two numbers before a street ("12 Rue X", "Flat 3, 12 ..." has its unit matched separately; forms
# and generated data also write a building number before the street number).
_HOUSE_NUMBER_BEFORE = lazy(rf"(?<![\w\-/.,])(?:\d{{1,6}}[A-Za-z]?,?{_SP}){{1,2}}$")
# A unit written before the street line: "Flat 4, 23 High Street".
_UNIT_WORDS = r"flat|studio|apt\.?|apartment|unit|suite"
_UNIT_BEFORE = lazy(rf"(?i)(?<![\w\-])(?:{_UNIT_WORDS}|ste\.?|room|floor|fl\.?){_SP}#?\w{{1,5}},?{_SP}$")
# The word before a house number that a core starts on: "Flat 3\nMason Motorway", "H.No. 21\nMagar Chowk".
_UNIT_WORD_BEFORE = lazy(rf"(?i)(?<![\w\-])(?:{_UNIT_WORDS}|h\.?[ \t]?no\.?)[ \t]*$")
# Number, street-type prefix, then words in any case up to a comma or line end: "36 rue de pologne".
_CORE_NUMBER_PREFIX = lazy(
    rf"(?<![\w\-/.,])(?:{_NUM},?{_SP}){{1,2}}(?i:{_PREFIXES}){_SP}(?:{_L}[\w'’\-]*\.?{_SPO}){{1,5}}"
    rf"(?:{_NUM}(?![\w\-]))?"
)
# The same with a capitalised street type and capitalised words: "296 Cour Du Midi", "89 Parc Du Lardeau".
_CORE_NUMBER_CAPITALISED_PREFIX = lazy(
    rf"(?=\d)(?<![\w\-/.,])(?:{_NUM},?{_SP}){{1,2}}(?:{_PREFIXES_CAPITALISED}){_SP}(?:(?:{_W}|{_PARTICLE}){_SP}){{0,4}}{_W}"
)
# Lowercase text (chat, forms typed without capitals): a house number, words, a number, where one word is
# a street word ("255 hersnapvej 18", "98 árpád fejedelem útja 45"), or a house number, words and an
# English street type ("3747 fourth avenue"). The numbers on both sides stand in for the missing capitals.
_CORE_LOWER_NUMBERED = lazy(
    rf"(?<![\w\-/.,])(?:\d{{1,6}}[a-z]?,?{_SP}){{1,2}}(?P<words>(?:{_L}+{_SP}){{0,3}}{_L}+\.?)"
    rf"{_SP}\d{{1,5}}[a-z]?(?![\w\-]|[.,]\d)"
)
_STREET_WORD = lazy(rf"(?i)(?:{_MORPHEMES}|{_WORD_MORPHEMES})$|^(?:{_PREFIXES}|trg|náměstí|námestie|utca|út)$")
_CORE_LOWER_TYPED = lazy(
    rf"(?<![\w\-/.,])(?:\d{{1,6}}[a-z]?,?{_SP}){{1,2}}(?P<words>(?:{_L}+{_SP}){{1,3}})"
    rf"(?:street|avenue|road|boulevard|lane|drive|highway|parkway|terrace|crescent|court|square|plaza|st|ave|rd|"
    rf"blvd)(?!\w)\.?"
)
# The same with any street type, where more of an address follows (a unit, a line break or a comma).
_CORE_LOWER_ANY_TYPE = lazy(
    rf"(?<![\w\-/.,])(?:\d{{1,6}}[a-z]?,?{_SP}){{1,2}}(?P<words>(?:{_L}+{_SP}){{1,3}})"
    rf"(?:{_SUFFIXES})s?(?!\w)\.?(?=[ \t]*(?:\n|,|$)|{_SP}(?:apt|suite|unit|flat|ste)\b)"
)
# Without capitals to go by (these match capitalised text too): a word ending in a street morpheme and a
# number ("löwerring 2", "keldsøvej 7"); a street type, words and a number ("calle de juan pablo rubio
# 444", "al. dobra 84", "rua morais, 739").
# Found as a word and a number, then the word's ending checked: one alternation of all the morphemes tried
# at every letter costs more than the rest of the grammar.
_WORD_NUMBER = lazy(rf"(?<![\w\-])(?P<word>{_L}{{3,}})\.?,?{_SPO}{_NUM}(?![\w\-]|[.,]\d)")
_MORPHEME_END = lazy(rf"(?i)(?:{_MORPHEMES}|{_WORD_MORPHEMES}|ring|bakken|vägen|gränd)$")
_CORE_LOWER_PREFIX = lazy(
    rf"(?<![\w\-])(?:{_PREFIXES}){_SP}(?:{_L}[\w'’\-]*\.?{_SP}){{0,5}}{_L}[\w'’\-]*,?{_SPO}"
    rf"(?:(?:nr|n°|no|núm|num)\.?{_SPO})?{_NUM}(?![\w\-]|[.,]\d)"
)
_ENGLISH_PREFIXES = frozenset("place via route rte cours avenue boulevard plaza rang".split())
_LOWER_STOP = frozenset(
    """a an the to of and or in on at for with from by my your our his her their its more less than other new
    old big small first last next few many times years days hours minutes miles km people""".split()
)
# "ZIP: 43672", "postal code 10115": a postal code said to be one.
_CORE_POSTAL_LABEL = lazy(
    rf"(?i:\b(?:zip|postal|post)(?:[ \t]*code)?[ \t]*(?:is|:|#|-)?[ \t]*)(?P<code>{_POSTAL})(?![\w\-])"
)
# Lowercase words and a number, then a postal code and a town: "vídeňská 7\n693 64 zbiroh".
# The postal code may carry the label some countries print before it ("ΤΚ 529 17", "CP 28001").
_POSTAL_TOWN_NEXT = lazy(
    # Three digits after a comma are more often a count ("in the U.S. In 2010, 358 murders").
    rf"[ \t]*(?:,?[ \t]*\n[ \t]*|,[ \t]*(?!\d{{3}}(?!\d|[ \t]\d\d\b)))"
    rf"(?:(?:T\.?K\.?|Τ\.?Κ\.?|CP|C\.P\.|CEP|PLZ)[ \t]*)?{_POSTAL}[ \t]+{_L}"
)
# A town and then its postal code, on the next line or after a comma: "Aleea Popa\nHuedin, 479907".
_TOWN_POSTAL_NEXT = lazy(
    rf"(?:,[ \t]*|[ \t]*\n[ \t]*)(?:{_W}|{_PARTICLE})(?:[ \t]+(?:{_W}|{_PARTICLE})){{0,3}}(?:,[ \t]*| +)"
    # Not three digits: "Atlanta\t400" in a table is a count.
    rf"(?!\d{{3}}(?!\d|[ \t]\d\d\b))(?:{_POSTAL})(?![\w\-])"
)
# A capitalised word and lowercase ones before a number, as Slavic streets are named ("Na hriadkach 9",
# "Fialkové údolie 20", "Krležin gvozd 8b/6"): only after a cue or before a postal code.
# Looked for before the word of a word and a number (_WORD_NUMBER), where it can end, not at every word.
_NAME_LOWER_BEFORE = lazy(rf"(?<![\w\-])(?:{_W}{_SP})?{_W}{_SP}(?:{_L}{{3,}}{_SP})?$")
# An apartment or suite on the next line or after a comma: "110 Kontomari\n Apt. 925" is a street line.
_STRONG_UNIT_NEXT = lazy(
    rf"(?i){_BREAK}(?:apt\.?|apartment|suite|ste\.|unit|flat){_SPO}#?[A-Za-z]?\d{{1,5}}[A-Za-z]?(?!\w)"
)
# A street type written after the house number, in lowercase too, and closing the name: "Männiku 63 street in
# Maru" ("Apollo 11 street parties" goes on with a noun).
_TYPE_WORD_NEXT = lazy(
    r"[ \t]+(?i:street|road|avenue|boulevard|lane)(?=[ \t]*(?:[,.;:!?)\n]|$|(?:in|of|at|near|off|and)\b))"
)
# The phone lines of a signature, labelled ("Mobile: ...", "Tel.: ...", "Desk: ...").
_CONTACT_LINE_NEXT = lazy(
    r"[ \t]*\n[ \t]*(?i:mobile|mob|cell|phone|tel|telephone|fax|desk|office|direct|work|main)\b[^\n:]{0,12}:"
)
# The end of a message, or of its last line.
_TEXT_END = lazy(r"[ \t]*[.?!]?[ \t]*$")
_COUNT_NEXT = lazy(
    r"(?i)[ \t]+(?:more[ \t]+|other[ \t]+|full[ \t]+)?(?:years?|months?|weeks?|days?|nights?|hours?|hrs|minutes?|mins|"
    r"seconds?|times|copies|pages|items|pieces|people|persons|emails|messages|letters|files|miles|km|kilomet(?:er|re)s|"
    r"met(?:er|re)s|percent|points|goals|games|episodes|chapters)\b"
)
_GERMAN_ARTICLE = lazy(r"(?i)(?:der|den|dem|die|das)$")
_ADDRESS_WORD = lazy(r"(?i)\baddress(?:es)?\b")
_INTERSECTION_BEFORE = lazy(rf"(?<![\w\-]){_W}{_SP}(?:and|&){_SP}$")
_POSTAL_NEXT = lazy(rf"[ \t]*(?:,[ \t]*|\n[ \t]*){_POSTAL}(?![\w\-])")
_PLACE_PREPOSITION = lazy(r"(?i)\b(?:on|at|in|to|from|near|off|along|down|up|via|onto|into)[ \t]+(?:the[ \t]+)?$")
_ENDS = lazy(r"[ \t]*(?:[.?!;)]|\n|$)")
_LABEL_LINE = lazy(r"\n[^\n]{0,25}:")
_MAX_LEN = 240


def _grow(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend a street line over the rest of the address that follows (and a house number before it)."""
    unit = _UNIT_BEFORE.search(text, max(0, start - 20), start)
    before = _HOUSE_NUMBER_BEFORE.search(text, max(0, start - 16), start)
    if unit:
        start = unit.start()
    elif before:
        start = before.start()
    else:
        word = _UNIT_WORD_BEFORE.search(text, max(0, start - 12), start)
        if word:
            start = word.start()
    while end > start and text[end - 1] in " \t":
        end -= 1
    # The full stop some countries write after a house number ("Kálmán Imre u. 12.").
    if text[end : end + 1] == "." and end > 0 and text[end - 1].isdigit():
        if text[end + 1 : end + 2] in ("\n", ",") or _UNIT.match(text, end + 1):
            end += 1
    after_unit = False
    while end - start < _MAX_LEN:
        m = _UNIT.match(text, end)
        if m:
            end, after_unit = m.end(), True
            continue
        m = _AFTER_SPACE.match(text, end)
        if m:
            end, after_unit = m.end(), False
            continue
        if after_unit:
            m = _WORDS_AFTER_UNIT.match(text, end)
            if m:
                end, after_unit = m.end(), False
                continue
        m = _AFTER_BREAK.match(text, end)
        if m and not _LABEL_LINE.match(text, end) and m.end() - end <= 60:
            piece = text[end : m.end()].strip(" \t\n,>")
            words = piece.split()
            if words and _NOT_STREET.match(words[0]) and not words[0].isupper():
                break
            end, after_unit = m.end(), False
            continue
        break
    return start, end


def _cue_before(text: str, start: int) -> bool:
    """Whether an address cue ends right before a street line, or before the house number written ahead of
    it: "lives at 6228 30 N. Stadion" has a building number between the cue and the street's own."""
    if _STRONG_CUE.search(text, max(0, start - 60), start):
        return True
    house = _HOUSE_NUMBER_BEFORE.search(text, max(0, start - 16), start)
    return house is not None and _STRONG_CUE.search(text, max(0, house.start() - 60), house.start()) is not None


def _intersection_where_expected(text: str, start: int, end: int) -> bool:
    """Whether an intersection ("Lea and Matiegkova 1343") stands where an address is expected without a cue
    right before it: as the line above the phone lines of a signature, or as the last words of a message
    that asked about an address ("what's the address? ... It's in Marijan and Jičín 598"). A name, "and",
    a name and a number alone are as often a title or a pair of people ("Tom and Jerry 2")."""
    crossing = _INTERSECTION_BEFORE.search(text, max(0, start - 40), start)
    if crossing is None:
        return False
    at = crossing.start()
    line_start = text.rfind("\n", 0, at) + 1
    if _CONTACT_LINE_NEXT.match(text, end) and not text[line_start:at].strip(" \t>?*•·|-"):
        return True
    return bool(_TEXT_END.match(text, end) and _ADDRESS_WORD.search(text, max(0, at - 150), at))


def _intersection_start(text: str, start: int) -> int:
    """Where an intersection whose first street is one name begins: "Keijo and Λ. Αλκυονίδων 241"."""
    m = _INTERSECTION_BEFORE.search(text, max(0, start - 40), start)
    if m and not _NOT_STREET.match(m.group().split()[0]):
        return m.start()
    return start


def _address_goes_on(text: str, start: int, end: int) -> bool:
    """Whether a postal code follows, or a cue precedes, a street line."""
    return bool(_POSTAL_NEXT.match(text, end) or _cue_before(text, start))


def _town_follows(text: str, end: int) -> bool:
    """Whether a postal code and a town, or a town and a postal code, follow a street line."""
    return bool(_POSTAL_TOWN_NEXT.match(text, end) or _TOWN_POSTAL_NEXT.match(text, end))


def find_addresses(text: str) -> Iterator[Candidate]:
    spans: list[tuple[int, int, float]] = []
    has_digit = any(map(str.isdigit, text))
    if has_digit:
        for pattern in (
            _CORE_NUMBER_FIRST,
            _CORE_MORPHEME,
            _CORE_HYPHENATED,
            _CORE_BOX,
            _CORE_CITY_STATE_ZIP,
            _CORE_NUMBER_PREFIX,
            _CORE_JP_BLOCK,
        ):
            for m in pattern.finditer(text):
                spans.append((m.start(), m.end(), 0.85))
        for m in _CORE_NAME_NUMBER.finditer(text):
            words = m.group().split()
            first = words[0].rstrip(".,")
            # A lone capital opening a longer name is a Czech or Slovak preposition ("V Aleji 267", "U Lesa 4"),
            # and a preposition before an article a German street ("An der Schütt 54", "In den Gärten 3").
            if (
                _NOT_STREET.match(first)
                and not (len(first) == 1 and first not in "AI" and len(words) > 2)
                and not (len(words) > 2 and _GERMAN_ARTICLE.match(words[1]))
            ):
                continue
            # "lived in London 5 years", "sent to Finance 2 days ago": a count of something, not a house number.
            if _COUNT_NEXT.match(text, m.end()):
                continue
            # After a house number only when the address goes on ("5638 Aasa 43\nHumilimont"): "1 Red, 5
            # Yellow" is a count.
            house = _HOUSE_NUMBER_BEFORE.search(text, max(0, m.start() - 16), m.start())
            end = m.end()
            street_type = STREET_TYPE_AFTER.match(text, end)
            if street_type and street_type.end() > end:
                end = street_type.end()  # "87818 Dalmatinova 68 St.": generated data puts a type after the number
            numbered = house and (street_type or _grow(text, m.start(), end)[1] > end + 1 or _ENDS.match(text, end))
            # A cue counts before the house number too: "his address: 03 Πλατεία Μαβίλη 170".
            cue_at = house.start() if house else m.start()
            if (
                numbered
                or _STRONG_CUE.search(text, max(0, cue_at - 60), cue_at)
                or _town_follows(text, end)
                # "Männiku 63 street": the street type written after the number, in lowercase too.
                or _TYPE_WORD_NEXT.match(text, end)
                or _intersection_where_expected(text, m.start(), end)
            ):
                spans.append((_intersection_start(text, m.start()), end, 0.75))
        for m in _WORD_NUMBER.finditer(text):
            # A capitalised word and lowercase ones before a number, as Slavic streets are named ("Na
            # hriadkach 9", "Fialkové údolie 20", "Krležin gvozd 8b/6"): after a cue or before a postal code.
            word = m.group("word")
            if not word.islower() or word in _LOWER_STOP or not m.group()[len(word) :].lstrip(".,")[:1].isspace():
                continue
            before = _NAME_LOWER_BEFORE.search(text, max(0, m.start() - 60), m.start())
            if before is None:
                continue
            words = before.group().split()
            if _NOT_STREET.match(words[0].rstrip(".,")) or any(w in _LOWER_STOP for w in words[1:] if w.islower()):
                continue
            if _address_goes_on(text, before.start(), m.end()) or _town_follows(text, m.end()):
                spans.append((before.start(), m.end(), 0.7))
        # The house-number-first forms below need a number and then a capitalised word: most texts with digits
        # have none, and one look for it spares three scans.
        number_then_name = _NUMBER_THEN_NAME.search(text) is not None
        for m in _CORE_NUMBER_CAPITALISED_PREFIX.finditer(text) if number_then_name else ():
            spans.append((m.start(), m.end(), 0.85))
        for m in _CORE_NUMBER_MORPHEME.finditer(text) if number_then_name else ():
            last = m.group().split()[-1]
            if last.isupper():
                continue  # "a GTX 3060 GPU.": an acronym that ends like "u.", not a street
            # "In 1989 Steinberg wrote": a year before a word with a street ending needs more of an address, and
            # so does a bare "str" ("3 Python str values").
            if (
                (not _YEAR.match(m.group("num")) and last.lower() != "str")
                or _address_goes_on(text, m.start(), m.end())
                # An apartment on the next line: "506 159 Eleftheriou Venizelou str\n> Suite 922".
                or _STRONG_UNIT_NEXT.match(text, m.end())
            ):
                spans.append((m.start(), m.end(), 0.8))
        for m in _CORE_NUMBER_NAME.finditer(text) if number_then_name else ():
            words = m.group().split()[1:]
            if _NOT_STREET.match(words[0].rstrip(".,")) or all(w.isupper() for w in words):
                continue
            if (
                _POSTAL_NEXT.match(text, m.end())
                or _STRONG_UNIT_NEXT.match(text, m.end())
                or (unit := _UNIT_SAME_LINE_NEXT.match(text, m.end())) is not None
                and not _COUNT_NEXT.match(text, unit.end())
                or _cue_before(text, m.start())
                or _intersection_where_expected(text, m.start(), m.end())
            ):
                spans.append((_intersection_start(text, m.start()), m.end(), 0.7))
        for m in _CORE_NUMBER_COMMA_NAME.finditer(text):
            if m.group("hno") or _cue_before(text, m.start()):
                spans.append((m.start(), m.end(), 0.75))
        for m in _CORE_LOWER_NUMBERED.finditer(text):
            if any(_STREET_WORD.search(w.rstrip(".")) for w in m.group("words").split()) or _UNIT.match(text, m.end()):
                spans.append((m.start(), m.end(), 0.75))
        for pattern in (_CORE_LOWER_TYPED, _CORE_LOWER_ANY_TYPE):
            for m in pattern.finditer(text):
                if not any(w.lower() in _LOWER_STOP for w in m.group("words").split()):
                    spans.append((m.start(), m.end(), 0.75))
        for m in _CORE_LOWER_PREFIX.finditer(text):
            words = m.group().split()
            # "in place on Feb 14", "via these links not later than 24": English words, not a street.
            if words[0].lower() not in _ENGLISH_PREFIXES and not any(w.lower() in _LOWER_STOP for w in words[1:]):
                spans.append((m.start(), m.end(), 0.75))
        for m in _WORD_NUMBER.finditer(text):
            word = m.group("word")
            if _NOT_STREET.match(word):
                continue
            if _POSTAL_TOWN_NEXT.match(text, m.end()):
                # Words and a number, then a postal code and a town: "vídeňská 7\n693 64 zbiroh".
                spans.append((m.start(), m.end(), 0.7))
            elif _MORPHEME_END.search(word) and (
                # Short street morphemes also end ordinary words ("tie", "gate", "hof"): only where an address
                # is expected (a cue) or goes on (a postal code follows).
                _POSTAL_NEXT.match(text, m.end()) or _STRONG_CUE.search(text, max(0, m.start() - 60), m.start())
            ):
                spans.append((m.start(), m.end(), 0.75))
        for m in _CORE_POSTAL_LABEL.finditer(text):
            spans.append((m.start("code"), m.end("code"), 0.75))
    for m in _CORE_PREFIX.finditer(text):
        # "Address: boulevard Margaud Fontaine": a street-type prefix needs a number or a cue.
        strong = m.group("num") is not None or _HOUSE_NUMBER_BEFORE.search(text, max(0, m.start() - 16), m.start())
        if strong or _STRONG_CUE.search(text, max(0, m.start() - 40), m.start()) or _town_follows(text, m.end()):
            spans.append((m.start(), m.end(), 0.85 if strong else 0.7))
    for m in _CORE_SHIP.finditer(text):
        spans.append((m.start(), m.end(), 0.75))
    for m in _CORE_NAME_SUFFIX.finditer(text):
        first = m.group().split()[0].rstrip(".,")
        if _NOT_STREET.match(first):
            continue
        last = m.group().split()[-1]
        if (
            _STRONG_CUE.search(text, max(0, m.start() - 40), m.start())
            or re.search(r"(?i)\b(?:and|&)\s*$", text[max(0, m.start() - 6) : m.start()])
            # A full street type after a preposition: "shows on Marina Fort Street".
            or len(last.rstrip(".")) >= 4
            and STREET_TYPE_LAST.search(m.group())
            and _PLACE_PREPOSITION.search(text, max(0, m.start() - 14), m.start())
        ):
            spans.append((m.start(), m.end(), 0.65))
    if not spans:
        return
    grown = sorted((*_grow(text, s, e), score) for s, e, score in spans)
    # Merge overlapping or touching pieces of one address; keep the best score.
    merged: list[tuple[int, int, float]] = []
    for s, e, score in grown:
        if merged and s <= merged[-1][1]:
            ms, me, mscore = merged[-1]
            merged[-1] = (ms, max(me, e), max(mscore, score))
        else:
            merged.append((s, e, score))
    for s, e, score in merged:
        yield Candidate("ADDRESS", s, e, score, "pattern:address")
