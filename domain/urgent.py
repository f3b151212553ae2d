"""Urgent words: the safety net that spots danger in a family's free text.

`detect_urgent(text)` says whether a message suggests danger and which kind, so the bot can show the right
numbers at once and alert every coordinator. It reports the *rule* that matched (a term from the lists
in `domain.urgent_terms`), never the text itself, so the result is safe to log.

Policy: **err towards alerting.** A false alarm costs a coordinator a minute; a miss can cost a child.
So negations are not interpreted ("ik ben niet bang voor hem" still alerts), common idioms that mention
hitting or killing are accepted as false positives ("my mum will kill me if I'm late"), and misspellings
and variants are listed generously. What we do refuse are matches that are plainly another word:

* Terms match whole words only (Dutch "slaap" is not "slaan", "geweldig" is not "geweld", English
  "dangerous" is not "danger"). A `*` at the end or start of a term allows a longer word on purpose.
* "dood" is matched only in phrases that express a wish to die ("ik wil dood", "liever dood"), never as a
  prefix: "doodmoe", "doodziek", "doodnormaal" are everyday Dutch for "very tired/ill/normal". Tiredness
  is what the check-in answers are for. ("doodsbang voor hem" still alerts through "bang voor hem".)
* A bare "help"/"hulp" is how people ask a bot for instructions, so it alone does not alert. It does
  alert as a cry: written with an exclamation mark or in capitals ("help!", "HELP"), stretched
  ("hellllp"), or with only cry words around it ("help me", "please help", "help help"). Words that are
  only ever cries ("sos", "ratunku", "imdat", "рятуйте") alert anywhere.
* A few idioms that carry no danger are excluded inline with `!`: "hit me up" (contact me), "emergency
  contact".
* Any mention of the police, an ambulance or 112 alerts, even "the police found my bike": such mentions
  are rare in a family's messages and worth a coordinator's look.
* Distress without danger ("ik kan het niet meer aan", "I can't cope") is not urgent here; it belongs
  to the ordinary concern flow.

Matching happens on a normalised form of both the text and the terms: case-folded, apostrophes removed,
NFKD with combining marks dropped (so "suïcide", "ölmek", "zabiję" match their plain spellings; Arabic
harakat and hamza seats fold away; Cyrillic and Arabic letters stay letters), a few letters folded by hand
(Turkish ı, Polish ł, Arabic ة/ى, Ukrainian ґ), punctuation turned into spaces, and runs of one repeated
letter collapsed ("hellllp" and "help", "killl" and "kill" become the same). Digits never collapse.

Term syntax (one term = one phrase; adding a language is adding data):

* words are separated by spaces and match across any punctuation or spacing in the text;
* ``*`` at the end (start) of a word: more letters may follow (precede), e.g. ``mishandel*``;
* ``_`` inside a word: an optional space or hyphen, e.g. ``zelf_moord*`` matches "zelfmoord",
  "zelf moord", "zelf-moord", "zelfmoordgedachten";
* ``(a|b c|d)``: one of these words or phrases (each word may use ``*`` and ``_``);
* ``~``: up to three arbitrary words in between, e.g. ``(kind|kinderen) ~ niet veilig``;
* ``!word`` or ``!(a|b)`` as the last token: not when directly followed by that word.

Why a word list with normalisation and hand-written stems, and not a stemmer, a translation service or a
model: the screen must run in the bot itself, on every message, in microseconds, with no message leaving the
server, and its behaviour must be readable and testable by a coordinator (each alert names the term that
matched). A general stemmer would be too eager here ("doodmoe" is not "dood", "şiddetli" is "severe", not
"violent") and exists for only some of our languages; so stems are written per term with ``*`` where we
want them, and the normalisation above does the rest: it makes the forms people actually type, without
diacritics, hamza seats or apostrophes, with stretched letters, equal to the listed form. Each danger is
listed as the phrases people use for it, not only the literal word: suicide as wanting to die, ending one's
life, not wanting to live, being better off dead, in each language's common idioms ("canıma kıymak",
"накласти на себе руки", "بدي موت"); violence as being hit in either word order ("мене б'є", "б'є мене"),
threats, fear of a named person; a child being hurt as hitting, hurting or abusing with a child word nearby.
`tests/domain/test_urgent.py` holds several paraphrases per category and language and everyday phrases that
must not alert ("de batterij is dood", "I'm dying to see you", "killing time").

The limits: a word list is not understanding. It misses danger said in words nobody listed, sarcasm or
context ("he did it again"), and it alerts on some harmless idioms. A missed sign is still a message a
coordinator reads: anything a family writes reaches a person through the ordinary concern flow.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from domain.urgent_terms import CATEGORY_PRIORITY, CRY_FILLER, CRY_WORDS, URGENT_TERMS, UrgentCategory


@dataclass(frozen=True)
class SafetyNumber:
    key: str
    name: str
    number: str
    dial: str
    short_number: str | None = None


SAFETY_NUMBERS: Mapping[str, SafetyNumber] = {
    "emergency": SafetyNumber(key="emergency", name="112", number="112", dial="112"),
    "veilig_thuis": SafetyNumber(key="veilig_thuis", name="Veilig Thuis", number="0800-2000", dial="08002000"),
    "suicide_prevention": SafetyNumber(
        key="suicide_prevention", name="113 Zelfmoordpreventie", number="0800-0113", dial="08000113", short_number="113"
    ),
}

_NUMBERS_BY_CATEGORY: Mapping[UrgentCategory, tuple[str, ...]] = {
    UrgentCategory.SUICIDE: ("suicide_prevention",),
    UrgentCategory.SELF_HARM: ("suicide_prevention",),
    UrgentCategory.CHILD_UNSAFE: ("veilig_thuis",),
    UrgentCategory.ABUSE: ("veilig_thuis",),
    UrgentCategory.VIOLENCE: ("veilig_thuis",),
    UrgentCategory.EMERGENCY: (),
}


def numbers_for(categories: Iterable[UrgentCategory]) -> tuple[SafetyNumber, ...]:
    """The numbers to show for these categories: always 112 first, then the specialised lines once each."""
    wanted = set(categories)
    keys = ["emergency"]
    for category in CATEGORY_PRIORITY:
        if category in wanted:
            keys.extend(key for key in _NUMBERS_BY_CATEGORY[category] if key not in keys)
    return tuple(SAFETY_NUMBERS[key] for key in keys)


@dataclass(frozen=True)
class UrgentMatch:
    """What matched: the leading category, the term from the lists (never the user's text) and its list.

    `categories` holds every category that matched, so the caller can show every relevant number.
    """

    category: UrgentCategory
    term: str
    language: str
    categories: frozenset[UrgentCategory]


_APOSTROPHES = dict.fromkeys(map(ord, "'’‘ʼ`´"), None)
_LETTER_FOLDS = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "đ": "d",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ة": "ه",
        "ى": "ي",
        "ی": "ي",
        "ک": "ك",
        "ـ": "",
        "ґ": "г",
        **{chr(0x0660 + digit): str(digit) for digit in range(10)},
        **{chr(0x06F0 + digit): str(digit) for digit in range(10)},
    }
)
_NON_WORD = re.compile(r"[\W_]+")
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")
_STRETCHED_LETTER = re.compile(r"([^\W\d_])\1\1")
_RAW_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """The comparable form of a text: see the module docstring. Also applied to every term."""
    # Compatibility forms can decompose into capitals (℠ → SM), so fold case between two decompositions.
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", folded)
    kept = "".join(
        char for char in decomposed if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
    )
    spaced = _NON_WORD.sub(" ", kept.translate(_LETTER_FOLDS))
    return _REPEATED_LETTER.sub(r"\1", spaced).strip()


def _word_pattern(token: str) -> str:
    """One word of a term (with `*`, `_` or `(a|b)` alternatives) as a regular expression over normalised text."""
    if token.startswith("(") and token.endswith(")"):
        options = [" ".join(_word_pattern(word) for word in option.split()) for option in token[1:-1].split("|")]
        if any(not option for option in options):
            raise ValueError(f"empty alternative in {token!r}")
        return "(?:" + "|".join(options) + ")"
    leading, trailing = token.startswith("*"), token.endswith("*")
    pieces = [normalise(piece) for piece in token.strip("*").split("_")]
    if any(not piece or " " in piece or "(" in piece for piece in pieces):
        raise ValueError(f"malformed word {token!r}")
    pattern = re.escape(pieces[0])
    for before, piece in pairwise(pieces):
        if before[-1] == piece[0]:
            # Written together, the shared letter collapses into one in the normalised text.
            pattern += f"(?: {re.escape(piece)}|{re.escape(piece[1:])})"
        else:
            pattern += f" ?{re.escape(piece)}"
    return (r"\w*" if leading else "") + pattern + (r"\w*" if trailing else "")


_TERM_TOKEN = re.compile(r"!?\([^()]*\)|\S+")


def compile_term(term: str) -> re.Pattern[str]:
    """A term (see the syntax in the module docstring) as a regular expression over normalised text."""
    tokens = _TERM_TOKEN.findall(term)
    try:
        exclusion = ""
        if tokens and tokens[-1].startswith("!"):
            exclusion = rf"(?! {_word_pattern(tokens.pop()[1:])}(?!\w))"
        body = ""
        gap = False
        for part in tokens:
            if part == "~":
                gap = True
                continue
            if body:
                body += r" (?:\w+ ){0,3}" if gap else " "
            body += _word_pattern(part)
            gap = False
        if not body or gap:
            raise ValueError("empty term or trailing gap")
    except ValueError as error:
        raise ValueError(f"malformed urgent term {term!r}: {error}") from error
    return re.compile(rf"(?<!\w){body}(?!\w){exclusion}")


@dataclass(frozen=True)
class _Rule:
    category: UrgentCategory
    term: str
    language: str
    pattern: re.Pattern[str]


def _compile_rules(terms: Mapping[str, Mapping[UrgentCategory, tuple[str, ...]]]) -> tuple[_Rule, ...]:
    """Every term of the lists compiled, in category priority order per language."""
    return tuple(
        _Rule(category=category, term=term, language=language, pattern=compile_term(term))
        for language, by_category in terms.items()
        for category in CATEGORY_PRIORITY
        for term in by_category.get(category, ())
    )


_RULES = _compile_rules(URGENT_TERMS)
_CRIES: dict[str, tuple[str, str]] = {}
for _language, _words in CRY_WORDS.items():
    for _word in _words:
        _CRIES.setdefault(normalise(_word), (_word, _language))
_FILLER = frozenset(normalise(word) for word in CRY_FILLER)
_MAX_CRY_WORDS = 8


def _cry(text: str, words: list[str]) -> tuple[str, str] | None:
    """(cry word, language) when the message is a cry for help rather than a question about the bot."""
    raw_words = _RAW_WORD.findall(text)
    for raw in raw_words:
        cry = _CRIES.get(normalise(raw))
        if cry and _STRETCHED_LETTER.search(raw.casefold()):
            return cry
    # Multi-word cry entries ("yardim edin") are looked up as a whole message too.
    whole = " ".join(words)
    if " " in whole and whole in _CRIES:
        return _CRIES[whole]
    if not words or len(words) > _MAX_CRY_WORDS:
        return None
    cries = [_CRIES[word] for word in words if word in _CRIES]
    if not cries or any(word not in _CRIES and word not in _FILLER for word in words):
        return None
    shouted = "!" in text or any(raw.isupper() and len(raw) >= 3 for raw in raw_words)
    if len(words) > 1 or shouted:
        return cries[0]
    return None


def detect_urgent(text: str) -> UrgentMatch | None:
    """Whether `text` suggests danger: the leading category and the term that matched, or None."""
    normalised = normalise(text)
    if not normalised:
        return None
    found: list[_Rule] = [rule for rule in _RULES if rule.pattern.search(normalised)]
    categories = {rule.category for rule in found}
    cry = _cry(text, normalised.split())
    if cry is not None:
        categories.add(UrgentCategory.EMERGENCY)
    if not categories:
        return None
    leading = next(category for category in CATEGORY_PRIORITY if category in categories)
    rule = next((rule for rule in found if rule.category is leading), None)
    if rule is not None:
        term, language = rule.term, rule.language
    elif cry is not None:
        term, language = cry
    else:  # pragma: no cover - only a cry adds a category without a rule
        raise RuntimeError("urgent category without a matching rule")
    return UrgentMatch(category=leading, term=term, language=language, categories=frozenset(categories))
