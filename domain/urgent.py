"""Urgent words: the safety net that spots danger in a family's free text.

`detect_urgent(text)` says whether a message suggests danger and which kind, so the bot can show the right
numbers at once and alert every coordinator. It reports the *rule* that matched (a term from the lists
below), never the text itself, so the result is safe to log.

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

The term lists for Arabic, Turkish, Polish, Ukrainian and Russian are a first version to be reviewed by
native speakers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise


class UrgentCategory(StrEnum):
    SUICIDE = "suicide"
    SELF_HARM = "self_harm"
    CHILD_UNSAFE = "child_unsafe"
    ABUSE = "abuse"
    VIOLENCE = "violence"
    EMERGENCY = "emergency"


# When a message matches several categories, the most specific one leads; the others are still reported.
CATEGORY_PRIORITY: tuple[UrgentCategory, ...] = (
    UrgentCategory.SUICIDE,
    UrgentCategory.SELF_HARM,
    UrgentCategory.CHILD_UNSAFE,
    UrgentCategory.ABUSE,
    UrgentCategory.VIOLENCE,
    UrgentCategory.EMERGENCY,
)


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


_S = UrgentCategory.SUICIDE
_H = UrgentCategory.SELF_HARM
_C = UrgentCategory.CHILD_UNSAFE
_A = UrgentCategory.ABUSE
_V = UrgentCategory.VIOLENCE
_E = UrgentCategory.EMERGENCY

_NL_CHILD = "(kind|kinderen|kindje|kindjes|kids|zoon|zoontje|dochter|dochtertje|baby|jongste|oudste)"
_NL_PERSON = (
    "(man|vriend|partner|ex|vader|pa|moeder|ma|stiefvader|stiefmoeder|broer|zoon|echtgenoot|vrouw|vriendin|"
    "schoonvader|schoonmoeder|oom)"
)
_EN_CHILD = "(kid|kids|child|children|son|daughter|baby|toddler|boy|girl|stepson|stepdaughter)"
_EN_PERSON = (
    "(husband|partner|boyfriend|girlfriend|ex|father|dad|stepfather|stepdad|mother|mum|mom|son|wife|brother|uncle)"
)
_EN_HITTING = (
    "(hit|hits|hitting|beat|beats|beating|punch|punches|punched|punching|kick|kicks|kicked|kicking|slap|slaps|"
    "slapped|slapping|choke|chokes|choked|choking|strangle|strangles|strangled|shake|shakes|shook|shaking|hurt|"
    "hurts|hurting|burn|burns|burned|burnt)"
)

URGENT_TERMS: Mapping[str, Mapping[UrgentCategory, tuple[str, ...]]] = {
    "nl": {
        _S: (
            "zelf_moord*",
            "zelf_moort*",
            "zelmoord*",
            "zelf_mood*",
            "selfmoord*",
            "zelf_doding",
            "suicid*",
            "(wil|wilde|wou|will) ~ dood",
            "dood (wil|wilde|willen)",
            "liever dood",
            "maar dood",
            "wil (doodgaan|sterven)",
            "wil ~ niet meer ~ leven",
            "wil ~ niet meer (bestaan|verder_leven)",
            "wil er niet meer zijn",
            "niet meer wakker (worden|word|wil)",
            "(eind|einde) aan (maken|maak)",
            "maak er een (eind|einde) aan",
            "(eind|einde) aan (mijn|mn) leven",
            "leven beëindig*",
            "(mezelf|mijzelf|me) (doden|ombrengen|vermoorden|ophangen|verdrinken)",
            "(mezelf|mijzelf) iets (aan_doen|aan_te_doen)",
            "(ik|ga|wil|zal) me iets (aan_doen|aan_te_doen)",
            "van kant (maken|maak)",
            "(springen|spring) ~ (brug|flat|trein)",
            "(brug|flat|trein) ~ (springen|spring)",
            "voor (de|een) trein",
            "levensmoe",
            "het leven moe",
            "het leven niet meer zitten",
            "geen zin ~ (leven|te_leven)",
            "klaar met (het|mijn|mn) leven",
            "beter af zonder (mij|me)",
            "(alle|al) (mijn|mn|m) pillen",
            "(pols|polsen) (door_snijden|door_gesneden)",
        ),
        _H: (
            "zelf_beschadig*",
            "zelf_verwond*",
            "(mezelf|mijzelf) (pijn|snijden|snij|snijd|krassen|kras|verwonden|beschadigen|branden)",
            "(snijd|snij|kras|krast|beschadig|beschadigde|verwond|verwondde) (mezelf|mijzelf)",
            "(mezelf|mijzelf) ~ (pijn|gesneden|gekrast|beschadigd)",
            "(snijd|snij|kras|krassen) in (mijn|mn) (arm|armen|pols|polsen|been|benen)",
            "ik kras",
        ),
        _C: (
            "kinder_mishandel*",
            "kinder_misbruik*",
            f"{_NL_CHILD} ~ niet veilig",
            f"{_NL_CHILD} ~ onveilig*",
            f"{_NL_CHILD} ~ in gevaar",
            f"niet veilig ~ {_NL_CHILD}",
            f"(slaat|sloeg|slaan|schopt|schopte|schudt|schudde|mishandelt|misbruikt|wurgt|knijpt) ~ {_NL_CHILD}",
            f"{_NL_CHILD} ~ (geslagen|geschopt|mishandeld|misbruikt|verkracht|aangerand|betast)",
            f"aan ~ {_NL_CHILD} gezeten",
            f"(doet|deed|doen) ~ {_NL_CHILD} ~ pijn",
            "verwaarlo*",
            f"{_NL_CHILD} ~ (durf|durft|durven) niet ~ naar huis",
            f"{_NL_CHILD} ~ *bang om ~ naar huis",
            "loverboy*",
            "(meisjesbesnijdenis|vrouwenbesnijdenis)",
            "genitale verminking",
        ),
        _A: (
            "mishandel*",
            "misbruik*",
            "verkracht*",
            "aangerand",
            "aanrand*",
            "betast",
            "aan (me|mij) gezeten",
            "(zit|zat) aan (me|mij)",
            "ongewenst aangeraakt",
            "(sluit|sloot) (me|mij|ons) op",
            "opgesloten",
            "eerwraak",
            "uithuwelijk*",
            "gedwongen huwelijk",
        ),
        _V: (
            "(slaat|sloeg|slaan|sloegen|schopt|schopte|schoppen|duwt|duwde|wurgt|wurgde|knijpt|kneep|trapt|trapte|"
            "stompt|stompte|mept|mepte) (me|mij|ons)",
            "(hij|zij|ze) (slaat|slaan|sloeg|sloegen)",
            "(word|werd|worden|werden) geslagen",
            "geslagen",
            "geschopt",
            "gewurgd",
            "wurg*",
            "*geweld",
            "gewelddadig*",
            "bedreig*",
            "(dreigt|dreigde|dreigen) (me|mij|ons|met)",
            "vermoord*",
            "(maakt|maak) (me|mij|je|ons) dood",
            "dood (maken|maakt)",
            "(mij|ons|jou) (doden|vermoorden)",
            "(met|pakt|pakte|heeft|had|trok) een (mes|pistool|wapen|vuurwapen)",
            "mes op ~ keel",
            "pistool",
            "vuurwapen",
            "*bang voor (hem|haar|hun)",
            f"*bang voor (mijn|mn|m|me) {_NL_PERSON}",
            "(me|mij|ons) (geduwd|geslagen|geschopt|gestompt|gewurgd|gebeten)",
            "(geeft|gaf) (me|mij|ons) (een klap|klappen|een schop|een trap)",
            "(durf|durft|durven) niet ~ naar huis",
            "*bang om ~ naar huis",
            "niet veilig",
            "onveilig*",
            "iets (aan_doen|aandoet|aan_te_doen)",
        ),
        _E: (
            "112",
            "politie",
            "ambulance",
            "noodgeval",
            "noodsituatie",
            "in nood",
            "in gevaar",
            "*gevaar",
            "er is brand",
            "in brand",
            "brand brand",
            "(ademt|ademde) niet",
            "bewusteloos",
            "niet aanspreekbaar",
            "overdosis",
            "sos",
        ),
    },
    "en": {
        _S: (
            "suicid*",
            "suiside*",
            "sucide*",
            "suicde*",
            "sewerslide",
            "kill_my_self",
            "killing myself",
            "(to|wanna|gonna|will|should|could|might|just|i) kms",
            "unalive*",
            "(end|ending) it all",
            "(end|ending) my life",
            "(end|ending) my own life",
            "want to end it",
            "(take|taking) my life",
            "(take|taking) my own life",
            "(want|wanna|wish|wished|going|ready) to die",
            "wanna die",
            "want to be dead",
            "wish i (was|were) dead",
            "better off dead",
            "better off without me",
            "(dont|do not|no longer) want to (live|exist)",
            "(dont|do not|no longer) wanna (live|exist|be alive)",
            "no (point|reason) (in|to) (living|live|going on|being alive)",
            "no point living",
            "(cant|cannot|can not) go on living",
            "(isnt|not|aint) worth living",
            "(rather|prefer to) be dead",
            "(dont|do not|no longer) want to be alive",
            "(dont|do not) want to be here anymore",
            "no reason to live",
            "jump (off|from) ~ (bridge|building|roof|balcony)",
            "in front of (a|the) train",
        ),
        _H: (
            "self_harm*",
            "(hurt|hurting|harm|harming|cut|cutting|burn|burning|injure|injuring) (myself|my self)",
        ),
        _C: (
            "child abuse",
            "child neglect",
            f"{_EN_CHILD} ~ not safe",
            f"{_EN_CHILD} ~ (isnt|arent|unsafe)",
            f"{_EN_CHILD} ~ in danger",
            f"not safe ~ {_EN_CHILD}",
            f"{_EN_HITTING} ~ {_EN_CHILD}",
            f"{_EN_CHILD} ~ (beaten|abused|molested|raped|assaulted)",
            f"(touched|touches|touching) ~ {_EN_CHILD}",
            f"(abuse|abuses|abused|abusing|molests|molested|molesting) ~ {_EN_CHILD}",
            "kill ~ (kid|kids|child|children|baby|son|daughter)",
            "neglect*",
            f"{_EN_CHILD} ~ (afraid|scared|frightened) to go home",
            "shaken baby",
            "fgm",
            "female genital mutilation",
        ),
        _A: (
            "abus*",
            "molest*",
            "(rape|raped|raping|rapist)",
            "sexual* assault*",
            "(touched|touches|touching) me inappropriately",
            "inappropriately touched",
            "(locks|locked) me (in|up)",
            "forced marriage",
            "(honour|honor) (killing|violence)",
            "trafficked",
        ),
        _V: (
            "(hit|hits|hitting|slap|slaps|slapped|slapping) (me|us) !up",
            "(beat|beats|beating|punch|punches|punched|punching|kick|kicks|kicked|kicking|choke|chokes|choked|choking|"
            "strangle|strangles|strangled|strangling|push|pushes|pushed|shoves|shoved) (me|us)",
            "beaten",
            "beat (me|us|her|him) up",
            "domestic violence",
            "violen*",
            "assault*",
            "threat*",
            "kill (me|us)",
            "(has|had|with|pulled|grabbed|holding) a (knife|gun)",
            "weapon*",
            "(afraid|scared|frightened|terrified) of (him|her|them)",
            f"(afraid|scared|frightened|terrified) of (my|me) {_EN_PERSON}",
            "threw ~ at (me|us)",
            "(afraid|scared|frightened) to go home",
            "not safe",
            "feel unsafe",
            "(dont|do not|never) feel safe",
            "(isnt|arent|aint) safe",
        ),
        _E: (
            "sos",
            "emergency !(contact|contacts|number|numbers)",
            "call (112|911|999)",
            "call the (police|cops|ambulance)",
            "police",
            "ambulance",
            "danger",
            "on fire",
            "(theres|there) ~ fire",
            "(not|stopped|isnt) breathing",
            "unconscious",
            "overdos*",
        ),
    },
    "tr": {
        _S: (
            "intihar*",
            "kendimi (oldur*|asaca*|asmak)",
            "olmek (istiyorum|isterim)",
            "yasamak istemiyorum",
            "yasamak isteme*",
            "hayatima son*",
            "canima kiy*",
            "keske (olsem|olseydim)",
            "olsem daha iyi",
            "olmek isti*",
        ),
        _H: ("kendime zarar*", "kendimi kes*", "bilek* kes*", "bilek* kest*"),
        _C: (
            "(cocuk*|cocug*|bebe*|oglum|kizim) ~ guvende degil",
            "cocuk istismar*",
            "cocuga siddet",
            "(cocuklari|cocugumu|oglumu|kizimi) (dov*|vur*)",
            "(cocuk*|cocug*|oglum*|kizim*|bebe*) (dov*|vur*|doverek)",
            "(cocuk*|cocug*) ~ (siddet|siddete|siddet uygul*|siddet gor*)",
            "(cocuk*|cocug*|oglum*|kizim*) ~ zarar (veriyor|verdi|veriyorlar)",
        ),
        _A: ("istismar*", "taciz*", "tecavuz*"),
        _V: (
            "beni (dov*|vur*|oldur*)",
            "dovuyor",
            "dovdu",
            # Not "şiddetli" (severe: "şiddetli öksürük", a bad cough), only violence itself.
            "*siddet",
            "(siddete|siddeti|siddetin|siddetten|siddetle)",
            "siddet (gor*|uygul*)",
            "tehdit*",
            "guvende degilim",
            "korkuyorum ondan",
            "bana (vur*|tokat*)",
            "(ondan|kocamdan|esimden|babamdan|abimden) (korkuyorum|cok korkuyorum)",
        ),
        _E: ("imdat", "polis*", "ambulans", "tehlike*", "acil durum"),
    },
    "pl": {
        _S: (
            "samoboj*",
            "(zabic|zabije|zabije) sie",
            "sie (zabic|zabije)",
            "(chce|wole|chcialabym|chcialbym|wolalabym|wolalbym) umrzec",
            "chce umrzec",
            "skoncz* ze soba",
            "mam dosc (zycia|zyc)",
            "dosc mam zycia",
            "nie chce ~ zyc",
            "odebrac sobie zycie",
            "skoncze ze soba",
        ),
        _H: (
            "samookalecz*",
            "okalecz*",
            "(tne|cie|pocielam|pocialem) sie",
            "zrobic sobie krzywde",
            "robie sobie krzywde",
        ),
        _C: (
            "(dziecko|dzieci|syn|corka|synek|coreczka) ~ nie (jest|sa) bezpieczn*",
            "(bije|bil|bila) (dziecko|dzieci|syna|corke)",
            "krzywdzi (dziecko|dzieci)",
            "(bije|bil|bila|uderzyl|uderzyla|krzywdzi|krzywdzil|krzywdzila) ~ "
            "(dziecko|dzieci|dziecka|syna|synka|corke|coreczke)",
            "zneca sie nad (dziecmi|dzieckiem|synem|corka)",
        ),
        _A: (
            "molestow*",
            "zgwalc*",
            "gwalt*",
            "wykorzystywan* seksualn*",
            "wykorzystal* ~ seksualn*",
            "zneca sie nad (mna|nami)",
        ),
        _V: (
            "(bije|bil|bila|uderzyl|uderzyla|kopie|dusi|dusil) mnie",
            "mnie (bije|bil|bila|uderzyl|uderzyla|kopie|dusi|dusil)",
            "pobil*",
            "przemoc*",
            "grozi (mi|nam)",
            "(zabije|zabic) (mnie|nas)",
            "(mnie|nas) (zabije|zabic|zabija)",
            "grozi ze",
            "nie jestem bezpieczn*",
            "nie czuje sie bezpiecz*",
            "boje sie (go|jej|meza|partnera)",
        ),
        _E: ("ratunku", "policj*", "karetk*", "niebezpieczenstw*", "w niebezpieczenstwie"),
    },
    "uk": {
        _S: (
            "самогубств*",
            "суїцид*",
            "вбити себе",
            "вбю себе",
            "покінчити (з|із) собою",
            "хочу (померти|вмерти)",
            "не хочу ~ жити",
            "краще ~ (помер|померла|вмер|вмерла|померти|вмерти)",
            "(накласти|накладу) на себе руки",
            "(немає|нема) сенсу (жити|в житті)",
        ),
        _H: (
            "(завдати|завдаю) собі (шкоди|болю)",
            "(ріжу|порізати|порізала|порізав) себе",
            "себе (ріжу|порізала|порізав|калічу)",
            "самоушкодж*",
        ),
        _C: (
            "(дитин*|діт*|син*|доньк*) ~ не в безпе*",
            "(бє|бив|била|бють) (дитину|дітей|сина|доньку)",
            "насильств* над (дитиною|дітьми)",
            "(бє|бив|била|бють|кривдить|кривдив|вдарив|вдарила) ~ (дитину|дітей|сина|доньку|дочку)",
            "знущається (з|із|над) (дітей|дитини|дітьми|дитиною|сина|сином|доньки|донькою)",
        ),
        _A: ("згвалт*", "розбещ*", "сексуальн* насильств*", "знущається (з|із|над) (мене|мною|нами|нас)"),
        _V: (
            "(бє|бив|била|бють|побив|побила|душить|душив|вдарив|вдарила) (мене|нас)",
            "(мене|нас) (бє|бив|била|бють|побив|побила|душить|душив|вдарив|вдарила)",
            "(мене|нас) (вбє|вбють|вбити)",
            "побив*",
            "насильств*",
            "погрож*",
            "(вбє|вбють|вбити) (мене|нас)",
            "не в безпе*",
            "боюся (його|її|чоловіка|батька|партнера)",
        ),
        _E: ("рятуйте", "допоможіть", "поліці*", "швидку допомогу", "небезпе*"),
    },
    "ru": {
        _S: (
            "самоубийств*",
            "суицид*",
            "убить себя",
            "убью себя",
            "покончить (с|со) собой",
            "хочу умереть",
            "не хочу ~ жить",
        ),
        _H: ("(режу|порезать|порезала|порезал) себя", "причинить себе (вред|боль)", "селфхарм"),
        _C: ("(ребенок|ребенка|дети|детей|сын|дочь) ~ не в безопасности", "(бьет|бил|била) (ребенка|детей|сына|дочь)"),
        _A: ("изнасил*", "домогател*", "растлен*"),
        _V: (
            "(бьет|бил|била|бьют|избил|избила|душит|душил) (меня|нас)",
            "избил*",
            "насили*",
            "угрож*",
            "(убьет|убьют|убить) (меня|нас)",
            "не в безопасности",
            "боюсь (его|ее)",
        ),
        _E: ("помогите", "спасите", "полици*", "скорую", "опасност*"),
    },
    "ar": {
        _S: (
            "*انتحار*",
            "*انتحر*",
            "*قتل نفسي",
            "اريد ان اموت",
            "اريد الموت",
            "لا اريد ان اعيش",
            "لا اريد العيش",
            "*انهي حياتي",
            "*انهاء حياتي",
            "*انهيت حياتي",
            "بدي (موت|اموت)",
            "نفسي (اموت|موت)",
            "(ما|مش|مابدي) بدي (عيش|اعيش)",
            "مابدي (عيش|اعيش)",
            "(اتمنى|بتمنى) (الموت|اموت|لو مت)",
        ),
        _H: ("*اوذي نفسي", "*اذيت نفسي", "*اجرح نفسي", "*جرحت نفسي", "ايذاء النفس"),
        _C: (
            "(*طفل*|*اطفال*|*ابني|*بنتي|*ابنتي) ~ (ليس|ليست|مش|غير) ~ *امان",
            "*يضرب ~ (*طفل*|*اطفال*|*اولاد*|*ابني|*بنتي|*ابنتي)",
            "*عنف ضد ~ (*طفل*|*اطفال*)",
            "(*طفل*|*اطفال*|*اولاد*|*ابني|*بنتي|*ابنتي) ~ (ليسوا|ليسو) ~ *امان",
            "(يوذي|يوذيهم|اذى|يضرب) ~ (*طفل*|*اطفال*|*اولاد*|*ابني|*بنتي|*ابنتي)",
        ),
        _A: (
            "*اغتصب*",
            "*اغتصاب*",
            "*تحرش*",
            "*اعتداء جنسي",
            "(يسيء|يسيئ|يسي) معاملتي",
            "سوء (المعامله|معامله)",
        ),
        _V: (
            "*ضربني",
            "*يضربني",
            "*يضربنا",
            "*عنف",
            "*يهدد*",
            "*تهديد*",
            "*قتلني",
            "*سيقتلني",
            "*يقتلني",
            "(لست|لسنا|ليس|ليست|ليسوا|مش) ~ *امان",
            "*هددني",
            "*هددنا",
            "*هددتني",
            "(اخاف|خايفه|خائفه|خايف|خائف) من (زوجي|ابي|اخي|طليقي|زوج|شريكي)",
            "*خايفه منه",
            "*خائفه منه",
            "*خايف منه",
        ),
        _E: ("*النجده", "*شرطه", "*بوليس", "*اسعاف", "*خطر"),
    },
}

# A message made only of these words (and at least one cry word) is a cry for help, if it is more than a
# lone "help" typed to find the bot's instructions; see the module docstring.
CRY_WORDS: Mapping[str, tuple[str, ...]] = {
    "nl": ("help", "hulp", "helpen"),
    "en": ("help",),
    "tr": ("yardim", "yardim edin", "kurtarin"),
    "pl": ("pomocy", "pomoz", "pomozcie"),
    "uk": ("допоможіть", "допоможи", "допомога"),
    "ru": ("помоги", "помощь"),
    "ar": ("ساعدوني", "ساعدني", "النجده", "الحقوني"),
}
CRY_FILLER: tuple[str, ...] = (
    "me", "mij", "ons", "us", "please", "pls", "plz", "plis", "alsjeblieft", "alstublieft", "aub", "asjeblieft",
    "asjeblief", "snel", "nu", "now", "quick", "quickly", "fast", "kom", "come", "iemand", "someone",
    "somebody", "anyone", "god", "oh", "o", "lutfen", "edin", "prosze", "bud",
    "ласка", "будь", "пожалуйста", "срочно", "терміново", "mnie", "nam", "acil", "بسرعه", "ارجوكم", "ارجوك",
)  # fmt: skip


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
