"""langdetect's language profiles held compactly: for each n-gram, only the languages that have it.

langdetect's own `DetectorFactory` keeps, for each of its 87,598 n-grams, a list of 55 floats (one per
language) although on average only 2.1 of them are non-zero: 61 MiB of the bot's resident memory. Here
each n-gram keeps its non-zero (language index, probability) pairs packed in one `bytes` (18 MiB in all),
and the detector expands an n-gram's pairs into the dense row (once per n-gram of the text it reads) and
multiplies by it exactly as langdetect does, so every probability comes out the same as langdetect's own
for the same order of languages.

The profile files are read one at a time in sorted name order. langdetect reads them in `os.listdir`
order, which depends on the file system; the order of the languages changes the sum a detector normalises
by in its last bits, so sorting makes the answers the same on every machine, not only the same run to run.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from langdetect.detector import Detector
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException
from langdetect.utils.lang_profile import LangProfile

# One non-zero entry of an n-gram's row: the language's index (there are 55) and the n-gram's probability.
PAIR = struct.Struct("<Bd")


class CompactDetector(Detector):
    """langdetect's detector, reading the packed rows of a `CompactFactory`."""

    def __init__(self, factory: CompactFactory) -> None:
        """langdetect's detector, with room for the rows of this one text's n-grams once expanded."""
        super().__init__(factory)
        self.rows: dict[str, list[float]] = {}

    def _update_lang_prob(self, prob: list[float], word: str | None, alpha: float) -> bool:
        """langdetect's own update, `prob[i] *= weight + row[i]`, with the row expanded from its pairs."""
        if word is None:
            return False
        row = self.rows.get(word)
        if row is None:
            packed = self.word_lang_prob_map.get(word)
            if packed is None:
                return False
            row = self.rows[word] = [0.0] * len(prob)
            for index, value in PAIR.iter_unpack(packed):
                row[index] = value
        weight = alpha / self.BASE_FREQ
        for i in range(len(prob)):
            prob[i] *= weight + row[i]
        return True


class CompactFactory(DetectorFactory):
    """langdetect's factory, mapping each n-gram to its non-zero (language index, probability) pairs packed."""

    def load_profile(self, profile_directory: str) -> None:
        """Reads the profile files one at a time, in sorted file-name order (langdetect's is os.listdir's)."""
        directory = Path(profile_directory)
        paths = sorted(path for path in directory.iterdir() if path.is_file() and not path.name.startswith("."))
        if not paths:
            raise LangDetectException(ErrorCode.NeedLoadProfileError, f"Not found profile: {directory}")
        for index, path in enumerate(paths):
            profile = LangProfile(**json.loads(path.read_text(encoding="utf-8")))
            self.add_profile(profile, index, len(paths))

    def add_profile(self, profile: LangProfile, index: int, langsize: int) -> None:
        """langdetect's own, keeping only the non-zero probabilities, packed; `langsize` is not needed."""
        if profile.name in self.langlist:
            raise LangDetectException(ErrorCode.DuplicateLangError, "Duplicate the same language profile.")
        self.langlist.append(profile.name)
        packed: dict[str, bytes] = self.word_lang_prob_map
        for word, count in profile.freq.items():
            pairs = packed.get(word, b"")
            length = len(word)
            if 1 <= length <= 3:
                prob = 1.0 * count / profile.n_words[length - 1]
                if prob != 0.0:
                    pairs += PAIR.pack(index, prob)
            packed[word] = pairs

    def _create_detector(self) -> CompactDetector:
        """langdetect's hook behind `create()`: a detector that reads the packed rows."""
        if not self.langlist:
            raise LangDetectException(ErrorCode.NeedLoadProfileError, "Need to load profiles.")
        return CompactDetector(self)
