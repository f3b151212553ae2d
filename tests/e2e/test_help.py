"""/help for a coordinator lists every coordinator command, from the one list the handlers are checked against."""

from __future__ import annotations

from collections.abc import Callable

from conversations import common
from tests.e2e.harness import Chat, Harness, expect
from tests.e2e.test_rights import registered


def test_the_help_lists_are_the_registered_commands(harness: Harness) -> None:
    _patterns, commands = registered(harness)
    listed = {name for name, _text in common.COORDINATOR_HELP + common.COORDINATOR_GROUP_HELP}
    everyone = {name for name, _text in common.COMMANDS}
    assert listed - commands == set(), "a command in /help is not registered"
    missing = commands - listed - everyone - set(common.NOT_FOR_COORDINATORS)
    assert missing == set(), f"registered commands missing from a coordinator's /help: {sorted(missing)}"


def test_a_coordinator_sees_every_command_with_one_line_each(coordinator: Chat) -> None:
    text = expect(coordinator.say("/help"), "Your commands")
    lines = text.splitlines()
    for name, _text in common.COORDINATOR_HELP + common.COORDINATOR_GROUP_HELP:
        assert sum(line.startswith(f"/{name}: ") for line in lines) == 1, name
    for name in ("menu", "concerns", "families", "requests", "volunteers", "digest", "stats", "export"):
        assert f"/{name}: " in text


def test_a_family_does_not_see_the_coordinators_commands(coordinator: Chat, person: Callable[..., Chat]) -> None:
    from tests.e2e.request_world import new_area, new_family, tag

    family = new_family(coordinator, person, "Hanna", new_area(coordinator.harness, f"Help {tag()}"))
    text = expect(family.say("/help"), "/menu")
    assert "/volunteers" not in text and "Your commands" not in text
