"""A dialogue's draft is typed: it loads what was saved, ignores what an older version saved, and dumps JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from conversations.dialogue import Draft


@dataclass
class TripDraft(Draft):
    place: str = ""
    days: list[int] = field(default_factory=list)
    family_id: int | None = None


def test_a_draft_reads_back_what_it_saved() -> None:
    draft = TripDraft(place="Zwolle", days=[1, 3], family_id=7)
    assert TripDraft.load(json.loads(json.dumps(draft.dump()))) == draft


def test_a_missing_field_gets_its_default_and_an_unknown_key_is_left_out() -> None:
    assert TripDraft.load({"place": "Almere", "retired_key": 1}) == TripDraft(place="Almere")
    assert TripDraft.load({}) == TripDraft()
