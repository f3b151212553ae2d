"""Which language a free text is written in, only when that can be said reliably.

langdetect is random unless seeded, and confidently wrong on short texts ("Hi" comes out as Dutch with
0.99). So a text is only labelled when it is long enough, the detector is sure, and, for longer texts,
both halves agree (a message that mixes two languages is left unlabelled rather than mislabelled).
Detection never changes anyone's language by itself: callers offer a switch, or label a relayed
message for a coordinator.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from langdetect.lang_detect_exception import LangDetectException

from domain.language_profiles import CompactFactory

MIN_LETTERS = 30
MIN_WORDS = 5
MIN_PROBABILITY = 0.95
# Each half of a longer text must be detectable on its own before the halves are compared.
HALF_MIN_LETTERS = 25
SEED = 0

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|@\w+|/\w+|<[^>]+>")
# langdetect's codes that name the same language as ours.
_CODES = {"zh-cn": "zh", "zh-tw": "zh"}


@cache
def _factory() -> CompactFactory:
    """langdetect's profiles, loaded once (compactly) and seeded so the same text always gives the same answer."""
    import langdetect

    factory = CompactFactory()
    factory.load_profile(str(Path(langdetect.__file__).parent / "profiles"))
    factory.set_seed(SEED)
    return factory


def _best(text: str) -> tuple[str, float] | None:
    """The most likely language of a text and its probability, or None when langdetect finds none."""
    detector = _factory().create()
    detector.append(text)
    try:
        found = detector.get_probabilities()
    except LangDetectException:
        return None
    if not found:
        return None
    top = found[0]
    return _CODES.get(top.lang, top.lang), float(top.prob)


def _letters(words: list[str]) -> int:
    """How many letters the words have together."""
    return sum(len(word) for word in words)


def detect_language(text: str | None) -> str | None:
    """An ISO 639-1 code such as 'tr', or None when the text is too short, mixed or unclear."""
    if not text:
        return None
    cleaned = _NOISE.sub(" ", text)
    words = _WORD.findall(cleaned)
    if len(words) < MIN_WORDS or _letters(words) < MIN_LETTERS:
        return None
    whole = _best(" ".join(words))
    if whole is None or whole[1] < MIN_PROBABILITY:
        return None
    middle = len(words) // 2
    first, second = words[:middle], words[middle:]
    if _letters(first) >= HALF_MIN_LETTERS and _letters(second) >= HALF_MIN_LETTERS:
        halves = [_best(" ".join(part)) for part in (first, second)]
        if any(half is None or half[0] != whole[0] for half in halves):
            return None
    return whole[0]


def worth_offering(found: str | None, language: str, offered: tuple[str, ...]) -> str | None:
    """A detected language to offer a switch to: one of `offered`, and not the person's `language`."""
    return found if found is not None and found != language and found in offered else None
