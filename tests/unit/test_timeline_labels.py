"""Every kind of event the code writes to a family's timeline has a translated label for coordinators."""

from __future__ import annotations

import re
from pathlib import Path

from conversations.checkins import TIMELINE_LABELS

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r'add_timeline\((?:[^()]|\([^()]*\))*?kind="([a-z_]+)"', re.S)


def test_every_timeline_kind_has_a_label() -> None:
    written: set[str] = set()
    for path in [*ROOT.glob("conversations/*.py"), *ROOT.glob("services/*.py"), *ROOT.glob("storage/*.py")]:
        written |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    # Kinds made up at run time.
    written |= {"paused", "resumed", "request_done", "request_not_happened"}
    assert len(written) > 20
    missing = sorted(written - set(TIMELINE_LABELS))
    assert not missing, f"timeline kinds shown raw to coordinators: {missing}"
