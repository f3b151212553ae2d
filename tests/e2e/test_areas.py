"""Removing a neighbourhood: asked first, with how many families and volunteers still have it."""

from __future__ import annotations

from collections.abc import Callable

from storage import people
from tests.e2e.harness import Chat, Harness, expect
from tests.e2e.request_world import new_area, new_family, new_volunteer, tag


def active(harness: Harness) -> list[str]:
    with harness.session() as session:
        return [area.name for area in people.active_areas(session=session)]


def test_removing_a_neighbourhood_with_families_is_explained_and_confirmed(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Kwartier {tag()}")
    new_family(coordinator, person, "Ilse", area)
    new_volunteer(coordinator, person, "Joost", area, ["Groceries"], vog_age_days=None, children=False)
    coordinator.say("/areas")
    text = expect(
        coordinator.tap(f"Remove {area}"), "Remove the neighbourhood", "1 family has it.", "1 volunteer has it."
    )
    assert "first ask these families" in text
    assert coordinator.last_buttons() == [f"Yes, remove {area}", "No, keep it"]
    expect(coordinator.tap("No, keep it"), "Nothing was changed.")
    assert area in active(harness)
    coordinator.say("/areas")
    coordinator.tap(f"Remove {area}")
    expect(coordinator.tap(f"Yes, remove {area}"), "Removed")
    assert area not in active(harness)
