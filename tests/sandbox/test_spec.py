"""The committed spec subset matches the script that makes it."""

from __future__ import annotations

import json

import pytest

from sandbox.make_spec_subset import DEFAULT_SOURCE, IMPLEMENTED, OUTPUT, make_subset
from sandbox.spec import load_spec


@pytest.mark.skipif(not DEFAULT_SOURCE.exists(), reason="the full Bot API spec is not on this machine")
def test_committed_subset_is_up_to_date() -> None:
    expected = make_subset(json.loads(DEFAULT_SOURCE.read_text(encoding="utf-8")))
    assert json.loads(OUTPUT.read_text(encoding="utf-8")) == expected, "run python -m sandbox.make_spec_subset"


def test_every_implemented_method_has_a_handler() -> None:
    from sandbox.world import World

    spec = load_spec()
    world = World("1:x", spec, bot_username="b", bot_name="B", privacy_mode=True, clock=lambda: 0.0)
    assert {name.lower() for name in IMPLEMENTED} - {"getupdates"} == set(world.handlers)
    assert spec.known_elsewhere("SENDPOLL") == "sendPoll"
    assert spec.implemented("nonsense") is None and spec.known_elsewhere("nonsense") is None
